"""Totals of the original integration and the detailed statistics staff need."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query

from pentagon.admin import queries, staff_stats
from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.coverage import answered_now
from pentagon.admin.deps import UtcDatetime, check_range, runtime
from pentagon.admin.errors import invalid
from pentagon.admin.models import (READ_ERRORS, DetailedStatsResponse, StaffStatsResponse, StatsResponse, UnansweredList,
                                   ok)
from pentagon.admin.runtime import Runtime
from pentagon.common.jsonrow import iso

router = APIRouter(prefix="/admin/stats", tags=["stats"])

MAX_RANGE = timedelta(days=92)
# "UTC", "Asia/Yangon", "America/Argentina/Buenos_Aires", "Etc/GMT+7": the shape of a zone name only.
TZ_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$"


@router.get("", response_model=StatsResponse, responses=READ_ERRORS)
async def stats(_: Identity = Depends(current_identity), rt: Runtime = Depends(runtime)) -> Any:
    return ok(stats=await rt.stats())


def stats_range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The period asked for: the last 24 hours by default, at most MAX_RANGE."""
    until = until or queries.utc_now()
    try:
        since = since or until - timedelta(hours=24)
    except OverflowError:
        raise invalid("until is out of range") from None
    check_range(since, until)
    if until - since > MAX_RANGE:
        raise invalid(f"the range may span at most {MAX_RANGE.days} days")
    return since, until


def stats_lanes(rt: Runtime) -> int:
    """Pool connections one statistics request may use at once: wall time ~ its slowest statement."""
    return min(rt.settings.admin_stats_connections, rt.settings.admin_db_pool_size)


@router.get("/detailed", response_model=DetailedStatsResponse, responses=READ_ERRORS)
async def detailed(
    since: Annotated[UtcDatetime | None, Query(description="default: until - 24 h")] = None,
    until: Annotated[UtcDatetime | None, Query(description="default: now")] = None,
    tz: Annotated[str, Query(max_length=64, pattern=TZ_PATTERN,
                             description="IANA time zone whose hours messages_per_hour counts "
                                         "(Asia/Yangon: from 14:00 local, not from half past)")] = "UTC",
    _: Identity = Depends(current_identity),
    rt: Runtime = Depends(runtime),
) -> Any:
    since, until = stats_range(since, until)
    try:
        data = await queries.detailed_stats(rt.connection, since, until, stats_lanes(rt), tz)
    except asyncpg.InvalidParameterValueError:  # a well-formed name Postgres does not know
        raise invalid(f"unknown time zone {tz!r}") from None
    data["since"], data["until"] = iso(since), iso(until)
    data["messages_per_hour"] = [{"hour": iso(h["hour"]), "count": h["count"]} for h in data["messages_per_hour"]]
    return ok(stats=data)


@router.get("/unanswered", response_model=UnansweredList, responses=READ_ERRORS)
async def unanswered(
    since: Annotated[UtcDatetime | None, Query(description="default: until - 24 h")] = None,
    until: Annotated[UtcDatetime | None, Query(description="default: now")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    _: Identity = Depends(current_identity),
    rt: Runtime = Depends(runtime),
) -> Any:
    """Customers' questions the bot handed to a person because nothing it knows covered them, most
    asked first: what the cafe's FAQ and menu should say next; each says whether the bot answers it now."""
    since, until = stats_range(since, until)
    # The pool connection goes back before the agent is asked: a slow agent never holds one.
    async with rt.connection() as conn:
        rows = await queries.unanswered_questions(conn, since, until, limit)
    for row, answered in zip(rows, await answered_now(rt.agent, [r["text"] for r in rows])):
        row["answered_now"] = answered
    return ok(questions=rows, count=len(rows), since=iso(since), until=iso(until))


@router.get("/staff", response_model=StaffStatsResponse, responses=READ_ERRORS)
async def staff(
    since: Annotated[UtcDatetime | None, Query(description="default: until - 24 h")] = None,
    until: Annotated[UtcDatetime | None, Query(description="default: now")] = None,
    _: Identity = Depends(require_admin),
    rt: Runtime = Depends(runtime),
) -> Any:
    """What each staff member did in the period (admins only: it is about colleagues): replies,
    first answers to customers who asked for a person and their median wait, takeovers, hand-backs,
    closes, notes, and the customers' ratings of the conversations they wrote in."""
    since, until = stats_range(since, until)
    rows = await staff_stats.staff_stats(rt.connection, since, until, stats_lanes(rt))
    return ok(staff=rows, count=len(rows), since=iso(since), until=iso(until))
