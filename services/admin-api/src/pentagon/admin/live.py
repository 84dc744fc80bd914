"""UPDATES stream -> WebSocket clients.

One ordered JetStream consumer per replica (no queue group: every replica sees
every update) feeds a bounded queue per connected client. A client whose
queue overflows is cut off; nobody else waits for it. Reconnecting clients
get what they missed from the stream itself (sequence = stream sequence).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge

from pentagon.common.bus import UPDATES_STREAM
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


@dataclass(eq=False)
class LiveClient:
    """One connected socket: frames wait in a bounded queue until its writer sends them."""

    queue_size: int
    queue: asyncio.Queue[tuple[int, str]] = field(init=False)
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_size)

    def offer(self, seq: int, text: str) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait((seq, text))
        except asyncio.QueueFull:
            WS_SLOW.inc()
            self.overflowed.set()


class UpdatesHub:
    def __init__(self, js: JetStreamContext, queue_size: int, stats: StatsProvider,
                 stats_interval: float, heartbeat_interval: float) -> None:
        self._js = js
        self._queue_size = queue_size
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
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # noqa: BLE001 - connection may already be gone at shutdown
                pass

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
        if text is None:
            return
        for client in list(self._clients):
            client.offer(seq, text)

    def broadcast(self, text: str) -> None:
        for client in list(self._clients):
            client.offer(0, text)

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
