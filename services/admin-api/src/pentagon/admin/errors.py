"""Structured API errors: {"success": false, "error": {"code", "message"}} with the right status.

Bad input must never become a 500: validation errors are 422, lost
dependencies (database, NATS) are 503, and only genuine bugs reach the
catch-all handler (still structured, and logged with the request path only).
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import asyncpg
import nats.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

T = TypeVar("T")

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "illegal_transition",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid", message)


def unavailable(message: str = "a dependency is unavailable, retry later") -> ApiError:
    return ApiError(503, "unavailable", message)


def available(part: T | None) -> T:
    """A part of the runtime that starts with NATS (None until then): 503 rather than a crash."""
    if part is None:
        raise unavailable()
    return part


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


# Connection-level database failures: the client should retry, it did nothing wrong.
_DB_UNAVAILABLE = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return error_response(exc.status, exc.code, exc.message, {**headers, **(exc.headers or {})})

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(asyncpg.exceptions.DataError)
    async def _data_error(_: Request, exc: Exception) -> JSONResponse:
        # Values Postgres refuses (out-of-range numbers, bad encodings) are the caller's fault.
        return error_response(422, "invalid", "a parameter has a value the database cannot accept")

    for exc_type in _DB_UNAVAILABLE:
        app.add_exception_handler(exc_type, _unavailable)

    @app.exception_handler(nats.errors.Error)
    async def _nats_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("NATS unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
        return error_response(503, "unavailable", "the message bus is unavailable, retry later")

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", extra={"path": request.url.path, "error": type(exc).__name__}, exc_info=exc)
        return error_response(500, "internal", "internal error")


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("dependency unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
    return error_response(503, "unavailable", "the database is unavailable, retry later")
