"""After a user's data is deleted from the database, their messages are purged from the bus too.

Postgres is not the only place a customer's words sit: the EVENTS stream keeps every event
7 days (for redeliveries), UPDATES keeps the rows pushed to panels 2 days, the DLQ 30 days.
A deletion (Messenger's data deletion callback or an admin's) must not leave them there.

Once the `user_deleted` update is in UPDATES, each of those streams is purged of that user's
subjects, bounded so that nothing still owed to anyone is lost:
- UPDATES: everything of the user before the `user_deleted` update (which stays: the deletion
  status page reads it; it holds ids only);
- EVENTS: everything of the user that this durable has acknowledged, i.e. already stored, up
  to where the stream ended when the deletion was seen. Events stored later are purged on a
  later round (every ERASE_INTERVAL_S) as tracking acknowledges them;
- DLQ: everything of the user.
Jobs live in this process: a tracking restart mid-job leaves what remains to the streams' own
retention. The webhook purges its own key-value copies (webhook erasure.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from pentagon.common.bus import DLQ_STREAM, EVENTS_STREAM, UPDATES_STREAM, user_token
from pentagon.tracking import metrics

log = logging.getLogger(__name__)

ERASE_INTERVAL_S = 1.0


@dataclass
class Erasure:
    platform: str
    token: str  # user_token(user_id): the last subject token of every subject of this user
    events_before: int | None = None  # EVENTS sequence bound, fixed on the first round
    updates_done: bool = False


class BusEraser:
    def __init__(self, js: JetStreamContext, durable: str) -> None:
        self._js = js
        self._durable = durable
        self._jobs: dict[tuple[str, str], Erasure] = {}
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def note(self, platform: str, user_id: str) -> None:
        token = user_token(user_id)
        job = self._jobs.get((platform, token))
        if job is None:
            self._jobs[(platform, token)] = Erasure(platform, token)
        else:  # deleted again before the first purge finished: reach up to this deletion too
            job.updates_done, job.events_before = False, None
        metrics.ERASURES_PENDING.set(len(self._jobs))
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            await self.round()
            try:
                await asyncio.wait_for(self._wake.wait(), ERASE_INTERVAL_S if self._jobs else None)
            except asyncio.TimeoutError:
                pass

    async def round(self) -> None:
        for key, job in list(self._jobs.items()):
            try:
                done = await self._erase(job)
            except Exception as exc:  # noqa: BLE001 - NATS away: the job stays for the next round
                log.warning("bus erasure delayed", extra={"platform": job.platform, "user": job.token,
                                                          "error": type(exc).__name__})
                continue
            if done:
                del self._jobs[key]
                metrics.ERASURES.inc()
                log.info("deleted user purged from the bus", extra={"platform": job.platform, "user": job.token})
        metrics.ERASURES_PENDING.set(len(self._jobs))

    async def _erase(self, job: Erasure) -> bool:
        if not job.updates_done:
            before = await self._deleted_update_seq(job)
            if before:
                await self._js.purge_stream(UPDATES_STREAM, subject=f"updates.*.{job.platform}.{job.token}", seq=before)
            await self._js.purge_stream(DLQ_STREAM, subject=f"dlq.events.*.{job.platform}.*.{job.token}")
            job.updates_done = True
        if job.events_before is None:
            job.events_before = (await self._js.stream_info(EVENTS_STREAM)).state.last_seq + 1
        acked = (await self._js.consumer_info(EVENTS_STREAM, self._durable)).ack_floor.stream_seq
        bound = min(job.events_before, acked + 1)
        # Stored events are `events.<family>.<platform>.<partition>.<user>` (bus.partition_transform).
        await self._js.purge_stream(EVENTS_STREAM, subject=f"events.*.{job.platform}.*.{job.token}", seq=bound)
        return bound >= job.events_before

    async def _deleted_update_seq(self, job: Erasure) -> int | None:
        try:
            msg = await self._js.get_msg(UPDATES_STREAM, subject=f"updates.user_deleted.{job.platform}.{job.token}")
        except NotFoundError:
            return None
        return msg.seq
