"""Days staff close the cafe, or open it other hours, in the panel: the bucket ``closed_days`` (key = YYYY-MM-DD).

Every agent replica follows the bucket (agent closed_days.py): asked about that day, the bot says
the cafe is closed (or its hours that day), with the staff's note, and promises a person only for
when it opens again.
Row format and meaning: ``pentagon.common.closed_days``. Past days stay until the bucket's TTL
forgets them; the list shows the days still ahead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pentagon.admin.kvrecords import KvRecords
from pentagon.admin.queries import utc_now
from pentagon.common.bus import CLOSED_DAYS_BUCKET
from pentagon.common.closed_days import parse_day
from pentagon.common.jsonrow import iso


class ClosedDaysStore(KvRecords):
    bucket = CLOSED_DAYS_BUCKET
    required = "date"
    limit = 400  # a year ahead, and the past ones the TTL has not forgotten yet
    what = "closed days"

    async def upcoming(self, since: date) -> list[dict[str, Any]]:
        """The days from `since` on, soonest first (rows of ours only: a hand-written key is skipped)."""
        rows = []
        for row in await self.rows():
            try:
                day = parse_day(row["date"])
            except ValueError:
                continue
            if day >= since:
                rows.append(row)
        return sorted(rows, key=lambda r: r["date"])

    async def put_day(self, day: date, hours: tuple[str, str] | None, note_en: str, note_mm: str,
                      actor: str) -> dict[str, Any]:
        """Closed all day (hours None), or open only (open, close) that day."""
        opens, closes = hours or (None, None)
        row = {"date": day.isoformat(), "open": opens, "close": closes, "note_en": note_en, "note_mm": note_mm,
               "by": actor, "at": iso(utc_now())}
        return await self.put_row(day.isoformat(), row)
