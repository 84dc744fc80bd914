"""Totals of the original integration and the detailed statistics staff need."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from pentagon.admin import queries
from pentagon.admin.auth import Identity, current_identity
from pentagon.admin.deps import UtcDatetime, check_range, runtime
from pentagon.admin.errors import invalid
from pentagon.admin.models import READ_ERRORS, DetailedStatsResponse, StatsResponse, ok
from pentagon.admin.runtime import Runtime
from pentagon.common.jsonrow import iso

router = APIRouter(prefix="/admin/stats", tags=["stats"])

MAX_RANGE = timedelta(days=92)


@router.get("", response_model=StatsResponse, responses=READ_ERRORS)
async def stats(_: Identity = Depends(current_identity), rt: Runtime = Depends(runtime)) -> Any:
    return ok(stats=await rt.stats())


@router.get("/detailed", response_model=DetailedStatsResponse, responses=READ_ERRORS)
async def detailed(
    since: Annotated[UtcDatetime | None, Query(description="default: until - 24 h")] = None,
    until: Annotated[UtcDatetime | None, Query(description="default: now")] = None,
    _: Identity = Depends(current_identity),
    rt: Runtime = Depends(runtime),
) -> Any:
    until = until or queries.utc_now()
    try:
        since = since or until - timedelta(hours=24)
    except OverflowError:
        raise invalid("until is out of range") from None
    check_range(since, until)
    if until - since > MAX_RANGE:
        raise invalid(f"the range may span at most {MAX_RANGE.days} days")
    # Independent statements on a few pool connections at once: wall time ~ the slowest lane, not the sum.
    lanes = min(rt.settings.admin_stats_connections, rt.settings.admin_db_pool_size)
    data = await queries.detailed_stats(rt.connection, since, until, lanes)
    data["since"], data["until"] = iso(since), iso(until)
    data["messages_per_hour"] = [{"hour": iso(h["hour"]), "count": h["count"]} for h in data["messages_per_hour"]]
    return ok(stats=data)
