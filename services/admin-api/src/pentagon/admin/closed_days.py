"""Days staff close the cafe in the panel, kept in the bucket ``closed_days`` (key = YYYY-MM-DD).

Every agent replica follows the bucket (agent closed_days.py): asked about that day, the bot says
the cafe is closed, with the staff's note, and promises a person only for when it opens again.
Row format and meaning: ``pentagon.common.closed_days``. Past days stay until the bucket's TTL
forgets them; the list shows the days still ahead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from pentagon.admin.kvrecords import KvRecords
from pentagon.admin.queries import utc_now
from pentagon.common.bus import CLOSED_DAYS_BUCKET
from pentagon.common.closed_days import parse_day
from pentagon.common.jsonrow import iso


class ClosedDaysStore(KvRecords):
    required = "date"
    limit = 400  # a year ahead, and the past ones the TTL has not forgotten yet
    what = "closed days"

    def __init__(self, kv: KeyValue, js: JetStreamContext, bucket: str = CLOSED_DAYS_BUCKET) -> None:
        super().__init__(kv, js, bucket)

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

    async def close(self, day: date, note_en: str, note_mm: str, actor: str) -> dict[str, Any]:
        row = {"date": day.isoformat(), "note_en": note_en, "note_mm": note_mm, "by": actor, "at": iso(utc_now())}
        return await self.put_row(day.isoformat(), row)
