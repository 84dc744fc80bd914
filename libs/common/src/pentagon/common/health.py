"""/healthz, /readyz and /metrics for every HTTP-speaking service.

``healthz`` says the process is alive; ``readyz`` runs the service's own
readiness check (NATS connected, database reachable...) and answers 503 until
it passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadyCheck = Callable[[], Awaitable[bool]]


def health_router(ready: ReadyCheck) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(response: Response) -> dict[str, str]:
        try:
            ok = await asyncio.wait_for(ready(), timeout=2.0)
        except Exception:  # noqa: BLE001 - any failure means not ready
            ok = False
        if not ok:
            response.status_code = 503
            return {"status": "unavailable"}
        return {"status": "ready"}

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def ops_app(ready: ReadyCheck) -> FastAPI:
    """A tiny app with only the ops routes, for services that are not HTTP APIs (tracking, agent)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(health_router(ready))
    return app
