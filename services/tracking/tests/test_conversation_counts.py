"""The totals of GET /admin/stats, kept by the database as conversations change (migration 0014).

Whatever changes conversations (a batch, a command, an erasure, a purge, a fold, a truncate),
the sum over conversation_counts must equal the same aggregate over every conversation.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import asyncpg

from pentagon.tracking.store import PostgresStore

from tracking_support import conv_event, msg

ACTUAL = """
SELECT count(*) AS conversations, count(*) FILTER (WHERE status <> 'closed') AS open,
       coalesce(sum(message_count), 0) AS messages, coalesce(sum(pending_human_count), 0) AS pending_human,
       count(*) FILTER (WHERE status <> 'closed' AND pending_human_count > 0) AS needs_human
  FROM conversations
"""
KEPT = """
SELECT coalesce(sum(conversations), 0) AS conversations, coalesce(sum(open), 0) AS open,
       coalesce(sum(messages), 0) AS messages, coalesce(sum(pending_human), 0) AS pending_human,
       coalesce(sum(needs_human), 0) AS needs_human
  FROM conversation_counts
"""


async def totals(db: asyncpg.Connection) -> tuple[int, ...]:
    """(conversations, open, messages, pending_human, needs_human), after checking kept == actual."""
    kept = tuple(int(v) for v in (await db.fetchrow(KEPT)).values())
    actual = tuple(int(v) for v in (await db.fetchrow(ACTUAL)).values())
    assert kept == actual, f"kept {kept} != actual {actual}"
    return kept


async def conversation_of(db: asyncpg.Connection, user: str) -> int:
    return await db.fetchval("SELECT id FROM conversations WHERE user_id = $1 ORDER BY id DESC LIMIT 1", user)


async def test_the_kept_totals_follow_every_kind_of_change(store: PostgresStore, db: asyncpg.Connection) -> None:
    assert await totals(db) == (0, 0, 0, 0, 0)

    await store.ingest([msg("a1", user="ann"), msg("b1", user="bo", t=1),
                        msg("b2", user="bo", sender="bot", reply_to="b1", requires_human=True, esc_reason="refund", t=2)])
    assert await totals(db) == (2, 2, 3, 1, 1)

    await store.ingest([msg("a1", user="ann"), msg("b1", user="bo", t=1)])  # a replay changes nothing
    assert await totals(db) == (2, 2, 3, 1, 1)

    await store.ingest([msg("h1", user="bo", sender="human", actor="ann:admin", t=3)])  # answered by a person
    assert await totals(db) == (2, 2, 4, 0, 0)

    ann = await conversation_of(db, "ann")
    reply = await store.command({"command_id": "c1", "action": "close", "conversation_id": ann, "actor": "ann:admin"})
    assert reply["ok"]
    assert await totals(db) == (2, 1, 4, 0, 0)

    await store.ingest([msg("a2", user="ann", t=4)])  # after a close: a new conversation
    assert await totals(db) == (3, 2, 5, 0, 0)

    await store.ingest([conv_event("del", "delete_user", user="bo")])  # erasure: bo's three messages go
    assert await totals(db) == (2, 1, 2, 0, 0)

    closed_before = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    await db.execute("UPDATE conversations SET closed_at = now() - interval '1 hour' WHERE id = $1", ann)
    reply = await store.command({"command_id": "p1", "action": "purge", "conversation_id": ann,
                                 "actor": "system:retention", "params": {"closed_before": closed_before}})
    assert reply["ok"], reply
    assert await totals(db) == (1, 1, 1, 0, 0)


async def test_the_sweep_folds_the_rows_into_one_and_the_totals_stay(store: PostgresStore, db: asyncpg.Connection) -> None:
    for i in range(5):
        await store.ingest([msg(f"e{i}", user=f"u{i % 3}", t=i)])
    before = await totals(db)
    assert await db.fetchval("SELECT count(*) FROM conversation_counts") > 1
    await store.sweep()
    assert await db.fetchval("SELECT count(*) FROM conversation_counts") == 1
    assert await totals(db) == before == (3, 3, 5, 0, 0)
    await store.sweep()  # one row: nothing to fold, nothing rewritten
    assert await db.fetchval("SELECT count(*) FROM conversation_counts") == 1


async def test_batches_committing_during_a_fold_are_all_counted(store: PostgresStore, db: asyncpg.Connection) -> None:
    """Concurrent writers append while sweeps fold: nothing counted twice, nothing lost."""
    async def writer(n: int) -> None:
        for i in range(40):
            await store.ingest([msg(f"w{n}-{i}", user=f"user{n}-{i % 7}", t=i)])

    async def sweeper() -> None:
        for _ in range(30):
            await store.sweep()
            await asyncio.sleep(0)

    await asyncio.gather(writer(1), writer(2), writer(3), sweeper())
    assert await totals(db) == (21, 21, 120, 0, 0)


async def test_a_truncate_empties_the_totals(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("t1"), msg("t2", user="u2")])
    assert await totals(db) == (2, 2, 2, 0, 0)
    await db.execute("TRUNCATE conversations CASCADE")
    assert await totals(db) == (0, 0, 0, 0, 0)
