"""Command one: the whole platform on loopback, no Docker.

    ./scripts/up

Starts (unless already provided through NATS_URL / DATABASE_URL / SUPABASE_URL)
nats-server with JetStream and Postgres from their wheels, then tracking, agent,
webhook (HTTP) and its workers (a second
process), admin-api, the Streamlit chat client and the Caddy gateway; waits until
each is ready; prints the URLs and the admin token; stops everything on Ctrl-C
or SIGTERM. Logs go to .data/logs/<service>.log.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from dotenv import dotenv_values

from pentagon.devtools.embedded import Caddy, ManagedProcess, NatsServer, Postgres, free_port
from pentagon.devtools.pytest_plugin import wait_ready

ROOT = Path(__file__).resolve().parents[5]
DATA = Path(os.environ.get("PENTAGON_DATA_DIR", ROOT / ".data")).resolve()
LOGS = DATA / "logs"

DEFAULTS = {
    "AGENT_ADDR": "127.0.0.1:50051",
    "AGENT_HTTP_ADDR": "127.0.0.1:8004",
    "WEBHOOK_ADDR": "127.0.0.1:8001",
    "WEBHOOK_WORKER_ADDR": "127.0.0.1:8011",
    "ADMIN_API_ADDR": "127.0.0.1:8002",
    "TRACKING_ADDR": "127.0.0.1:8003",
    "CHAT_UI_ADDR": "127.0.0.1:8501",
    "GRAPH_STUB_ADDR": "127.0.0.1:8009",
    "GATEWAY_PORT": "8080",
    "KNOWLEDGE_DIR": str(ROOT / "services" / "agent" / "knowledge"),
}


def _local_secrets() -> dict[str, str]:
    """Secrets generated once per checkout, kept in .data/secrets.env (git-ignored)."""
    path = DATA / "secrets.env"
    known = {k: v for k, v in dotenv_values(path).items() if v} if path.exists() else {}
    wanted = {
        "MESSENGER_APP_SECRET": lambda: secrets.token_hex(16),
        "MESSENGER_VERIFY_TOKEN": lambda: secrets.token_urlsafe(16),
        "CHAT_SESSION_SECRET": lambda: secrets.token_urlsafe(32),
        "ADMIN_TOKENS": lambda: f"admin:admin:{secrets.token_urlsafe(24)},viewer:viewer:{secrets.token_urlsafe(24)}",
    }
    for key, make in wanted.items():
        known.setdefault(key, make())
    DATA.mkdir(exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in known.items()))
    path.chmod(0o600)
    return known


def build_env() -> dict[str, str]:
    env: dict[str, str] = dict(DEFAULTS)
    env.update({k: v for k, v in _local_secrets().items()})
    env.update({k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None} if (ROOT / ".env").exists() else {})
    env.update({k: v for k, v in os.environ.items()})
    env = {k: v for k, v in env.items() if v != ""}
    worker_addr_given = "WEBHOOK_WORKER_ADDR" in os.environ or (
        (ROOT / ".env").exists() and bool(dotenv_values(ROOT / ".env").get("WEBHOOK_WORKER_ADDR")))
    if env["WEBHOOK_ADDR"] != DEFAULTS["WEBHOOK_ADDR"] and not worker_addr_given:
        # Moved ports (a second stack, the tests): the workers' ops port must move too.
        env["WEBHOOK_WORKER_ADDR"] = f"127.0.0.1:{free_port()}"
    env.setdefault("GATEWAY_URL", f"http://127.0.0.1:{env['GATEWAY_PORT']}")
    env.setdefault("GATEWAY_SITE", env["GATEWAY_URL"])
    # The gateway routes to wherever the services were told to listen.
    env["WEBHOOK_UPSTREAM"] = env["WEBHOOK_ADDR"]
    env["ADMIN_UPSTREAM"] = env["ADMIN_API_ADDR"]
    env["CHAT_UI_UPSTREAM"] = env["CHAT_UI_ADDR"]
    env.setdefault("PUBLIC_URL", env["GATEWAY_URL"])
    return env


def _url(addr: str, path: str = "") -> str:
    return f"http://{addr}{path}"


class Stack:
    def __init__(self) -> None:
        self.env = build_env()
        self.infra: list[NatsServer | Postgres | Caddy] = []
        self.procs: list[ManagedProcess] = []
        self.nats: NatsServer | None = None  # ours, when NATS_URL was not given
        self.stopping = threading.Event()

    def _service(self, name: str, argv: list[str], ready: str | None) -> None:
        if self.stopping.is_set():
            raise RuntimeError("interrupted")
        env = self.env
        if self.nats is not None:
            # Each service as its own NATS user, fenced by deploy/nats/users.conf as in compose.
            env = {k: v for k, v in env.items() if k != "NATS_URL"} | self.nats.env_for(name)
        proc = ManagedProcess(name, argv, LOGS / f"{name}.log", env=env, cwd=ROOT).start()
        self.procs.append(proc)
        if ready:
            wait_ready(ready, proc, timeout=120)
        print(f"  {name:<11} ready   (log: {proc.log_path})", flush=True)

    def start(self) -> None:
        env = self.env
        LOGS.mkdir(parents=True, exist_ok=True)
        if not env.get("NATS_URL"):
            nats = NatsServer(DATA / "nats", LOGS / "nats.log", port=int(env.get("NATS_PORT", "4222"))).start()
            self.infra.append(nats)
            self.nats = nats
            print(f"  nats        ready   {nats.address} (JetStream in .data/nats; passwords in .data/nats.conf)",
                  flush=True)
        if not env.get("DATABASE_URL") and not env.get("SUPABASE_URL"):
            pg = Postgres(DATA / "pg", LOGS / "postgres.log", port=int(env.get("PG_PORT", "5432"))).start()
            self.infra.append(pg)
            env["DATABASE_URL"] = pg.url
            print(f"  postgres    ready   {pg.url} (data in .data/pg)", flush=True)
        if not env.get("MESSENGER_PAGE_TOKEN"):
            # No Messenger page configured: replies go to a local recorder of the Graph API.
            env["MESSENGER_PAGE_TOKEN"] = "local-dev-page-token"
            env["MESSENGER_GRAPH_URL"] = _url(env["GRAPH_STUB_ADDR"], "/v21.0")
            self._service("graph-stub", [sys.executable, "-m", "pentagon.devtools.graph_stub"],
                          _url(env["GRAPH_STUB_ADDR"], "/healthz"))
        py = sys.executable
        self._service("tracking", [py, "-m", "pentagon.tracking"], _url(env["TRACKING_ADDR"], "/readyz"))
        self._service("agent", [py, "-m", "pentagon.agent"], _url(env["AGENT_HTTP_ADDR"], "/readyz"))
        # Two processes, two cores: the public acknowledgement path never waits behind the workers.
        self._service("webhook", [py, "-m", "pentagon.webhook", "--no-reply-worker", "--no-sender"],
                      _url(env["WEBHOOK_ADDR"], "/readyz"))
        self._service("webhook-workers", [py, "-m", "pentagon.webhook", "--workers-only"],
                      _url(env["WEBHOOK_WORKER_ADDR"], "/readyz"))
        self._service("admin-api", [py, "-m", "pentagon.admin"], _url(env["ADMIN_API_ADDR"], "/readyz"))
        host, _, port = env["CHAT_UI_ADDR"].rpartition(":")
        self._service("chat-ui", [py, "-m", "streamlit", "run", str(ROOT / "clients" / "streamlit-chat" / "app.py"),
                                  "--server.address", host, "--server.port", port, "--server.headless", "true",
                                  "--server.baseUrlPath", "chat", "--browser.gatherUsageStats", "false"],
                      _url(env["CHAT_UI_ADDR"], "/chat/_stcore/health"))
        gateway = Caddy(ROOT / "deploy" / "gateway" / "Caddyfile", LOGS / "gateway.log", env).start(int(env["GATEWAY_PORT"]))
        self.infra.append(gateway)
        print(f"  gateway     ready   {env['GATEWAY_URL']}", flush=True)

    def banner(self) -> None:
        env = self.env
        admin = next((t.split(":", 2) for t in env["ADMIN_TOKENS"].split(",") if t.split(":")[1:2] == ["admin"]), None)
        gw = env["GATEWAY_URL"]
        print(f"""
Pentagon is up.
  Admin panel      {gw}/            (sign in with the admin token below)
  Web chat         {gw}/chat/
  Messenger hook   {gw}/webhook     (verify token: MESSENGER_VERIFY_TOKEN in .data/secrets.env)
  Admin REST       {gw}/admin/stats
  Admin token      {admin[2] if admin else '(see ADMIN_TOKENS)'}   (user '{admin[0] if admin else ''}', role admin)
  Try:             curl -H 'Authorization: Bearer {admin[2] if admin else '<token>'}' {gw}/admin/stats
Logs in .data/logs/. Ctrl-C stops everything.""", flush=True)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        for server in reversed(self.infra):
            server.stop()

    def watch(self) -> int:
        """Block until a signal, or until a service dies (then stop everything and fail)."""
        while not self.stopping.wait(1.0):
            for proc in self.procs:
                if not proc.running():
                    print(f"{proc.name} exited unexpectedly; see {proc.log_path}", file=sys.stderr)
                    return 1
        return 0


def main() -> int:
    stack = Stack()
    signal.signal(signal.SIGTERM, lambda *_: stack.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stack.stopping.set())
    print("Starting Pentagon on loopback...", flush=True)
    code = 0
    try:
        stack.start()
        stack.banner()
        code = stack.watch()
    except Exception as exc:  # noqa: BLE001 - report, then clean up
        print(f"startup failed: {exc}", file=sys.stderr)
        code = 1
    finally:
        print("Stopping...", flush=True)
        stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
