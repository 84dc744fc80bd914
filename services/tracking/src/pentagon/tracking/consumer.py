"""The durable pull consumer `tracking` on events.>: batches in, one transaction each, ack after commit.

One fetcher per process pulls and hands every event to the lane of its user; each of the
TRACKING_WORKERS workers batches and commits its own lane (see lane_of for why).

Exactly once: the database dedupes (event_id / platform message id unique,
processed_events), so redelivery after any crash is harmless; acks happen only
after the commit and after the updates are published, so nothing acked is lost.
Updates a crash kept from being published are in the outbox (outbox.py).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError

from pentagon.common.bus import EVENTS_STREAM
from pentagon.tracking import metrics
from pentagon.tracking.deadletter import dead_letter
from pentagon.tracking.decode import InvalidEvent, Limits, decode
from pentagon.tracking.outbox import OutboxKeeper
from pentagon.tracking.settings import Settings
from pentagon.tracking.store import Store, StoreConflict, StoreRejected, StoreUnavailable
from pentagon.tracking.updates import UpdatePublisher, plan_ingest
from pentagon.tracking.wire import ack_frame, send_frames

log = logging.getLogger(__name__)

DURABLE = "tracking"
FILTER = "events.>"
MAX_CONFLICT_RETRIES = 20
# How long a "take what is waiting" fetch may linger when nothing is.
NO_WAIT_S = 0.002


def _ack_fields(msg: Msg) -> tuple[str, str, str] | None:
    """Stream sequence, stream time and pending count, read from the ack subject:

    $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>, or with
    <domain>.<account hash> after ACK (and a trailing token) on newer servers.
    """
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return tokens[5], tokens[7], tokens[8]
    if len(tokens) >= 11:
        return tokens[7], tokens[9], tokens[10]
    return None


def delivery_info(msg: Msg) -> tuple[int, Callable[[], datetime]]:
    """Stream sequence and (lazily) stream time, without building nats-py's Metadata."""
    fields = _ack_fields(msg)
    if fields is None:
        return msg.metadata.sequence.stream, lambda: msg.metadata.timestamp
    seq, tm, _ = fields
    return int(seq), lambda: datetime.fromtimestamp(int(tm) / 1e9, timezone.utc)


def pending_after(msg: Msg) -> int | None:
    """Events of the durable still undelivered after this one, if the ack subject says."""
    fields = _ack_fields(msg)
    return int(fields[2]) if fields is not None and fields[2].isdigit() else None


def lane_of(subject: str, lanes: int) -> int:
    """The lane of an event: every event of one user goes to the same one.

    Two batches in flight that touch the same conversation serialise on its row lock in
    Postgres (the second waits for the first to commit): with lanes, the workers of one
    process never do. Stored subjects are events.<family>.<platform>.<partition>.<user>.
    """
    tokens = subject.split(".")
    if lanes == 1 or len(tokens) != 5 or not tokens[3].isdigit():
        return 0
    return int(tokens[3]) % lanes


class Lane:
    """Events waiting for one worker, in stream order. Bounded by the fetcher, which stops fetching
    while any lane is full: a fetch may overshoot by at most one batch."""

    def __init__(self, batch_size: int, taken: asyncio.Event) -> None:
        self._items: collections.deque[Msg] = collections.deque()
        self._taken = taken
        self._limit = 2 * batch_size
        self._batch_size = batch_size
        self._changed = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, msg: Msg) -> None:
        self._items.append(msg)
        self._changed.set()

    @property
    def full(self) -> bool:
        """Two batches queued: fetch nothing more until its worker takes one (Consumer._room)."""
        return len(self._items) >= self._limit

    def close(self) -> None:
        """No more events: the worker takes what is left, then stops."""
        self._closed = True
        self._changed.set()

    async def take(self, wait_s: float, gap_s: float) -> list[Msg] | None:
        """Up to a batch: lingers at most ``wait_s`` after the first event while more keep coming (no
        quiet gap longer than ``gap_s``); None once closed and empty.

        At a cafe's traffic a quiet gap ends the batch at once; under load events never pause
        that long, so batches grow until the wait is over or the batch is full.
        """
        while not self._items:
            if self._closed:
                return None
            self._changed.clear()
            await self._changed.wait()
        deadline = time.monotonic() + wait_s
        while len(self._items) < self._batch_size and not self._closed:
            timeout = min(gap_s, deadline - time.monotonic())
            if timeout <= 0:
                break
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except asyncio.TimeoutError:
                break
        batch = [self._items.popleft() for _ in range(min(self._batch_size, len(self._items)))]
        self._taken.set()
        return batch


class Abandoned(Exception):
    """Shutting down while the batch cannot be committed: leave it unacked for redelivery."""


async def ensure_consumer(js: JetStreamContext, settings: Settings) -> None:
    config = ConsumerConfig(
        durable_name=DURABLE, filter_subject=FILTER, ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL, ack_wait=settings.tracking_ack_wait_s, max_deliver=-1,
        max_ack_pending=settings.tracking_max_ack_pending,
    )
    try:
        await js.add_consumer(EVENTS_STREAM, config)
    except BadRequestError:
        # Exists with other settings (an older version): keep it, it still delivers events.>.
        log.warning("consumer exists with a different configuration", extra={"durable": DURABLE})


class Consumer:
    def __init__(self, js: JetStreamContext, store: Store, publisher: UpdatePublisher, settings: Settings,
                 outbox: OutboxKeeper) -> None:
        self._js = js
        self._store = store
        self._publisher = publisher
        self._outbox = outbox
        self._s = settings
        self._limits = Limits(settings.tracking_max_content_chars, settings.tracking_max_metadata_bytes)
        self._stop = asyncio.Event()
        self._stop_deadline = float("inf")
        self._taken = asyncio.Event()  # set when a worker takes a batch from its lane

    def stop(self) -> None:
        """Finish the batches in hand (within the grace period), fetch no more."""
        self._stop_deadline = time.monotonic() + self._s.tracking_shutdown_grace_s
        self._stop.set()

    async def run(self) -> None:
        lanes = [Lane(self._s.tracking_batch_size, self._taken) for _ in range(self._s.tracking_workers)]
        await asyncio.gather(self._fetcher(lanes), *(self._worker(lane) for lane in lanes))

    async def _fetcher(self, lanes: list[Lane]) -> None:
        """One pull subscription for the process; every event goes to the lane of its user."""
        try:
            while not self._stop.is_set():
                try:
                    await ensure_consumer(self._js, self._s)
                    sub = await self._js.pull_subscribe_bind(durable=DURABLE, stream=EVENTS_STREAM)
                except Exception as exc:  # noqa: BLE001 - NATS not there yet: try again
                    log.warning("cannot bind the consumer", extra={"error": type(exc).__name__})
                    await asyncio.sleep(1.0)
                    continue
                try:
                    await self._pull(sub, lanes)
                finally:
                    try:
                        await sub.unsubscribe()
                    except Exception:  # noqa: BLE001 - connection already gone at shutdown
                        pass
        finally:
            for lane in lanes:
                lane.close()

    async def _pull(self, sub: Any, lanes: list[Lane]) -> None:
        idle = True
        while not self._stop.is_set():
            if not await self._room(lanes):
                await self._refresh_backlog()
                continue
            try:
                # Idle: wait (up to 1 s) for one event, so a calm stream costs one request a second and
                # the first event is handed over at once. Busy: take whatever is waiting, no lingering
                # here (the lanes linger), until a fetch finds nothing.
                msgs = await sub.fetch(1, timeout=1.0) if idle else await sub.fetch(self._s.tracking_batch_size,
                                                                                    timeout=NO_WAIT_S)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                idle = True
                metrics.BACKLOG.set(0)  # nothing was waiting for us
                continue
            except Exception as exc:  # noqa: BLE001 - NATS away: wait for the reconnect
                log.warning("fetch failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(0.5)
                idle = True
                continue
            idle = not msgs
            for msg in msgs:
                lanes[lane_of(msg.subject, len(lanes))].put(msg)
            if msgs and (pending := pending_after(msgs[-1])) is not None:
                metrics.BACKLOG.set(pending)
            metrics.IN_HAND.inc(len(msgs))

    async def _refresh_backlog(self) -> None:
        """While the lanes are full nothing is fetched, so the figure of the last fetch would go stale
        just when the backlog grows (the database away): ask JetStream, about once a second."""
        try:
            info = await self._js.consumer_info(EVENTS_STREAM, DURABLE, timeout=1.0)
        except Exception as exc:  # noqa: BLE001 - NATS away too: the fetch path will say so
            log.debug("consumer info unavailable", extra={"error": type(exc).__name__})
            return
        metrics.BACKLOG.set(info.num_pending or 0)

    async def _room(self, lanes: list[Lane]) -> bool:
        """True once no lane is full (a fetch adds at most a batch to one). While one is, its worker
        lags: events wait in JetStream, where redelivery and other replicas can still reach them."""
        while any(lane.full for lane in lanes):
            self._taken.clear()
            try:
                await asyncio.wait_for(self._taken.wait(), 1.0)
            except asyncio.TimeoutError:
                return False  # look at the stop flag again
        return True

    async def _worker(self, lane: Lane) -> None:
        while True:
            msgs = await lane.take(self._s.tracking_batch_wait_ms / 1000, self._s.tracking_batch_gap_ms / 1000)
            if msgs is None:
                return
            try:
                if self._stop.is_set() and time.monotonic() >= self._stop_deadline:
                    return  # out of grace: what is still queued stays unacked, JetStream delivers it again
                await self._handle(msgs)
            finally:
                metrics.IN_HAND.dec(len(msgs))  # acked, dead-lettered, or left to JetStream for redelivery

    async def _handle(self, msgs: list[Msg]) -> None:
        started = time.perf_counter()
        events: list[tuple[Msg, dict[str, Any]]] = []
        try:
            for msg in msgs:
                try:
                    seq, stream_time = delivery_info(msg)
                    event = decode(msg.subject, msg.data, seq, stream_time, self._limits)
                except InvalidEvent as exc:
                    await dead_letter(self._js, msg, str(exc))
                else:
                    events.append((msg, event))
            if events:
                await self._persist(events)
        except Abandoned:
            log.warning("batch left for redelivery", extra={"events": len(msgs)})
            return
        except Exception:  # noqa: BLE001 - unexpected: never ack, never die; redelivery retries it
            log.exception("batch failed", extra={"events": len(msgs)})
            await asyncio.sleep(1.0)
            return
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _persist(self, events: list[tuple[Msg, dict[str, Any]]]) -> None:
        try:
            result = await self._commit(events)
        except StoreRejected as exc:
            await self._split(events, exc)
            return
        updates, modes = plan_ingest(result)
        await self._retry_until_done(lambda: self._publisher.publish(updates, modes), events, "publish")
        await self._ack(events)
        self._outbox.done(result.get("outbox"))
        self._count(events, result)

    async def _split(self, events: list[tuple[Msg, dict[str, Any]]], exc: Exception) -> None:
        """The database refused the batch: halve it until the one bad event is alone, then dead-letter it."""
        if len(events) == 1:
            await dead_letter(self._js, events[0][0], f"rejected by database: {exc}")
            return
        metrics.RETRIES.labels("split").inc()
        middle = len(events) // 2
        await self._persist(events[:middle])
        await self._persist(events[middle:])

    async def _commit(self, events: list[tuple[Msg, dict[str, Any]]]) -> dict[str, Any]:
        payload = [event for _, event in events]
        conflicts = 0
        delay = self._s.tracking_retry_initial_ms / 1000
        keepalive = time.monotonic()
        while True:
            try:
                return await self._store.ingest(payload)
            except StoreConflict:
                conflicts += 1
                metrics.RETRIES.labels("conflict").inc()
                if conflicts > MAX_CONFLICT_RETRIES:
                    raise StoreRejected("conflicts never resolved") from None
                await asyncio.sleep(random.uniform(0.001, 0.02 * conflicts))
            except StoreUnavailable as exc:
                metrics.RETRIES.labels("unavailable").inc()
                log.warning("database unavailable, retrying", extra={"error": str(exc), "events": len(events)})
                keepalive = await self._wait(events, delay, keepalive)
                delay = min(delay * 2, self._s.tracking_retry_max_ms / 1000)

    async def _retry_until_done(self, action: Any, events: list[tuple[Msg, dict[str, Any]]], what: str) -> None:
        delay = self._s.tracking_retry_initial_ms / 1000
        keepalive = time.monotonic()
        while True:
            try:
                await action()
                return
            except Exception as exc:  # noqa: BLE001 - NATS trouble: committed already, retry the publish
                metrics.RETRIES.labels(what).inc()
                log.warning("publishing updates failed, retrying", extra={"error": type(exc).__name__})
                keepalive = await self._wait(events, delay, keepalive)
                delay = min(delay * 2, self._s.tracking_retry_max_ms / 1000)

    async def _wait(self, events: list[tuple[Msg, dict[str, Any]]], delay: float, keepalive: float) -> float:
        """Back off; keep the batch ours meanwhile; give up only when shutting down."""
        if self._stop.is_set() and time.monotonic() >= self._stop_deadline:
            raise Abandoned()
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))
        if time.monotonic() - keepalive > self._s.tracking_ack_wait_s / 3:
            for msg, _ in events:
                try:
                    await msg.in_progress()
                except Exception:  # noqa: BLE001 - NATS away too: redelivery is harmless
                    pass
            return time.monotonic()
        return keepalive

    async def _ack(self, events: list[tuple[Msg, dict[str, Any]]]) -> None:
        # Every event is settled by now: receipts whose message is not stored yet were parked in the database.
        # One buffered write for the whole batch; a lost ack only means a harmless redelivery.
        await send_frames(self._js._nc, [ack_frame(msg.reply) for msg, _ in events])

    @staticmethod
    def _count(events: list[tuple[Msg, dict[str, Any]]], result: dict[str, Any]) -> None:
        inserted = sum(part.get("inserted", 0) for part in result.get("parts", []))
        metrics.EVENTS_PERSISTED.inc(inserted)
        metrics.PARKED.inc(sum(part.get("parked", 0) for part in result.get("parts", [])))
        metrics.BATCHES.inc()
        metrics.BATCH_SIZE.observe(len(events))
        by_type: dict[str, int] = {}
        for _, event in events:
            by_type[event["t"]] = by_type.get(event["t"], 0) + 1
        for t, n in by_type.items():
            metrics.EVENTS_PROCESSED.labels({"m": "message", "d": "delivery", "c": "conversation"}[t]).inc(n)
