"""Token buckets shared by every replica, their state in a NATS key-value bucket.

Used by the webhook (chat and deletion endpoints) and admin-api (failed sign-ins).

`SharedTokenBucket` keeps one bucket per key in the `rate_limits` KV bucket and
takes a token with a compare-and-set write, so N replicas together allow the
configured rate, not N times it. Keys are hashes (no address or user id in NATS);
an entry left alone expires with the KV bucket's TTL, which is the same as a full
bucket. When NATS cannot answer, the replica falls back to its own in-memory
`TokenBucket` (per replica, as before) rather than refusing or letting everyone in.
A limit checked on every request (admin-api's refused tokens) can `mirror` its keys: a
KV watch keeps a local copy, so `wait` costs no round trip while the copy is live.

Also finds the client address: X-Forwarded-For is believed only when the
direct peer is one of TRUSTED_PROXIES (the gateway), otherwise anyone could
pick their own address and dodge the per-address limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from nats.errors import Error as NatsError
from pydantic import AfterValidator
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from starlette.requests import HTTPConnection

from pentagon.common.kvwatch import follow

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    def __init__(self, per_minute: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = max(per_minute, 0.001) / 60.0
        self.burst = max(1, burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when allowed, otherwise the seconds until a token is available."""
        return self._take(key, cost=1)

    def wait(self, key: str) -> float:
        """What ``take`` would answer, without taking anything."""
        return self._take(key, cost=0)

    def refund(self, key: str) -> None:
        """Gives back a token taken for an attempt that turned out not to count."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(self.burst, bucket.tokens + 1)

    def _take(self, key: str, cost: int) -> float:
        now = time.monotonic()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)  # least recently used; it would be full again anyway
        if bucket.tokens >= 1:
            bucket.tokens -= cost
            return 0.0
        return (1 - bucket.tokens) / self.rate


class SharedTokenBucket:
    """The token bucket of `TokenBucket`, one per key, shared through `kv` by every replica."""

    ATTEMPTS = 5  # compare-and-set races lost to other replicas before using the local bucket
    TIMEOUT_S = 1.0
    MIRROR_MAX_KEYS = 100_000  # the local copy is pruned of refilled entries past this size

    def __init__(self, kv: KeyValue, name: str, per_minute: float, burst: int,
                 connected: Callable[[], bool] = lambda: True) -> None:
        self.kv = kv
        self.name = name
        # While the NATS client knows it is disconnected, go local at once instead of after TIMEOUT_S.
        self.connected = connected
        self.local = TokenBucket(per_minute, burst)
        self.rate, self.burst = self.local.rate, self.local.burst
        self._warned_at = 0.0
        self._mirror: dict[str, bytes] = {}
        self._mirror_live = False
        self._mirror_task: asyncio.Task[None] | None = None
        self._prune_at = self.MIRROR_MAX_KEYS

    def mirror(self) -> None:
        """Keeps a local copy of this limit's keys (a KV watch); `wait` reads it while it is live."""
        if self._mirror_task is None:
            self._mirror_task = asyncio.create_task(follow(
                self.kv, self._mirror_apply, keys=f"{self.name}.>", on_loaded=self._mirror_loaded,
                on_lost=self._mirror_lost, what=f"rate limit {self.name}"), name=f"mirror-{self.name}")

    async def close(self) -> None:
        if self._mirror_task is not None:
            self._mirror_task.cancel()
            await asyncio.gather(self._mirror_task, return_exceptions=True)
            self._mirror_task = None

    def _mirror_apply(self, kv_key: str, value: bytes | None) -> None:
        if value:
            self._mirror[kv_key] = value
        else:
            self._mirror.pop(kv_key, None)
        if len(self._mirror) > self._prune_at:
            # Entries the bucket's TTL removed send no deletion to a watch: drop the refilled ones
            # (absent means full), so guesses from ever new addresses cannot grow the copy for ever.
            # The next pass waits until the copy doubles: amortised, a flood costs no scan per key.
            full = [k for k, v in self._mirror.items() if self._refilled(*_decode(v))]
            for k in full:
                del self._mirror[k]
            self._prune_at = max(self.MIRROR_MAX_KEYS, 2 * len(self._mirror))

    def _mirror_loaded(self) -> None:
        self._mirror_live = True

    def _mirror_lost(self) -> None:
        self._mirror_live = False  # reads go to the bucket until a new watch has replayed it
        self._mirror.clear()

    async def take(self, key: str) -> float:
        """0 when allowed, otherwise the seconds until a token is available."""
        if not self.connected():
            return self.local.take(key)
        kv_key = self._kv_key(key)
        try:
            for _ in range(self.ATTEMPTS):
                wait = await asyncio.wait_for(self._try(kv_key), self.TIMEOUT_S)
                if wait is not None:
                    return wait
        except (NatsError, asyncio.TimeoutError, OSError) as exc:
            self._warn(type(exc).__name__)
        return self.local.take(key)

    async def wait(self, key: str) -> float:
        """What ``take`` would answer, without taking anything: one read (none from a live mirror)."""
        if not self.connected():
            return self.local.wait(key)
        if self._mirror_live:
            value = self._mirror.get(self._kv_key(key))
            return self._wait_for(*(_decode(value) if value else (float(self.burst), time.time())))
        try:
            _, tokens, _ = await asyncio.wait_for(self._read(self._kv_key(key)), self.TIMEOUT_S)
        except (NatsError, asyncio.TimeoutError, OSError) as exc:
            self._warn(type(exc).__name__)
            return self.local.wait(key)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _refilled(self, tokens: float, updated: float) -> bool:
        return tokens + max(0.0, time.time() - updated) * self.rate >= self.burst

    def _wait_for(self, tokens: float, updated: float) -> float:
        now = time.time()
        tokens = min(self.burst, tokens + max(0.0, now - updated) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _kv_key(self, key: str) -> str:
        return f"{self.name}.{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    async def _read(self, kv_key: str) -> tuple[KeyValue.Entry | None, float, float]:
        """(entry, tokens now, now); the refill is computed on every read, never written by itself."""
        try:
            entry = await self.kv.get(kv_key)
        except KeyNotFoundError:
            entry = None
        now = time.time()
        tokens, updated = _decode(entry.value) if entry and entry.value else (float(self.burst), now)
        return entry, min(self.burst, tokens + max(0.0, now - updated) * self.rate), now

    async def _try(self, kv_key: str) -> float | None:
        """One read and one conditional write; None when another replica wrote in between."""
        entry, tokens, now = await self._read(kv_key)
        if tokens < 1:
            return (1 - tokens) / self.rate
        value = f"{tokens - 1:.6f} {now:.6f}".encode()
        try:
            if entry is None:
                await self.kv.create(kv_key, value)
            else:
                await self.kv.update(kv_key, value, last=entry.revision)
        except KeyWrongLastSequenceError:
            return None
        return 0.0

    def _warn(self, error: str) -> None:
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            log.warning("shared rate limit unavailable, this replica's own limit applies",
                        extra={"limit": self.name, "error": error})


def _decode(value: bytes) -> tuple[float, float]:
    try:
        tokens, updated = value.split()
        return float(tokens), float(updated)
    except ValueError:
        return 0.0, 0.0  # unreadable: treated as an empty bucket that refills from the epoch, i.e. full


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def _valid_networks(raw: str) -> str:
    for index, part in enumerate(part.strip() for part in raw.split(",")):
        try:
            if part:
                ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise ValueError(f"entry {index + 1} is not an IP network (a list like 127.0.0.1/32,10.0.0.0/8)") from None
    return raw


# TRUSTED_PROXIES in a settings object: a wrong entry stops the service at start, not every request.
TrustedProxies = Annotated[str, AfterValidator(_valid_networks)]


def parse_networks(raw: str) -> list[Network]:
    """'127.0.0.1/32, 10.0.0.0/8' -> networks (TRUSTED_PROXIES); an invalid entry is a ValueError."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def _trusted(addr: str, trusted: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(request: HTTPConnection, trusted: list[Network]) -> str:
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer, trusted):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    # Rightmost hop not added by one of our own proxies is the real client.
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:64]
    return hops[0][:64] if hops else peer
