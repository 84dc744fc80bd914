"""Days the cafe is closed or open other hours, set in the panel: everyone reads, admins set them.

"Power cut, closed today", "closed for Thingyan" or "closing at 15:00 today for a private party":
every agent replica follows the bucket ``closed_days`` and tells customers within moments (closed
that day or its hours, why, and when a person will answer). Days are the cafe's calendar days: admin-api keeps no time zone, so it accepts any day
from yesterday in UTC (today somewhere) to a year ahead, and the panel asks for the days from its
own today. Recorded by tracking in the audit log (`day_closed`, `day_reopened`) like every admin
action: 503 if tracking cannot answer, the change stays made and a retry with the same
Idempotency-Key records it once.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.closed_days import ClosedDaysStore
from pentagon.admin.commands import delete_recorded, record_bucket_change
from pentagon.admin.deps import idempotency_key, runtime
from pentagon.admin.errors import available, invalid
from pentagon.admin.models import ACTION_ERRORS, READ_ERRORS, ClosedDayBody, ClosedDayList, ClosedDayResult, Deleted, ok
from pentagon.admin.queries import utc_now
from pentagon.admin.runtime import Runtime
from pentagon.common.agent_client import AgentUnavailable
from pentagon.common.closed_days import DATE_PATTERN, MAX_DAYS_AHEAD, day_hours, parse_day

router = APIRouter(prefix="/admin/closed-days", tags=["closed days"])
Day = Annotated[str, Path(pattern=DATE_PATTERN, description="YYYY-MM-DD, the cafe's calendar day")]


def _store(rt: Runtime) -> ClosedDaysStore:
    return available(rt.closed_days)


def _earliest() -> date:
    """Yesterday in UTC: the cafe's today, wherever the cafe is."""
    return utc_now().date() - timedelta(days=1)


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError:
        raise invalid(f"{text} is not a day of the calendar") from None


@router.get("", response_model=ClosedDayList, responses=READ_ERRORS)
async def list_closed_days(
    since: Annotated[str | None, Query(alias="from", pattern=DATE_PATTERN,
                                       description="the first day listed (the panel's today); default: "
                                                   "yesterday in UTC")] = None,
    _: Identity = Depends(current_identity), rt: Runtime = Depends(runtime),
) -> Any:
    first = _day(since) if since else _earliest()
    days, from_file = await asyncio.gather(_store(rt).upcoming(first), _file_days(rt, first))
    set_here = {d["date"] for d in days}
    file_days = None if from_file is None else [d for d in from_file if d["date"] not in set_here]
    return ok(days=days, count=len(days), file_days=file_days)


async def _file_days(rt: Runtime, first: date) -> list[dict[str, Any]] | None:
    """The knowledge file's days from `first` on (gRPC ListHours), so staff see every day the bot will
    call closed; None when the agent cannot say: the days set here are listed all the same."""
    try:
        hours = await rt.agent.list_hours()
    except AgentUnavailable:
        return None
    return [{"date": d.date, "open": d.open or None, "close": d.close or None} for d in hours.days
            if d.date >= first.isoformat()]


@router.put("/{day}", response_model=ClosedDayResult, responses=ACTION_ERRORS)
async def close_day(day: Day, body: ClosedDayBody, identity: Identity = Depends(require_admin),
                    key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    when = _day(day)
    if not _earliest() <= when <= utc_now().date() + timedelta(days=MAX_DAYS_AHEAD):
        raise invalid(f"the day must be today or ahead, at most {MAX_DAYS_AHEAD} days")
    row = await _store(rt).put_day(when, day_hours(body.open, body.close), body.note_en, body.note_mm,
                                   identity.actor)
    await record_bucket_change(rt.commands, "day_closed", day, identity.actor, key,
                               {"open": body.open, "close": body.close, "note_en": body.note_en,
                                "note_mm": body.note_mm})
    return ok(day=row)


@router.delete("/{day}", response_model=Deleted, responses=ACTION_ERRORS)
async def reopen_day(day: Day, identity: Identity = Depends(require_admin),
                     key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    await delete_recorded(rt.commands, _store(rt), day, what="closed day", action="day_reopened",
                          actor=identity.actor, idempotency_key=key)
    return ok(deleted=True)
