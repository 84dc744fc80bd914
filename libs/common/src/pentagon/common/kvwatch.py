"""Following a NATS key-value bucket: a local copy kept current by a KV watch, restarted when lost.

Used where a value is read on every request or message and a round trip each time would
cost more than the answer (webhook modes.py: conversation modes; admin-api access.py:
revoked staff and issued tokens; blocklist.py: blocked customers, in both). The watch is an
ordered JetStream consumer; when it breaks (NATS restarting, a reconnect), a new one replays
the bucket's current values, so the copy heals by itself. ``LocalCopy`` is the common case:
started once the bucket's current values are in, kept as they were while NATS is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

log = logging.getLogger(__name__)

RETRY_S = 1.0


async def follow(kv: KeyValue, apply: Callable[[str, bytes | None], None], *, keys: str = ">",
                 on_loaded: Callable[[], None] = lambda: None, on_lost: Callable[[], None] = lambda: None,
                 what: str = "kv watch") -> None:
    """Calls ``apply(key, value)`` for every value of the keys matching ``keys`` (None: deleted) until cancelled.

    ``on_loaded`` runs once each watch has delivered the bucket's current values; ``on_lost``
    when a watch breaks (the caller decides whether its copy is still worth trusting).
    """
    while True:
        watcher = None
        try:
            watcher = await kv.watch(keys)
            async for entry in watcher:
                if entry is None:
                    on_loaded()  # the end of the initial values
                    continue
                apply(entry.key, None if entry.operation in (KV_DEL, KV_PURGE) else entry.value)
            raise ConnectionError("watch ended")
        except asyncio.CancelledError:
            if watcher is not None:
                with contextlib.suppress(Exception):
                    await watcher.stop()
            raise
        except Exception as exc:  # noqa: BLE001 - NATS away: the caller's fallback until the watch is back
            on_lost()
            log.warning("kv watch interrupted, retrying", extra={"watch": what, "error": type(exc).__name__})
            await asyncio.sleep(RETRY_S)


class LocalCopy:
    """``follow`` in the background for an owner that keeps its copy in ``apply``."""

    def __init__(self, kv: KeyValue, apply: Callable[[str, bytes | None], None], what: str) -> None:
        self._kv, self._apply, self._what = kv, apply, what
        self._loaded = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> None:
        """Returns once the bucket's current values are applied: nothing is judged on an empty copy."""
        self._task = asyncio.create_task(follow(self._kv, self._apply, on_loaded=self._loaded.set, what=self._what),
                                         name=self._what)
        await asyncio.wait_for(self._loaded.wait(), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
