"""Days staff closed the cafe, or changed its hours, in the panel (bucket ``closed_days``), known within moments.

"Power cut, closed today", "closed for Thingyan" or "closing at 15:00 for a private party" is set
at the counter, not in a file: the bot then says so for that day (with the staff's note), promises
a person only when the cafe really opens again, and mentions a change coming within the week when
asked for the hours (answer.py lays these days over the knowledge file's). Asked at answer time
(no index rebuild); NATS away, the agent keeps the days it had.
"""

from __future__ import annotations

import logging

from prometheus_client import Gauge

from pentagon.agent.buckets import Buckets
from pentagon.common.bus import closed_days_bucket
from pentagon.common.closed_days import ClosedDay, closed_day
from pentagon.common.kvwatch import follow

log = logging.getLogger(__name__)

CLOSED_DAYS_ROWS = Gauge("agent_closed_days_rows",
                         "Days staff closed the cafe or changed its hours in the panel (rows, past days included)")


class ClosedDays:
    def __init__(self, buckets: Buckets | None = None) -> None:
        self._buckets = buckets
        self._days: dict[str, ClosedDay] = {}

    def days(self) -> dict[str, ClosedDay]:
        """The closed days by ISO date (a snapshot: the watch may change it while an answer is made)."""
        return dict(self._days)

    def apply(self, key: str, value: bytes | None) -> None:
        self._days.pop(key, None)
        if value is not None:
            try:
                self._days[key] = closed_day(key, value)
            except ValueError:
                # An unreadable row must not close the cafe: the day's hours stay as the files say.
                log.warning("unusable row in the closed-days bucket skipped", extra={"key": key})
        CLOSED_DAYS_ROWS.set(len(self._days))

    async def run(self) -> None:
        """Until cancelled: follow the bucket (connecting with retries)."""
        assert self._buckets is not None
        kv = await self._buckets.open(closed_days_bucket, "closed_days")
        await follow(kv, self.apply, what="closed days")
