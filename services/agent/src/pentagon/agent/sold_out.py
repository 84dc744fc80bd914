"""Menu items staff marked sold out in the panel (bucket ``menu_sold_out``), known within moments.

An item is sold out while its mark is in force (``pentagon.common.sold_out``: no ``until``, or
``until`` ahead), so "sold out today" ends at the cafe's midnight without anyone clearing it.
Asked at answer time (a dict lookup, no index rebuild); NATS away, the agent keeps the marks it had.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from prometheus_client import Gauge

from pentagon.agent.buckets import Buckets
from pentagon.common.bus import sold_out_bucket
from pentagon.common.kvwatch import follow
from pentagon.common.sold_out import in_force, mark_until

log = logging.getLogger(__name__)

SOLD_OUT_ROWS = Gauge("agent_menu_sold_out_rows", "Menu items marked sold out in the panel (rows, expired included)")


class SoldOutMenu:
    """Callable: ``sold_out(menu_id) -> bool``, what the answerer asks for each item it names."""

    def __init__(self, buckets: Buckets | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._buckets = buckets
        self._clock = clock
        self._marks: dict[str, dict[str, Any]] = {}

    def __call__(self, menu_id: str) -> bool:
        mark = self._marks.get(menu_id)
        return mark is not None and in_force(mark, self._clock())

    def apply(self, key: str, value: bytes | None) -> None:
        self._marks.pop(key, None)
        if value is not None:
            try:
                mark = json.loads(value)
                mark_until(mark)
                self._marks[key] = mark
            except ValueError:
                # An unreadable row must not hide a dish: the item stays on sale.
                log.warning("unusable row in the sold-out bucket skipped", extra={"key": key})
        SOLD_OUT_ROWS.set(len(self._marks))

    async def run(self) -> None:
        """Until cancelled: follow the bucket (connecting with retries)."""
        assert self._buckets is not None
        kv = await self._buckets.open(sold_out_bucket, "menu_sold_out")
        await follow(kv, self.apply, what="sold-out menu")
