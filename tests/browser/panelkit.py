"""Helpers for the browser tests: the real local stack, Messenger posts, waiting, screenshots.

One stack for the whole session (starting it costs seconds on 2 cores): its own
nats-server, its own database on the session's Postgres, the Graph API loopback
recorder, tracking, agent, webhook, admin-api, Streamlit and the Caddy gateway
with the real deploy/gateway/Caddyfile, all on free loopback ports.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pentagon.devtools.embedded import Caddy, ManagedProcess, NatsServer, free_port
from pentagon.devtools.pytest_plugin import wait_ready

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PAGE_ID = "100000000000042"
_mids = itertools.count()
_run = os.urandom(3).hex()


def _addr() -> str:
    return f"127.0.0.1:{free_port()}"


# ---------------------------------------------------------------- the stack

@dataclass
class LocalStack:
    work_dir: Path
    nats: NatsServer
    database_url: str
    app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    admin_token: str = field(default_factory=lambda: "adm-" + secrets.token_urlsafe(18))
    viewer_token: str = field(default_factory=lambda: "vw-" + secrets.token_urlsafe(18))
    gateway_port: int = field(default_factory=free_port)
    procs: dict[str, ManagedProcess] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    gateway: Caddy | None = None

    ADMIN_NAME = "alice"

    def __post_init__(self) -> None:
        graph = _addr()
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "LOG_LEVEL": "INFO",
            "GRAPH_STUB_ADDR": graph,
            "MESSENGER_GRAPH_URL": f"http://{graph}/v21.0",
            "MESSENGER_PAGE_TOKEN": "page-" + secrets.token_hex(8),
            "MESSENGER_APP_SECRET": self.app_secret,
            "MESSENGER_VERIFY_TOKEN": secrets.token_urlsafe(12),
            "CHAT_SESSION_SECRET": secrets.token_urlsafe(32),
            "ADMIN_TOKENS": f"{self.ADMIN_NAME}:admin:{self.admin_token},victor:viewer:{self.viewer_token}",
            "TRACKING_ADDR": _addr(),
            "AGENT_ADDR": _addr(),
            "AGENT_HTTP_ADDR": _addr(),
            "WEBHOOK_ADDR": _addr(),
            "ADMIN_API_ADDR": _addr(),
            "CHAT_UI_ADDR": _addr(),
            "KNOWLEDGE_DIR": str(ROOT / "services" / "agent" / "knowledge"),
            "OPENAI_API_KEY": "",
            "GATEWAY_PORT": str(self.gateway_port),
            "GATEWAY_URL": self.gateway_url,
            # A small per-session burst so the chat test can meet a real 429; the per-IP limit
            # is raised because every test client is 127.0.0.1.
            "RATE_LIMIT_SESSION_BURST": "6",
            "RATE_LIMIT_SESSION_PER_MIN": "30",
            "RATE_LIMIT_IP_BURST": "100000",
            "RATE_LIMIT_IP_PER_MIN": "100000",
            # On, as a cafe would run it: only a test that backdates a conversation meets it.
            "TRACKING_RETENTION_DAYS": "30",
        }
        self.env.pop("SUPABASE_URL", None)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def _argv(self, name: str) -> list[str]:
        py = sys.executable
        if name == "chat-ui":
            host, _, port = self.env["CHAT_UI_ADDR"].rpartition(":")
            return [py, "-m", "streamlit", "run", str(ROOT / "clients" / "streamlit-chat" / "app.py"),
                    "--server.address", host, "--server.port", port, "--server.headless", "true",
                    "--server.baseUrlPath", "chat", "--browser.gatherUsageStats", "false"]
        module = {"graph-stub": "pentagon.devtools.graph_stub", "tracking": "pentagon.tracking",
                  "agent": "pentagon.agent", "webhook": "pentagon.webhook", "admin-api": "pentagon.admin"}[name]
        return [py, "-m", module]

    def _ready_url(self, name: str) -> str:
        var, path = {"graph-stub": ("GRAPH_STUB_ADDR", "/healthz"), "tracking": ("TRACKING_ADDR", "/readyz"),
                     "agent": ("AGENT_HTTP_ADDR", "/readyz"), "webhook": ("WEBHOOK_ADDR", "/readyz"),
                     "admin-api": ("ADMIN_API_ADDR", "/readyz"),
                     "chat-ui": ("CHAT_UI_ADDR", "/chat/_stcore/health")}[name]
        return f"http://{self.env[var]}{path}"

    def env_of(self, name: str) -> dict[str, str]:
        """The process's environment: each service as its own NATS user (deploy/nats/users.conf)."""
        return {k: v for k, v in self.env.items() if k != "NATS_URL"} | self.nats.env_for(name)

    def start_service(self, name: str) -> ManagedProcess:
        log = self.work_dir / "logs" / f"{name}-{len([p for p in self.procs if p == name])}.log"
        proc = ManagedProcess(name, self._argv(name), log, env=self.env_of(name), cwd=ROOT).start()
        self.procs[name] = proc
        wait_ready(self._ready_url(name), proc, timeout=120)
        return proc

    def start(self) -> "LocalStack":
        for name in ("graph-stub", "tracking", "agent", "webhook", "admin-api", "chat-ui"):
            self.start_service(name)
        gateway_env = {"GATEWAY_SITE": self.gateway_url, "WEBHOOK_UPSTREAM": self.env["WEBHOOK_ADDR"],
                       "ADMIN_UPSTREAM": self.env["ADMIN_API_ADDR"], "CHAT_UI_UPSTREAM": self.env["CHAT_UI_ADDR"]}
        self.gateway = Caddy(ROOT / "deploy" / "gateway" / "Caddyfile", self.work_dir / "logs" / "gateway.log",
                             gateway_env).start(self.gateway_port)
        return self

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        for proc in reversed(list(self.procs.values())):
            proc.stop()

    def logs(self, name: str) -> str:
        return self.procs[name].log_path.read_text(errors="replace")[-4000:]

    def db_value(self, sql: str, *args: Any) -> Any:
        """One value from the stack's database (asyncpg in a worker thread: Playwright owns this thread's loop)."""
        async def fetch() -> Any:
            conn = await asyncpg.connect(self.database_url)
            try:
                return await conn.fetchval(sql, *args)
            finally:
                await conn.close()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: asyncio.run(fetch())).result()

    # ---- admin REST, as another staff member would use it
    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.gateway_url}{path}", timeout=20,
                                 headers={"Authorization": f"Bearer {self.admin_token}"}, **kwargs)
        response.raise_for_status()
        return response.json()

    # ---- Messenger, as Facebook posts to the webhook
    def messenger(self, psid: str, text: str | None = None, attachments: list[dict[str, Any]] | None = None,
                  quick_reply: str | None = None) -> str:
        mid = f"m_{_run}_{next(_mids)}"
        message: dict[str, Any] = {"mid": mid}
        if text is not None:
            message["text"] = text
        if quick_reply is not None:  # the customer tapped a quick reply: its payload comes back
            message["quick_reply"] = {"payload": quick_reply}
        if attachments:
            message["attachments"] = attachments
        now = int(time.time() * 1000)
        payload = {"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": now, "message": message}]}]}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        signature = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        response = httpx.post(f"{self.gateway_url}/webhook", content=body, timeout=20,
                              headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
        assert response.status_code == 200, response.text
        return mid

    def sent_to(self, psid: str) -> list[dict[str, Any]]:
        """Send API bodies our platform posted for this Messenger user, as the Graph API recorder saw them."""
        base = f"http://{self.env['GRAPH_STUB_ADDR']}"
        response = httpx.get(f"{base}/requests", params={"kind": "message"}, timeout=10)
        if response.status_code == 404:  # the recorder's older listing
            response = httpx.get(f"{base}/_stub/sent", params={"recipient": psid}, timeout=10)
            response.raise_for_status()
            return [item.get("body") or {} for item in response.json()["sent"]]
        response.raise_for_status()
        return [r["body"] for r in response.json()["requests"]
                if isinstance(r.get("body"), dict) and (r["body"].get("recipient") or {}).get("id") == psid
                and r.get("status", 200) == 200]

    def sent_texts(self, psid: str) -> list[str]:
        texts = []
        for body in self.sent_to(psid):
            text = (body.get("message") or {}).get("text")
            if text:
                texts.append(text)
        return texts


def conv_item(page: Any, user_id: str) -> Any:
    """The customer's row in the conversation list (it shows their name once known, not the id)."""
    return page.locator(f'.conv-item[data-user="{user_id}"]')


def psid(first_digit: str = "8") -> str:
    """A fresh Messenger page-scoped user id (digits like the real ones start with; unique per test)."""
    return first_digit + uuid.uuid4().hex[:15]


def conversation_of(stack: LocalStack, user_id: str) -> dict[str, Any]:
    """The user's latest conversation as the admin API lists it; {} while there is none."""
    data = stack.admin("GET", "/admin/conversations", params={"status": "all", "limit": 500})
    found = [c for c in data["conversations"] if c["user_id"] == user_id]
    return found[0] if found else {}


def eventually(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll until check() returns something truthy: behaviour, not timing, is asserted."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (AssertionError, httpx.HTTPError, KeyError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}" + (f": {last_error!r}" if last_error else ""))


@dataclass
class PanelPage:
    page: Any
    dialogs: list[str]
    console_errors: list[str]


def wait_js(page: Any, expression: str, what: str = "a condition in the page") -> Any:
    """Polls a JavaScript expression from here. Not `page.wait_for_function`: once its first evaluation
    is false it polls with a string predicate, which the panel's CSP (no 'unsafe-eval') refuses."""
    return eventually(lambda: page.evaluate(expression), what=what)


def sign_in(panel: PanelPage, token: str) -> None:
    page = panel.page
    page.goto("/")
    page.locator("#token").fill(token)
    page.locator("#signin-submit").click()
    page.locator("#conn[data-state='open']").wait_for(timeout=20_000)


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))
