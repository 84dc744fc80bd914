"""The conversation_mode bucket never goes back in time, whatever order the post-commit writes arrive in."""

from __future__ import annotations

import asyncio
import random

import asyncpg

from pentagon.common.bus import MODE_BUCKET, mode_bucket, mode_key
from pentagon.tracking.updates import ModeChange, UpdatePublisher


async def _value(js, platform: str, user: str) -> bytes:  # type: ignore[no-untyped-def]
    kv = await js.key_value(MODE_BUCKET)
    return (await kv.get(mode_key(platform, user))).value


async def test_an_older_mode_never_overwrites_a_newer_one(js) -> None:  # type: ignore[no-untyped-def]
    publisher = UpdatePublisher(js, await mode_bucket(js))
    await publisher.write_modes([ModeChange("messenger", "u1", "closed", 5, 3)])
    await publisher.write_modes([ModeChange("messenger", "u1", "human", 5, 2)])  # committed earlier, written later
    assert await _value(js, "messenger", "u1") == b"closed;5;3"
    await publisher.write_modes([ModeChange("messenger", "u1", "bot", 9, 0)])  # the next conversation
    assert await _value(js, "messenger", "u1") == b"bot;9;0"


async def test_racing_writers_leave_the_newest_state(js) -> None:  # type: ignore[no-untyped-def]
    publishers = [UpdatePublisher(js, await mode_bucket(js)) for _ in range(4)]
    changes = [ModeChange("web", "w1", random.choice(["bot", "human", "closed"]), conv, version)
               for conv in (3, 4) for version in range(8)]
    random.shuffle(changes)
    await asyncio.gather(*(publishers[i % 4].write_modes([c]) for i, c in enumerate(changes)))
    newest = max(changes, key=lambda c: c.order)
    assert await _value(js, "web", "w1") == newest.value()


async def test_a_deleted_user_can_come_back(js) -> None:  # type: ignore[no-untyped-def]
    publisher = UpdatePublisher(js, await mode_bucket(js))
    await publisher.write_modes([ModeChange("messenger", "u2", "human", 1, 1)])
    await publisher.write_modes([ModeChange("messenger", "u2", None)])
    await publisher.write_modes([ModeChange("messenger", "u2", "bot", 2, 0)])
    assert await _value(js, "messenger", "u2") == b"bot;2;0"


async def test_status_changes_bump_the_mode_version_and_nothing_else_does(db: asyncpg.Connection) -> None:
    conv = await db.fetchval("INSERT INTO conversations (platform, user_id) VALUES ('web', 'w9') RETURNING id")
    await db.execute("UPDATE conversations SET status = 'human' WHERE id = $1", conv)
    await db.execute("UPDATE conversations SET priority = 1, status = 'human' WHERE id = $1", conv)
    await db.execute("UPDATE conversations SET status = 'closed' WHERE id = $1", conv)
    assert await db.fetchval("SELECT mode_version FROM conversations WHERE id = $1", conv) == 2


async def test_processed_events_older_than_the_stream_are_pruned(store, db: asyncpg.Connection) -> None:  # type: ignore[no-untyped-def]
    await db.execute("INSERT INTO processed_events (event_id, processed_at) VALUES "
                     "('old', now() - interval '9 days'), ('recent', now() - interval '6 days')")
    assert await store.prune(8) == 1
    assert [r["event_id"] for r in await db.fetch("SELECT event_id FROM processed_events")] == ["recent"]
