"""The work of one batch is proportional to the batch, not to the tables (migration 0008).

Measured in Postgres buffer accesses (deterministic), not in time: a small batch against
tables that have grown since the session planned its statements must probe indexes, not read
the whole messages table; a large batch must not join its scratch tables quadratically.
Before 0008 the plans cached while the tables were small read all of messages on every
batch (hash and merge joins sized for the planner's guess of hundreds of scratch rows, a
hashed NOT EXISTS over every mid, an OR of two IN lists over every conversation).
"""

from __future__ import annotations

import json

import asyncpg

from pentagon.tracking.store import PostgresStore, encode_events

from tracking_support import delivery, msg

GROWN_MESSAGES = 40_000


async def ingest_plan(conn: asyncpg.Connection, events: list[dict]) -> dict:
    """The top plan node of one ingest, with the buffers of its nested statements (EXPLAIN ANALYZE runs it for real)."""
    raw = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, FORMAT JSON) SELECT pentagon_ingest($1::jsonb)",
                              encode_events(events))
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


async def ingest_buffers(conn: asyncpg.Connection, events: list[dict]) -> int:
    """Shared buffers (the real tables) the ingest touched."""
    plan = await ingest_plan(conn, events)
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]


def conversation_batch(tag: str, users: int = 5) -> list[dict]:
    """A typical small batch: `users` users (five by default), each a message, the bot's reply and its SENT receipt."""
    events: list[dict] = []
    for i in range(users):
        user, bot = f"{tag}-u{i}", f"{tag}-b{i}"
        events += [msg(user, user=f"{tag}{i}"), msg(bot, user=f"{tag}{i}", sender="bot", reply_to=user, t=1),
                   delivery(f"{tag}-d{i}", "sent", user=f"{tag}{i}", msg_event_id=bot, pmid=f"mid.{tag}.{i}", t=2)]
    return events


async def grow(store: PostgresStore, n: int) -> None:
    for start in range(0, n, 1000):
        await store.ingest([msg(f"g{i}", user=f"g{i % 2000}", content=f"filler {i}")
                            for i in range(start, start + 1000)])


async def test_small_batch_does_not_read_the_grown_tables(store: PostgresStore, db: asyncpg.Connection) -> None:
    # No autovacuum: a fresh ANALYZE would make the session re-plan and hide a plan that only suits small tables.
    await db.execute("ALTER TABLE messages SET (autovacuum_enabled = false)")
    await db.execute("ALTER TABLE conversations SET (autovacuum_enabled = false)")
    small = await ingest_buffers(db, conversation_batch("a"))  # plans made and cached while the tables are tiny
    again = await ingest_buffers(db, conversation_batch("b"))

    await grow(store, GROWN_MESSAGES)
    pages = await db.fetchval("SELECT pg_relation_size('messages') / current_setting('block_size')::int")
    grown = await ingest_buffers(db, conversation_batch("c"))

    assert await db.fetchval("SELECT count(*) FROM messages WHERE delivery_status = 'sent'") == 15
    # Index probes: a few more levels of B-tree, nowhere near one pass over the table.
    assert pages > 600
    assert grown < again + pages // 2, (small, again, grown, pages)


async def test_scratch_tables_have_no_index(store: PostgresStore, db: asyncpg.Connection) -> None:
    """ON COMMIT DELETE ROWS truncates the scratch tables at every commit; an index on one of them
    is rebuilt each time and invalidates every cached plan that reads the table (re-planned on every
    batch: ~40 % of a small batch's Postgres CPU before 0008)."""
    await db.fetchval("SELECT pentagon_ingest($1::jsonb)", encode_events(conversation_batch("s")))
    scratch = await db.fetchval("SELECT count(*) FROM pg_class WHERE relname LIKE 'pentagon_in_%' "
                                "AND relpersistence = 't' AND relkind = 'r'")
    indexed = await db.fetch("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                             "WHERE c.relname LIKE 'pentagon_in_%' AND c.relpersistence = 't'")
    assert scratch >= 10
    assert [r["relname"] for r in indexed] == []


async def test_large_batch_work_is_linear(store: PostgresStore, db: asyncpg.Connection) -> None:
    """Joins between the scratch tables stay hash joins: a batch ten times larger reads its scratch
    tables about ten times more, not a hundred (nested loops over two temp tables are quadratic:
    turning hash joins off for the whole ingest took bench/tracking_bench.py from 12k to 1k events/s)."""
    await ingest_plan(db, conversation_batch("w", users=5))  # plans cached first
    small = (await ingest_plan(db, conversation_batch("x", users=40)))["Local Hit Blocks"]  # 120 events
    large = (await ingest_plan(db, conversation_batch("y", users=400)))["Local Hit Blocks"]  # 1,200 events
    assert small > 0
    assert large < 20 * small, (small, large)  # measured: 10.2x; with hash joins off: 29x
