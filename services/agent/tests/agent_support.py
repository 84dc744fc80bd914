"""Helpers of the agent's process tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR
from pentagon.devtools.embedded import free_port


def agent_env(knowledge_dir: Path = PACKAGED_KNOWLEDGE_DIR) -> tuple[dict[str, str], int, int]:
    """The environment of a `python -m pentagon.agent` on free ports: (env, gRPC port, ops HTTP port)."""
    grpc_port, http_port = free_port(), free_port()
    env = {"AGENT_ADDR": f"127.0.0.1:{grpc_port}", "AGENT_HTTP_ADDR": f"127.0.0.1:{http_port}",
           "KNOWLEDGE_DIR": str(knowledge_dir), "OPENAI_API_KEY": "", "AGENT_SHUTDOWN_GRACE_S": "1"}
    return env, grpc_port, http_port


async def write_bucket(url: str, opener: Callable[[JetStreamContext], Awaitable[KeyValue]], key: str,
                       value: bytes | None) -> None:
    """What admin-api does in the panel's buckets: put a row, or delete it (value None)."""
    nc = await nats.connect(url)
    try:
        kv = await opener(nc.jetstream())
        await (kv.delete(key) if value is None else kv.put(key, value))
    finally:
        await nc.close()
