"""Per-conversation order across every replica: one durable per partition, one message in flight each.

The EVENTS stream inserts a partition token into every subject
(``events.in.messenger.<p>.<u>``, p = hash of the user token, see
pentagon.common.bus). Each partition has its own durable push consumer
``<name>-<p>`` with ``max_ack_pending=1``, shared by every replica as a queue
group: JetStream hands the next message of a partition to some replica only
after the previous one was acked, so one user's messages are handled one after
another, in stream order, whichever replica gets them; partitions (users) run
concurrently. A replica that dies holding a message blocks that partition until
``ack_wait`` expires; a live handler keeps its claim with in-progress pings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from pentagon.common.bus import EVENTS_STREAM
from pentagon.common.proto import events_pb2 as pb

log = logging.getLogger(__name__)

# Called with the message (to ack, nak or read its delivery count) and its decoded event.
Handler = Callable[[Msg, pb.MessageEvent], Awaitable[None]]
WATCH_INTERVAL_S = 15.0
STOP_GRACE_S = 10.0


class PartitionedConsumer:
    def __init__(self, js: JetStreamContext, name: str, subject: str, handler: Handler,
                 partitions: int, ack_wait_s: float) -> None:
        """``subject`` is the family without the user and partition tokens, e.g. ``events.in.messenger``."""
        self.js = js
        self.name = name
        self.subject = subject
        self.handler = handler
        self.partitions = max(1, partitions)
        self.ack_wait_s = ack_wait_s
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def durable(self, partition: int) -> str:
        return f"{self.name}-{partition}"

    def config(self, partition: int) -> ConsumerConfig:
        durable = self.durable(partition)
        return ConsumerConfig(
            durable_name=durable, deliver_group=durable, deliver_subject=f"_pentagon.deliver.{durable}",
            filter_subject=f"{self.subject}.{partition}.*", ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL, ack_wait=self.ack_wait_s, max_deliver=-1, max_ack_pending=1,
        )

    async def ensure(self) -> None:
        """Create every partition's durable (idempotent: same config from every replica)."""
        for partition in range(self.partitions):
            await self.js.add_consumer(EVENTS_STREAM, self.config(partition))

    async def start(self) -> None:
        await self.ensure()
        nc = self.js._nc  # noqa: SLF001 - push delivery is a plain queue subscription on that connection
        for partition in range(self.partitions):
            config = self.config(partition)
            sub = await nc.subscribe(config.deliver_subject, queue=config.deliver_group, pending_msgs_limit=64)
            self._subs.append(sub)
            self._tasks.append(asyncio.create_task(self._serve(sub), name=self.durable(partition)))
        self._watcher = asyncio.create_task(self._watch(), name=f"{self.name}-watch")

    async def stop(self) -> None:
        """Take nothing new, let the messages in hand finish (briefly), then leave."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.cancel()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        _, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE_S) if self._tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, sub: Subscription) -> None:
        while not self._stopping.is_set():
            try:
                msg = await sub.next_msg(timeout=1.0)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                continue
            except Exception:  # noqa: BLE001 - unsubscribed (stopping) or connection closed
                if self._stopping.is_set():
                    return
                await asyncio.sleep(0.5)
                continue
            if not msg.reply:
                continue  # a flow-control or status message: nothing to handle
            await self._handle(msg)

    async def _handle(self, msg: Msg) -> None:
        try:
            event = pb.MessageEvent.FromString(msg.data)
        except DecodeError:
            # Tracking dead-letters it with the reason; here it would only block the partition.
            log.warning("undecodable event ignored", extra={"consumer": self.name, "subject": msg.subject})
            with contextlib.suppress(Exception):
                await msg.ack()
            return
        keepalive = asyncio.create_task(self._keep_claim(msg))
        try:
            await self.handler(msg, event)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await msg.nak()  # shutting down mid-message: another replica takes it at once
            raise
        except Exception as exc:  # noqa: BLE001 - never lose the partition: redeliver later
            log.warning("handler failed, will be redelivered", extra={"consumer": self.name, "error": type(exc).__name__})
            with contextlib.suppress(Exception):
                await msg.nak(delay=2.0)
        finally:
            keepalive.cancel()

    async def _keep_claim(self, msg: Msg) -> None:
        """A long agent call or Send API retry must not let ack_wait hand the message to another replica."""
        while True:
            await asyncio.sleep(self.ack_wait_s / 3)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def _watch(self) -> None:
        """Recreate a durable that vanished (deleted by hand, NATS data lost): else its partition stalls."""
        while not self._stopping.is_set():
            await asyncio.sleep(WATCH_INTERVAL_S)
            for partition in range(self.partitions):
                try:
                    await self.js.consumer_info(EVENTS_STREAM, self.durable(partition))
                except NotFoundError:
                    log.warning("consumer missing, recreating", extra={"consumer": self.durable(partition)})
                    with contextlib.suppress(Exception):
                        await self.js.add_consumer(EVENTS_STREAM, self.config(partition))
                except Exception:  # noqa: BLE001 - NATS away: the next round checks again
                    break
