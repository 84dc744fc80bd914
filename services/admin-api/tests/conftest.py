"""Fixtures for admin-api tests: real Postgres (schema from tracking's migrations), real NATS, the real app.

The app runs in-process (httpx ASGI transport for REST, a real uvicorn socket
for WebSockets); the tracking service runs as its own process when a test
needs commands answered.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from pentagon.admin.app import create_app
from pentagon.admin.runtime import Runtime
from pentagon.admin.settings import Settings
from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR
from pentagon.common.serve import uvicorn_server
from pentagon.devtools.embedded import free_port

sys.path.insert(0, str(Path(__file__).parent))

from admin_support import ADMIN_TOKENS  # noqa: E402
from pentagon.tracking.migrate import migrate  # noqa: E402


async def apply_migrations(url: str) -> None:
    """The schema the admin API reads is tracking's: its own migration runner, as at the service's start."""
    await migrate(url)


@pytest_asyncio.fixture
async def db_url(database_url: str) -> str:
    await apply_migrations(database_url)
    return database_url


@pytest_asyncio.fixture
async def pg(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A writable connection for seeding: the test plays tracking's part of writing rows."""
    conn = await asyncpg.connect(db_url)
    yield conn
    await conn.close()


def make_settings(db_url: str, nats_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=db_url, nats_url=nats_url, admin_tokens=ADMIN_TOKENS, admin_stats_cache_seconds=0,
        admin_command_timeout=2.0, admin_ws_heartbeat_seconds=3600, admin_ws_stats_seconds=3600,
        admin_api_addr=f"127.0.0.1:{free_port()}",
        # Nobody listens there: a test that wants the bot starts the real agent (test_agent_try.py).
        agent_addr=f"127.0.0.1:{free_port()}",
        # Tests poll the bot until it follows a bucket; the limit itself: test_agent_try.py.
        admin_agent_tries_burst=10_000,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def start_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings)
    await runtime.start()
    for _ in range(200):
        if runtime.pool is not None:
            break
        await asyncio.sleep(0.05)
    return runtime


@dataclass
class AdminHarness:
    runtime: Runtime
    client: httpx.AsyncClient
    app: Any

    @property
    def js(self):  # noqa: ANN201
        return self.runtime.js


@asynccontextmanager
async def running_admin(settings: Settings) -> AsyncIterator[AdminHarness]:
    runtime = await start_runtime(settings)
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as client:
            yield AdminHarness(runtime, client, app)
    finally:
        await runtime.stop()


@pytest_asyncio.fixture
async def admin(db_url: str, nats_url: str, request: pytest.FixtureRequest) -> AsyncIterator[AdminHarness]:
    overrides = getattr(request, "param", {}) or {}
    async with running_admin(make_settings(db_url, nats_url, **overrides)) as harness:
        yield harness


@pytest.fixture
def agent_addr(services, nats_url: str) -> str:
    """The real agent process, the cafe's sample knowledge, offline answerer, following the panel's buckets."""
    grpc_port, http_port = free_port(), free_port()
    services.start("pentagon.agent", {"NATS_URL": nats_url, "AGENT_ADDR": f"127.0.0.1:{grpc_port}",
                                      "AGENT_HTTP_ADDR": f"127.0.0.1:{http_port}", "OPENAI_API_KEY": "",
                                      "KNOWLEDGE_DIR": str(PACKAGED_KNOWLEDGE_DIR)},
                   ready_url=f"http://127.0.0.1:{http_port}/readyz")
    return f"127.0.0.1:{grpc_port}"


@pytest_asyncio.fixture
async def with_agent(db_url: str, nats_url: str, agent_addr: str) -> AsyncIterator[AdminHarness]:
    """admin-api talking to the real agent ("Ask the bot", the menu)."""
    async with running_admin(make_settings(db_url, nats_url, agent_addr=agent_addr)) as harness:
        yield harness


@pytest.fixture
def tracking(services, db_url: str, nats_url: str) -> Any:
    """The real tracking process: it answers the commands admin-api sends (and writes the audit log)."""
    port = free_port()
    return services.start("pentagon.tracking", {"NATS_URL": nats_url, "DATABASE_URL": db_url,
                                                "TRACKING_ADDR": f"127.0.0.1:{port}"},
                          ready_url=f"http://127.0.0.1:{port}/readyz")


@pytest_asyncio.fixture
async def serve_app() -> AsyncIterator[Any]:
    """Starts apps on real sockets (WebSockets need them); returns an async starter giving the base URL."""
    servers: list[tuple[Any, asyncio.Task[None]]] = []

    async def start(app: Any, settings: Settings) -> str:
        server = uvicorn_server(app, settings.admin_api_addr)
        task = asyncio.create_task(server.serve())
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        servers.append((server, task))
        return f"127.0.0.1:{settings.admin_api_addr.rsplit(':', 1)[1]}"

    yield start
    for server, task in servers:
        server.should_exit = True
    for server, task in servers:
        try:
            await asyncio.wait_for(task, 10)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001
            task.cancel()


