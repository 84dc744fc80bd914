"""Staff configuration changed (saved replies, taught answers, sold-out marks): every open panel hears it.

Those rows live in NATS buckets (kvrecords.py), not in the UPDATES stream, so a panel used to show
what it had loaded until someone reloaded it: a dish marked sold out at the counter stayed "on
sale" on the kitchen's screen, where it could be marked again. Every replica follows the buckets
itself (a KV watch each, no queue group: whichever replica wrote, all of them hear it) and sends
its sockets ``{"type": "config.changed", "what": "menu"|"knowledge"|"saved_replies", "key": k}``,
without a sequence number. The frame only says "read it again": the rows still come from the REST
API, so a frame missed while a socket reconnects costs a list that is stale until the next change
or view switch, never a wrong one. A watch that broke (NATS restarting) sends one frame without a
key once it is back, since anything may have changed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

from nats.js.kv import KeyValue
from prometheus_client import Counter

from pentagon.admin.live import UpdatesHub, control_frame
from pentagon.common.kvwatch import follow

log = logging.getLogger(__name__)

CONFIG_CHANGES = Counter("admin_config_changes_total", "Changes to staff configuration pushed to panels", ["what"])
LOAD_WAIT_S = 10.0


class BucketFollower:
    """One bucket: quiet while a watch replays the current values, a frame for each change after."""

    def __init__(self, what: str, hub: UpdatesHub) -> None:
        self.what = what
        self._hub = hub
        self._live = False
        self._lost = False
        self.loaded = asyncio.Event()

    def apply(self, key: str, _value: bytes | None) -> None:
        if self._live:
            self._push(key)

    def on_loaded(self) -> None:
        if self._lost:
            self._push(None)
        self._live, self._lost = True, False
        self.loaded.set()

    def on_lost(self) -> None:
        self._live, self._lost = False, True

    def _push(self, key: str | None) -> None:
        CONFIG_CHANGES.labels(self.what).inc()
        self._hub.broadcast(control_frame("config.changed", what=self.what, key=key))


class ConfigFeed:
    def __init__(self, hub: UpdatesHub, buckets: dict[str, KeyValue]) -> None:
        self._hub = hub
        self._buckets = buckets
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Returns once each bucket's current values are read, so a change made after is pushed."""
        followers = [BucketFollower(what, self._hub) for what in self._buckets]
        for follower in followers:
            kv = self._buckets[follower.what]
            self._tasks.append(asyncio.create_task(
                follow(kv, follower.apply, on_loaded=follower.on_loaded, on_lost=follower.on_lost,
                       what=f"config feed {follower.what}"), name=f"config-feed-{follower.what}"))
        try:
            await asyncio.wait_for(asyncio.gather(*(f.loaded.wait() for f in followers)), LOAD_WAIT_S)
        except asyncio.TimeoutError:
            log.warning("config feed still loading: changes are pushed once it has")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
