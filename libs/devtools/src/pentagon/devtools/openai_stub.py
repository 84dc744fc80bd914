"""A loopback server speaking the OpenAI chat-completions wire format, for tests.

It records every request and answers according to ``mode``:
``ok`` (a completion whose text is ``reply`` or, if unset, derived from the
last user message), ``error`` (HTTP 500 with an OpenAI error body), ``slow``
(waits ``delay_s`` first), ``empty`` (a completion with empty content),
``garbage`` (HTTP 200 with a body that is not JSON). Requests without the
expected bearer key get 401, as the real API does.

Use in tests: ``stub = OpenAIStub().start()`` ... ``stub.stop()``; point the
client at ``stub.base_url``. Standalone: ``python -m pentagon.devtools.openai_stub``
(``OPENAI_STUB_ADDR``, default 127.0.0.1:8010).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from pentagon.devtools.embedded import free_port
from pentagon.devtools.threaded import ThreadedServer


def _error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status)


class OpenAIStub:
    def __init__(self, api_key: str = "sk-test", host: str = "127.0.0.1", port: int | None = None) -> None:
        self.api_key = api_key
        self.host = host
        self.port = port or free_port()
        self.mode = "ok"
        self.reply: str | None = None
        self.delay_s = 5.0
        self.requests: list[dict[str, Any]] = []
        self.app = self._build_app()
        self._server: ThreadedServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or []
        last_user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        content = "" if self.mode == "empty" else (self.reply if self.reply is not None else f"Stub reply to: {last_user}")
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(content.split())
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stub-model"), "system_fingerprint": "fp_stub",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
            self.requests.append(body)
            if self.mode == "error":
                return _error(500, "The server had an error while processing your request.", "server_error")
            if self.mode == "garbage":
                return PlainTextResponse("<html>bad gateway</html>", 200)
            if self.mode == "slow":
                await asyncio.sleep(self.delay_s)
            return JSONResponse(self._completion(body))

        return app

    def start(self) -> "OpenAIStub":
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", access_log=False,
                                lifespan="off")
        self._server = ThreadedServer(config, "openai-stub").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(force=True)  # a 'slow' request would otherwise hold the shutdown for its whole delay


if __name__ == "__main__":
    host, _, port = os.environ.get("OPENAI_STUB_ADDR", "127.0.0.1:8010").rpartition(":")
    stub = OpenAIStub(api_key=os.environ.get("OPENAI_API_KEY", "sk-test"), host=host, port=int(port))
    uvicorn.run(stub.app, host=host, port=int(port), log_level="warning")
