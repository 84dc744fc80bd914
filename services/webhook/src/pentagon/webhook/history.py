"""Recent turns per conversation for the agent's context, kept in the KV bucket ``chat_history``.

The webhook sees every turn it needs: user messages and bot replies it makes,
staff replies the sender delivers and page-inbox echoes. The same value also
lists the user messages the bot already answered (``answered``) and, for
Messenger, the customer's name once asked (``name``, profiles.py): the reply
worker reads the history for the agent anyway, so its redelivery check costs no
request of its own, and history and marker are one write. Writes are
compare-and-set on the revision read, so the sender appending a staff reply and
the reply worker appending an answer never overwrite each other. Best effort
otherwise: a lost write only shortens the agent's context (a reply published
twice is still dropped by the stream's duplicate window, tracking's event ids
and the sender's ``sent.<h>`` markers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import orjson
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from pentagon.common.bus import mode_key
from pentagon.common.proto import agent_pb2

log = logging.getLogger(__name__)

MAX_TURN_CHARS = 1000
# Answered user messages remembered per conversation: a redelivery concerns one of the latest few.
MAX_ANSWERED = 50
CAS_ATTEMPTS = 4


@dataclass
class Thread:
    """One conversation's history as read from KV; ``revision`` 0 when the key holds nothing."""

    turns: list[agent_pb2.Turn] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    revision: int = 0
    name: str | None = None  # None: never asked; "" asked, unknown


def _turn_dicts(raw: object) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        return []
    return [{"role": str(t["role"]), "text": str(t["text"])} for t in raw
            if isinstance(t, dict) and "role" in t and "text" in t]


def decode(value: bytes | None, revision: int) -> Thread:
    """Both value shapes: ``{"turns": [...], "answered": [...], "name": ...}`` and the bare list written before."""
    try:
        raw = orjson.loads(value or b"[]")
    except orjson.JSONDecodeError:
        return Thread(revision=revision)
    body = raw if isinstance(raw, dict) else {"turns": raw}
    answered = body.get("answered")
    return Thread(
        turns=[agent_pb2.Turn(role=t["role"], text=t["text"]) for t in _turn_dicts(body.get("turns"))],
        answered=[a for a in answered if isinstance(a, str)] if isinstance(answered, list) else [],
        revision=revision,
        name=body["name"] if isinstance(body.get("name"), str) else None,
    )


class History:
    def __init__(self, kv: KeyValue, max_turns: int) -> None:
        self.kv = kv
        self.max_turns = max_turns

    async def read(self, platform: str, user_id: str) -> Thread:
        """Raises when NATS cannot answer (the caller decides whether that matters)."""
        try:
            entry = await self.kv.get(mode_key(platform, user_id))
        except KeyNotFoundError as exc:  # never written, expired, or purged (then update after the purge marker)
            return Thread(revision=exc.entry.revision if exc.entry is not None else 0)
        return decode(entry.value, entry.revision or 0)

    async def read_quietly(self, platform: str, user_id: str) -> Thread | None:
        """None when NATS cannot answer: the agent then answers without context."""
        try:
            return await self.read(platform, user_id)
        except Exception:  # noqa: BLE001 - see the docstring
            return None

    async def append(self, platform: str, user_id: str, *turns: tuple[str, str],
                     base: Thread | None = None, answered: str | None = None, name: str | None = None) -> None:
        """Adds turns (and an answered user event id, the customer's name); ``base`` is the thread the
        caller just read."""
        key = mode_key(platform, user_id)
        try:
            for _ in range(CAS_ATTEMPTS):
                thread = base if base is not None else await self.read(platform, user_id)
                base = None
                try:
                    await self.kv.update(key, self._encode(thread, turns, answered, name), last=thread.revision)
                    return
                except KeyWrongLastSequenceError:
                    continue  # written since we read it: merge into the newer value
            log.warning("history write lost to concurrent writers", extra={"attempts": CAS_ATTEMPTS})
        except Exception as exc:  # noqa: BLE001 - see module docstring
            log.warning("history write failed", extra={"error": type(exc).__name__})

    def _encode(self, thread: Thread, turns: tuple[tuple[str, str], ...], answered: str | None,
                name: str | None) -> bytes:
        current = [{"role": t.role, "text": t.text} for t in thread.turns]
        current.extend({"role": role, "text": text[:MAX_TURN_CHARS]} for role, text in turns if text)
        done = thread.answered + ([answered] if answered and answered not in thread.answered else [])
        value: dict[str, object] = {"turns": current[-self.max_turns:], "answered": done[-MAX_ANSWERED:]}
        known = name if name is not None else thread.name
        if known is not None:
            value["name"] = known
        return orjson.dumps(value)

    async def forget(self, platform: str, user_id: str) -> None:
        try:
            await self.kv.purge(mode_key(platform, user_id))
        except Exception as exc:  # noqa: BLE001
            log.warning("history purge failed", extra={"error": type(exc).__name__})
