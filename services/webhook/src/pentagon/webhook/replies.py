"""Asks the agent for an answer to a user message and turns it into the bot's MessageEvent.

Shared by the Messenger reply worker (needs_delivery=True) and the web chat
route (needs_delivery=False, answered inline). The bot event id is
``r:<user event id>`` so a redelivered user message can never get two replies.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from google.protobuf.json_format import MessageToDict

from pentagon.common import rating
from pentagon.common.events import timestamp
from pentagon.common.jsonrow import dumps
from pentagon.common.proto import agent_pb2
from pentagon.common.proto import events_pb2 as pb
from pentagon.common.agent_client import AgentClient, AgentUnavailable

log = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, I can't answer right now. A staff member will reply to you soon.\n"
    "တောင်းပန်ပါတယ်၊ အခု မဖြေနိုင်သေးပါ။ ဝန်ထမ်းတစ်ဦးက မကြာခင် ပြန်ဖြေပေးပါလိမ့်မယ်။"
)
AGENT_UNAVAILABLE = "agent_unavailable"
# Kinds the bot answers; reactions, bare attachments and echoes are recorded only.
ANSWERABLE_KINDS = {"text", "quick_reply", "postback"}


def reply_event_id(user_event_id: str) -> str:
    return f"r:{user_event_id}"


def locale_hint(text: str) -> str:
    return "my_MM" if any("\u1000" <= ch <= "\u109f" for ch in text) else "en_US"


def agent_text(event: pb.MessageEvent) -> str:
    """What the agent reads: the text, or for a postback its payload when it has no title."""
    return event.content.strip()


def answerable(event: pb.MessageEvent) -> bool:
    return (event.sender == pb.SENDER_USER and event.channel != pb.CHANNEL_STANDBY
            and event.kind in ANSWERABLE_KINDS and bool(agent_text(event)))


def _metadata(response: agent_pb2.ReplyResponse, call_ms: float) -> dict[str, Any]:
    return {
        "intent": response.intent or None,
        "language": response.language or None,
        "sources": [{"kind": s.kind, "id": s.id, "score": s.score} for s in response.sources],
        "quick_replies": list(response.quick_replies),
        "model": response.model or None,
        "latency_ms": response.latency_ms,
        "agent_call_ms": round(call_ms, 1),
        "usage": MessageToDict(response.usage, preserving_proto_field_name=True) if response.HasField("usage") else None,
    }


def _bot_event(user: pb.MessageEvent, needs_delivery: bool) -> pb.MessageEvent:
    return pb.MessageEvent(
        event_id=reply_event_id(user.event_id), occurred_at=timestamp(), key=user.key, sender=pb.SENDER_BOT,
        kind="text", channel=pb.CHANNEL_MESSAGING, reply_to_event_id=user.event_id, needs_delivery=needs_delivery,
    )


async def generate_reply(agent: AgentClient, user: pb.MessageEvent, turns: list[agent_pb2.Turn], needs_delivery: bool,
                         conversation_id: int = 0) -> tuple[pb.MessageEvent, list[str]]:
    """The bot's MessageEvent and its quick replies; an apology with escalation when the agent fails.

    ``turns``: the conversation so far, as the caller read it from the history (history.py).
    """
    text = agent_text(user)
    request = agent_pb2.ReplyRequest(conversation_id=conversation_id, platform=user.key.platform,
                                     user_id=user.key.user_id, text=text, history=turns, locale=locale_hint(text))
    event = _bot_event(user, needs_delivery)
    started = time.perf_counter()
    try:
        response = await agent.reply(request)
    except AgentUnavailable as exc:
        log.warning("agent unavailable, apologising", extra={"event_id": user.event_id, "code": str(exc)})
        event.content, event.confidence, event.requires_human = APOLOGY, 0.0, True
        event.escalation_reason = AGENT_UNAVAILABLE
        event.metadata_json = dumps({"fallback": True, "agent_error": str(exc)})
        return event, []
    metadata = _metadata(response, (time.perf_counter() - started) * 1000)
    event.content = response.text.strip() or APOLOGY
    event.confidence = response.confidence
    event.requires_human = response.requires_human or not response.text.strip()
    event.escalation_reason = response.escalation_reason or ("empty_answer" if not response.text.strip() else "")
    event.metadata_json = dumps({k: v for k, v in metadata.items() if v not in (None, [], {})})
    return event, list(response.quick_replies)


def rating_thanks(user: pb.MessageEvent, needs_delivery: bool) -> pb.MessageEvent:
    """The bot's thank-you for a rating: no agent call, and filed (reply_to) where the rating is."""
    event = _bot_event(user, needs_delivery)
    event.content = rating.thanks_for(user.content)
    event.confidence = 1.0
    event.metadata_json = dumps({"intent": "rating_thanks"})
    return event


def with_user_name(event: pb.MessageEvent, name: str) -> None:
    """Tracking merges ``metadata.conversation`` into the conversation: the staff see the name."""
    metadata = orjson.loads(event.metadata_json or "{}")
    metadata["conversation"] = {"user_name": name}
    event.metadata_json = dumps(metadata)
