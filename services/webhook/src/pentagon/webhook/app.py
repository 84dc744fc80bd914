"""The HTTP application: Messenger webhook, data deletion, web chat and the ops routes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from pentagon.common.health import health_router
from pentagon.webhook.routes import chat, deletion, webhook
from pentagon.webhook.runtime import Runtime


def build_app(rt: Runtime) -> FastAPI:
    app = FastAPI(title="pentagon-webhook", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.runtime = rt
    app.include_router(health_router(rt.ready))
    app.include_router(webhook.router)
    app.include_router(deletion.router)
    app.include_router(chat.router)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": {"code": "invalid", "message": "invalid request"}}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Last resort: a clear 500 without internals; the log line carries the type for operators.
        import logging

        logging.getLogger(__name__).error("unhandled error", extra={"error": type(exc).__name__})
        return JSONResponse({"error": {"code": "internal", "message": "internal error"}}, status_code=500)

    return app
