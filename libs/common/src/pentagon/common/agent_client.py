"""gRPC client of the agent: one channel, a deadline per attempt, retries on transient codes.

Shared by the webhook (customers' messages) and admin-api (staff trying the bot in the panel).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import grpc
from prometheus_client import Histogram

from pentagon.common.proto import agent_pb2, agent_pb2_grpc

log = logging.getLogger(__name__)

_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}


class AgentUnavailable(Exception):
    """The agent could not answer within the retries; the reason is a gRPC status name."""


class AgentClient:
    def __init__(self, addr: str, timeout_ms: int, retries: int, seconds: Histogram) -> None:
        """`seconds`: the caller's histogram of call latency (any method), labelled by outcome ("ok", "failed")."""
        self.addr = addr
        self.seconds = seconds
        self.timeout = timeout_ms / 1000
        self.retries = max(0, retries)
        self._channel: grpc.aio.Channel | None = None
        self._stub: agent_pb2_grpc.AgentServiceStub | None = None

    def _ensure(self) -> agent_pb2_grpc.AgentServiceStub:
        # Created lazily: a grpc.aio channel binds to the running event loop.
        if self._stub is None:
            # dns:/// + round_robin: with several agent replicas behind one name (compose --scale),
            # calls spread over all of them and a dead one is skipped.
            self._channel = grpc.aio.insecure_channel(
                _target(self.addr),
                options=[("grpc.keepalive_time_ms", 30_000), ("grpc.lb_policy_name", "round_robin")],
            )
            self._stub = agent_pb2_grpc.AgentServiceStub(self._channel)
        return self._stub

    async def reply(self, request: agent_pb2.ReplyRequest) -> agent_pb2.ReplyResponse:
        return await self._call("Reply", request)

    async def list_menu(self) -> agent_pb2.ListMenuResponse:
        return await self._call("ListMenu", agent_pb2.ListMenuRequest())

    async def list_hours(self) -> agent_pb2.ListHoursResponse:
        return await self._call("ListHours", agent_pb2.ListHoursRequest())

    async def coverage(self, texts: list[str]) -> list[bool]:
        return list((await self._call("Coverage", agent_pb2.CoverageRequest(texts=texts))).answered)

    async def _call(self, method: str, request: Any) -> Any:
        rpc = getattr(self._ensure(), method)
        started = time.perf_counter()
        last = "unknown"
        for attempt in range(self.retries + 1):
            try:
                response = await rpc(request, timeout=self.timeout)
                self.seconds.labels("ok").observe(time.perf_counter() - started)
                return response
            except grpc.aio.AioRpcError as exc:
                last = exc.code().name
                if exc.code() not in _RETRYABLE:
                    break
                log.warning("agent call failed", extra={"code": last, "attempt": attempt + 1})
            if attempt < self.retries:
                await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
        self.seconds.labels("failed").observe(time.perf_counter() - started)
        raise AgentUnavailable(last)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


def _target(addr: str) -> str:
    """'agent:50051' -> 'dns:///agent:50051' (every A record is a backend); explicit schemes are kept."""
    return addr if "://" in addr or addr.startswith(("dns:", "unix:", "ipv4:", "ipv6:")) else f"dns:///{addr}"
