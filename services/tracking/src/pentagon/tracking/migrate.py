"""Apply the SQL files of migrations/ in order, once, even with several replicas starting together.

``python -m pentagon.tracking.migrate`` applies them to ``DATABASE_URL`` (for
Supabase: its Postgres connection string) without starting the service.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every replica of tracking.
MIGRATION_LOCK_KEY = 0x70656E74_61676F6E  # "pentagon"


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) sorted by file name."""
    folder = resources.files("pentagon.tracking").joinpath("migrations")
    files = sorted((f.name, f) for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for name, f in files]


async def apply_migrations(conn: asyncpg.Connection) -> list[str]:
    """Apply what is missing; returns the versions applied now."""
    # A session lock, not a transaction lock: each file still gets its own transaction.
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("migration applied", extra={"version": version})
            applied.append(version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def migrate(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return await apply_migrations(conn)
    finally:
        await conn.close()


def main() -> None:
    from pentagon.common.logging import configure_logging
    from pentagon.tracking.settings import Settings

    settings = Settings()
    configure_logging("tracking-migrate", settings.log_level)
    dsn = settings.dsn()
    if not dsn:
        raise SystemExit("DATABASE_URL is required to apply migrations")
    applied = asyncio.run(migrate(dsn))
    log.info("migrations done", extra={"applied": applied})


if __name__ == "__main__":
    main()
