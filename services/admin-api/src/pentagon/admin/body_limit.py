"""Request bodies over ADMIN_MAX_BODY_BYTES are refused with 413 before anything buffers or parses them.

FastAPI reads and JSON-decodes a route's body before its dependencies run, authentication
included, so without this an anonymous client could make the service hold and parse any
amount of data. A declared Content-Length over the limit is answered at once; a chunked body
is counted as it arrives and refused at the first byte over.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pentagon.admin.errors import error_response


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            response = error_response(413, "too_large", f"request body over {self.limit} bytes")
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Raised inside the route's body read: the app's handlers turn it into the usual 413 JSON.
                    raise HTTPException(413, f"request body over {self.limit} bytes")
            return message

        await self.app(scope, counted, send)
