"""Staff put a question to the bot from the panel and see what a customer would get, sent to no one.

The same agent the customers reach (gRPC, every replica behind AGENT_ADDR), so an answer taught a
moment ago in the Knowledge tab is checked before a customer asks. Nothing is stored or published:
a try is not a conversation. Any signed-in staff member may ask (viewers included: it changes nothing),
ADMIN_AGENT_TRIES_BURST times and then ADMIN_AGENT_TRIES_PER_MIN a minute, counted per staff member
across every replica (bucket ``rate_limits``): with OPENAI_API_KEY set each try is a paid model call,
and a leaked viewer token must not become a free chatbot.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from fastapi import APIRouter, Depends
from prometheus_client import Counter

from pentagon.admin.auth import Identity, current_identity
from pentagon.admin.deps import runtime
from pentagon.admin.errors import ApiError, available, invalid
from pentagon.admin.models import READ_ERRORS, TryBody, TryResult, ok
from pentagon.admin.runtime import Runtime
from pentagon.common.agent_client import AgentUnavailable
from pentagon.common.proto import agent_pb2
from pentagon.common.ratelimit import retry_after_header

router = APIRouter(prefix="/admin/agent", tags=["agent"])
# What the agent's Reply says of a try; everything else it returns stays inside (token usage).
REPLY_FIELDS = ("text", "intent", "language", "confidence", "requires_human", "escalation_reason", "model",
                "latency_ms")
TRIES_THROTTLED = Counter("admin_agent_tries_throttled_total", "Ask the bot / Bot's draft refused (429) for going too fast")


def _reply(response: agent_pb2.ReplyResponse) -> dict[str, Any]:
    reply: dict[str, Any] = {field: getattr(response, field) for field in REPLY_FIELDS}
    reply["confidence"] = round(reply["confidence"], 3)
    reply["sources"] = [{"kind": s.kind, "id": s.id, "score": round(s.score, 3)} for s in response.sources]
    reply["quick_replies"] = list(response.quick_replies)
    return reply


async def _admit(rt: Runtime, identity: Identity) -> None:
    wait = await available(rt.agent_tries).take(identity.name)
    if wait > 0:
        TRIES_THROTTLED.inc()
        seconds = retry_after_header(wait)
        raise ApiError(429, "rate_limited", f"too many questions to the bot: try again in {seconds} s",
                       headers={"Retry-After": seconds})


@router.post("/try", response_model=TryResult, responses=READ_ERRORS)
async def try_the_bot(body: TryBody, identity: Identity = Depends(current_identity),
                      rt: Runtime = Depends(runtime)) -> Any:
    # NFC as the webhook stores customers' text: Burmese typed on phones arrives in either form.
    text = unicodedata.normalize("NFC", body.text).strip()
    if not text:
        raise invalid("text is empty")
    await _admit(rt, identity)
    history = [agent_pb2.Turn(role=t.role, text=unicodedata.normalize("NFC", t.text)) for t in body.history]
    request = agent_pb2.ReplyRequest(platform="panel", text=text, locale=body.locale, history=history)
    try:
        response = await rt.agent.reply(request)
    except AgentUnavailable as exc:
        if str(exc) == "INVALID_ARGUMENT":
            raise invalid("the bot refused this text") from None
        raise ApiError(503, "agent_unavailable", f"the bot did not answer ({exc}); is the agent running?") from None
    return ok(reply=_reply(response))
