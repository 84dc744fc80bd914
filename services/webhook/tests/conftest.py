"""Fixtures for the webhook tests: the real webhook process, the Graph stub process, NATS helpers.

Everything runs for real: nats-server with JetStream (``nats_url``), our
``python -m pentagon.webhook`` and ``python -m pentagon.devtools.graph_stub``
as processes (``services``). Helpers are handed out through fixtures because
tests are imported with --import-mode=importlib.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats
import pytest
from nats.js.errors import NotFoundError

from pentagon.common.bus import EVENT_PARTITIONS, EVENTS_STREAM, UPDATES_STREAM, mode_key
from pentagon.common.proto import events_pb2 as pb
from pentagon.devtools.embedded import free_port
from pentagon.webhook.signature import sign_body

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PAGE_TOKEN = "test-page-token"
APP_ID = "4242"
CHAT_SECRET = "test-chat-secret"


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; the timeout only bounds a failing test."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met; last value: {last!r}")


@pytest.fixture
def wait_for() -> Callable[..., Awaitable[Any]]:
    return eventually


@dataclass
class Bus:
    nc: Any
    js: Any

    async def messages(self, subject: str, stream: str = EVENTS_STREAM) -> list[Any]:
        if stream == EVENTS_STREAM and subject.count(".") == 3 and not subject.endswith(">"):
            # The stream inserts the partition token (pentagon.common.bus.partition_transform).
            family, token = subject.rsplit(".", 1)
            subject = f"{family}.*.{token}"
        out, seq = [], 1
        while True:
            try:
                raw = await self.js.get_msg(stream, seq=seq, subject=subject, next=True)
            except NotFoundError:
                return out
            out.append(raw)
            seq = raw.seq + 1

    async def events(self, subject: str, cls: type = pb.MessageEvent) -> list[Any]:
        return [cls.FromString(raw.data) for raw in await self.messages(subject)]

    async def publish(self, subject: str, event: Any, msg_id: str | None = None) -> None:
        await self.js.publish(subject, event.SerializeToString(), headers={"Nats-Msg-Id": msg_id or event.event_id})

    async def set_mode(self, platform: str, user_id: str, mode: str) -> None:
        kv = await self.js.key_value("conversation_mode")
        await kv.put(mode_key(platform, user_id), mode.encode())

    async def consumer_idle(self, name: str) -> bool:
        """True once every partition durable of the worker has nothing pending and nothing unacknowledged."""
        for partition in range(EVENT_PARTITIONS):
            info = await self.js.consumer_info(EVENTS_STREAM, f"{name}-{partition}")
            if info.num_pending or info.num_ack_pending:
                return False
        return True

    async def wait_idle(self, durable: str) -> None:
        await eventually(lambda: self.consumer_idle(durable))


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    nc = await nats.connect(nats_url)
    yield Bus(nc, nc.jetstream())
    await nc.close()


@dataclass
class GraphStub:
    url: str

    def base(self) -> str:
        return f"{self.url}/v21.0"

    async def requests(self, kind: str | None = None) -> list[dict[str, Any]]:
        async with httpx.AsyncClient() as client:
            params = {"kind": kind} if kind else {}
            return (await client.get(f"{self.url}/requests", params=params)).json()["requests"]

    async def fail(self, **rule: Any) -> None:
        async with httpx.AsyncClient() as client:
            (await client.post(f"{self.url}/control/fail", json=rule)).raise_for_status()


@pytest.fixture
def graph(services) -> GraphStub:  # type: ignore[no-untyped-def]
    port = free_port()
    services.start("pentagon.devtools.graph_stub", {"GRAPH_STUB_ADDR": f"127.0.0.1:{port}"},
                   ready_url=f"http://127.0.0.1:{port}/healthz", name="graph-stub")
    return GraphStub(f"http://127.0.0.1:{port}")


@dataclass
class Webhook:
    url: str
    env: dict[str, str]
    proc: Any = None
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    async def post_signed(self, payload: Any, secret: str = APP_SECRET, raw: bytes | None = None) -> httpx.Response:
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"X-Hub-Signature-256": sign_body(body, secret), "Content-Type": "application/json"}
        return await self.client.post(f"{self.url}/webhook", content=body, headers=headers)

    async def chat_session(self, **body: Any) -> dict[str, Any]:
        response = await self.client.post(f"{self.url}/api/chat/session", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def chat(self, token: str, text: str, idempotency_key: str | None = None, **extra: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self.client.post(f"{self.url}/api/chat/messages", json={"text": text, **extra}, headers=headers)


def webhook_env(nats_url: str, port: int, graph: GraphStub | None, **overrides: str) -> dict[str, str]:
    env = {
        "NATS_URL": nats_url, "WEBHOOK_ADDR": f"127.0.0.1:{port}",
        "MESSENGER_APP_SECRET": APP_SECRET, "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_PAGE_TOKEN": PAGE_TOKEN, "MESSENGER_APP_ID": APP_ID, "CHAT_SESSION_SECRET": CHAT_SECRET,
        "MESSENGER_GRAPH_URL": graph.base() if graph else f"http://127.0.0.1:{free_port()}/v21.0",
        # Nothing listens there unless a test starts the real agent: the "agent down" path.
        "AGENT_ADDR": f"127.0.0.1:{free_port()}", "AGENT_TIMEOUT_MS": "1000", "AGENT_RETRIES": "1",
        "MODE_CLOSED_WAIT_MS": "300", "SEND_BACKOFF_MS": "50", "CHAT_UPDATE_WAIT_MS": "300",
        "WEBHOOK_PUBLISH_TIMEOUT_S": "1.5", "PUBLIC_URL": "https://pentagon.example",
    }
    env.update(overrides)
    return env


@pytest.fixture
async def start_webhook(services, nats_url: str) -> AsyncIterator[Callable[..., Webhook]]:  # type: ignore[no-untyped-def]
    started: list[Webhook] = []

    def start(graph: GraphStub | None = None, **overrides: str) -> Webhook:
        port = free_port()
        env = webhook_env(nats_url, port, graph, **overrides)
        proc = services.start("pentagon.webhook", env, ready_url=f"http://127.0.0.1:{port}/readyz", name="webhook")
        hook = Webhook(f"http://127.0.0.1:{port}", env, proc)
        started.append(hook)
        return hook

    yield start
    for hook in started:
        await hook.client.aclose()


@pytest.fixture
def start_workers(services, nats_url: str) -> Callable[..., str]:  # type: ignore[no-untyped-def]
    """A workers-only replica (python -m pentagon.webhook with WEBHOOK_WORKERS_ONLY): returns its ops URL."""

    def start(graph: GraphStub | None = None, **overrides: str) -> str:
        port = free_port()
        env = webhook_env(nats_url, free_port(), graph, WEBHOOK_WORKERS_ONLY="true",
                          WEBHOOK_WORKER_ADDR=f"127.0.0.1:{port}", **overrides)
        services.start("pentagon.webhook", env, ready_url=f"http://127.0.0.1:{port}/readyz", name="webhook-workers")
        return f"http://127.0.0.1:{port}"

    return start


def text_event(psid: str, mid: str, text: str, ts: int | None = None) -> dict[str, Any]:
    ts = ts if ts is not None else int(time.time() * 1000)
    return {"sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": ts, "message": {"mid": mid, "text": text}}


def page(*events: dict[str, Any], standby: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": "PAGE", "time": 1_700_000_000_000, "messaging": list(events)}
    if standby:
        entry["standby"] = standby
    return {"object": "page", "entry": [entry]}


@pytest.fixture
def messenger() -> Any:
    """Builders of Messenger webhook payloads."""

    class Builders:
        text = staticmethod(text_event)
        page = staticmethod(page)

    return Builders


def update_event(kind: int, platform: str, user_id: str, row: dict[str, Any], mode: str = "bot",
                 event_id: str = "", conversation_id: int = 1, message_id: int = 0) -> pb.UpdateEvent:
    return pb.UpdateEvent(event_id=event_id or f"u{time.time_ns()}", key=pb.ConversationKey(platform=platform, user_id=user_id),
                          kind=kind, conversation_id=conversation_id, message_id=message_id, row_json=json.dumps(row),
                          mode=mode)


@pytest.fixture
def make_update() -> Callable[..., pb.UpdateEvent]:
    return update_event


UPDATES = UPDATES_STREAM


@pytest.fixture
def stack(services, nats_url, database_url, graph, start_webhook):  # type: ignore[no-untyped-def]
    """The webhook with the real tracking (Postgres) and the real agent processes, and the Graph stub."""
    def start(**webhook_env: str):  # type: ignore[no-untyped-def]
        tport, gport, hport = free_port(), free_port(), free_port()
        services.start("pentagon.tracking", {"NATS_URL": nats_url, "DATABASE_URL": database_url,
                                             "TRACKING_ADDR": f"127.0.0.1:{tport}"},
                       ready_url=f"http://127.0.0.1:{tport}/readyz", name="tracking")
        services.start("pentagon.agent", {"NATS_URL": nats_url, "AGENT_ADDR": f"127.0.0.1:{gport}",
                                          "AGENT_HTTP_ADDR": f"127.0.0.1:{hport}", "OPENAI_API_KEY": ""},
                       ready_url=f"http://127.0.0.1:{hport}/readyz", name="agent")
        return start_webhook(graph, AGENT_ADDR=f"127.0.0.1:{gport}", AGENT_TIMEOUT_MS="5000", **webhook_env)

    return start
