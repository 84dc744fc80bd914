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
Jobs are kept in the `bus_erasures` KV bucket, written before anything is purged and deleted
when the purge is complete, and every tracking replica follows the bucket: a job survives a
crash of the replica that started it and is finished by whichever replica runs. Every purge is
bounded and idempotent, so replicas working on the same job do no harm. The webhook purges its
own key-value copies (webhook erasure.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import asdict, dataclass

from nats.js import JetStreamContext
from nats.js.errors import BadRequestError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from pentagon.common.bus import DLQ_STREAM, EVENTS_STREAM, UPDATES_STREAM, user_token
from pentagon.common.kvwatch import follow
from pentagon.tracking import metrics

log = logging.getLogger(__name__)

ERASE_INTERVAL_S = 1.0
WRONG_LAST_SEQUENCE = 10071  # JetStream's error code when an expected-last-sequence check fails


@dataclass
class Erasure:
    platform: str
    token: str  # user_token(user_id): the last subject token of every subject of this user
    events_before: int  # EVENTS sequence bound: the stream's end when the deletion was seen
    note_id: str  # tells a later deletion of the same user from this one

    @property
    def key(self) -> str:
        return f"{self.platform}.{self.token}"

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, value: bytes) -> Erasure:
        return cls(**json.loads(value))


class BusEraser:
    def __init__(self, js: JetStreamContext, durable: str, kv: KeyValue) -> None:
        self._js = js
        self._durable = durable
        self._kv = kv
        self._jobs: dict[str, Erasure] = {}  # the bucket's jobs, by key
        self._swept: set[str] = set()  # note_ids whose UPDATES and DLQ this process purged already
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    async def note(self, platform: str, user_id: str) -> None:
        """Records the job in the bucket before returning: from then on no crash can drop it."""
        end = (await self._js.stream_info(EVENTS_STREAM)).state.last_seq
        # Deleted again before the first purge finished: the new job reaches up to this deletion too.
        job = Erasure(platform, user_token(user_id), end + 1, uuid.uuid4().hex)
        await self._kv.put(job.key, job.encode())
        self._apply(job.key, job.encode())

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        # While NATS is away the jobs stay as they were (no on_lost): the watch replays them when back.
        watch = asyncio.create_task(follow(self._kv, self._apply, what="bus erasures watch"))
        try:
            while not self._stop.is_set():
                self._wake.clear()
                await self.round()
                try:
                    await asyncio.wait_for(self._wake.wait(), ERASE_INTERVAL_S if self._jobs else None)
                except asyncio.TimeoutError:
                    pass
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    def _apply(self, key: str, value: bytes | None) -> None:
        if value is None:
            gone = self._jobs.pop(key, None)
            if gone is not None:
                self._swept.discard(gone.note_id)  # another replica finished it
        else:
            try:
                self._jobs[key] = Erasure.decode(value)
            except (ValueError, TypeError):
                log.error("unreadable bus erasure job skipped", extra={"key": key})
        metrics.ERASURES_PENDING.set(len(self._jobs))
        self._wake.set()

    async def round(self) -> None:
        for key, job in list(self._jobs.items()):
            try:
                if await self._erase(job):
                    await self._finish(job)
            except Exception as exc:  # noqa: BLE001 - NATS away: the job stays for the next round
                log.warning("bus erasure delayed", extra={"platform": job.platform, "user": job.token,
                                                          "error": type(exc).__name__})
        metrics.ERASURES_PENDING.set(len(self._jobs))

    async def _erase(self, job: Erasure) -> bool:
        """One bounded, idempotent pass; True once nothing of the user before the deletion is left.

        UPDATES and the DLQ are done at the first pass; the later ones wait for tracking to store
        (acknowledge) the rest of the user's EVENTS. A restart does the first part once more: harmless."""
        if job.note_id not in self._swept:
            before = await self._deleted_update_seq(job)
            if before:
                await self._js.purge_stream(UPDATES_STREAM, subject=f"updates.*.{job.platform}.{job.token}",
                                            seq=before)
            await self._js.purge_stream(DLQ_STREAM, subject=f"dlq.events.*.{job.platform}.*.{job.token}")
            self._swept.add(job.note_id)
        acked = (await self._js.consumer_info(EVENTS_STREAM, self._durable)).ack_floor.stream_seq
        bound = min(job.events_before, acked + 1)
        # Stored events are `events.<family>.<platform>.<partition>.<user>` (bus.partition_transform).
        await self._js.purge_stream(EVENTS_STREAM, subject=f"events.*.{job.platform}.*.{job.token}", seq=bound)
        return bound >= job.events_before

    async def _finish(self, job: Erasure) -> None:
        """Deletes the job, unless a newer deletion of the same user replaced it meanwhile."""
        try:
            entry = await self._kv.get(job.key)
            if entry.value is not None and Erasure.decode(entry.value).note_id == job.note_id:
                await self._kv.delete(job.key, last=entry.revision)
                metrics.ERASURES.inc()
                log.info("deleted user purged from the bus", extra={"platform": job.platform, "user": job.token})
        except KeyNotFoundError:
            pass  # another replica finished it first
        except BadRequestError as exc:
            if exc.err_code != WRONG_LAST_SEQUENCE:
                raise
            # A newer deletion of the same user was written meanwhile: that job stays.
        self._swept.discard(job.note_id)
        if self._jobs.get(job.key) is job:
            del self._jobs[job.key]

    async def _deleted_update_seq(self, job: Erasure) -> int | None:
        try:
            msg = await self._js.get_msg(UPDATES_STREAM, subject=f"updates.user_deleted.{job.platform}.{job.token}")
        except NotFoundError:
            return None
        return msg.seq
