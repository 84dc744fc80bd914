"""Every SQL statement admin-api runs (read-only, parametrised) and the keyset cursors.

Values never reach SQL text: each filter adds a ``$n`` placeholder. Column
lists are explicit so the JSON shapes stay exactly those of
docs/architecture.md even if tracking adds columns.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

import asyncpg

from pentagon.admin.errors import invalid
from pentagon.common.jsonrow import CONVERSATION_COLUMNS, MESSAGE_COLUMNS, iso, row_to_dict

AUDIT_COLUMNS = ("id", "command_id", "actor", "action", "conversation_id", "message_id", "params", "before", "after",
                 "created_at")


def _cols(columns: tuple[str, ...], alias: str) -> str:
    return ", ".join(f'{alias}."{name}"' for name in columns)


CONV_SELECT = _cols(CONVERSATION_COLUMNS, "c")
MSG_SELECT = _cols(MESSAGE_COLUMNS, "m")

StatusFilter = Literal["active", "human", "closed", "open", "all"]


# ---------------------------------------------------------------- cursors

def encode_cursor(kind: str, values: list[Any]) -> str:
    raw = json.dumps({"k": kind, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("k") != kind or not isinstance(data.get("v"), list):
            raise ValueError
        return data["v"]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("cursor is not valid") from None


def _conversation_cursor(cursor: str) -> tuple[datetime | None, int]:
    values = decode_cursor("c", cursor)
    try:
        at = None if values[0] is None else datetime.fromisoformat(values[0].replace("Z", "+00:00"))
        ident = values[1]
    except (IndexError, TypeError, ValueError, AttributeError):
        raise invalid("cursor is not valid") from None
    if len(values) != 2 or (at is not None and at.tzinfo is None) or type(ident) is not int or not 0 < ident < 2**63:
        raise invalid("cursor is not valid")
    return at, ident


# ---------------------------------------------------------------- filters

@dataclass
class ConversationFilter:
    status: StatusFilter = "open"
    platform: str | None = None
    needs_human: bool | None = None
    assigned_to: str | None = None
    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    label: str | None = None
    max_rating: int | None = None  # rated by the customer at most this (1..5): who to follow up


@dataclass
class _Where:
    clauses: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, clause: str, *values: Any) -> None:
        """``clause`` uses {0}, {1}... for its own values; they become the next $n placeholders."""
        start = len(self.args) + 1
        self.args.extend(values)
        self.clauses.append(clause.format(*[f"${start + i}" for i in range(len(values))]))

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conversation_where(f: ConversationFilter) -> _Where:
    where = _Where()
    if f.status == "open":
        where.add("c.status IN ('active', 'human')")
    elif f.status != "all":
        where.add("c.status = {0}", f.status)
    if f.platform:
        where.add("c.platform = {0}", f.platform)
    if f.needs_human is True:
        where.add("c.pending_human_count > 0")
    elif f.needs_human is False:
        where.add("c.pending_human_count = 0")
    if f.assigned_to:
        where.add("c.assigned_to = {0}", f.assigned_to)
    if f.user_id:
        where.add("c.user_id = {0}", f.user_id)
    if f.label:
        # The first condition lets the planner use the partial GIN index conversations_labels.
        where.add("c.labels <> '{{}}' AND c.labels @> ARRAY[{0}]::text[]", f.label)
    if f.max_rating:
        # "metadata ? 'rating'" is the predicate of the partial index conversations_rated (migration 0013).
        where.add("c.metadata ? 'rating' AND c.metadata->'rating'->>'score' = ANY({0}::text[])",
                  [str(score) for score in range(1, f.max_rating + 1)])
    if f.since:
        where.add("c.last_message_at >= {0}", f.since)
    if f.until:
        where.add("c.last_message_at < {0}", f.until)
    if f.q:
        # English full text for stemmed words, trigram ILIKE for Burmese (no word boundaries) and substrings.
        where.add(
            "c.id IN (SELECT m.conversation_id FROM messages m WHERE "
            "to_tsvector('english', m.content) @@ plainto_tsquery('english', {0}) OR m.content ILIKE {1})",
            f.q, like_pattern(f.q),
        )
    return where


# ---------------------------------------------------------------- labels

LABELS_SQL = """
SELECT l AS label, count(*) AS conversations, count(*) FILTER (WHERE c.status <> 'closed') AS open
  FROM conversations c CROSS JOIN LATERAL unnest(c.labels) AS l
 WHERE c.labels <> '{}' AND c.last_message_at >= now() - make_interval(days => $1)
 GROUP BY l ORDER BY count(*) DESC, l LIMIT $2
"""


async def labels_in_use(conn: asyncpg.Connection, days: int, limit: int) -> list[dict[str, Any]]:
    """The labels on conversations active in the last `days`, most used first."""
    return [dict(r) for r in await conn.fetch(LABELS_SQL, days, limit)]


# Customers' questions the bot handed to a person because nothing it knows covered them
# (escalation_reason low_confidence), grouped by their text with case and spacing ignored: what the
# cafe should add to its FAQ. Each group is shown by its newest asking (the highest id: rows are
# inserted in the order customers wrote). Whitespace is collapsed only where there is something to
# collapse: regexp_replace on every row was two thirds of the statement's time (admin_bench).
UNANSWERED_SQL = """
WITH asked AS (
    SELECT count(*) AS asked, max("timestamp") AS last_asked_at, max(id) AS message_id
      FROM messages
     WHERE sender_type = 'user' AND escalation_reason = 'low_confidence'
       AND "timestamp" >= $1 AND "timestamp" < $2 AND btrim(content) <> ''
     GROUP BY CASE WHEN content ~ '\\s\\s|[^ \\S]' THEN lower(regexp_replace(btrim(content), '\\s+', ' ', 'g'))
                   ELSE lower(btrim(content)) END
     ORDER BY count(*) DESC, max("timestamp") DESC LIMIT $3
)
SELECT left(m.content, $4) AS text, a.asked, a.last_asked_at, m.conversation_id, a.message_id
  FROM asked a JOIN messages m ON m.id = a.message_id
 ORDER BY a.asked DESC, a.last_asked_at DESC
"""
UNANSWERED_TEXT_CHARS = 500


async def unanswered_questions(conn: asyncpg.Connection, since: datetime, until: datetime,
                               limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(UNANSWERED_SQL, since, until, limit, UNANSWERED_TEXT_CHARS)
    return [row_to_dict(dict(r)) for r in rows]


# ---------------------------------------------------------------- conversations

def conversation_json(row: asyncpg.Record) -> dict[str, Any]:
    data = row_to_dict({k: row[k] for k in CONVERSATION_COLUMNS})
    if "lm_content" in row.keys():
        data["last_message"] = None if row["lm_sender_type"] is None else {
            "content": row["lm_content"],
            "sender_type": row["lm_sender_type"],
            "timestamp": row_to_dict({"t": row["lm_timestamp"]})["t"],
        }
    return data


_LAST_MESSAGE_JOIN = (
    "LEFT JOIN LATERAL (SELECT m.content AS lm_content, m.sender_type AS lm_sender_type, m.timestamp AS lm_timestamp "
    "FROM messages m WHERE m.conversation_id = c.id ORDER BY m.timestamp DESC, m.id DESC LIMIT 1) lm ON TRUE"
)


async def list_conversations(conn: asyncpg.Connection, f: ConversationFilter, limit: int,
                             cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    where = _conversation_where(f)
    if cursor:
        at, ident = _conversation_cursor(cursor)
        if at is None:
            where.add("c.last_message_at IS NULL AND c.id < {0}", ident)
        else:
            # Conversations without any message yet (NULL) sort last, as in tracking's recency index.
            where.add("((c.last_message_at, c.id) < ({0}, {1}) OR c.last_message_at IS NULL)", at, ident)
    where.args.append(limit + 1)
    # The page first, then each row's last message: joined before the LIMIT, a filter served by a
    # bitmap scan (a label, a search) would look up the last message of every match, not of the page.
    order = "c.last_message_at DESC NULLS LAST, c.id DESC"
    sql = (f"SELECT {CONV_SELECT}, lm.* FROM (SELECT * FROM conversations c WHERE {where.sql()} "
           f"ORDER BY {order} LIMIT ${len(where.args)}) c {_LAST_MESSAGE_JOIN} ORDER BY {order}")
    rows = await conn.fetch(sql, *where.args)
    page = [conversation_json(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit and page:
        last = rows[limit - 1]
        next_cursor = encode_cursor("c", [page[-1]["last_message_at"], last["id"]])
    return page, next_cursor


async def get_conversation(conn: asyncpg.Connection, conversation_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {CONV_SELECT} FROM conversations c WHERE c.id = $1", conversation_id)
    return None if row is None else conversation_json(row)


async def conversation_messages(conn: asyncpg.Connection, conversation_id: int, limit: int,
                                before_id: int | None = None) -> list[dict[str, Any]]:
    """The latest ``limit`` messages (older than message ``before_id`` when given), oldest first.

    Order is the platform timestamp, then id: what the user saw, even when events arrived out of order.
    """
    where = "m.conversation_id = $1"
    args: list[Any] = [conversation_id, limit]
    if before_id is not None:
        where += (" AND (m.timestamp, m.id) < (SELECT b.timestamp, b.id FROM messages b "
                  "WHERE b.id = $3 AND b.conversation_id = $1)")
        args.append(before_id)
    rows = await conn.fetch(
        f"SELECT * FROM (SELECT {MSG_SELECT} FROM messages m WHERE {where} ORDER BY m.timestamp DESC, m.id DESC "
        f"LIMIT $2) x ORDER BY \"timestamp\", id",
        *args,
    )
    return [row_to_dict(r) for r in rows]


async def last_user_message_at(conn: asyncpg.Connection, conversation_id: int) -> datetime | None:
    return await conn.fetchval(
        "SELECT max(m.timestamp) FROM messages m WHERE m.conversation_id = $1 AND m.sender_type = 'user'",
        conversation_id,
    )


@dataclass(frozen=True)
class RatingFacts:
    """What asking a closed conversation's customer for a rating depends on."""
    last_event_id: str          # the question is filed after it, in this conversation
    last_user_text: str         # its language is the question's
    last_user_at: datetime      # Messenger lets a page write first only within 24 h of it
    asked: bool                 # one question per conversation


async def rating_facts(conn: asyncpg.Connection, conversation_id: int, request_event_id: str) -> RatingFacts | None:
    """None when the customer never wrote in this conversation (nobody to ask)."""
    row = await conn.fetchrow(
        "SELECT (SELECT event_id FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1) AS last_event_id, "
        "u.content, u.timestamp, EXISTS (SELECT 1 FROM messages WHERE event_id = $2) AS asked "
        "FROM (SELECT content, timestamp FROM messages WHERE conversation_id = $1 AND sender_type = 'user' "
        "      ORDER BY id DESC LIMIT 1) u",
        conversation_id, request_event_id,
    )
    if row is None or row["last_event_id"] is None:
        return None
    return RatingFacts(row["last_event_id"], row["content"], row["timestamp"], row["asked"])


async def open_conversation_key(conn: asyncpg.Connection, conversation_id: int) -> tuple[str, str] | None:
    """(platform, user_id) of a conversation that is not closed: where staff typing can be shown."""
    row = await conn.fetchrow("SELECT platform, user_id FROM conversations WHERE id = $1 AND status <> 'closed'",
                              conversation_id)
    return (row["platform"], row["user_id"]) if row else None


async def message_exists(conn: asyncpg.Connection, message_id: int) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM messages WHERE id = $1)", message_id))


# ---------------------------------------------------------------- stats

async def basic_stats(conn: asyncpg.Connection) -> dict[str, Any]:
    # Totals the database keeps as every statement changes conversations (tracking's migration
    # 0014): a sum over a few rows instead of a pass over every conversation.
    row = await conn.fetchrow(
        "SELECT coalesce(sum(conversations), 0)::bigint AS total_conversations, "
        "coalesce(sum(open), 0)::bigint AS active_conversations, "
        "coalesce(sum(messages), 0)::bigint AS total_messages, "
        "coalesce(sum(pending_human), 0)::bigint AS messages_requiring_human, "
        "coalesce(sum(needs_human), 0)::bigint AS needs_human_conversations FROM conversation_counts"
    )
    return {**dict(row), "oldest_waiting_since": iso(await oldest_waiting(conn))}


async def oldest_waiting(conn: asyncpg.Connection) -> datetime | None:
    """When the customer who has waited longest for a person asked (partial index: few rows)."""
    return await conn.fetchval(
        "SELECT min(waiting_since) FROM conversations WHERE pending_human_count > 0 AND status <> 'closed'")


ConnectionSource = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
StatsJob = tuple[str, Callable[[asyncpg.Connection, datetime, datetime], Awaitable[Any]]]


async def _handoff(conn: asyncpg.Connection, since: datetime, until: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT count(*) AS total, count(*) FILTER (WHERE status = 'human' OR human_message_count > 0 "
        "OR escalation_reason IS NOT NULL OR EXISTS (SELECT 1 FROM admin_actions a "
        "WHERE a.conversation_id = c.id AND a.action = 'takeover')) AS handed_off "
        "FROM conversations c WHERE c.created_at >= $1 AND c.created_at < $2",
        since, until,
    )


async def _queue(conn: asyncpg.Connection, since: datetime, until: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT count(*) AS conversations, coalesce(sum(pending_human_count), 0)::bigint AS messages "
        "FROM conversations WHERE status <> 'closed' AND pending_human_count > 0"
    )


# The requests for a person in [$1, $2): each conversation's first message flagged in it, and when.
HUMAN_REQUESTS = ("asked AS (SELECT conversation_id, min(timestamp) AS at FROM messages "
                  "WHERE requires_human AND timestamp >= $1 AND timestamp < $2 GROUP BY conversation_id)")


async def _first_human_response(conn: asyncpg.Connection, since: datetime, until: datetime) -> asyncpg.Record:
    # LATERAL: the first human answer is looked up once per request (a scalar subquery used by two
    # aggregates ran twice).
    return await conn.fetchrow(
        f"WITH {HUMAN_REQUESTS} "
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM h.first_human - a.at)) "
        "AS median_seconds, count(h.first_human) AS answered, count(*) AS asked FROM asked a "
        "LEFT JOIN LATERAL (SELECT min(m.timestamp) AS first_human FROM messages m WHERE m.conversation_id = "
        "a.conversation_id AND m.sender_type = 'human' AND m.timestamp >= a.at) h ON TRUE",
        since, until,
    )


async def _bot_confidence(conn: asyncpg.Connection, since: datetime, until: datetime) -> Any:
    return await conn.fetchval(
        "SELECT avg(confidence_score) FROM messages WHERE sender_type = 'bot' AND confidence_score IS NOT NULL "
        "AND timestamp >= $1 AND timestamp < $2",
        since, until,
    )


def _messages_per_hour(tz: str) -> Callable[[asyncpg.Connection, datetime, datetime], Awaitable[list[asyncpg.Record]]]:
    """The hours of ``tz`` (an IANA name): in Yangon, UTC+6:30, a UTC hour would run from half past."""
    async def job(conn: asyncpg.Connection, since: datetime, until: datetime) -> list[asyncpg.Record]:
        # One index-only count per hour instead of date_trunc() on every message then a sort: ~3x cheaper
        # on 24 h of 1M messages. Hours without messages are left out, as a GROUP BY would.
        return await conn.fetch(
            "SELECT h AS hour, n AS count FROM generate_series(date_trunc('hour', $1::timestamptz, $3), "
            "$2::timestamptz, interval '1 hour') h CROSS JOIN LATERAL (SELECT count(*) AS n FROM messages m "
            "WHERE m.timestamp >= greatest(h, $1::timestamptz) AND m.timestamp < least(h + interval '1 hour', "
            "$2::timestamptz)) c WHERE n > 0 ORDER BY h",
            since, until, tz,
        )
    return job


async def _per_platform(conn: asyncpg.Connection, since: datetime, until: datetime) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT platform, count(*) AS conversations, "
        "count(*) FILTER (WHERE status <> 'closed') AS open, "
        "count(*) FILTER (WHERE status = 'human') AS human, "
        "count(*) FILTER (WHERE status <> 'closed' AND pending_human_count > 0) AS needs_human "
        "FROM conversations WHERE last_message_at >= $1 AND created_at < $2 GROUP BY platform ORDER BY platform",
        since, until,
    )


RATING_SCORE = "(metadata->'rating'->>'score')::int"
# Conversations rated between $1 and $2: a well-formed score and time only (the metadata is merged
# from a customer's message), read through the partial index conversations_rated.
RATED_BETWEEN = (
    "metadata ? 'rating' AND last_message_at >= $1 "
    "AND metadata->'rating'->>'score' IN ('1', '2', '3', '4', '5') "
    "AND metadata->'rating'->>'rated_at' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$' "
    "AND (metadata->'rating'->>'rated_at')::timestamptz >= $1 "
    "AND (metadata->'rating'->>'rated_at')::timestamptz < $2"
)


async def low_ratings(conn: asyncpg.Connection, since: datetime, until: datetime) -> int:
    """Conversations customers rated 1 or 2 in [since, until): the alert rule's figure."""
    return await conn.fetchval(f"SELECT count(*) FROM conversations WHERE {RATED_BETWEEN} AND {RATING_SCORE} <= 2",
                               since, until)


async def _ratings(conn: asyncpg.Connection, since: datetime, until: datetime) -> list[asyncpg.Record]:
    # Customers' answers to "How did we do?" (pentagon.common.rating), merged by tracking into the
    # conversation: the partial index conversations_rated (tracking migration 0013) holds only rated
    # conversations, by their last message, which is at or after the rating.
    return await conn.fetch(
        f"SELECT {RATING_SCORE} AS score, count(*) AS n FROM conversations WHERE {RATED_BETWEEN} GROUP BY 1 ORDER BY 1",
        since, until,
    )


def _rating_summary(rows: list[asyncpg.Record]) -> dict[str, Any]:
    by_score = {str(score): 0 for score in range(1, 6)}
    by_score.update({str(row["score"]): row["n"] for row in rows})
    count = sum(by_score.values())
    satisfied = by_score["4"] + by_score["5"]
    return {"count": count, "average": sum(int(k) * n for k, n in by_score.items()) / count if count else None,
            "satisfied_share": satisfied / count if count else None, "by_score": by_score}


def _detailed_stats_jobs(tz: str) -> list[StatsJob]:
    # Slowest first (measured on bench/admin_bench.py data), so the lanes finish close together.
    return [("queue", _queue), ("handoff", _handoff), ("timing", _first_human_response),
            ("confidence", _bot_confidence), ("hours", _messages_per_hour(tz)), ("platforms", _per_platform),
            ("ratings", _ratings)]


async def run_jobs(connect: ConnectionSource, jobs: list[StatsJob], since: datetime, until: datetime,
                   lanes: int) -> dict[str, Any]:
    """Runs independent read-only statements on up to ``lanes`` pool connections at once.

    Each lane holds one connection and takes the next job when it is free: a lane never waits for a
    second connection while holding one, so concurrent requests cannot deadlock on a small pool.
    """
    pending = list(jobs)
    results: dict[str, Any] = {}

    async def lane() -> None:
        async with connect() as conn:
            while pending:
                name, job = pending.pop(0)
                results[name] = await job(conn, since, until)

    tasks = [asyncio.create_task(lane()) for _ in range(max(1, min(lanes, len(jobs))))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return results


async def detailed_stats(connect: ConnectionSource, since: datetime, until: datetime,
                         lanes: int = 2, tz: str = "UTC") -> dict[str, Any]:
    r = await run_jobs(connect, _detailed_stats_jobs(tz), since, until, lanes)
    handoff, queue, timing, confidence = r["handoff"], r["queue"], r["timing"], r["confidence"]
    total = handoff["total"]
    return {
        "since": since,
        "until": until,
        "per_platform": [dict(row) for row in r["platforms"]],
        "needs_human_queue": {"conversations": queue["conversations"], "messages": queue["messages"]},
        "handoff_rate": (handoff["handed_off"] / total) if total else None,
        "conversations_in_range": total,
        "handed_off_conversations": handoff["handed_off"],
        "median_first_human_response_seconds": timing["median_seconds"],
        "human_requests": timing["asked"],
        "human_requests_answered": timing["answered"],
        "average_bot_confidence": float(confidence) if confidence is not None else None,
        "messages_per_hour": [{"hour": row["hour"], "count": row["count"]} for row in r["hours"]],
        "ratings": _rating_summary(r["ratings"]),
    }


# ---------------------------------------------------------------- audit

async def audit_log(conn: asyncpg.Connection, limit: int, cursor: str | None, actor: str | None,
                    action: str | None, conversation_id: int | None) -> tuple[list[dict[str, Any]], str | None]:
    where = _Where()
    if cursor:
        values = decode_cursor("a", cursor)
        if len(values) != 1 or not isinstance(values[0], int) or not 0 < values[0] < 2**63:
            raise invalid("cursor is not valid")
        where.add("a.id < {0}", values[0])
    if actor:
        where.add("a.actor = {0}", actor)
    if action:
        where.add("a.action = {0}", action)
    if conversation_id is not None:
        where.add("a.conversation_id = {0}", conversation_id)
    where.args.append(limit + 1)
    rows = await conn.fetch(
        f"SELECT {_cols(AUDIT_COLUMNS, 'a')} FROM admin_actions a WHERE {where.sql()} ORDER BY a.id DESC "
        f"LIMIT ${len(where.args)}",
        *where.args,
    )
    page = [row_to_dict(r) for r in rows[:limit]]
    next_cursor = encode_cursor("a", [rows[limit - 1]["id"]]) if len(rows) > limit else None
    return page, next_cursor


# ---------------------------------------------------------------- export

def export_conversations_sql(f: ConversationFilter) -> tuple[str, list[Any]]:
    where = _conversation_where(f)
    return (f"SELECT {CONV_SELECT} FROM conversations c WHERE {where.sql()} ORDER BY c.id", where.args)


def export_messages_sql(f: ConversationFilter) -> tuple[str, list[Any]]:
    """Messages of the matching conversations; since/until apply to the message timestamps."""
    where = _conversation_where(replace(f, since=None, until=None))
    if f.since:
        where.add("m.timestamp >= {0}", f.since)
    if f.until:
        where.add("m.timestamp < {0}", f.until)
    sql = (f"SELECT {MSG_SELECT} FROM messages m JOIN conversations c ON c.id = m.conversation_id "
           f"WHERE {where.sql()} ORDER BY m.conversation_id, m.id")
    return sql, where.args


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
