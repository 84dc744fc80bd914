"""Event builders and checks shared by the tracking tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

BASE = datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc)
_seq = itertools.count(1)


def at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat()


def msg(event_id: str, user: str = "u1", sender: str = "user", content: str = "hi", t: float = 0,
        platform: str = "messenger", **extra: Any) -> dict[str, Any]:
    """A normalised message event, as pentagon.tracking.decode produces it."""
    return {"t": "m", "seq": next(_seq), "event_id": event_id, "platform": platform, "user_id": user,
            "sender": sender, "content": content, "ts": at(t), "kind": "text", "channel": "messaging", **extra}


def delivery(event_id: str, state: str, user: str = "u1", t: float = 0, **extra: Any) -> dict[str, Any]:
    return {"t": "d", "seq": next(_seq), "event_id": event_id, "platform": "messenger", "user_id": user,
            "state": state, "ts": at(t), **extra}


def conv_event(event_id: str, action: str, user: str = "u1", **extra: Any) -> dict[str, Any]:
    return {"t": "c", "seq": next(_seq), "event_id": event_id, "platform": "messenger", "user_id": user,
            "action": action, "ts": at(0), **extra}


# ---------------------------------------------------------------- protobuf events on the wire

import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import asyncpg  # noqa: E402
import nats  # noqa: E402

from pentagon.common.bus import Subjects  # noqa: E402
from pentagon.common.events import timestamp  # noqa: E402
from pentagon.common.proto import events_pb2 as pb  # noqa: E402

SENDERS = {"user": pb.SENDER_USER, "bot": pb.SENDER_BOT, "human": pb.SENDER_HUMAN, "system": pb.SENDER_SYSTEM}


def message_event(event_id: str, user: str = "u1", sender: str = "user", content: str = "hi", t: float = 0,
                  platform: str = "messenger", **fields: Any) -> tuple[str, bytes]:
    """(subject, bytes) of a MessageEvent as the webhook publishes it."""
    metadata = fields.pop("metadata", None)
    event = pb.MessageEvent(event_id=event_id, occurred_at=timestamp(BASE + timedelta(seconds=t)),
                            key=pb.ConversationKey(platform=platform, user_id=user), sender=SENDERS[sender],
                            content=content, metadata_json=json.dumps(metadata) if metadata else "", **fields)
    subject = Subjects.incoming(platform, user) if sender == "user" else Subjects.outgoing(platform, user)
    return subject, event.SerializeToString()


async def publish_all(js: Any, items: list[tuple[str, bytes]], msg_ids: list[str] | None = None, window: int = 2000) -> None:
    """Publish with pipelining, waiting for every stream ack."""
    pending = []
    for i, (subject, data) in enumerate(items):
        headers = {"Nats-Msg-Id": msg_ids[i]} if msg_ids else None
        pending.append(await js.publish_async(subject, data, headers=headers))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)


async def wait_for(check: Any, timeout: float = 120.0, interval: float = 0.2) -> Any:
    """Poll until check() is truthy; the timeout only turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")


async def count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def count_when_reachable(url: str, sql: str) -> int:
    try:
        return await count(url, sql)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return -1


COUNTERS_WRONG = """
SELECT count(*) FROM conversations c WHERE
  message_count <> (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)
  OR user_message_count <> (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND sender_type = 'user')
  OR bot_message_count <> (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND sender_type = 'bot')
  OR human_message_count <> (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND sender_type = 'human')
  OR pending_human_count <> (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND requires_human AND NOT human_replied)
  OR waiting_since IS DISTINCT FROM (SELECT min("timestamp") FROM messages m
                                     WHERE m.conversation_id = c.id AND requires_human AND NOT human_replied)
  OR last_message_at IS DISTINCT FROM (SELECT max("timestamp") FROM messages m WHERE m.conversation_id = c.id)
"""


async def nats_connect(url: str) -> Any:
    return await nats.connect(url)


async def count_is(url: str, sql: str, expected: int) -> bool:
    return await count_when_reachable(url, sql) == expected
