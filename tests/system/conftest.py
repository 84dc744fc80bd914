"""The whole real stack for system tests: one per test module (starting it costs seconds on 2 cores).

Each module gets its own database, a wiped JetStream and its own set of service
processes; tests that kill or restart something leave the stack healthy again
(`healthy_stack` restarts whatever a failed test left dead).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from syskit.stack import SystemStack  # noqa: E402

from pentagon.devtools.embedded import NatsServer, Postgres  # noqa: E402
from pentagon.devtools.pytest_plugin import ServiceRunner, wipe_jetstream  # noqa: E402


def _module_stack(request: pytest.FixtureRequest, infra_dir: Path, nats_server: NatsServer,
                  postgres_server: Postgres) -> Iterator[SystemStack]:
    extra_env = getattr(request.module, "STACK_ENV", None)
    split = getattr(request.module, "STACK_SPLIT_WORKERS", False)
    name = request.module.__name__.rsplit(".", 1)[-1]
    if not nats_server.process.running():
        nats_server.start()
    asyncio.run(wipe_jetstream(nats_server.url))
    database_url = postgres_server.create_database(f"sys_{name}_{os.getpid()}")
    runner = ServiceRunner(infra_dir / "logs" / f"system-{name}")
    stack = SystemStack(runner, nats_server, postgres_server, nats_server.url, database_url, infra_dir, extra_env,
                        split_workers=split)
    log_from = nats_server.log_size()
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        runner.stop_all()
    # A permission the services need but deploy/nats/users.conf lacks may fail quietly (a
    # retried publish, a background task): whatever the tests saw, the server's log tells.
    refused = nats_server.refusals(since=log_from)
    assert not refused, "nats-server refused our services:\n" + "\n".join(refused[:20])


@pytest.fixture(scope="module")
def system_stack(request: pytest.FixtureRequest, infra_dir: Path, nats_server: NatsServer,
                 postgres_server: Postgres) -> Iterator[SystemStack]:
    yield from _module_stack(request, infra_dir, nats_server, postgres_server)


@pytest.fixture
def healthy_stack(system_stack: SystemStack) -> SystemStack:
    """The module's stack with every piece running (a previous failed test may have left one down)."""
    if not system_stack.postgres.process or not system_stack.postgres.process.running():
        system_stack.postgres.start()
    if not system_stack.nats.process.running():
        system_stack.nats.start()
    for name, proc in list(system_stack.procs.items()):
        if not proc.running():
            system_stack.start_service(name)
    return system_stack


class Db:
    """Short-lived connections: the database may be restarted under a test."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def run(self, fn, *args):
        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            return await fn(conn, *args)
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args):
        return await self.run(lambda c: c.fetch(sql, *args))

    async def fetchval(self, sql: str, *args):
        return await self.run(lambda c: c.fetchval(sql, *args))


@pytest.fixture
def db(healthy_stack: SystemStack) -> Db:
    return Db(healthy_stack.database_url)
