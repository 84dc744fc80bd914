"""Bring the database to this code's schema and functions, even with several replicas starting together.

- ``migrations/*.sql``: tables, indexes, types, data changes. Applied in order, each
  once (``schema_migrations``); never edited after release.
- ``functions/*.sql``: the current code of every ``pentagon_*`` function, one place to
  read and change it (``CREATE OR REPLACE``). Applied as a whole after the migrations
  when ``functions/REVISION`` is newer than the revision the database holds
  (``schema_functions``), so a replica of an older release that restarts during an
  upgrade never puts its older functions back. A function whose signature changes is
  dropped by a migration first.

``python -m pentagon.tracking.migrate`` applies both to ``DATABASE_URL`` (for
Supabase: its Postgres connection string) without starting the service.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from importlib import resources
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every replica of tracking.
MIGRATION_LOCK_KEY = 0x70656E74_61676F6E  # "pentagon"


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) sorted by file name."""
    folder = resources.files("pentagon.tracking").joinpath("migrations")
    files = sorted((f.name, f) for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for name, f in files]


def function_files() -> list[tuple[str, str]]:
    """(file name, sql) of functions/, in name order (dependencies first)."""
    folder = resources.files("pentagon.tracking").joinpath("functions")
    files = sorted((f.name, f) for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(name, f.read_text(encoding="utf-8")) for name, f in files]


def functions_checksum(files: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for name, sql in files:
        digest.update(name.encode() + b"\0" + sql.encode() + b"\0")
    return digest.hexdigest()


def _parse_revision(text: str) -> tuple[int, str]:
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))
    return int(fields["revision"]), fields["sha256"].strip()


def functions_revision() -> tuple[int, str]:
    """(revision, checksum) recorded in functions/REVISION."""
    return _parse_revision(resources.files("pentagon.tracking").joinpath("functions", "REVISION").read_text(encoding="utf-8"))


STAMP_COMMAND = "python -m pentagon.tracking.migrate --stamp-functions"


def stamp_functions(folder: Path = Path(__file__).parent / "functions") -> int | None:
    """After an edit of functions/*.sql: the next revision and the files' checksum into REVISION.
    Returns the new revision, None when the files did not change."""
    files = sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.glob("*.sql"))
    checksum = functions_checksum(files)
    path = folder / "REVISION"
    text = path.read_text(encoding="utf-8")
    revision, recorded = _parse_revision(text)
    if checksum == recorded:
        return None
    comments = [line for line in text.splitlines() if line.startswith("#")]
    path.write_text("\n".join([*comments, f"revision: {revision + 1}", f"sha256: {checksum}"]) + "\n", encoding="utf-8")
    return revision + 1


class FunctionsOutOfDate(RuntimeError):
    """functions/*.sql changed but functions/REVISION was not raised with them."""


async def apply_functions(conn: asyncpg.Connection) -> int | None:
    """Apply functions/ if its revision is newer than the database's; returns the revision applied now."""
    files = function_files()
    revision, recorded = functions_revision()
    checksum = functions_checksum(files)
    if checksum != recorded:
        raise FunctionsOutOfDate(f"functions/*.sql changed without a new revision: run `{STAMP_COMMAND}` "
                                 f"(functions/REVISION gets revision: {revision + 1}, sha256: {checksum})")
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_functions ("
        " singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
        " revision int NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    row = await conn.fetchrow("SELECT revision, checksum FROM schema_functions")
    if row is not None and row["revision"] >= revision:
        if row["revision"] > revision:
            log.warning("database functions are newer than this release's; left as they are",
                        extra={"database_revision": row["revision"], "code_revision": revision})
        elif row["checksum"] != checksum:
            log.warning("database functions differ from this release's at the same revision; left as they are",
                        extra={"revision": revision})
        return None
    async with conn.transaction():
        for _, sql in files:
            await conn.execute(sql)
        await conn.execute("CALL pentagon_restrict_functions()")
        await conn.execute(
            "INSERT INTO schema_functions (revision, checksum) VALUES ($1, $2) ON CONFLICT (singleton) DO UPDATE"
            " SET revision = excluded.revision, checksum = excluded.checksum, applied_at = now()",
            revision, checksum)
    log.info("functions applied", extra={"revision": revision})
    return revision


async def apply_migrations(conn: asyncpg.Connection) -> list[str]:
    """Apply what is missing; returns what was applied now: migration versions, then
    ``functions/r<revision>`` when the functions were (re)applied."""
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
        revision = await apply_functions(conn)
        if revision is not None:
            applied.append(f"functions/r{revision}")
        if applied:
            await conn.execute("CALL pentagon_restrict_tables()")
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
    import argparse

    from pentagon.common.logging import configure_logging
    from pentagon.tracking.settings import Settings

    parser = argparse.ArgumentParser(description="Apply tracking's migrations and SQL functions to DATABASE_URL.")
    parser.add_argument("--stamp-functions", action="store_true",
                        help="after editing functions/*.sql in a checkout: raise functions/REVISION (no database)")
    if parser.parse_args().stamp_functions:
        revision = stamp_functions()
        print(f"functions/REVISION: revision {revision}" if revision else "functions/*.sql unchanged")
        return
    settings = Settings()
    configure_logging("tracking-migrate", settings.log_level)
    dsn = settings.dsn()
    if not dsn:
        raise SystemExit("DATABASE_URL is required to apply migrations")
    applied = asyncio.run(migrate(dsn))
    log.info("migrations done", extra={"applied": applied})


if __name__ == "__main__":
    main()
