"""The work of one batch is proportional to the batch, not to the tables (migration 0008, then
functions/ revision 1).

Measured in Postgres buffer accesses and in rows the plans touched (deterministic), not in
time: a small batch against
tables that have grown since the session planned its statements must probe indexes, not read
the whole messages table; a large batch must not join its scratch tables quadratically.
Before 0008 the plans cached while the tables were small read all of messages on every
batch (hash and merge joins sized for the planner's guess of hundreds of scratch rows, a
hashed NOT EXISTS over every mid, an OR of two IN lists over every conversation).
"""

from __future__ import annotations

import json
import secrets

import asyncpg
import pytest

from pentagon.tracking.store import PostgresStore, encode_events

from tracking_support import at, conv_event, delivery, msg

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


@pytest.mark.parametrize(("batch", "tracked"), [("conversation", 15), ("every_kind", 12)])
async def test_small_batch_does_not_read_the_grown_tables(store: PostgresStore, db: asyncpg.Connection,
                                                          batch: str, tracked: int) -> None:
    make = {"conversation": conversation_batch, "every_kind": lambda tag: every_kind_batch(tag, users=2)}[batch]
    # No autovacuum: a fresh ANALYZE would make the session re-plan and hide a plan that only suits small tables.
    await db.execute("ALTER TABLE messages SET (autovacuum_enabled = false)")
    await db.execute("ALTER TABLE conversations SET (autovacuum_enabled = false)")
    small = await ingest_buffers(db, make("a"))  # plans made and cached while the tables are tiny
    again = await ingest_buffers(db, make("b"))

    await grow(store, GROWN_MESSAGES)
    pages = await db.fetchval("SELECT pg_relation_size('messages') / current_setting('block_size')::int")
    grown = await ingest_buffers(db, make("c"))

    assert await db.fetchval("SELECT count(*) FROM messages WHERE delivery_status IS NOT NULL") == tracked
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


def row_work(node: dict) -> float:
    """Rows every node of a plan produced or looked at and threw away, over all its loops
    (EXPLAIN gives per-loop averages), subplans and children included."""
    per_loop = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Join Filter", 0) + node.get("Rows Removed by Index Recheck", 0))
    return per_loop * node.get("Actual Loops", 1) + sum(row_work(child) for child in node.get("Plans", []))


async def nested_plans(conn: asyncpg.Connection, events: list[dict]) -> list[dict]:
    """The executed plan of every statement inside one ingest, sent back as notices by auto_explain."""
    notices: list[str] = []
    listener = lambda _conn, message: notices.append(message.message)  # noqa: E731
    conn.add_log_listener(listener)
    await conn.execute("LOAD 'auto_explain'")
    for name, value in {"log_min_duration": "0", "log_nested_statements": "on", "log_analyze": "on",
                        "log_timing": "off", "log_format": "json", "log_level": "notice"}.items():
        await conn.execute(f"SET auto_explain.{name} = '{value}'")
    try:
        await conn.fetchval("SELECT pentagon_ingest($1::jsonb)", encode_events(events))
    finally:
        await conn.execute("SET auto_explain.log_min_duration = -1")
        conn.remove_log_listener(listener)
    return [json.loads(text.split("plan:", 1)[1])["Plan"] for text in notices if "plan:" in text]


def every_kind_batch(tag: str, users: int) -> list[dict]:
    """Every path of the ingest per user: a message, a bot reply (every third escalated) and its
    SENT receipt, a staff echo, DELIVERED by mid and by watermark, READ, an escalation event and
    a receipt for a message not stored yet (parked). Replays are added by the callers."""
    events: list[dict] = []
    for i in range(users):
        user, bot, key = f"{tag}-u{i}", f"{tag}-b{i}", f"{tag}{i}"
        events += [
            msg(user, user=key, pmid=f"mid.{tag}.u{i}"),
            msg(bot, user=key, sender="bot", reply_to=user, t=1, requires_human=i % 3 == 0,
                esc_reason="allergy" if i % 3 == 0 else None),
            delivery(f"{tag}-s{i}", "sent", user=key, msg_event_id=bot, pmid=f"mid.{tag}.b{i}", t=2),
            msg(f"{tag}-h{i}", user=key, sender="human", content="staff here", t=3, pmid=f"mid.{tag}.h{i}"),
            delivery(f"{tag}-dm{i}", "delivered", user=key, pmids=[f"mid.{tag}.b{i}"], t=4),
            delivery(f"{tag}-dw{i}", "delivered", user=key, watermark=at(4), t=4),
            delivery(f"{tag}-r{i}", "read", user=key, watermark=at(5), t=5),
            delivery(f"{tag}-later{i}", "sent", user=key, msg_event_id=f"{tag}-not-yet{i}", pmid=f"mid.{tag}.n{i}", t=5),
            conv_event(f"{tag}-e{i}", "escalate", user=key, reason="asked for a person"),
        ]
    return [{k: v for k, v in e.items() if v is not None} for e in events]


async def test_large_batch_work_is_linear_in_every_path(store: PostgresStore, db: asyncpg.Connection) -> None:
    """No statement inside the ingest goes over the batch once per row of the batch. The planner
    guesses ten rows for `x = ANY (ARRAY(...))` whatever the batch holds, and from that guess chose
    nested loops that re-read the batch for every row: per-conversation totals (a 2,000-event batch
    over 1,000 users threw away 499,500 joined rows, 0.5 s of one core; tracking_bench.py fell from
    12k to 6k events/s past 100k events), SENT receipts (79,800 rows for 400), escalations.
    Functions revision 1. Measured in rows the plans touched: ten times the batch, ten times the rows."""
    # What the planner sees in production: thousands of conversations, some escalated, analysed.
    await grow(store, 4_000)
    await store.ingest(every_kind_batch("g", users=100))
    await db.execute("ANALYZE conversations; ANALYZE messages")
    earlier = every_kind_batch("p", users=3)
    await db.fetchval("SELECT pentagon_ingest($1::jsonb)", encode_events(earlier))  # plans cached
    small = await nested_plans(db, every_kind_batch("q", users=20) + earlier)  # 180 events and 27 replays
    large = await nested_plans(db, every_kind_batch("r", users=200) + earlier)  # 1,800 events and 27 replays

    for tag, users in (("q", 20), ("r", 200)):
        assert await db.fetchval("SELECT count(*) FROM messages WHERE conversation_id IN "
                                 "(SELECT id FROM conversations WHERE user_id LIKE $1)", f"{tag}%") == 3 * users
        assert await db.fetchval("SELECT count(*) FROM pending_deliveries WHERE event_id LIKE $1",
                                 f"{tag}-later%") == users
    small_work, large_work = sum(map(row_work, small)), sum(map(row_work, large))
    assert len(small) > 10
    assert large_work < 15 * small_work, (small_work, large_work)


async def test_scratch_space_is_reused_and_bounded(db: asyncpg.Connection) -> None:
    """Batches empty the scratch tables with DELETE and truncate them only once their dead rows
    pass 128 kB: truncating at every commit (ON COMMIT DELETE ROWS) was half of a small batch's
    Postgres CPU (file truncation, write-back, reopen and re-extension per table, every batch)."""
    sizes = []
    for i in range(40):
        events = [msg(f"big{i}-{j}", user=f"big{j}", content=secrets.token_hex(250)) for j in range(10)]  # ~20 kB a batch
        await db.fetchval("SELECT pentagon_ingest($1::jsonb)", encode_events(events))
        sizes.append(await db.fetchval("SELECT pentagon_scratch_bytes('pg_temp.pentagon_in_msg')"))

    assert await db.fetchval("SELECT count(*) FROM messages WHERE event_id LIKE 'big%'") == 400
    assert sizes[0] > 0  # the rows of the committed batch are dead, not truncated away
    assert max(sizes) <= 131072 + 32 * 1024, sizes  # bounded: the threshold plus one batch (~20 kB)
    assert any(later < earlier for earlier, later in zip(sizes, sizes[1:])), sizes  # and truncated when over it
    # The batch tables are emptied when the next batch starts; the outbox references must be gone
    # at commit already, or the next transaction's outbox row would carry them again.
    assert await db.fetchval("SELECT count(*) FROM pentagon_in_refs") == 0
