"""Raw ASGI front for the hot path: POST /webhook skips FastAPI's routing and middleware.

Under load the FastAPI/Starlette layers were about half of the HTTP process's
CPU per Messenger POST. This front reads the body with the same limits, runs
the same handler (routes.webhook.handle_post) and writes the same responses;
every other request goes to the FastAPI app unchanged.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import FastAPI

from pentagon.webhook.routes.webhook import Outcome, handle_post, too_large
from pentagon.webhook.runtime import Runtime

log = logging.getLogger(__name__)

Scope = dict[str, Any]
INTERNAL = Outcome(500, json.dumps({"error": {"code": "internal", "message": "internal error"}}).encode())


class ClientGone(Exception):
    pass


class _TooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _body(scope: Scope, receive: Any, limit: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _TooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Any, outcome: Outcome) -> None:
    await send({"type": "http.response.start", "status": outcome.status,
                "headers": [(b"content-type", outcome.content_type),
                            (b"content-length", str(len(outcome.body)).encode())]})
    await send({"type": "http.response.body", "body": outcome.body})


class WebhookFront:
    def __init__(self, app: FastAPI, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/webhook":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            body = await _body(scope, receive, self.rt.settings.webhook_max_body_bytes)
            outcome = await handle_post(self.rt, body, _header(scope, b"x-hub-signature-256"), started)
        except _TooLarge:
            outcome = too_large()
        except ClientGone:
            return
        except Exception as exc:  # noqa: BLE001 - last resort, as the FastAPI app's handler
            log.error("unhandled error", extra={"error": type(exc).__name__})
            outcome = INTERNAL
        await _respond(send, outcome)
