"""Pytest fixtures: real nats-server and Postgres from the wheels, on free loopback ports.

Loaded automatically (entry point ``pytest11``) once pentagon-devtools is installed.
Servers live for the whole session; each test gets a fresh database and clean
JetStream state, so tests never see each other's data.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pentagon.devtools.embedded import ManagedProcess, NatsServer, Postgres, free_port

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def infra_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are 0700 and Postgres runs as another user when we are root.
    path = Path(tempfile.mkdtemp(prefix="pentagon-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_server(infra_dir: Path) -> Iterator[NatsServer]:
    server = NatsServer(infra_dir / "nats", infra_dir / "logs" / "nats.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(infra_dir: Path) -> Iterator[Postgres]:
    server = Postgres(infra_dir / "pg", infra_dir / "logs" / "postgres.log").start()
    yield server
    server.stop()


@pytest.fixture
def database_url(postgres_server: Postgres) -> str:
    """A brand-new empty database for this test (migrations are the caller's job)."""
    name = f"t{os.getpid()}_{next(_db_counter)}"
    return postgres_server.create_database(name)


async def wipe_jetstream(url: str) -> None:
    """Delete every stream and KV bucket: a clean JetStream without restarting the server."""
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            await js.delete_stream(info.config.name)
    finally:
        await nc.close()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    """The session's nats-server with every stream and bucket deleted before the test."""
    if not nats_server.process.running():
        nats_server.start()
    asyncio.run(wipe_jetstream(nats_server.url))
    return nats_server.url


class ServiceRunner:
    """Starts our real services as separate processes (``python -m pentagon.<svc>``)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[ManagedProcess] = []

    def start(self, module: str, env: dict[str, str], ready_url: str | None = None,
              ready_port: int | None = None, timeout: float = 60.0, name: str | None = None) -> ManagedProcess:
        name = name or module.rsplit(".", 1)[-1]
        full_env = {**os.environ, "LOG_LEVEL": "INFO", **env}
        proc = ManagedProcess(name, [sys.executable, "-m", module], self.log_dir / f"{name}-{len(self.processes)}.log",
                              env=full_env).start()
        self.processes.append(proc)
        if ready_url:
            wait_ready(ready_url, proc, timeout)
        elif ready_port:
            from pentagon.devtools.embedded import wait_for_port

            wait_for_port(ready_port, timeout=timeout, proc=proc.proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()


def wait_ready(url: str, proc: ManagedProcess | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and not proc.running():
            log = proc.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{proc.name} exited before ready:\n{log}")
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


@pytest.fixture
def services(infra_dir: Path, request: pytest.FixtureRequest) -> Iterator[ServiceRunner]:
    runner = ServiceRunner(infra_dir / "logs" / request.node.name[:60])
    yield runner
    runner.stop_all()


@pytest.fixture
def port() -> int:
    return free_port()
