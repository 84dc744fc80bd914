"""A sold-out mark in the bucket ``menu_sold_out``: admin-api writes it, the agent reads it.

A row, key = the Menu.json id: ``{"id", "until", "by", "at"}``, ``until`` an ISO 8601 instant
with a time zone, or null (sold out until staff put it back). Both services decide here whether
a mark is in force, so the panel and the bot never disagree about a dish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def mark_until(row: Any) -> datetime | None:
    """The mark's end (None: until put back); ValueError when the row is not a mark."""
    if not isinstance(row, dict):
        raise ValueError("not an object")
    until = row.get("until")
    if until is None:
        return None
    parsed = datetime.fromisoformat(str(until))
    if parsed.tzinfo is None:
        raise ValueError("until has no time zone")
    return parsed


def in_force(row: Any, now: datetime) -> bool:
    """Whether the dish is sold out at `now` (aware). An unreadable mark never hides a dish."""
    try:
        until = mark_until(row)
    except ValueError:
        return False
    return until is None or now < until
