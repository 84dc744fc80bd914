"""The gRPC server: AgentService.Reply, the standard health service and reflection.

Bad requests get a clear status (INVALID_ARGUMENT, DEADLINE_EXCEEDED), never a
crash. Logs carry ids and labels only: customer text stays out of them.
"""

from __future__ import annotations

import asyncio
import logging
import time

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import Counter, Histogram

from pentagon.agent.answer import Answer, OfflineAnswerer, Turn
from pentagon.agent.llm import LlmAnswerer
from pentagon.agent.settings import Settings
from pentagon.common.proto import agent_pb2, agent_pb2_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = agent_pb2.DESCRIPTOR.services_by_name["AgentService"].full_name
REPLIES = Counter("agent_replies_total", "Replies by intent, language and escalation",
                  ["intent", "language", "requires_human", "model"])
REJECTED = Counter("agent_rejected_total", "Requests refused with a gRPC status", ["code"])
LATENCY = Histogram("agent_reply_seconds", "Reply latency inside the server",
                    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10))
MAX_HISTORY_TEXT = 4000
MAX_COVERAGE_TEXTS = 200


def to_proto(answer: Answer, latency_ms: float) -> agent_pb2.ReplyResponse:
    return agent_pb2.ReplyResponse(
        text=answer.text, intent=answer.intent, language=answer.language, confidence=answer.confidence,
        requires_human=answer.requires_human, escalation_reason=answer.escalation_reason,
        sources=[agent_pb2.Source(kind=s.kind, id=s.id, score=s.score) for s in answer.sources],
        quick_replies=answer.quick_replies, model=answer.model, latency_ms=latency_ms,
        usage=agent_pb2.TokenUsage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens,
                                   total_tokens=answer.prompt_tokens + answer.completion_tokens))


class AgentServicer(agent_pb2_grpc.AgentServiceServicer):
    def __init__(self, settings: Settings, offline: OfflineAnswerer, llm: LlmAnswerer | None = None) -> None:
        self.settings = settings
        self.offline = offline
        self.llm = llm

    def use(self, offline: OfflineAnswerer) -> None:
        """A new index (staff_knowledge.py): requests already running finish with the one they took."""
        self.offline = offline
        if self.llm is not None:
            self.llm.offline = offline

    async def _reject(self, context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str) -> None:
        REJECTED.labels(code.name).inc()
        await context.abort(code, message)

    async def _validate(self, request: agent_pb2.ReplyRequest, context: grpc.aio.ServicerContext) -> None:
        limit = self.settings.agent_max_input_chars
        if not request.text.strip(" \t\r\n\x00\u200b"):
            await self._reject(context, grpc.StatusCode.INVALID_ARGUMENT, "text is empty")
        if len(request.text) > limit:
            await self._reject(context, grpc.StatusCode.INVALID_ARGUMENT, f"text is longer than {limit} characters")
        if len(request.history) > 1000:
            await self._reject(context, grpc.StatusCode.INVALID_ARGUMENT, "history has more than 1000 turns")
        await self._check_deadline(context)

    async def _check_deadline(self, context: grpc.aio.ServicerContext) -> None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            await self._reject(context, grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")

    async def Reply(self, request: agent_pb2.ReplyRequest,
                    context: grpc.aio.ServicerContext) -> agent_pb2.ReplyResponse:
        started = time.perf_counter()
        await self._validate(request, context)
        history = [Turn(t.role, t.text[:MAX_HISTORY_TEXT]) for t in request.history]
        answer = self.offline.answer(request.text, history, request.locale)
        if self.llm is not None and self.llm.wants(answer):
            remaining = context.time_remaining()
            # Leave a little of the caller's deadline for sending the offline answer if the model is late.
            budget = None if remaining is None else remaining - 0.05
            answer = await self.llm.improve(answer, history, answer.query or request.text, budget)
        await self._check_deadline(context)
        elapsed = time.perf_counter() - started
        LATENCY.observe(elapsed)
        REPLIES.labels(answer.intent, answer.language, str(answer.requires_human).lower(), answer.model).inc()
        log.info("reply", extra={"conversation_id": request.conversation_id, "intent": answer.intent,
                                 "requires_human": answer.requires_human, "model": answer.model,
                                 "latency_ms": round(elapsed * 1000, 3)})
        return to_proto(answer, round(elapsed * 1000, 3))

    async def Coverage(self, request: agent_pb2.CoverageRequest,
                       context: grpc.aio.ServicerContext) -> agent_pb2.CoverageResponse:
        if len(request.texts) > MAX_COVERAGE_TEXTS:
            await self._reject(context, grpc.StatusCode.INVALID_ARGUMENT, f"more than {MAX_COVERAGE_TEXTS} texts")
        limit = self.settings.agent_max_input_chars
        offline = self.offline  # one index for the whole list, even if staff teach meanwhile

        def covered() -> list[bool]:
            return [bool(text.strip()) and len(text) <= limit and not offline.answer(text).requires_human
                    for text in request.texts]

        # Up to 200 answers: in a worker thread, so customers' replies never wait behind the list.
        return agent_pb2.CoverageResponse(answered=await asyncio.to_thread(covered))

    async def ListMenu(self, request: agent_pb2.ListMenuRequest,
                       context: grpc.aio.ServicerContext) -> agent_pb2.ListMenuResponse:
        return agent_pb2.ListMenuResponse(items=[
            agent_pb2.MenuEntry(id=str(m.id), category=m.category, name_en=m.english_name, name_mm=m.myanmar_name,
                                price=m.price, currency=m.currency)
            for m in self.offline.kb.menu])

    async def ListHours(self, request: agent_pb2.ListHoursRequest,
                        context: grpc.aio.ServicerContext) -> agent_pb2.ListHoursResponse:
        res = self.offline.kb.reservations
        days = [] if res is None else (
            [agent_pb2.SpecialDay(date=day) for day in res.closed_dates]
            + [agent_pb2.SpecialDay(date=day, open=h.open, close=h.close) for day, h in res.special_hours.items()
               if day not in res.closed_dates])
        return agent_pb2.ListHoursResponse(timezone=self.settings.agent_timezone,
                                           days=sorted(days, key=lambda d: d.date))


class AgentServer:
    """Owns the grpc.aio server, its health status and its shutdown."""

    def __init__(self, settings: Settings, servicer: AgentServicer) -> None:
        self.settings = settings
        self.servicer = servicer
        self.server = grpc.aio.server(options=[("grpc.max_receive_message_length", 4 * 1024 * 1024)])
        self.health = health.aio.HealthServicer()
        agent_pb2_grpc.add_AgentServiceServicer_to_server(servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server)
        self.port = self.server.add_insecure_port(settings.agent_addr)
        self.serving = False

    async def start(self) -> None:
        await self.server.start()
        for name in ("", SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.serving = True

    async def stop(self) -> None:
        self.serving = False
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.agent_shutdown_grace_s)
