"""Days staff closed the cafe, or changed its hours, in the panel (bucket ``closed_days``), known within moments.

"Power cut, closed today", "closed for Thingyan" or "closing at 15:00 for a private party" is set
at the counter, not in a file: the bot then says so for that day (with the staff's note), promises
a person only when the cafe really opens again, and mentions a change coming within the week when
asked for the hours (answer.py lays these days over the knowledge file's). Asked at answer time
(no index rebuild); NATS away, the agent keeps the days it had.
"""

from __future__ import annotations

from prometheus_client import Gauge

from pentagon.agent.buckets import PanelRows
from pentagon.common.bus import CLOSED_DAYS_BUCKET, closed_days_bucket
from pentagon.common.closed_days import ClosedDay, closed_day


class ClosedDays(PanelRows[ClosedDay]):
    """``rows()``: the days by ISO date."""

    bucket = CLOSED_DAYS_BUCKET
    opener = staticmethod(closed_days_bucket)
    gauge = Gauge("agent_closed_days_rows",
                  "Days staff closed the cafe or changed its hours in the panel (rows, past days included)")

    def parse(self, key: str, value: bytes) -> ClosedDay:
        return closed_day(key, value)
