"""A loopback server speaking PostgREST's rpc wire format, forwarding into the real Postgres function.

No PostgREST binary is available here: this stands in for it so the real
`supabase` client code (URL, headers, JSON body, error shape) is exercised.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Request, Response

# PostgREST calls functions with named arguments: only these names exist here.
FUNCTIONS: dict[str, dict[str, str]] = {
    "pentagon_ingest": {"events": "jsonb"}, "pentagon_command": {"cmd": "jsonb"}, "pentagon_sweep": {},
    "pentagon_outbox_replay": {"min_age_s": "float8", "max_rows": "int"}, "pentagon_outbox_done": {"ids": "bigint[]"},
    "pentagon_prune": {"keep_days": "int"}, "pentagon_idle_conversations": {"idle_hours": "float8", "max_rows": "int"},
    "pentagon_retention_candidates": {"keep_days": "float8", "max_rows": "int"},
}


def _error(status: int, code: str, message: str) -> Response:
    body = {"code": code, "message": message, "details": None, "hint": None}
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def postgrest_app(database_url: str, service_key: str) -> FastAPI:
    app = FastAPI()
    state: dict[str, Any] = {"calls": 0}
    app.state.calls = state

    @app.on_event("startup")
    async def _open() -> None:
        state["pool"] = await asyncpg.create_pool(database_url, min_size=1, max_size=4)

    @app.on_event("shutdown")
    async def _close() -> None:
        await state["pool"].close()

    @app.post("/rest/v1/rpc/{fn}")
    async def rpc(fn: str, request: Request) -> Response:
        if request.headers.get("apikey") != service_key or request.headers.get("authorization") != f"Bearer {service_key}":
            return _error(401, "PGRST301", "JWT invalid")
        if fn not in FUNCTIONS:
            return _error(404, "PGRST202", f"Could not find the function public.{fn}")
        body = await request.json()
        params = FUNCTIONS[fn]
        if set(body) != set(params):
            return _error(404, "PGRST202", "no function with these argument names")
        state["calls"] += 1
        names = list(params)
        args = [json.dumps(body[n]) if params[n] == "jsonb" else body[n] for n in names]
        call = ", ".join(f"{n} => ${i + 1}::{params[n]}" for i, n in enumerate(names))
        try:
            result = await state["pool"].fetchval(f"SELECT {fn}({call})::text", *args)
        except asyncpg.PostgresError as exc:
            return _error(400, exc.sqlstate, str(exc))
        return Response(result, media_type="application/json")

    return app


class LoopbackPostgrest:
    """Runs the app with uvicorn in its own thread (tests may block their own loop)."""

    def __init__(self, database_url: str, service_key: str, port: int) -> None:
        self.app = postgrest_app(database_url, service_key)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning"))
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> "LoopbackPostgrest":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("loopback PostgREST did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def calls(self) -> int:
        return self.app.state.calls["calls"]
