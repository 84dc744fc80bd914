"""The FastAPI application: admin REST routes, /admin/ws, the panel page and the ops routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from pentagon.admin.body_limit import BodyLimit
from pentagon.admin.errors import install_error_handlers
from pentagon.admin.routes import (
    agent, audit, closed_days, conversations, customers, export, knowledge, labels, menu, messages, saved_replies,
    staff, stats, users, ws,
)
from pentagon.admin.runtime import Runtime
from pentagon.common.health import health_router

STATIC_DIR = Path(__file__).parent / "static"

# The panel loads no script or style from elsewhere, nothing inline, no framing. Images are
# customers' Messenger attachments (https CDN URLs), so they may come from anywhere over http(s).
PANEL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; font-src 'self'; "
    "connect-src 'self'{supabase}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI comes from its CDN and bootstraps with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PLACEHOLDER = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Pentagon admin</title></head>"
    "<body><h1>Pentagon admin API</h1><p>The admin panel is not installed. "
    "The API is documented at <a href=\"/admin/docs\">/admin/docs</a>.</p></body></html>"
)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Pentagon admin API",
        version="1.0.0",
        description="Conversations, handoff, replies, statistics, exports and live updates for staff.",
        openapi_url="/admin/openapi.json",
        docs_url="/admin/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for module in (conversations, customers, messages, labels, stats, export, users, audit, saved_replies, knowledge,
                   agent, menu, closed_days, staff, ws):
        app.include_router(module.router)
    app.include_router(health_router(runtime.ready))
    _panel(app)
    _document_auth(app)
    supabase = f" {runtime.settings.supabase_url.rstrip('/')}" if runtime.settings.supabase_url else ""
    app.state.panel_csp = PANEL_CSP.format(supabase=supabase)
    app.add_middleware(BodyLimit, limit=runtime.settings.body_limit())
    app.middleware("http")(_security_headers)  # added later = outside: the 413s get the headers too
    origins = runtime.settings.cors_origin_list()
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"], max_age=600)
    return app


def _document_auth(app: FastAPI) -> None:
    """Authentication is a plain dependency; declare it in the OpenAPI document for clients and fuzzers."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "ADMIN_TOKENS token or Supabase Auth access token"}}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _panel(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return FileResponse(page, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
        return HTMLResponse(PLACEHOLDER)

    # At the root, not under /static: a service worker only controls pages below its own path.
    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> Response:
        worker = STATIC_DIR / "sw.js"
        if not worker.is_file():
            return Response(status_code=404)
        return FileResponse(worker, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})

    # check_dir=False: the panel folder may be installed after this process started.
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")


async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    path = request.url.path
    response.headers["Content-Security-Policy"] = DOCS_CSP if path == "/admin/docs" else request.app.state.panel_csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if path.startswith("/admin"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
