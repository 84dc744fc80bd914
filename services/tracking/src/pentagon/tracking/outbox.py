"""The transactional outbox and the sweep of parked receipts.

Every batch transaction writes what it changed to `update_outbox`; the worker
publishes the updates, acks, and hands the outbox id here. Ids are deleted in
one statement per round. A row left behind (crash between commit and publish)
is rebuilt from the current rows and republished with the same deterministic
Nats-Msg-Ids, on start and every TRACKING_SWEEP_INTERVAL_S. The same round runs
`pentagon_sweep`, which applies parked receipts whose message was committed
concurrently with them, and once an hour `pentagon_prune` (processed_events
older than the EVENTS stream's retention).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pentagon.tracking import metrics
from pentagon.tracking.periodic import Periodic
from pentagon.tracking.store import Store
from pentagon.tracking.updates import UpdatePublisher, plan_ingest

log = logging.getLogger(__name__)

REPLAY_ROWS = 50
PRUNE_EVERY_S = 3600.0
# processed_events must outlive every redelivery of its event: EVENTS keeps events 7 days.
KEEP_PROCESSED_DAYS = 8


class OutboxKeeper(Periodic):
    def __init__(self, store: Store, publisher: UpdatePublisher, interval_s: float, replay_age_s: float) -> None:
        super().__init__(interval_s)
        self._store = store
        self._publisher = publisher
        self._replay_age = replay_age_s
        self._done: list[int] = []
        self._pruned_at = float("-inf")

    def done(self, outbox_id: int | None) -> None:
        """The updates of this outbox row are stored in UPDATES."""
        if outbox_id is not None:
            self._done.append(outbox_id)

    async def run(self) -> None:
        while not self.stopping:
            await self.round()
            await self.pause()
        try:
            await self.flush()
        except Exception:  # noqa: BLE001 - the rows stay and are republished (same ids) after the replay age
            log.warning("outbox ids not deleted at shutdown")

    async def round(self) -> None:
        """One pass; any failure (database or NATS away) just waits for the next one."""
        try:
            await self.flush()
            await self._publish(await self._store.sweep())
            for row in await self._store.outbox_replay(self._replay_age, REPLAY_ROWS):
                await self._publish(row)
                metrics.OUTBOX_REPLAYED.inc()
                log.info("outbox row republished", extra={"outbox_id": row["outbox"]})
            await self.flush()
            await self._prune()
        except Exception as exc:  # noqa: BLE001 - retried next round; nothing is lost meanwhile
            log.warning("outbox round failed", extra={"error": type(exc).__name__})

    async def _prune(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        removed = await self._store.prune(KEEP_PROCESSED_DAYS)
        self._pruned_at = now
        if removed:
            log.info("processed events pruned", extra={"rows": removed})

    async def flush(self) -> None:
        ids, self._done = self._done, []
        if not ids:
            return
        try:
            await self._store.outbox_done(ids)
        except Exception:
            self._done.extend(ids)  # the rows stay; republishing them would only repeat known ids
            raise

    async def _publish(self, result: dict[str, Any]) -> None:
        updates, modes = plan_ingest(result)
        if updates or modes:
            await self._publisher.publish(updates, modes)
        self.done(result.get("outbox"))
