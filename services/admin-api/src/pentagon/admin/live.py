"""UPDATES stream -> WebSocket clients.

One ordered JetStream consumer per replica (no queue group: every replica sees
every update) feeds a bounded queue per connected client. A client whose
queue overflows is cut off; nobody else waits for it. Reconnecting clients
get what they missed from the stream itself (sequence = stream sequence).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge

from pentagon.common.bus import UPDATES_STREAM, unsubscribe_quietly
from pentagon.common.jsonrow import dumps, iso
from pentagon.common.proto import events_pb2 as pb
from pentagon.admin.queries import utc_now

log = logging.getLogger(__name__)

UPDATES_SUBJECT = "updates.>"
FRAME_TYPES = {
    pb.UPDATE_MESSAGE_CREATED: "message.created",
    pb.UPDATE_CONVERSATION_CHANGED: "conversation.updated",
    pb.UPDATE_DELIVERY_CHANGED: "delivery.updated",
    pb.UPDATE_USER_DELETED: "user.deleted",
    pb.UPDATE_CUSTOMER_CHANGED: "customer.updated",
    pb.UPDATE_CONVERSATION_DELETED: "conversation.deleted",
}
WS_CLIENTS = Gauge("admin_ws_clients", "Connected admin WebSocket clients")
WS_SLOW = Counter("admin_ws_slow_disconnects_total", "Clients cut off because their queue overflowed")
WS_UPDATES = Counter("admin_ws_updates_total", "Updates received from the UPDATES stream")

StatsProvider = Callable[[], Awaitable[dict[str, Any]]]


def update_frame(seq: int, data: bytes) -> str | None:
    """The JSON text frame for one UpdateEvent, or None if it cannot be read.

    Built once per update and shared by every client. The row is already JSON: it is
    only validated (orjson) and spliced in, not decoded and encoded again.
    """
    event = pb.UpdateEvent()
    try:
        event.ParseFromString(data)
        row = event.row_json.strip() or "null"
        orjson.loads(row)
    except Exception:  # noqa: BLE001 - a bad update must not stop the stream for everyone
        log.warning("unreadable update skipped", extra={"seq": seq})
        return None
    head = dumps({
        "seq": seq,
        "type": FRAME_TYPES.get(event.kind, "unknown"),
        "conversation_id": event.conversation_id or None,
        "mode": event.mode or None,
    })
    return f'{head[:-1]},"data":{row}}}'


def control_frame(kind: str, **fields: Any) -> str:
    return dumps({"type": kind, **fields})


# A batch stops growing past this many characters (at most 4 bytes each in UTF-8): under the 1 MiB
# message limit of common clients (Python websockets' default max_size) whatever the text.
BATCH_MAX_CHARS = 128 * 1024
_BATCH_HEAD = '{"type":"batch","frames":['
_BATCH_TAIL = "]}"


def pack_frames(texts: list[str], max_chars: int = BATCH_MAX_CHARS) -> list[str]:
    """The WebSocket messages carrying ``texts`` in order, for a client that accepts batches.

    One frame goes out unchanged; several become {"type": "batch", "frames": [...]} built by
    joining the already serialised frames (nothing is decoded or encoded again). A single frame
    larger than ``max_chars`` still goes out alone.
    """
    if len(texts) == 1:
        return texts
    out: list[str] = []
    chunk: list[str] = []
    size = 0
    for text in texts:
        if chunk and size + len(text) > max_chars:
            out.append(_batch(chunk))
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        out.append(_batch(chunk))
    return out


def _batch(chunk: list[str]) -> str:
    return chunk[0] if len(chunk) == 1 else _BATCH_HEAD + ",".join(chunk) + _BATCH_TAIL


@dataclass(eq=False)
class LiveClient:
    """One connected socket: frames wait in a bounded queue until its writer takes them.

    A deque and one future instead of asyncio.Queue: offer() runs once per update for every
    connected client, so it is the hottest line of the fan-out. Queuing and waking are separate
    so the hub can wake writers once for several updates.
    """

    queue_size: int
    frames: deque[tuple[int, str]] = field(default_factory=deque)
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)
    _cut_off: bool = field(default=False, init=False)
    _waiter: asyncio.Future[None] | None = field(default=None, init=False)

    def offer(self, seq: int, text: str) -> None:
        """Queues a frame without waking the writer (see wake())."""
        if self._cut_off:
            return
        if len(self.frames) >= self.queue_size:
            WS_SLOW.inc()
            self._cut_off = True
            self.overflowed.set()
            return
        self.frames.append((seq, text))
        if len(self.frames) * 2 > self.queue_size:
            self.wake()  # half full: waiting for the hub's next wake-up could overflow a small queue

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done() and self.frames:
            waiter.set_result(None)

    async def take(self) -> list[tuple[int, str]]:
        """Every queued frame, oldest first; waits until there is at least one."""
        while not self.frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        taken = list(self.frames)
        self.frames.clear()
        return taken


class UpdatesHub:
    def __init__(self, js: JetStreamContext, queue_size: int, stats: StatsProvider,
                 stats_interval: float, heartbeat_interval: float, flush_interval: float = 0.0) -> None:
        self._js = js
        self._queue_size = queue_size
        self._flush_interval = flush_interval
        self._last_wake = float("-inf")
        self._wake_handle: asyncio.TimerHandle | None = None
        self._stats = stats
        self._stats_interval = stats_interval
        self._heartbeat_interval = heartbeat_interval
        self._clients: set[LiveClient] = set()
        self._sub: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._sub = await self._js.subscribe(UPDATES_SUBJECT, stream=UPDATES_STREAM, cb=self._on_update,
                                             ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
        self._tasks = [asyncio.create_task(self._every(self._stats_interval, self._push_stats)),
                       asyncio.create_task(self._every(self._heartbeat_interval, self._push_heartbeat))]

    async def stop(self) -> None:
        if self._wake_handle is not None:
            self._wake_handle.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await unsubscribe_quietly(self._sub)

    def connect(self) -> LiveClient:
        client = LiveClient(self._queue_size)
        self._clients.add(client)
        WS_CLIENTS.set(len(self._clients))
        return client

    def disconnect(self, client: LiveClient) -> None:
        self._clients.discard(client)
        WS_CLIENTS.set(len(self._clients))

    @property
    def client_count(self) -> int:
        return len(self._clients)

    async def _on_update(self, msg: Any) -> None:
        WS_UPDATES.inc()
        seq = msg.metadata.sequence.stream
        text = update_frame(seq, msg.data)
        if text is not None:
            self._deliver(seq, text)

    def broadcast(self, text: str) -> None:
        self._deliver(0, text)

    def _deliver(self, seq: int, text: str) -> None:
        for client in list(self._clients):
            client.offer(seq, text)
        if self._wake_handle is not None:
            return  # a wake-up is already due: these frames go with it
        loop = asyncio.get_running_loop()
        due = self._last_wake + self._flush_interval
        if due <= loop.time():
            self._wake_all()  # quiet until now: no added latency
        else:
            self._wake_handle = loop.call_at(due, self._wake_all)

    def _wake_all(self) -> None:
        """Wakes every writer with something queued, at most once per flush interval.

        Under load the updates of one interval reach each writer together (one socket write, one
        batch message, with ?batch=1): wake-ups per second stay bounded whatever the update rate.
        """
        self._wake_handle = None
        self._last_wake = asyncio.get_running_loop().time()
        for client in list(self._clients):
            client.wake()

    async def _every(self, interval: float, action: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(interval)
            if not self._clients:
                continue
            try:
                await action()
            except Exception as exc:  # noqa: BLE001 - a failed stats query must not end the loop
                log.warning("periodic frame failed", extra={"error": type(exc).__name__})

    async def _push_stats(self) -> None:
        self.broadcast(control_frame("stats", data=await self._stats()))

    async def _push_heartbeat(self) -> None:
        self.broadcast(control_frame("heartbeat", ts=iso(utc_now())))

    async def stream_bounds(self) -> tuple[int, int]:
        """(first_seq, last_seq) of the UPDATES stream right now."""
        info = await self._js.stream_info(UPDATES_STREAM)
        return info.state.first_seq, info.state.last_seq

    async def replay(self, since: int, upto: int, timeout: float = 5.0) -> AsyncIterator[tuple[int, str]]:
        """Frames with since < seq <= upto, in order, read from the stream itself."""
        if upto <= since:
            return
        sub = await self._js.subscribe(
            UPDATES_SUBJECT, stream=UPDATES_STREAM, ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, config=ConsumerConfig(opt_start_seq=since + 1),
        )
        try:
            while True:
                msg = await sub.next_msg(timeout=timeout)
                seq = msg.metadata.sequence.stream
                if seq > upto:
                    return
                text = update_frame(seq, msg.data)
                if text is not None:
                    yield seq, text
                if seq >= upto:
                    return
        finally:
            try:
                await sub.unsubscribe()
            except Exception:  # noqa: BLE001
                pass
