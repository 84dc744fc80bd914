"""The whole Pentagon stack as real processes on free loopback ports.

nats-server and Postgres come from the devtools fixtures (or are started by the
bench); tracking, agent, webhook and admin-api are started with the same
ServiceRunner the `services` fixture uses; Caddy fronts them with the real
deploy/gateway/Caddyfile; the Graph API is the devtools loopback recorder.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pentagon.devtools.embedded import Caddy, ManagedProcess, NatsServer, Postgres, free_port
from pentagon.devtools.pytest_plugin import ServiceRunner, wait_ready

ROOT = Path(__file__).resolve().parents[3]
CADDYFILE = ROOT / "deploy" / "gateway" / "Caddyfile"


def _addr() -> str:
    return f"127.0.0.1:{free_port()}"


@dataclass
class Secrets:
    app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    verify_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    chat_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    admin_token: str = field(default_factory=lambda: "adm-" + secrets.token_urlsafe(24))
    viewer_token: str = field(default_factory=lambda: "vw-" + secrets.token_urlsafe(24))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    page_token: str = field(default_factory=lambda: "page-" + secrets.token_hex(8))


# name -> (python module, env var holding the HTTP address whose /readyz says "ready")
SERVICES: dict[str, tuple[str, str]] = {
    "graph-stub": ("pentagon.devtools.graph_stub", "GRAPH_STUB_ADDR"),
    "tracking": ("pentagon.tracking", "TRACKING_ADDR"),
    "agent": ("pentagon.agent", "AGENT_HTTP_ADDR"),
    "webhook": ("pentagon.webhook", "WEBHOOK_ADDR"),
    "admin-api": ("pentagon.admin", "ADMIN_API_ADDR"),
    # Optional: the webhook package run as workers only (reply worker + sender), not behind the gateway.
    "reply-worker": ("pentagon.webhook", "REPLY_WORKER_ADDR"),
}
START_ORDER = ["graph-stub", "tracking", "agent", "webhook", "reply-worker", "admin-api"]


class SystemStack:
    def __init__(self, runner: ServiceRunner, nats: NatsServer, postgres: Postgres, nats_url: str,
                 database_url: str, work_dir: Path, extra_env: dict[str, str] | None = None,
                 split_workers: bool = False) -> None:
        self.runner = runner
        self.nats = nats
        self.postgres = postgres
        self.database_url = database_url
        self.work_dir = work_dir
        self.secrets = Secrets()
        self.gateway_port = free_port()
        self.env = self._env(nats_url, database_url) | (extra_env or {})
        self.procs: dict[str, ManagedProcess] = {}
        self.gateway: Caddy | None = None
        self.split_workers = split_workers
        # Per-service overrides: in split mode the public webhook only acknowledges and the
        # reply worker (same package, other process) answers and sends.
        self.service_env: dict[str, dict[str, str]] = {}
        if split_workers:
            self.env["REPLY_WORKER_ADDR"] = _addr()
            self.service_env["webhook"] = {"REPLY_WORKER_ENABLED": "false", "SENDER_ENABLED": "false"}
            # Workers-only mode: ops routes on WEBHOOK_WORKER_ADDR, no public HTTP (python -m pentagon.webhook --workers-only).
            self.service_env["reply-worker"] = {"WEBHOOK_WORKERS_ONLY": "true",
                                                "WEBHOOK_WORKER_ADDR": self.env["REPLY_WORKER_ADDR"],
                                                "REPLY_WORKER_ENABLED": "true", "SENDER_ENABLED": "true"}

    def _env(self, nats_url: str, database_url: str) -> dict[str, str]:
        s = self.secrets
        graph = _addr()
        return {
            "NATS_URL": nats_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "INFO",
            "GRAPH_STUB_ADDR": graph,
            "MESSENGER_GRAPH_URL": f"http://{graph}/v21.0",
            "MESSENGER_PAGE_TOKEN": s.page_token,
            "MESSENGER_APP_SECRET": s.app_secret,
            "MESSENGER_APP_ID": "424242",  # as in production (deploy/README.md): echoes are told apart by it
            "MESSENGER_VERIFY_TOKEN": s.verify_token,
            "CHAT_SESSION_SECRET": s.chat_secret,
            "ADMIN_TOKENS": f"alice:admin:{s.admin_token},victor:viewer:{s.viewer_token}",
            "SUPABASE_JWT_SECRET": s.jwt_secret,
            "TRACKING_ADDR": _addr(),
            "AGENT_ADDR": _addr(),
            "AGENT_HTTP_ADDR": _addr(),
            "WEBHOOK_ADDR": _addr(),
            "ADMIN_API_ADDR": _addr(),
            "KNOWLEDGE_DIR": str(ROOT / "services" / "agent" / "knowledge"),
            "OPENAI_API_KEY": "",
            "GATEWAY_PORT": str(self.gateway_port),
            "GATEWAY_URL": self.gateway_url,
        }

    # ---- addresses
    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def gateway_ws(self) -> str:
        return f"ws://127.0.0.1:{self.gateway_port}"

    def url(self, service: str, path: str = "") -> str:
        return f"http://{self.env[SERVICES[service][1]]}{path}"

    # ---- lifecycle
    def start(self) -> "SystemStack":
        for name in START_ORDER:
            if name == "reply-worker" and not self.split_workers:
                continue
            self.start_service(name)
        self._start_gateway()
        return self

    def _start_gateway(self) -> None:
        env = {
            "GATEWAY_SITE": self.gateway_url,
            "WEBHOOK_UPSTREAM": self.env["WEBHOOK_ADDR"],
            "ADMIN_UPSTREAM": self.env["ADMIN_API_ADDR"],
            "CHAT_UI_UPSTREAM": _addr(),  # no Streamlit in the system tests
        }
        caddy_dir = self.work_dir / f"caddy-{self.gateway_port}" / "logs"
        self.gateway = Caddy(CADDYFILE, caddy_dir / "gateway.log", env).start(self.gateway_port)
        wait_ready(f"{self.gateway_url}/readyz", None, 30)

    def start_service(self, name: str, timeout: float = 90.0) -> ManagedProcess:
        module, addr_var = SERVICES[name]
        path = "/healthz" if name == "graph-stub" else "/readyz"
        # Each service as its own NATS user, fenced by deploy/nats/users.conf as in compose.
        env = {k: v for k, v in self.env.items() if k != "NATS_URL"} | self.nats.env_for(name)
        env |= self.service_env.get(name, {})
        proc = self.runner.start(module, env, ready_url=f"http://{self.env[addr_var]}{path}",
                                 timeout=timeout, name=name)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        self.procs[name].kill()

    def restart(self, name: str) -> ManagedProcess:
        """kill -9, then start again on the same address."""
        self.kill(name)
        return self.start_service(name)

    def ready(self, name: str) -> bool:
        import httpx

        try:
            return httpx.get(self.url(name, "/readyz"), timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def all_running(self) -> dict[str, bool]:
        return {name: proc.running() for name, proc in self.procs.items()}

    def logs(self, name: str, tail: int = 4000) -> str:
        return self.procs[name].log_path.read_text(errors="replace")[-tail:]

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        for name in reversed(START_ORDER):
            if name in self.procs:
                self.procs[name].stop()

    @property
    def graph(self):
        from .graph import GraphRecorder

        return GraphRecorder(f"http://{self.env['GRAPH_STUB_ADDR']}")

    # ---- auth helpers
    def admin_headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.secrets.admin_token}"}


@asynccontextmanager
async def embedded_stack(name: str, extra_env: dict[str, str], split_workers: bool = True,
                         keep: bool = False, pg_settings: dict[str, str] | None = None) -> AsyncIterator[SystemStack]:
    """For benchmarks: the whole stack on its own nats-server and Postgres in a new temporary
    directory, started, then stopped and removed (kept with ``keep``) whatever happens."""
    work = Path(tempfile.mkdtemp(prefix=f"pentagon-{name}-"))
    work.chmod(0o755)
    runner = ServiceRunner(work / "logs")
    nats = NatsServer(work / "nats", work / "logs" / "nats.log")
    pg = Postgres(work / "pg", work / "logs" / "postgres.log", settings=pg_settings)
    stack = None
    try:
        await asyncio.to_thread(nats.start)
        await asyncio.to_thread(pg.start)
        db = await asyncio.to_thread(pg.create_database, name)
        stack = SystemStack(runner, nats, pg, nats.url, db, work, extra_env, split_workers=split_workers)
        print(f"{name}: starting the stack (logs in {work / 'logs'})...", flush=True)
        await asyncio.to_thread(stack.start)
        yield stack
    finally:
        if stack is not None:
            await asyncio.to_thread(stack.stop)
        await asyncio.to_thread(runner.stop_all)
        await asyncio.to_thread(pg.stop)
        await asyncio.to_thread(nats.stop)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
