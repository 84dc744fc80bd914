"""Recent turns per conversation for the agent's context, kept in the KV bucket ``chat_history``.

The webhook sees every turn it needs: user messages and bot replies it makes,
staff replies the sender delivers and page-inbox echoes. Best effort: a lost
history write only shortens the agent's context, never blocks a reply.
"""

from __future__ import annotations

import json
import logging

from nats.js.kv import KeyValue

from pentagon.common.bus import mode_key
from pentagon.common.proto import agent_pb2

log = logging.getLogger(__name__)

MAX_TURN_CHARS = 1000


class History:
    def __init__(self, kv: KeyValue, max_turns: int) -> None:
        self.kv = kv
        self.max_turns = max_turns

    async def get(self, platform: str, user_id: str) -> list[agent_pb2.Turn]:
        try:
            entry = await self.kv.get(mode_key(platform, user_id))
            turns = json.loads(entry.value or b"[]")
        except Exception:  # noqa: BLE001 - no key or unreadable: start without context
            return []
        return [agent_pb2.Turn(role=t["role"], text=t["text"]) for t in turns if isinstance(t, dict)]

    async def append(self, platform: str, user_id: str, *turns: tuple[str, str],
                     base: list[agent_pb2.Turn] | None = None) -> None:
        """Adds turns; ``base`` is the history the caller just read (saves a second read)."""
        try:
            known = base if base is not None else await self.get(platform, user_id)
            current = [{"role": t.role, "text": t.text} for t in known]
            current.extend({"role": role, "text": text[:MAX_TURN_CHARS]} for role, text in turns if text)
            await self.kv.put(mode_key(platform, user_id), json.dumps(current[-self.max_turns:]).encode())
        except Exception as exc:  # noqa: BLE001 - see module docstring
            log.warning("history write failed", extra={"error": type(exc).__name__})

    async def forget(self, platform: str, user_id: str) -> None:
        try:
            await self.kv.purge(mode_key(platform, user_id))
        except Exception as exc:  # noqa: BLE001
            log.warning("history purge failed", extra={"error": type(exc).__name__})
