"""The conversation mode an answer depends on, from tracking's ``conversation_mode`` bucket.

No key means ``bot`` (a new user). Two gaps of the KV are covered here:
- right after the bot escalated, tracking may not yet have written ``human``:
  we remember our own escalation until the KV shows a non-bot mode (or a minute passes);
- ``closed`` is usually transient: the next user message opens a new
  conversation and tracking writes ``bot``; we wait a little for that.
"""

from __future__ import annotations

import asyncio
import time

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pentagon.common.bus import mode_key

ESCALATION_MEMORY_S = 60.0
MODES = ("bot", "human", "closed")


class ModeReader:
    def __init__(self, kv: KeyValue, closed_wait_s: float) -> None:
        self.kv = kv
        self.closed_wait_s = closed_wait_s
        self._escalated: dict[str, float] = {}

    async def read(self, platform: str, user_id: str) -> str:
        try:
            entry = await self.kv.get(mode_key(platform, user_id))
        except KeyNotFoundError:
            return "bot"
        value = (entry.value or b"").decode(errors="replace")
        return value if value in MODES else "bot"

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
