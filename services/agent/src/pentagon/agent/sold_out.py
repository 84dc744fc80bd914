"""Menu items staff marked sold out in the panel (bucket ``menu_sold_out``), known within moments.

A row, key = the Menu.json id: ``{"id", "until", "by", "at"}``, ``until`` an ISO 8601 instant or
null (sold out until staff put it back). An item is sold out while its row exists and ``until``
is ahead, so "sold out today" ends at the cafe's midnight without anyone clearing it. Asked at
answer time (a dict lookup, no index rebuild); NATS away, the agent keeps the rows it had.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone

from prometheus_client import Gauge

from pentagon.agent.buckets import Buckets
from pentagon.common.bus import sold_out_bucket
from pentagon.common.kvwatch import follow

log = logging.getLogger(__name__)

SOLD_OUT_ROWS = Gauge("agent_menu_sold_out_rows", "Menu items marked sold out in the panel (rows, expired included)")
_FOREVER = None


def sold_out_until(value: bytes) -> datetime | None:
    """The row's end (None: until put back); ValueError when the row is not one."""
    row = json.loads(value)
    if not isinstance(row, dict):
        raise ValueError("not an object")
    until = row.get("until")
    if until is None:
        return _FOREVER
    parsed = datetime.fromisoformat(str(until))
    if parsed.tzinfo is None:
        raise ValueError("until has no time zone")
    return parsed


class SoldOutMenu:
    """Callable: ``sold_out(menu_id) -> bool``, what the answerer asks for each item it names."""

    def __init__(self, buckets: Buckets | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._buckets = buckets
        self._clock = clock
        self._until: dict[str, datetime | None] = {}

    def __call__(self, menu_id: str) -> bool:
        if menu_id not in self._until:
            return False
        until = self._until[menu_id]
        return until is _FOREVER or self._clock() < until

    def apply(self, key: str, value: bytes | None) -> None:
        if value is None:
            self._until.pop(key, None)
        else:
            try:
                self._until[key] = sold_out_until(value)
            except (ValueError, TypeError):
                # An unreadable row must not hide a dish: the item stays on sale.
                self._until.pop(key, None)
                log.warning("unusable row in the sold-out bucket skipped", extra={"key": key})
        SOLD_OUT_ROWS.set(len(self._until))

    async def run(self) -> None:
        """Until cancelled: follow the bucket (connecting with retries)."""
        assert self._buckets is not None
        kv = await self._buckets.open(sold_out_bucket, "menu_sold_out")
        await follow(kv, self.apply, what="sold-out menu")
