"""A deleted user's recent turns leave the ``chat_history`` bucket, whoever deleted them.

tracking publishes ``updates.user_deleted.<platform>.<user token>`` once it has erased the
user's rows, for an admin's deletion and for Messenger's data deletion callback alike. The
history key is ``<platform>.<user token>`` (bus.mode_key), so the subject alone names it:
no user id needs to travel. One durable, shared by every workers replica; purging a key is
idempotent, so a redelivery changes nothing. Without this, the agent would still quote a
deleted customer's last turns back to them for up to a week (the bucket's TTL).
"""

from __future__ import annotations

import asyncio
import logging

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.kv import KeyValue

from pentagon.common.bus import UPDATES_STREAM

log = logging.getLogger(__name__)

DURABLE = "webhook-erasure"
FILTER = "updates.user_deleted.>"
PREFIX = "updates.user_deleted."


def history_key(subject: str) -> str | None:
    """``updates.user_deleted.web.u_1`` -> ``web.u_1`` (the key bus.mode_key gives that user)."""
    if not subject.startswith(PREFIX):
        return None
    key = subject[len(PREFIX):]
    return key if key.count(".") == 1 else None


class HistoryEraser:
    name = DURABLE

    def __init__(self, js: JetStreamContext, history: KeyValue) -> None:
        self._js = js
        self._history = history
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._js.add_consumer(UPDATES_STREAM, ConsumerConfig(
            durable_name=DURABLE, filter_subject=FILTER, ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL, ack_wait=30, max_deliver=-1))
        sub = await self._js.pull_subscribe_bind(durable=DURABLE, stream=UPDATES_STREAM)
        self._task = asyncio.create_task(self._run(sub), name=DURABLE)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, sub) -> None:  # type: ignore[no-untyped-def]
        while True:
            try:
                msgs = await sub.fetch(32, timeout=5)
            except asyncio.TimeoutError:
                continue
            except Exception as exc:  # noqa: BLE001 - NATS away: try again; nothing is acked meanwhile
                log.warning("erasure fetch failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(1.0)
                continue
            for msg in msgs:
                key = history_key(msg.subject)
                try:
                    if key is not None:
                        await self._history.purge(key)
                    await msg.ack()
                except Exception as exc:  # noqa: BLE001 - redelivered after ack_wait
                    log.warning("history erasure failed", extra={"error": type(exc).__name__})
                    continue
                if key is not None:
                    log.info("deleted user's history purged", extra={"user": key})
