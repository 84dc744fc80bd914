"""A job that runs every `interval_s` until stopped: the outbox sweep, the auto-close."""

from __future__ import annotations

import asyncio


class Periodic:
    def __init__(self, interval_s: float) -> None:
        self._interval = interval_s
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def pause(self) -> None:
        """Until the next round, or at once when stopped."""
        try:
            await asyncio.wait_for(self._stop.wait(), self._interval)
        except asyncio.TimeoutError:
            pass
