"""The team's statistics (GET /admin/stats/staff): what each staff member did in a period.

Who answered customers and how much, who answered first when a customer asked for a person and
how long that customer waited, who took conversations over, handed them back, closed them or left
notes, and how the customers they wrote to rated those conversations. A rated conversation counts
for every staff member who wrote in it: a shift change shares the result, as it shared the work.

Staff are their actor names (``alice:admin``, as every audit row and staff message records them);
replies written in the Facebook Page inbox count as ``page_inbox``. Actions of the system (auto-close,
retention) are not anyone's. Read-only statements on up to ``lanes`` pool connections at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from pentagon.admin.queries import HUMAN_REQUESTS, RATED_BETWEEN, RATING_SCORE, ConnectionSource, StatsJob, run_jobs

ROLES = ("admin", "viewer")
TRACKED_ACTIONS = ("takeover", "handback", "close", "note")


async def _replies(conn: asyncpg.Connection, since: datetime, until: datetime) -> list[asyncpg.Record]:
    # Staff messages only, from the partial index messages_staff_by_time alone (tracking migration 0015:
    # it holds actor and conversation). Counted per conversation first, by hash: a count(DISTINCT)
    # sorted every reply (bench/admin_bench.py staff_30d: 223 -> 85 ms for this statement).
    return await conn.fetch(
        "SELECT actor, sum(n)::bigint AS replies, count(*) AS conversations FROM (SELECT coalesce(actor, '') AS actor, "
        "conversation_id, count(*) AS n FROM messages WHERE sender_type = 'human' AND timestamp >= $1 "
        "AND timestamp < $2 GROUP BY 1, 2) per_conversation GROUP BY 1",
        since, until,
    )


async def _first_replies(conn: asyncpg.Connection, since: datetime, until: datetime) -> list[asyncpg.Record]:
    # The requests for a person of the detailed statistics' median first reply, each credited to
    # whoever answered it first.
    return await conn.fetch(
        f"WITH {HUMAN_REQUESTS} SELECT coalesce(h.actor, '') AS actor, count(*) AS first_replies, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM h.timestamp - a.at)) "
        "AS median_first_reply_seconds FROM asked a "
        "CROSS JOIN LATERAL (SELECT m.actor, m.timestamp FROM messages m WHERE m.conversation_id = a.conversation_id "
        "AND m.sender_type = 'human' AND m.timestamp >= a.at ORDER BY m.timestamp LIMIT 1) h GROUP BY 1",
        since, until,
    )


async def _actions(conn: asyncpg.Connection, since: datetime, until: datetime) -> list[asyncpg.Record]:
    counts = ", ".join(f"count(*) FILTER (WHERE action = '{a}') AS {a}s" for a in TRACKED_ACTIONS)
    return await conn.fetch(
        f"SELECT actor, {counts} FROM admin_actions WHERE created_at >= $1 AND created_at < $2 "
        "AND action = ANY($3::text[]) AND actor NOT LIKE 'system:%' GROUP BY actor",
        since, until, list(TRACKED_ACTIONS),
    )


async def _ratings(conn: asyncpg.Connection, since: datetime, until: datetime) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT s.actor, count(*) AS rated, avg(r.score)::float8 AS average_rating "
        f"FROM (SELECT id, {RATING_SCORE} AS score FROM conversations WHERE {RATED_BETWEEN}) r "
        "CROSS JOIN LATERAL (SELECT DISTINCT coalesce(m.actor, '') AS actor FROM messages m "
        "WHERE m.conversation_id = r.id AND m.sender_type = 'human') s GROUP BY 1",
        since, until,
    )


JOBS: list[StatsJob] = [("first_replies", _first_replies), ("replies", _replies), ("ratings", _ratings),
                        ("actions", _actions)]


def display_name(actor: str) -> str:
    """``alice:admin`` -> ``alice``; an actor without a role (``page_inbox``) is its own name."""
    name, sep, role = actor.rpartition(":")
    return name if sep and role in ROLES else actor


def _blank(actor: str) -> dict[str, Any]:
    return {"actor": actor, "name": display_name(actor), "replies": 0, "conversations": 0, "first_replies": 0,
            "median_first_reply_seconds": None, **{f"{a}s": 0 for a in TRACKED_ACTIONS}, "rated": 0,
            "average_rating": None}


async def staff_stats(connect: ConnectionSource, since: datetime, until: datetime, lanes: int = 2) -> list[dict[str, Any]]:
    """One row per staff member who did anything in [since, until), the busiest first."""
    results = await run_jobs(connect, JOBS, since, until, lanes)
    staff: dict[str, dict[str, Any]] = {}
    for name in ("replies", "first_replies", "actions", "ratings"):
        for row in results[name]:
            fields = dict(row)
            staff.setdefault(fields["actor"], _blank(fields["actor"])).update(fields)
    return sorted(staff.values(), key=lambda s: (-s["replies"], -s["first_replies"], s["name"], s["actor"]))
