"""Supabase Auth's public signing keys (JWKS), for access tokens signed with asymmetric keys.

Supabase projects on "JWT Signing Keys" (the default for new projects) sign access
tokens with ES256 or RS256 and publish the public keys at
``<SUPABASE_URL>/auth/v1/.well-known/jwks.json``; there is no shared secret to
configure. The set is fetched at start and every REFRESH_S (keys rotate), and at
once when a token names a key id we do not know yet, at most once per
MIN_REFETCH_S: a flood of forged key ids cannot make us hammer Supabase.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

REFRESH_S = 600.0
MIN_REFETCH_S = 30.0
FETCH_TIMEOUT_S = 5.0
JWKS_PATH = "/auth/v1/.well-known/jwks.json"


def jwks_url(supabase_url: str) -> str:
    return supabase_url.rstrip("/") + JWKS_PATH


class SigningKeys:
    def __init__(self, url: str, refresh_s: float = REFRESH_S, min_refetch_s: float = MIN_REFETCH_S) -> None:
        self.url = url
        self._refresh_s = refresh_s
        self._min_refetch_s = min_refetch_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_fresh())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The public key with this id; an unknown id refetches the set (rate-limited)."""
        found = self._keys.get(kid)
        if found is None and time.monotonic() - self._fetched_at >= self._min_refetch_s:
            await self.refresh(min_age_s=self._min_refetch_s)
            found = self._keys.get(kid)
        return found

    async def refresh(self, min_age_s: float = 0.0) -> bool:
        async with self._lock:
            # Checked again under the lock: concurrent requests with unknown key ids make one fetch.
            if time.monotonic() - self._fetched_at < min_age_s:
                return True
            self._fetched_at = time.monotonic()
            try:
                async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S) as client:
                    response = await client.get(self.url)
                    response.raise_for_status()
                    keys = _usable_keys(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                # Keep the keys we had: a Supabase hiccup must not sign everyone out.
                log.warning("cannot fetch the Supabase signing keys", extra={"error": type(exc).__name__})
                return False
            if keys.keys() != self._keys.keys():
                log.info("Supabase signing keys loaded", extra={"keys": len(keys)})
            self._keys = keys
            return True

    async def _keep_fresh(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._refresh_s)


def _usable_keys(document: Any) -> dict[str, jwt.PyJWK]:
    """Signing keys by id. Projects still on the legacy JWT secret publish an empty set."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set")
    if not document["keys"]:
        return {}
    keyset = jwt.PyJWKSet.from_dict(document)
    # Symmetric keys are never accepted from a URL: HS256 tokens use SUPABASE_JWT_SECRET only.
    return {k.key_id: k for k in keyset.keys if k.key_id and k.key_type in ("EC", "RSA", "OKP")}
