"""A day the cafe is closed, set in the panel (bucket ``closed_days``): admin-api writes it, the agent reads it.

Key = the day in the cafe's calendar, ``YYYY-MM-DD``; the row ``{"date", "note_en", "note_mm", "by",
"at"}``, the notes saying why ("Thingyan holiday", "power cut"), either or both may be empty. Both
services read rows here, so the panel and the bot never disagree about a day. Days in the knowledge
file (``closed_dates`` of reservations_config.json) stay closed as well.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
NOTE_MAX_CHARS = 300
# How far ahead a day may be closed; the bucket's TTL (bus.closed_days_bucket) counts on it.
MAX_DAYS_AHEAD = 366

_DATE = re.compile(DATE_PATTERN)


@dataclass(frozen=True)
class ClosedDay:
    day: date
    note_en: str = ""
    note_mm: str = ""

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
    return ClosedDay(parse_day(key), *notes)
