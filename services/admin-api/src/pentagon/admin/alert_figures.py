"""What the alert rules read (deploy/monitoring/alerts.yml), whether or not a panel is open.

- ``admin_longest_wait_seconds``: how long the longest-waiting customer has waited for a person
  (``CustomerWaitingForStaff``; tracking keeps ``conversations.waiting_since``).
- ``admin_low_ratings_last_hour``: customers who answered "How did we do?" with 1 or 2 in the last
  hour (``CustomerRatedUsBadly``): the owner hears of it on their phone, through Alertmanager,
  while the customer still remembers the visit, not at the next look at the statistics.

The panel alerts whoever has it open; these reach whoever is on call. Every replica checks on its
own, one indexed query each per interval, and the gauges read the last answers (the rules take
the max over replicas, so each customer counts once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta

import asyncpg
from prometheus_client import Gauge

from pentagon.admin import queries

log = logging.getLogger(__name__)

LONGEST_WAIT = Gauge("admin_longest_wait_seconds",
                     "Seconds the longest-waiting customer has waited for a person (0: nobody waits)")
LOW_RATINGS = Gauge("admin_low_ratings_last_hour", "Conversations customers rated 1 or 2 in the last hour")
LOW_RATINGS_WINDOW = timedelta(hours=1)


class AlertFigures:
    def __init__(self, connection: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]],
                 interval_s: float) -> None:
        self._connection = connection
        self._interval = interval_s
        self.oldest: datetime | None = None
        self.low_ratings = 0
        self._task: asyncio.Task[None] | None = None
        LONGEST_WAIT.set_function(self.longest_wait_seconds)
        LOW_RATINGS.set_function(lambda: self.low_ratings)

    def longest_wait_seconds(self) -> float:
        if self.oldest is None:
            return 0.0
        return max(0.0, (queries.utc_now() - self.oldest).total_seconds())

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alert-figures")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                async with self._connection() as conn:
                    self.oldest = await queries.oldest_waiting(conn)
                    now = queries.utc_now()
                    self.low_ratings = await queries.low_ratings(conn, now - LOW_RATINGS_WINDOW, now)
            except Exception as exc:  # noqa: BLE001 - the database away: keep the last answers, try again
                log.debug("alert figures not checked", extra={"error": type(exc).__name__})
            await asyncio.sleep(self._interval)
