"""Failed sign-ins counted per client address, across every replica: guessing tokens gets 429s.

Only a refused token counts (401 "invalid token"): a missing token guesses nothing, and a
Supabase token that is expired (401 "token expired") or has no panel role (403) was genuine.
The check comes before the token is looked at, so once an address has used its failures even
a right guess is refused until Retry-After: going faster cannot find a token sooner. Staff behind the same address as
a guesser wait too; the burst leaves room for a few typos first.

The counts live in the `rate_limits` KV bucket (common/ratelimit.py), written when a token is
refused, and each replica reads them from a local copy kept by a KV watch (`mirror`), so a
request with a good token costs no round trip to NATS. The copy lags the bucket by a moment
(longer just after a NATS reconnect, until the watch notices); the local reservation below
bounds what a guesser gains from that. A thousand guesses sent at once would all read that count before the first refusal is
written, so each attempt also takes a token from this replica's own bucket before its token is
checked, given back when the token turns out fine. While NATS is down that local count is the
whole limit (per replica) rather than slowing every request down or letting guesses through.
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.requests import HTTPConnection

from pentagon.admin.errors import ApiError
from pentagon.common.ratelimit import Network, SharedTokenBucket, TokenBucket, client_address, retry_after_header

AUTH_FAILURES = Counter("admin_auth_failures_total", "Requests refused for an invalid token")
AUTH_THROTTLED = Counter("admin_auth_throttled_total", "Requests refused (429) after too many failed sign-ins")


class SignInThrottle:
    def __init__(self, shared: SharedTokenBucket, trusted: list[Network]) -> None:
        self.shared = shared
        self.local = TokenBucket(shared.rate * 60, shared.burst)
        self.trusted = trusted

    def address(self, conn: HTTPConnection) -> str:
        return client_address(conn, self.trusted)

    async def admit(self, address: str) -> None:
        """Reserves one attempt for ``address``, or ApiError 429 when it has none left."""
        wait = await self.shared.wait(address)
        if wait <= 0:
            # Held from before the token is checked until `settle`: guesses in flight each hold one.
            wait = self.local.take(address)
        if wait > 0:
            AUTH_THROTTLED.inc()
            seconds = retry_after_header(wait)
            raise ApiError(429, "rate_limited", f"too many failed sign-ins from this address: try again in {seconds} s",
                           headers={"Retry-After": seconds})

    async def settle(self, address: str, refused: bool) -> None:
        """After the check: a refused token is recorded for every replica, anything else gives the attempt back."""
        if not refused:
            self.local.refund(address)
            return
        AUTH_FAILURES.inc()
        await self.shared.take(address)
