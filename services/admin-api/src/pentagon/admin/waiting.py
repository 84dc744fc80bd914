"""How long the longest-waiting customer has waited for a person, for Prometheus.

Alerting on it (deploy/monitoring/alerts.yml, ``CustomerWaitingForStaff``) must not depend on
someone having the panel open, so every replica checks on its own, one indexed query per
interval (tracking keeps ``conversations.waiting_since``), and the gauge reads the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

import asyncpg
from prometheus_client import Gauge

from pentagon.admin import queries

log = logging.getLogger(__name__)

LONGEST_WAIT = Gauge("admin_longest_wait_seconds",
                     "Seconds the longest-waiting customer has waited for a person (0: nobody waits)")


class WaitingWatch:
    def __init__(self, connection: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]],
                 interval_s: float) -> None:
        self._connection = connection
        self._interval = interval_s
        self.oldest: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        LONGEST_WAIT.set_function(self.longest_wait_seconds)

    def longest_wait_seconds(self) -> float:
        if self.oldest is None:
            return 0.0
        return max(0.0, (queries.utc_now() - self.oldest).total_seconds())

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="waiting-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                async with self._connection() as conn:
                    self.oldest = await queries.oldest_waiting(conn)
            except Exception as exc:  # noqa: BLE001 - the database away: keep the last answer, try again
                log.debug("waiting check failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self._interval)
