"""Web chat long-poll: what tracking committed for one web user, read from the UPDATES stream.

Reads ``updates.*.web.<u>`` after a sequence with direct "next by subject"
lookups (no consumer per poll). When nothing is there yet, waits on a core
subscription of the same subjects (opened before the lookup, so nothing
slips in between) until something arrives or the wait ends. A staff member
typing in the admin panel (``staff.typing.web.<u>``, never stored) ends the wait
too, with ``{"type": "typing", "data": {"ttl_s"}}`` (no ``seq``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import NotFoundError

from pentagon.common.bus import UPDATES_STREAM, Subjects, user_token
from pentagon.common.proto import events_pb2 as pb
from pentagon.webhook.runtime import Runtime
from pentagon.webhook.staff_typing import TYPING_TTL_S

MAX_BATCH = 50
STAFF_SENDERS = {"human", "system"}
TYPING_FRAME = {"type": "typing", "data": {"ttl_s": TYPING_TTL_S}}


def updates_subject(user_id: str) -> str:
    return f"updates.*.web.{user_token(user_id)}"


def to_client(seq: int, update: pb.UpdateEvent) -> dict[str, Any] | None:
    """The frame the chat client sees, or None for what it already knows (its own and the bot's messages)."""
    try:
        row = json.loads(update.row_json or "{}")
    except ValueError:
        row = {}
    if update.kind == pb.UPDATE_MESSAGE_CREATED:
        if row.get("sender_type") not in STAFF_SENDERS:
            return None
        return {"seq": seq, "type": "message", "data": row}
    if update.kind == pb.UPDATE_CONVERSATION_CHANGED:
        data = {"conversation_id": update.conversation_id or row.get("id"), "mode": update.mode, "status": row.get("status")}
        return {"seq": seq, "type": "mode", "data": data}
    if update.kind == pb.UPDATE_USER_DELETED:
        return {"seq": seq, "type": "user_deleted", "data": {}}
    return None


async def _read_after(rt: Runtime, subject: str, after: int) -> tuple[list[dict[str, Any]], int]:
    frames: list[dict[str, Any]] = []
    last = after
    for _ in range(MAX_BATCH):
        try:
            raw = await rt.js.get_msg(UPDATES_STREAM, seq=last + 1, subject=subject, next=True)
        except NotFoundError:
            break
        last = int(raw.seq or last + 1)
        try:
            frame = to_client(last, pb.UpdateEvent.FromString(raw.data or b""))
        except Exception:  # noqa: BLE001 - an undecodable update is skipped, not fatal
            frame = None
        if frame:
            frames.append(frame)
    return frames, last


async def poll(rt: Runtime, user_id: str, after: int, wait_s: float) -> tuple[list[dict[str, Any]], int]:
    subject = updates_subject(user_id)
    woken: asyncio.Queue[str] = asyncio.Queue()

    async def on_update(_: Any) -> None:
        woken.put_nowait("update")

    async def on_typing(_: Any) -> None:
        woken.put_nowait("typing")

    subs = [await rt.nc.subscribe(subject, cb=on_update),
            await rt.nc.subscribe(Subjects.staff_typing("web", user_id), cb=on_typing)]
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            frames, last = await _read_after(rt, subject, after)
            if frames:
                return frames, last
            if rt.staff_typing.recent(user_id):
                return [dict(TYPING_FRAME)], last  # typed within TYPING_TTL_S: a poll starting now shows it too
            if loop.time() >= deadline:
                return [], last
            after = last
            try:
                why = await asyncio.wait_for(woken.get(), timeout=max(0.01, deadline - loop.time()))
            except (NatsTimeout, asyncio.TimeoutError):
                return [], last
            if why == "typing":
                return [dict(TYPING_FRAME)], last
            await asyncio.sleep(0.02)  # the core copy can arrive a hair before the stream stored it
    finally:
        for sub in subs:
            await sub.unsubscribe()
