"""A reader of the admin WebSocket (/admin/ws) that records every frame and checks sequence gaps."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


@dataclass
class Frame:
    data: dict[str, Any]
    received: float  # time.time() when the frame arrived


@dataclass
class AdminFeed:
    ws_base: str          # ws://127.0.0.1:<gateway port>
    token: str
    frames: list[Frame] = field(default_factory=list)
    hello: dict[str, Any] | None = None
    _ws: ClientConnection | None = None
    _task: asyncio.Task | None = None

    async def open(self, since: int | None = None) -> "AdminFeed":
        url = f"{self.ws_base}/admin/ws" + (f"?since={since}" if since is not None else "")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        self._ws = await connect(url, additional_headers=headers, max_size=None, open_timeout=15, ping_interval=None)
        first = json.loads(await asyncio.wait_for(self._ws.recv(), 15))
        if first.get("type") == "hello":
            self.hello = first
        else:
            self.frames.append(Frame(first, time.time()))
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._ws is not None
        async for raw in self._ws:
            self.frames.append(Frame(json.loads(raw), time.time()))

    @property
    def closed(self) -> bool:
        return self._task is None or self._task.done()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - a dropped socket ends the reader too
                pass

    def sequenced(self) -> list[dict[str, Any]]:
        return [f.data for f in self.frames if "seq" in f.data and f.data.get("type") not in ("hello", "stats", "heartbeat")]

    @property
    def last_seq(self) -> int:
        seqs = [f["seq"] for f in self.sequenced()]
        if seqs:
            return max(seqs)
        return int(self.hello.get("seq", 0)) if self.hello else 0


def gaps(seqs: list[int]) -> tuple[list[int], list[int]]:
    """(missing sequence numbers between the first and last seen, duplicates)."""
    if not seqs:
        return [], []
    seen: set[int] = set()
    dups = []
    for s in seqs:
        if s in seen:
            dups.append(s)
        seen.add(s)
    missing = [s for s in range(min(seen), max(seen) + 1) if s not in seen]
    return missing, dups
