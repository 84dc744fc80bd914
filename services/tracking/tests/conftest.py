"""Fixtures for tracking tests: a migrated database on the real Postgres of the session."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pentagon.tracking.migrate import migrate
from pentagon.tracking.store import PostgresStore

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
async def migrated_url(database_url: str) -> str:
    await migrate(database_url)
    return database_url


@pytest.fixture
async def db(migrated_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(migrated_url)
    yield conn
    await conn.close()


@pytest.fixture
async def store(migrated_url: str) -> AsyncIterator[PostgresStore]:
    s = PostgresStore(migrated_url, pool_size=4, migrate=False)
    await s.start()
    yield s
    await s.close()




@pytest.fixture
def start_tracking(services, nats_url: str, migrated_url: str):
    """Start `python -m pentagon.tracking` as a real process; returns (process, ops base url)."""
    from pentagon.devtools.embedded import free_port

    def start(name: str = "tracking", **env: str):
        port = free_port()
        full = {"NATS_URL": nats_url, "DATABASE_URL": migrated_url, "TRACKING_ADDR": f"127.0.0.1:{port}", **env}
        proc = services.start("pentagon.tracking", full, ready_url=f"http://127.0.0.1:{port}/readyz", name=name)
        return proc, f"http://127.0.0.1:{port}"

    return start


@pytest.fixture
async def js(nats_url: str):
    import nats

    from pentagon.common.bus import ensure_streams

    nc = await nats.connect(nats_url)
    jsc = nc.jetstream()
    await ensure_streams(jsc)
    yield jsc
    await nc.close()
