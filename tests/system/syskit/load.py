"""Steady signed Messenger traffic through the gateway, recording what was acknowledged."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import messenger
from .rawhttp import RawClient

QUESTIONS = [
    "What time do you open today?",
    "How much is a latte?",
    "Do you have vegetarian food?",
    "ဖွင့်ချိန် ဘယ်အချိန်လဲ",
    "Where is the cafe?",
    "Do you serve coffee?",
]


@dataclass
class Sent:
    mid: str
    psid: str
    started: float       # time.time() just before the request was written
    latency: float = 0.0  # seconds until the response arrived
    status: int = 0      # 0: no response (connection refused, reset, timeout)


@dataclass
class SteadyLoad:
    gateway_url: str
    app_secret: str
    rate: float = 60.0
    users: int = 40
    max_in_flight: int = 256
    user_prefix: str = "u"
    sent: list[Sent] = field(default_factory=list)
    skipped: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task | None = None
    _in_flight: set = field(default_factory=set)

    def __post_init__(self) -> None:
        parts = urlsplit(self.gateway_url)
        self.client = RawClient(parts.hostname or "127.0.0.1", parts.port or 80, size=self.max_in_flight, timeout=30)
        self._ids = itertools.count()

    def psid(self, i: int) -> str:
        return f"{self.user_prefix}{i:05d}"

    async def post_one(self) -> Sent:
        psid = self.psid(random.randrange(self.users))
        mid = messenger.new_mid()
        body, headers = messenger.signed(self.app_secret, messenger.page_body(
            messenger.text_event(psid, random.choice(QUESTIONS), mid=mid)))
        record = Sent(mid, psid, time.time())
        self.sent.append(record)
        t0 = time.perf_counter()
        try:
            response = await self.client.request("POST", "/webhook", body, headers)
            record.status = response.status
        except Exception:  # noqa: BLE001 - the webhook may be down: not acknowledged, that's all
            record.status = 0
        record.latency = time.perf_counter() - t0
        return record

    async def _run(self, count: int | None) -> None:
        interval = 0.01
        per_tick = self.rate * interval
        budget = 0.0
        launched = 0
        next_tick = time.perf_counter()
        while not self._stop.is_set() and (count is None or launched < count):
            budget += per_tick
            while budget >= 1 and (count is None or launched < count):
                budget -= 1
                launched += 1
                if len(self._in_flight) >= self.max_in_flight:
                    self.skipped += 1
                    continue
                task = asyncio.create_task(self.post_one())
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            next_tick += interval
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))

    def start(self, count: int | None = None) -> "SteadyLoad":
        self._stop.clear()
        self._task = asyncio.create_task(self._run(count))
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        await self.client.close()

    async def wait_done(self) -> None:
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    # ---- results
    def acked(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 200]

    def acked_event_ids(self) -> list[str]:
        return [messenger.user_event_id(s.mid) for s in self.acked()]

    def statuses(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for s in self.sent:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def acked_since(self, t: float) -> int:
        return sum(1 for s in self.sent if s.status == 200 and s.started >= t)
