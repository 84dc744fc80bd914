"""Supabase REST store: the same SQL functions, called through PostgREST's rpc endpoint.

For deployments that only have SUPABASE_URL and the service-role key. The schema
must already be there: apply migrations with ``python -m pentagon.tracking.migrate``
against the project's Postgres connection string (or paste migrations/*.sql into
the SQL editor).
"""

from __future__ import annotations

from typing import Any

import httpx
from postgrest.exceptions import APIError
from supabase import AsyncClient, AsyncClientOptions, acreate_client

from pentagon.tracking.store import StoreUnavailable, classify_sqlstate


class SupabaseStore:
    def __init__(self, url: str, service_role_key: str, timeout_s: float = 60.0) -> None:
        self._url = url
        self._key = service_role_key
        self._timeout = timeout_s
        self._client: AsyncClient | None = None

    async def start(self) -> None:
        if self._client is None:
            # Retries are ours (with backoff and the batch in hand), not the HTTP client's.
            options = AsyncClientOptions(postgrest_client_timeout=self._timeout, postgrest_client_retry=False,
                                         auto_refresh_token=False, persist_session=False)
            self._client = await acreate_client(self._url, self._key, options=options)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.postgrest.aclose()
            self._client = None

    async def ping(self) -> bool:
        try:
            return "parts" in await self.ingest([])
        except Exception:  # noqa: BLE001 - not reachable is the answer
            return False

    async def ingest(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return await self._rpc("pentagon_ingest", {"events": events})

    async def command(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._rpc("pentagon_command", {"cmd": command})

    async def sweep(self) -> dict[str, Any]:
        return await self._rpc("pentagon_sweep", {})

    async def prune(self, keep_days: int) -> int:
        return await self._rpc("pentagon_prune", {"keep_days": keep_days}, int)

    async def idle_conversations(self, idle_hours: float, max_rows: int) -> list[dict[str, Any]]:
        return await self._rpc("pentagon_idle_conversations", {"idle_hours": idle_hours, "max_rows": max_rows}, list)

    async def retention_candidates(self, keep_days: float, max_rows: int) -> list[dict[str, Any]]:
        return await self._rpc("pentagon_retention_candidates", {"keep_days": keep_days, "max_rows": max_rows}, list)

    async def outbox_replay(self, min_age_s: float, max_rows: int) -> list[dict[str, Any]]:
        return await self._rpc("pentagon_outbox_replay", {"min_age_s": min_age_s, "max_rows": max_rows}, list)

    async def outbox_done(self, ids: list[int]) -> None:
        await self._rpc("pentagon_outbox_done", {"ids": ids}, int)

    async def _rpc(self, fn: str, params: dict[str, Any], shape: type = dict) -> Any:
        await self.start()
        assert self._client is not None
        try:
            response = await self._client.rpc(fn, params).execute()
        except APIError as exc:
            raise classify_sqlstate(exc.code)(f"{fn}: {exc.code}") from exc
        except (httpx.HTTPError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        data = response.data
        if not isinstance(data, shape):
            raise StoreUnavailable(f"{fn}: unexpected response shape")
        return data
