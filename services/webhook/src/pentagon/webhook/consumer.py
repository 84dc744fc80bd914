"""A durable JetStream pull consumer feeding N serial in-process lanes.

A message goes to lane ``crc32(subject) % N``: subjects end with the user
token, so one conversation's messages are handled one after another, in
stream order, while different conversations proceed concurrently. With several
replicas sharing the durable, JetStream spreads messages across them and the
per-conversation order holds only within a replica (see docs/services/webhook.md).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from pentagon.common.bus import EVENTS_STREAM

log = logging.getLogger(__name__)

Handler = Callable[[Msg], Awaitable[None]]


class LaneConsumer:
    def __init__(self, js: JetStreamContext, durable: str, subject: str, handler: Handler,
                 lanes: int, max_inflight: int, ack_wait_s: float) -> None:
        self.js = js
        self.durable = durable
        self.subject = subject
        self.handler = handler
        self.lanes: list[asyncio.Queue[Msg]] = [asyncio.Queue() for _ in range(max(1, lanes))]
        self.slots = asyncio.Semaphore(max(1, max_inflight))
        self.max_inflight = max(1, max_inflight)
        self.ack_wait_s = ack_wait_s
        self._tasks: list[asyncio.Task[None]] = []

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable, filter_subject=self.subject, ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL, ack_wait=self.ack_wait_s, max_deliver=-1,
            max_ack_pending=self.max_inflight * 4,
        )

    async def ensure(self) -> None:
        """Create the durable before the HTTP server accepts anything, so no event predates it."""
        await self.js.add_consumer(EVENTS_STREAM, self.config())

    async def start(self) -> None:
        await self.ensure()
        self._tasks = [asyncio.create_task(self._lane(q), name=f"{self.durable}-lane") for q in self.lanes]
        self._tasks.append(asyncio.create_task(self._fetch_loop(), name=f"{self.durable}-fetch"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _fetch_loop(self) -> None:
        sub = None
        while True:
            try:
                if sub is None:
                    sub = await self.js.pull_subscribe_bind(self.durable, stream=EVENTS_STREAM)
                await self.slots.acquire()
                self.slots.release()
                free = max(1, self.slots._value)  # noqa: SLF001 - how many lanes slots are idle
                msgs = await _fetch_available(sub, min(free, 256))
            except asyncio.TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS down or consumer gone: retry, recreate
                log.warning("consumer fetch failed", extra={"consumer": self.durable, "error": type(exc).__name__})
                await asyncio.sleep(1.0)
                sub = await self._rebind(sub)
                continue
            for msg in msgs:
                await self.slots.acquire()
                self.lanes[zlib.crc32(msg.subject.encode()) % len(self.lanes)].put_nowait(msg)

    async def _rebind(self, sub):  # type: ignore[no-untyped-def]
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:  # noqa: BLE001 - connection gone: nothing to clean up
                pass
        try:
            await self.ensure()
        except Exception:  # noqa: BLE001 - still down; the next loop tries again
            pass
        return None

    async def _lane(self, queue: asyncio.Queue[Msg]) -> None:
        while True:
            msg = await queue.get()
            try:
                await self.handler(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - never lose the lane: redeliver later
                log.warning("handler failed, will be redelivered",
                            extra={"consumer": self.durable, "error": type(exc).__name__})
                try:
                    await msg.nak(delay=2.0)
                except Exception:  # noqa: BLE001 - ack_wait redelivers it anyway
                    pass
            finally:
                self.slots.release()


async def _fetch_available(sub, size: int) -> list:  # type: ignore[no-untyped-def]
    """The next event as soon as it exists, plus whatever else is already waiting.

    A plain ``fetch(size, timeout=1)`` on an idle consumer lingers until ``size``
    events arrived or the second passed: every reply would wait up to 1 s.
    """
    msgs = await sub.fetch(1, timeout=1.0)
    if size > 1:
        try:
            msgs.extend(await sub.fetch(size - 1, timeout=0.005))
        except Exception:  # noqa: BLE001 - nothing more right now (or NATS hiccup): go with what we have
            pass
    return msgs
