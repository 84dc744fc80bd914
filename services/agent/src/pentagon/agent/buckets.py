"""The agent's one NATS connection, for the buckets staff fill in the panel (read-only user ``agent``).

Opened lazily and retried: the agent answers from its knowledge files without NATS, and picks
up what staff wrote (taught answers, sold-out items) once NATS is there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from prometheus_client import Gauge

from pentagon.common.bus import connect
from pentagon.common.kvwatch import follow

log = logging.getLogger(__name__)

CONNECT_RETRY_MAX_S = 30.0
Opener = Callable[[JetStreamContext, int], Awaitable[KeyValue]]
T = TypeVar("T")


class Buckets:
    def __init__(self, nats_url: str, replicas: int) -> None:
        self._url = nats_url
        self._replicas = replicas
        self._nc: Client | None = None
        self._connecting = asyncio.Lock()

    async def open(self, opener: Opener, what: str) -> KeyValue:
        """The bucket `opener` returns, retried with backoff until NATS answers (or cancelled)."""
        delay = 1.0
        while True:
            try:
                return await opener((await self._client()).jetstream(), self._replicas)
            except Exception as exc:  # noqa: BLE001 - NATS not there yet: answer from the files meanwhile
                log.warning("bucket not reachable: answering without it for now",
                            extra={"bucket": what, "error": type(exc).__name__, "retry_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, CONNECT_RETRY_MAX_S)

    async def _client(self) -> Client:
        async with self._connecting:  # two followers starting together share one connection
            if self._nc is None:
                self._nc = await connect(self._url, "agent")
            return self._nc

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()


class PanelRows(Generic[T]):
    """The rows of one bucket staff fill in the panel, each read by `parse` and asked at answer time.

    A row `parse` refuses is skipped with a warning: what staff meant cannot be guessed, and the
    knowledge files' word is the safe one (a dish stays on sale, a price and a day's hours stay
    as the files say). NATS away, the rows already read stay in use.
    """

    bucket = ""
    opener: Opener
    gauge: Gauge  # the row count, for /metrics

    def __init__(self, buckets: Buckets | None = None) -> None:
        self._buckets = buckets
        self._rows: dict[str, T] = {}

    def parse(self, key: str, value: bytes) -> T:
        raise NotImplementedError

    def rows(self) -> dict[str, T]:
        """The rows by key (a snapshot: the watch may change them while an answer is made)."""
        return dict(self._rows)

    def apply(self, key: str, value: bytes | None) -> None:
        self._rows.pop(key, None)
        if value is not None:
            try:
                self._rows[key] = self.parse(key, value)
            except ValueError:
                log.warning("unusable row skipped", extra={"bucket": self.bucket, "key": key})
        self.gauge.set(len(self._rows))

    async def run(self) -> None:
        """Until cancelled: follow the bucket (connecting with retries)."""
        assert self._buckets is not None
        kv = await self._buckets.open(type(self).opener, self.bucket)
        await follow(kv, self.apply, what=self.bucket)
