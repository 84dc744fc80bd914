"""A loopback server speaking the Messenger Graph API's Send API wire format (placeholder)."""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    host, _, port = os.environ.get("GRAPH_STUB_ADDR", "127.0.0.1:8009").rpartition(":")
    uvicorn.run(app, host=host, port=int(port), log_level="warning")
