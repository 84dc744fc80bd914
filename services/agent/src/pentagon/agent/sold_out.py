"""Menu items staff marked sold out in the panel (bucket ``menu_sold_out``), known within moments.

An item is sold out while its mark is in force (``pentagon.common.sold_out``: no ``until``, or
``until`` ahead), so "sold out today" ends at the cafe's midnight without anyone clearing it.
Asked at answer time (a dict lookup, no index rebuild); NATS away, the agent keeps the marks it had.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from prometheus_client import Gauge

from pentagon.agent.buckets import Buckets, PanelRows
from pentagon.common.bus import SOLD_OUT_BUCKET, sold_out_bucket
from pentagon.common.sold_out import in_force, mark_until


class SoldOutMenu(PanelRows[dict[str, Any]]):
    """Callable: ``sold_out(menu_id) -> bool``, what the answerer asks for each item it names."""

    bucket = SOLD_OUT_BUCKET
    opener = staticmethod(sold_out_bucket)
    gauge = Gauge("agent_menu_sold_out_rows", "Menu items marked sold out in the panel (rows, expired included)")

    def __init__(self, buckets: Buckets | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        super().__init__(buckets)
        self._clock = clock

    def __call__(self, menu_id: str) -> bool:
        mark = self._rows.get(menu_id)
        return mark is not None and in_force(mark, self._clock())

    def parse(self, key: str, value: bytes) -> dict[str, Any]:
        mark = json.loads(value)
        mark_until(mark)  # ValueError for a row that is not a mark
        return mark
