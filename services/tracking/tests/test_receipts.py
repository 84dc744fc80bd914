"""Receipts are never lost (even before their message, even across kill -9) and updates never skipped (outbox)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from pentagon.common.bus import Subjects
from pentagon.common.events import timestamp
from pentagon.common.proto import events_pb2 as pb
from pentagon.tracking.store import PostgresStore

from test_service import updates
from tracking_support import BASE, count, count_is, delivery, message_event, msg, publish_all, wait_for


def sent_receipt(n: int, user: str) -> tuple[str, bytes]:
    event = pb.DeliveryEvent(event_id=f"d:sent:{n}", occurred_at=timestamp(BASE + timedelta(seconds=n)),
                             key=pb.ConversationKey(platform="messenger", user_id=user), state=pb.DELIVERY_SENT,
                             message_event_id=f"r:{n}", platform_message_id=f"mid.r.{n}")
    return Subjects.delivery("messenger", user), event.SerializeToString()


def conversation_with_receipts_first(n: int, users: int = 20) -> list[tuple[str, bytes]]:
    """User message, then the SENT receipt of the bot reply, then the bot reply itself."""
    items = []
    for i in range(n):
        user = f"user{i % users}"
        items.append(message_event(f"u:{i}", user=user, t=i))
        items.append(sent_receipt(i, user))
        items.append(message_event(f"r:{i}", user=user, sender="bot", reply_to_event_id=f"u:{i}", t=i + 0.5))
    return items


SENT = "SELECT count(*) FROM messages WHERE sender_type = 'bot' AND delivery_status = 'sent'"


async def test_receipt_published_before_its_message_is_applied(start_tracking, js, migrated_url: str) -> None:
    start_tracking(TRACKING_BATCH_WAIT_MS="1")
    await publish_all(js, [sent_receipt(1, "u1")])
    await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM pending_deliveries", 1))
    await publish_all(js, [message_event("u:1", t=0), message_event("r:1", sender="bot", reply_to_event_id="u:1", t=1)])
    await wait_for(lambda: count_is(migrated_url, SENT, 1))
    assert await count(migrated_url, "SELECT count(*) FROM pending_deliveries") == 0
    assert await count(migrated_url, "SELECT count(*) FROM messages WHERE platform_message_id = 'mid.r.1'") == 1
    deliveries = await wait_for(lambda: _delivery_updates(js, 1))
    assert deliveries[0].message_id > 0


async def _delivery_updates(js: Any, n: int) -> list[pb.UpdateEvent] | None:
    got = [e for _, e in await updates(js) if e.kind == pb.UPDATE_DELIVERY_CHANGED]
    return got if len(got) >= n else None


@pytest.mark.slow
async def test_kill9_with_receipts_before_messages_loses_none(start_tracking, js, migrated_url: str) -> None:
    n = 1_500
    env = {"TRACKING_BATCH_SIZE": "50", "TRACKING_WORKERS": "2", "TRACKING_ACK_WAIT_S": "5"}
    proc, _ = start_tracking(**env)
    publishing = asyncio.create_task(publish_all(js, conversation_with_receipts_first(n), window=300))
    await wait_for(lambda: _bots_at_least(migrated_url, 300), interval=0.05)
    proc.kill()  # batches in flight: their receipts and messages come back in another order
    start_tracking(**env)
    await publishing
    await wait_for(lambda: count_is(migrated_url, SENT, n), timeout=240)
    assert await count(migrated_url, "SELECT count(*) FROM messages") == 2 * n
    # A receipt parked while its message was being committed elsewhere is cleared by the sweep.
    await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM pending_deliveries", 0), timeout=60)
    assert await count(migrated_url, "SELECT count(DISTINCT platform_message_id) FROM messages WHERE sender_type = 'bot'") == n


async def _bots_at_least(url: str, n: int) -> bool:
    return await count(url, "SELECT count(*) FROM messages WHERE sender_type = 'bot'") >= n


async def test_outbox_left_by_a_crash_is_published_on_start(start_tracking, js, migrated_url: str) -> None:
    """A worker that committed and died before publishing: its outbox row is republished."""
    store = PostgresStore(migrated_url, migrate=False)
    await store.start()
    try:
        await store.ingest([msg("u"), msg("b", sender="bot", reply_to="u", requires_human=True, t=1)])
        await store.ingest([msg("h", sender="human", t=2), delivery("s", "sent", msg_event_id="b", t=3)])
    finally:
        await store.close()
    start_tracking(TRACKING_OUTBOX_REPLAY_AGE_S="0")
    await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM update_outbox", 0))
    got = await updates(js)
    kinds = {e.kind for _, e in got}
    assert kinds == {pb.UPDATE_MESSAGE_CREATED, pb.UPDATE_CONVERSATION_CHANGED, pb.UPDATE_DELIVERY_CHANGED}
    assert any(e.event_id.endswith(":h") for _, e in got)  # the flag answered by the human message
    assert any(e.event_id.startswith("delivery:") and e.event_id.endswith(":s") for _, e in got)
