"""After staff close a conversation a person helped with: "How did we do?" to the customer, once.

The question is a system message on ``events.out.<platform>.<u>`` (like a staff reply: the webhook
sender delivers it, tracking files it) with five quick replies whose payloads name it (format and
the rest of the round trip: ``pentagon.common.rating``). It is filed after the conversation's last
message (``reply_to_event_id``), so it joins the closed conversation instead of opening a new one.

Asked only when it makes sense to a customer: on Messenger or the web chat (where the question
shows with buttons while the visitor's page is open, or when they come back), when a staff member
wrote in the conversation (a bot-only chat closed by staff is housekeeping, not service), within
24 hours of the customer's last message (Messenger lets a page write first only then, and a survey
has no message tag; a day later the question would puzzle anyone), and never twice for one
conversation (the event id is the conversation's: a close after a reopen asks nothing new).
``ADMIN_RATING_ON_CLOSE=false`` turns it off. Asking is best effort: the close stands either way.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from prometheus_client import Counter

from pentagon.admin import queries, replies
from pentagon.admin.errors import ApiError, available
from pentagon.admin.queries import utc_now
from pentagon.admin.runtime import Runtime
from pentagon.common import rating
from pentagon.common.events import timestamp
from pentagon.common.proto import events_pb2 as pb

log = logging.getLogger(__name__)

RATING_REQUESTS = Counter("admin_rating_requests_total", "Closes: rating question sent or why not", ["outcome"])
# Messenger's standard messaging window, less a margin for the question's way to the Send API.
WINDOW = timedelta(hours=23, minutes=50)
ASKED_ON = ("messenger", "web")


def question(conversation_id: int, platform: str, user_id: str, lang: str, after_event_id: str,
             actor: str) -> pb.MessageEvent:
    metadata = {"quick_replies": rating.quick_replies(lang, conversation_id), "rating_request": True,
                "conversation_id": conversation_id}
    return pb.MessageEvent(
        event_id=rating.request_event_id(conversation_id), occurred_at=timestamp(),
        key=pb.ConversationKey(platform=platform, user_id=user_id), sender=pb.SENDER_SYSTEM,
        content=rating.QUESTION[lang], metadata_json=json.dumps(metadata, ensure_ascii=False), kind="text",
        channel=pb.CHANNEL_MESSAGING, reply_to_event_id=after_event_id, actor=actor, needs_delivery=True,
    )


async def ask_after_close(rt: Runtime, conversation: dict[str, Any], actor: str) -> str:
    """Sends the question if this closed conversation calls for one; the outcome, for the metric and logs.

    Never raises: the close is done, and its answer must not become an error because of the question.
    """
    try:
        outcome = await _ask(rt, conversation, actor)
    except Exception as exc:  # noqa: BLE001 - a pool timeout, NATS away mid-publish: the close stands
        log.warning("rating question not sent", extra={"conversation_id": conversation.get("id"),
                                                       "error": type(exc).__name__})
        outcome = "failed"
    RATING_REQUESTS.labels(outcome).inc()
    log.info("rating question", extra={"conversation_id": conversation.get("id"), "outcome": outcome})
    return outcome


async def _ask(rt: Runtime, conversation: dict[str, Any], actor: str) -> str:
    if not rt.settings.admin_rating_on_close:
        return "off"
    if conversation.get("status") != "closed" or conversation.get("platform") not in ASKED_ON:
        return "other_platform"
    if not conversation.get("human_message_count"):
        return "no_staff_reply"
    conversation_id = int(conversation["id"])
    try:
        async with rt.connection() as conn:
            facts = await queries.rating_facts(conn, conversation_id, rating.request_event_id(conversation_id))
    except ApiError:
        return "unavailable"
    if facts is None:
        return "no_customer_message"
    if facts.asked:
        return "asked_before"
    if utc_now() - facts.last_user_at > WINDOW:
        return "outside_window"
    event = question(conversation_id, conversation["platform"], conversation["user_id"],
                     rating.language(facts.last_user_text), facts.last_event_id, actor)
    try:
        await replies.publish_reply(available(rt.js), event)
    except ApiError:
        return "unavailable"
    return "asked"

