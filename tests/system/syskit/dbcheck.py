"""Database invariants the whole system promises: nothing lost, nothing doubled, consistent rows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 90.0, interval: float = 0.5) -> Any:
    """Poll until check() returns a truthy value; the last value (or error) explains a timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await check()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - the database may be restarting
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout}s; last: {last!r}"[:3000])
        await asyncio.sleep(interval)


@dataclass
class Report:
    missing: list[str] = field(default_factory=list)          # acked user events with no row
    doubled: list[str] = field(default_factory=list)          # event or platform ids stored twice
    unanswered: list[str] = field(default_factory=list)       # bot-mode user messages, no reply and no flag
    double_replies: list[str] = field(default_factory=list)   # user messages with two bot replies
    bad_counters: list[dict] = field(default_factory=list)
    open_twice: list[tuple] = field(default_factory=list)
    bad_totals: list[dict] = field(default_factory=list)      # /admin/stats totals != the conversations

    @property
    def ok(self) -> bool:
        return not (self.missing or self.doubled or self.unanswered or self.double_replies
                    or self.bad_counters or self.open_twice or self.bad_totals)

    def summary(self) -> str:
        return (f"missing={len(self.missing)} {self.missing[:5]} doubled={len(self.doubled)} {self.doubled[:5]} "
                f"unanswered={len(self.unanswered)} {self.unanswered[:5]} double_replies={len(self.double_replies)} "
                f"{self.double_replies[:5]} bad_counters={self.bad_counters[:3]} open_twice={self.open_twice[:3]} "
                f"bad_totals={self.bad_totals}")


COUNTERS_SQL = """
SELECT c.id, c.message_count, c.user_message_count, c.bot_message_count, c.human_message_count,
       c.pending_human_count, c.waiting_since,
       count(m.id) AS rows_all,
       count(m.id) FILTER (WHERE m.sender_type = 'user') AS rows_user,
       count(m.id) FILTER (WHERE m.sender_type = 'bot') AS rows_bot,
       count(m.id) FILTER (WHERE m.sender_type = 'human') AS rows_human,
       count(m.id) FILTER (WHERE m.requires_human AND NOT m.human_replied) AS rows_pending,
       min(m."timestamp") FILTER (WHERE m.requires_human AND NOT m.human_replied) AS rows_waiting_since
FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
GROUP BY c.id
"""

# The totals GET /admin/stats reads (tracking's migration 0014) against the same aggregate over
# every conversation.
TOTALS_SQL = """
SELECT kept, actual FROM
  (SELECT jsonb_build_array(coalesce(sum(conversations), 0), coalesce(sum(open), 0), coalesce(sum(messages), 0),
                            coalesce(sum(pending_human), 0), coalesce(sum(needs_human), 0)) AS kept
     FROM conversation_counts) k,
  (SELECT jsonb_build_array(count(*), count(*) FILTER (WHERE status <> 'closed'), coalesce(sum(message_count), 0),
                            coalesce(sum(pending_human_count), 0),
                            count(*) FILTER (WHERE status <> 'closed' AND pending_human_count > 0)) AS actual
     FROM conversations) a
"""

OPEN_TWICE_SQL = """
SELECT platform, user_id, count(*) FROM conversations WHERE status <> 'closed'
GROUP BY platform, user_id HAVING count(*) > 1
"""

DOUBLED_SQL = """
SELECT 'event:' || event_id FROM messages GROUP BY event_id HAVING count(*) > 1
UNION ALL
SELECT 'mid:' || platform_message_id FROM messages WHERE platform_message_id IS NOT NULL
GROUP BY platform_message_id HAVING count(*) > 1
"""

# A user message with no bot reply is acceptable only when it, or an earlier
# message of its conversation, was flagged for a human (the bot is then silent).
# "Earlier" is by row id or by the event's own timestamp: tracking's workers
# commit concurrent batches in any order, so a message that came first in the
# stream (and escalated) can get a higher id than the ones the bot then ignored.
UNANSWERED_SQL = """
SELECT u.event_id FROM messages u
WHERE u.sender_type = 'user' AND u.event_id = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM messages b WHERE b.sender_type = 'bot' AND b.reply_to_event_id = u.event_id)
  AND NOT (u.requires_human AND coalesce(u.escalation_reason, '') <> '')
  AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.conversation_id = u.conversation_id
                  AND e.requires_human AND (e.id < u.id OR e.timestamp <= u.timestamp))
"""

DOUBLE_REPLIES_SQL = """
SELECT reply_to_event_id FROM messages WHERE sender_type = 'bot' AND reply_to_event_id = ANY($1::text[])
GROUP BY reply_to_event_id HAVING count(*) > 1
"""


def _counter_mismatch(row: asyncpg.Record) -> dict | None:
    pairs = [("message_count", "rows_all"), ("user_message_count", "rows_user"), ("bot_message_count", "rows_bot"),
             ("human_message_count", "rows_human"), ("pending_human_count", "rows_pending"),
             ("waiting_since", "rows_waiting_since")]
    bad = {col: (row[col], row[rows]) for col, rows in pairs if row[col] != row[rows]}
    return {"conversation_id": row["id"], **bad} if bad else None


async def consistency(conn: asyncpg.Connection) -> Report:
    """Invariants that must hold for any database state, whatever the traffic was."""
    report = Report()
    report.doubled = [r[0] for r in await conn.fetch(DOUBLED_SQL)]
    report.bad_counters = [m for r in await conn.fetch(COUNTERS_SQL) if (m := _counter_mismatch(r))]
    report.open_twice = [tuple(r) for r in await conn.fetch(OPEN_TWICE_SQL)]
    # One snapshot for both sides: a batch committing between two statements would look like drift.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        totals = await conn.fetchrow(TOTALS_SQL)
    if totals["kept"] != totals["actual"]:
        report.bad_totals = [{"kept": totals["kept"], "actual": totals["actual"]}]
    return report


async def verify(conn: asyncpg.Connection, acked_event_ids: Iterable[str], expect_replies: bool = True) -> Report:
    """Everything acknowledged is stored once and (in bot mode) answered once, plus consistency()."""
    ids = sorted(set(acked_event_ids))
    report = await consistency(conn)
    stored = {r[0] for r in await conn.fetch("SELECT event_id FROM messages WHERE event_id = ANY($1::text[])", ids)}
    report.missing = [i for i in ids if i not in stored]
    if expect_replies:
        report.unanswered = [r[0] for r in await conn.fetch(UNANSWERED_SQL, ids)]
        report.double_replies = [r[0] for r in await conn.fetch(DOUBLE_REPLIES_SQL, ids)]
    return report


async def stored_count(conn: asyncpg.Connection, event_ids: list[str]) -> int:
    return await conn.fetchval("SELECT count(*) FROM messages WHERE event_id = ANY($1::text[])", event_ids)


async def settled(conn: asyncpg.Connection, acked_event_ids: Iterable[str]) -> Report | None:
    """The verify() report once every acked message is stored and answered or flagged; None before."""
    report = await verify(conn, acked_event_ids)
    return report if not (report.missing or report.unanswered) else None


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT sender_type, count(*) FROM messages GROUP BY 1")
    out = {r[0]: r[1] for r in rows}
    out["conversations"] = await conn.fetchval("SELECT count(*) FROM conversations")
    return out


UNSENT_SQL = """
SELECT b.event_id FROM messages b
WHERE b.sender_type = 'bot' AND b.reply_to_event_id = ANY($1::text[])
  AND coalesce(b.delivery_status, '') NOT IN ('sent', 'delivered', 'read')
"""


async def unsent_replies(conn: asyncpg.Connection, user_event_ids: list[str]) -> list[str]:
    """Bot replies to these user messages whose Send API delivery is not (yet) recorded as sent."""
    return [r[0] for r in await conn.fetch(UNSENT_SQL, user_event_ids)]


EXPLAIN_SQL = """
SELECT m.conversation_id, m.id, m.event_id, m.sender_type, m.kind, m.requires_human, m.escalation_reason,
       m.reply_to_event_id, m.timestamp, m.created_at, c.status
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.conversation_id IN (SELECT conversation_id FROM messages WHERE event_id = ANY($1::text[]))
ORDER BY m.conversation_id, m.id
"""


async def explain(conn: asyncpg.Connection, event_ids: list[str]) -> str:
    """The conversations holding these messages, row by row: what a failed check needs to be understood."""
    rows = await conn.fetch(EXPLAIN_SQL, event_ids[:10])
    return "\n".join(
        f"conv={r['conversation_id']}({r['status']}) id={r['id']} {r['sender_type']}/{r['kind']} {r['event_id']} "
        f"reply_to={r['reply_to_event_id']} human={r['requires_human']} reason={r['escalation_reason']} "
        f"ts={r['timestamp'].isoformat()} created={r['created_at'].isoformat()}"
        for r in rows)
