"""The database behind tracking: one interface, two implementations (asyncpg here, Supabase REST
in supabase_store.py). Both call the same SQL functions created by the migrations."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

import asyncpg
import orjson

log = logging.getLogger(__name__)

class StoreUnavailable(Exception):
    """The database cannot be reached (down, restarting, too slow): retry later, ack nothing."""


class StoreConflict(Exception):
    """Deadlock or lost race with another replica: retry the same batch at once."""


class StoreRejected(Exception):
    """The database refuses this data (e.g. invalid text): retrying the same events cannot help."""


class Store(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> bool: ...
    async def ingest(self, events: list[dict[str, Any]]) -> dict[str, Any]: ...
    async def command(self, command: dict[str, Any]) -> dict[str, Any]: ...
    async def sweep(self) -> dict[str, Any]: ...
    async def prune(self, keep_days: int) -> int: ...
    async def idle_conversations(self, idle_hours: float, max_rows: int) -> list[dict[str, Any]]: ...
    async def retention_candidates(self, keep_days: float, max_rows: int) -> list[dict[str, Any]]: ...
    async def outbox_replay(self, min_age_s: float, max_rows: int) -> list[dict[str, Any]]: ...
    async def outbox_done(self, ids: list[int]) -> None: ...


_CONFLICT_STATES = {"40001", "40P01", "23505", "55P03"}
_REJECTED_CLASSES = ("22", "23", "54")


def classify_sqlstate(sqlstate: str | None) -> type[Exception]:
    """Which of our three outcomes a Postgres error code means."""
    code = sqlstate or ""
    if code in _CONFLICT_STATES:
        return StoreConflict
    if code.startswith(_REJECTED_CLASSES):
        return StoreRejected
    return StoreUnavailable


def encode_events(events: list[dict[str, Any]]) -> str:
    try:
        return orjson.dumps(events).decode()
    except TypeError:
        # orjson refuses lone surrogates; json escapes them and Postgres then rejects the one bad event.
        return json.dumps(events, separators=(",", ":"))


# A tracking replica killed mid-batch sends no FIN: without these, its backend keeps the
# batch's row locks for ~15 minutes (kernel TCP timeout) and stalls the other replicas.
_SESSION_SETTINGS = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
    "SET tcp_user_timeout = 10000",
    "SET idle_in_transaction_session_timeout = 60000",
)


async def _init_session(conn: asyncpg.Connection) -> None:
    for statement in _SESSION_SETTINGS:
        try:
            await conn.execute(statement)
        except asyncpg.PostgresError:  # a pooler or platform that forbids one: keep the others
            log.warning("session setting refused", extra={"setting": statement.split()[1]})


class PostgresStore:
    """asyncpg pool; each ingest is one statement, hence one transaction, one round trip."""

    def __init__(self, dsn: str, pool_size: int = 4, statement_timeout_s: float = 60.0, migrate: bool = True) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._timeout = statement_timeout_s
        self._migrate = migrate
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Open the pool (and apply migrations); raises StoreUnavailable while the database is down."""
        async with self._lock:
            if self._pool is not None:
                return
            try:
                if self._migrate:
                    from pentagon.tracking.migrate import migrate

                    await migrate(self._dsn)
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=self._pool_size, command_timeout=self._timeout,
                    max_inactive_connection_lifetime=300, init=_init_session,
                )
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise StoreUnavailable(type(exc).__name__) from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def ping(self) -> bool:
        try:
            pool = await self._ready_pool()
            return await pool.fetchval("SELECT 1", timeout=2.0) == 1
        except Exception:  # noqa: BLE001 - not reachable is the answer
            return False

    async def ingest(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return await self._call("SELECT pentagon_ingest($1::jsonb)", encode_events(events))

    async def command(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._call("SELECT pentagon_command($1::jsonb)", json.dumps(command))

    async def sweep(self) -> dict[str, Any]:
        return await self._call("SELECT pentagon_sweep()")

    async def prune(self, keep_days: int) -> int:
        return await self._call("SELECT pentagon_prune($1::int)", keep_days)

    async def idle_conversations(self, idle_hours: float, max_rows: int) -> list[dict[str, Any]]:
        return await self._call("SELECT pentagon_idle_conversations($1::float8, $2::int)", idle_hours, max_rows)

    async def retention_candidates(self, keep_days: float, max_rows: int) -> list[dict[str, Any]]:
        return await self._call("SELECT pentagon_retention_candidates($1::float8, $2::int)", keep_days, max_rows)

    async def outbox_replay(self, min_age_s: float, max_rows: int) -> list[dict[str, Any]]:
        return await self._call("SELECT pentagon_outbox_replay($1::float8, $2::int)", min_age_s, max_rows)

    async def outbox_done(self, ids: list[int]) -> None:
        await self._call("SELECT pentagon_outbox_done($1::bigint[])", ids)

    async def _ready_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            await self.start()
        assert self._pool is not None
        return self._pool

    async def _call(self, sql: str, *args: Any) -> Any:
        pool = await self._ready_pool()
        try:
            raw = await pool.fetchval(sql, *args)
        except asyncpg.PostgresError as exc:
            raise classify_sqlstate(getattr(exc, "sqlstate", None))(exc.__class__.__name__) from exc
        except (OSError, asyncio.TimeoutError, asyncpg.InterfaceError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        return orjson.loads(raw) if isinstance(raw, str) else raw
