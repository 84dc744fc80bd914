"""Helpers shared by the routes: bounded body reading, JSON errors, publishing to JetStream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from pentagon.common.events import publish
from pentagon.webhook.messenger_parser import BusEvent
from pentagon.webhook.metrics import RATE_LIMITED
from pentagon.common.ratelimit import SharedTokenBucket, retry_after_header
from pentagon.webhook.runtime import Runtime


class BodyTooLarge(Exception):
    pass


class BusUnavailable(Exception):
    """JetStream did not acknowledge in time: the caller answers 503 so the client retries."""


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def rate_limited(bucket: SharedTokenBucket, key: str) -> JSONResponse | None:
    """The 429 to answer when ``key`` has no token left in ``bucket``; None when the request may go on."""
    wait = await bucket.take(key)
    if wait <= 0:
        return None
    RATE_LIMITED.labels(bucket.name).inc()
    return error(429, "rate_limited", "too many requests", {"Retry-After": retry_after_header(wait)})


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing early on Content-Length and while streaming (chunked bodies)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BodyTooLarge()
        if int(declared) > limit:
            raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def parse_json(body: bytes) -> Any:
    """Strict JSON: no NaN/Infinity; any decoding problem is a ValueError."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(type(exc).__name__) from None


async def publish_all(rt: Runtime, events: Iterable[BusEvent]) -> None:
    """Publish every event and wait for every stream ack; any failure means none is confirmed."""
    timeout = rt.settings.webhook_publish_timeout_s
    if not rt.nc.is_connected:
        raise BusUnavailable()
    tasks = [publish(rt.js, e.subject, e.message, e.event_id, timeout=timeout) for e in events]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    if any(isinstance(r, BaseException) for r in results):
        raise BusUnavailable()
