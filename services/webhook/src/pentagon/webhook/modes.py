"""The conversation mode an answer depends on, from tracking's ``conversation_mode`` bucket.

No key means ``bot`` (a new user). Two gaps of the KV are covered here:
- right after the bot escalated, tracking may not yet have written ``human``:
  we remember our own escalation until the KV shows a non-bot mode (or a minute passes);
- ``closed`` is usually transient: the next user message opens a new
  conversation and tracking writes ``bot``; we wait a little for that.

Reads come from a local copy of the bucket kept current by a KV watch (an
ordered JetStream consumer, started on first use): no round trip per message.
A key the copy does not know yet (a brand-new user, or the watch still
catching up or down) falls back to a direct get. A put made just before a
message can, rarely, reach the copy a moment after that message is handled;
the same race existed with tracking writing the mode while we read it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pentagon.common.bus import mode_key
from pentagon.common.kvwatch import follow

log = logging.getLogger(__name__)

ESCALATION_MEMORY_S = 60.0
MODES = ("bot", "human", "closed")


def _mode(value: bytes | None) -> str:
    """``human;<conversation id>;<version>`` (tracking's versioned write) or a bare ``human``."""
    text = (value or b"").split(b";", 1)[0].decode(errors="replace")
    return text if text in MODES else "bot"


class ModeReader:
    def __init__(self, kv: KeyValue, closed_wait_s: float, reconnects: Callable[[], int] = lambda: 0) -> None:
        self.kv = kv
        self.closed_wait_s = closed_wait_s
        # After a reconnect the watch's ordered consumer may take a few heartbeats to notice it was
        # lost: the copy is dropped and rebuilt from a new watch instead of trusted meanwhile.
        self._reconnects = reconnects
        self._seen_reconnects = reconnects()
        self._escalated: dict[str, float] = {}
        self._known: dict[str, str] = {}
        self._watch: asyncio.Task[None] | None = None
        self._live = False

    def _ensure_watch(self) -> None:
        reconnects = self._reconnects()
        if self._watch is not None and reconnects != self._seen_reconnects:
            self._watch.cancel()
            self._watch = None
        self._seen_reconnects = reconnects
        if self._watch is None:
            self._live = False
            self._known = {}
            self._watch = asyncio.create_task(self._follow(), name="mode-watch")

    async def read(self, platform: str, user_id: str) -> str:
        self._ensure_watch()
        key = mode_key(platform, user_id)
        known = self._known.get(key)
        if known is not None:
            return known
        try:
            mode = _mode((await self.kv.get(key)).value)
        except KeyNotFoundError:
            mode = "bot"
        # Only if the watch has not delivered something newer while we waited.
        return self._known.setdefault(key, mode) if self._watch_live else mode

    @property
    def _watch_live(self) -> bool:
        return self._watch is not None and not self._watch.done() and self._live

    async def _follow(self) -> None:
        """Keeps ``_known`` equal to the bucket; when the watch breaks, forgets it and starts over."""
        known = self._known

        def apply(key: str, value: bytes | None) -> None:
            known[key] = "bot" if value is None else _mode(value)

        def lost() -> None:
            self._live = False  # direct gets until the new watch has replayed the bucket
            known.clear()

        await follow(self.kv, apply, on_loaded=lambda: setattr(self, "_live", True), on_lost=lost, what="mode watch")

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)

    def note_escalation(self, platform: str, user_id: str) -> None:
        self._escalated[mode_key(platform, user_id)] = time.monotonic() + ESCALATION_MEMORY_S
        if len(self._escalated) > 10_000:
            now = time.monotonic()
            self._escalated = {k: v for k, v in self._escalated.items() if v > now}

    def _escalation_pending(self, key: str, mode: str) -> bool:
        until = self._escalated.get(key)
        if until is None:
            return False
        if mode != "bot" or until < time.monotonic():
            self._escalated.pop(key, None)  # tracking caught up (or never will): trust the KV
            return False
        return True

    async def for_reply(self, platform: str, user_id: str, known: str | None = None) -> str:
        """The mode deciding whether the bot answers; ``known`` comes from tracking's update when we have it."""
        if known in MODES:
            return known  # tracking's answer for this very message: already includes our escalations
        mode = await self.read(platform, user_id)
        if self._escalation_pending(mode_key(platform, user_id), mode):
            return "human"
        deadline = time.monotonic() + self.closed_wait_s
        while mode == "closed" and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            mode = await self.read(platform, user_id)
        return mode
