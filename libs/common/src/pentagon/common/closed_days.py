"""A day the cafe is closed, or open other hours than usual, set in the panel (bucket ``closed_days``):
admin-api writes it, the agent reads it.

Key = the day in the cafe's calendar, ``YYYY-MM-DD``; the row ``{"date", "open", "close", "note_en",
"note_mm", "by", "at"}``: ``open`` and ``close`` (HH:MM) both null, closed all day; both set, open
only then that day (a close at or before the open ends after midnight, as in the knowledge file).
The notes say why ("Thingyan holiday", "power cut", "private party from 18:00"); either or both may
be empty. Both services read rows here, so the panel and the bot never disagree about a day. The
knowledge file's own ``closed_dates`` and ``special_hours`` (reservations_config.json) hold as well.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
NOTE_MAX_CHARS = 300
# How far ahead a day may be closed; the bucket's TTL (bus.closed_days_bucket) counts on it.
MAX_DAYS_AHEAD = 366

_DATE = re.compile(DATE_PATTERN)
_TIME = re.compile(TIME_PATTERN)


@dataclass(frozen=True)
class ClosedDay:
    day: date
    note_en: str = ""
    note_mm: str = ""
    hours: tuple[str, str] | None = None  # (open, close): open only then; None: closed all day

    def note(self, lang: str) -> str:
        """The note in the customer's language: Burmese when asked in Burmese and staff wrote one."""
        return self.note_mm if lang == "my" and self.note_mm else self.note_en


def parse_day(text: str) -> date:
    """A calendar day from its key; ValueError for anything else ('2026-2-1', '2026-02-30')."""
    if not _DATE.match(text):
        raise ValueError("not a YYYY-MM-DD day")
    return date.fromisoformat(text)


def closed_day(key: str, value: bytes) -> ClosedDay:
    """The row of `key`; ValueError when it is not one of ours (an unreadable row closes nothing)."""
    row: Any = json.loads(value)
    if not isinstance(row, dict) or row.get("date") != key:
        raise ValueError("not a closed day row")
    notes = [row.get("note_en") or "", row.get("note_mm") or ""]
    if not all(isinstance(n, str) and len(n) <= NOTE_MAX_CHARS for n in notes):
        raise ValueError("notes must be short text")
    return ClosedDay(parse_day(key), *notes, hours=day_hours(row.get("open"), row.get("close")))


def day_hours(opens: Any, closes: Any) -> tuple[str, str] | None:
    """(open, close) of a day open other hours, None for a day closed; ValueError for one without the other."""
    if opens is None and closes is None:
        return None
    if not (isinstance(opens, str) and isinstance(closes, str) and _TIME.match(opens) and _TIME.match(closes)):
        raise ValueError("open and close are both HH:MM, or both null (closed all day)")
    if opens == closes:
        raise ValueError("open and close are the same time")
    return opens, closes
