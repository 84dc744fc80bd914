"""Following a NATS key-value bucket: a local copy kept current by a KV watch, restarted when lost.

Used where a value is read on every request or message and a round trip each time would
cost more than the answer (webhook modes.py: conversation modes; admin-api access.py:
revoked staff; blocklist.py: blocked customers, in both). The watch is an ordered JetStream consumer; when it breaks (NATS restarting,
a reconnect), a new one replays the bucket's current values, so the copy heals by itself.
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
