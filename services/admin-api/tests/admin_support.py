"""Helpers shared by the admin-api tests (importable: conftest adds this folder to sys.path)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import jwt

from pentagon.common.bus import Subjects
from pentagon.common.events import publish, timestamp
from pentagon.common.proto import events_pb2 as pb

ADMIN_TOKEN = "adm-" + "a1" * 16
VIEWER_TOKEN = "vw-" + "b2" * 16
ADMIN_TOKENS = f"alice:admin:{ADMIN_TOKEN},victor:viewer:{VIEWER_TOKEN}"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
VIEWER = {"Authorization": f"Bearer {VIEWER_TOKEN}"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

T0 = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
JWT_SECRET = "super-secret-jwt-key-with-enough-length-000"  # the legacy Supabase JWT secret (HS256)


def supabase_token(claims: dict, secret: str = JWT_SECRET, alg: str = "HS256") -> str:
    """A Supabase Auth access token; ``claims`` override the defaults (10 minutes, no panel role)."""
    base = {"sub": "4f9c-uuid", "aud": "authenticated", "exp": int(time.time()) + 600, "role": "authenticated",
            "email": "staff@cafe.example"}
    return jwt.encode({**base, **claims}, secret, algorithm=alg)


# ---------------------------------------------------------------- seeding (the part tracking normally writes)

async def add_conversation(pg: asyncpg.Connection, user_id: str, platform: str = "messenger", status: str = "active",
                           last_message_at: datetime | None = T0, **fields: Any) -> int:
    columns = {"user_id": user_id, "platform": platform, "status": status, "last_message_at": last_message_at,
               "created_at": fields.pop("created_at", last_message_at or T0), **fields}
    if status == "closed":
        columns.setdefault("closed_at", last_message_at or T0)
    if status == "human":
        columns.setdefault("bot_paused", True)
    names = ", ".join(f'"{k}"' for k in columns)
    values = ", ".join(f"${i + 1}" for i in range(len(columns)))
    return await pg.fetchval(f"INSERT INTO conversations ({names}) VALUES ({values}) RETURNING id", *columns.values())


async def add_message(pg: asyncpg.Connection, conversation_id: int, content: str, sender_type: str = "user",
                      at: datetime = T0, **fields: Any) -> int:
    columns = {"conversation_id": conversation_id, "content": content, "sender_type": sender_type, "timestamp": at,
               "event_id": fields.pop("event_id", uuid.uuid4().hex), **fields}
    if "metadata" in columns:
        columns["metadata"] = json.dumps(columns["metadata"])
    names = ", ".join(f'"{k}"' for k in columns)
    values = ", ".join(f"${i + 1}" for i in range(len(columns)))
    message_id = await pg.fetchval(f"INSERT INTO messages ({names}) VALUES ({values}) RETURNING id", *columns.values())
    counter = {"user": "user_message_count", "bot": "bot_message_count", "human": "human_message_count"}.get(sender_type)
    extra = f", {counter} = {counter} + 1" if counter else ""
    pending = ", pending_human_count = pending_human_count + 1" if fields.get("requires_human") and not fields.get(
        "human_replied") else ""
    await pg.execute(f"UPDATE conversations SET message_count = message_count + 1{extra}{pending}, "
                     "last_message_at = greatest(last_message_at, $2) WHERE id = $1", conversation_id, at)
    return message_id


async def publish_update(js: Any, kind: int, conversation_id: int, row: dict[str, Any], platform: str = "messenger",
                         user_id: str = "u1", mode: str = "bot") -> int:
    """What tracking publishes after a commit; returns the stream sequence."""
    names = {pb.UPDATE_MESSAGE_CREATED: "message", pb.UPDATE_CONVERSATION_CHANGED: "conversation",
             pb.UPDATE_DELIVERY_CHANGED: "delivery", pb.UPDATE_USER_DELETED: "user_deleted",
             pb.UPDATE_CUSTOMER_CHANGED: "customer"}
    event_id = uuid.uuid4().hex
    event = pb.UpdateEvent(event_id=event_id, occurred_at=timestamp(), kind=kind, conversation_id=conversation_id,
                           key=pb.ConversationKey(platform=platform, user_id=user_id), row_json=json.dumps(row),
                           mode=mode)
    ack = await publish(js, Subjects.update(names[kind], platform, user_id), event, event_id)
    return ack.seq


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def eventually(probe: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], tries: int = 150) -> Any:
    """The probe's value once `done` says so (every 0.2 s), else its last value: the caller asserts on it.
    For what the agent picks up from a bucket moments after a change (taught answers, sold-out marks)."""
    value = await probe()
    for _ in range(tries):
        if done(value):
            break
        await asyncio.sleep(0.2)
        value = await probe()
    return value
