"""Staff replies: a MessageEvent (sender HUMAN) on events.out.<platform>.<u> for the webhook sender and tracking."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import datetime

from nats.errors import ConnectionClosedError, NoRespondersError, TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import APIError as JsApiError

from pentagon.admin.errors import invalid, unavailable
from pentagon.common.bus import Subjects
from pentagon.common.events import publish, timestamp
from pentagon.common.jsonrow import iso
from pentagon.common.proto import events_pb2 as pb

log = logging.getLogger(__name__)


def reply_text(raw: str, max_chars: int) -> str:
    """What staff may send a user (a reply, or a saved reply for later): trimmed, 1..max_chars, no NUL."""
    text = raw.strip()
    if not text:
        raise invalid("text must not be empty")
    if len(text) > max_chars:
        raise invalid(f"text is longer than {max_chars} characters")
    if "\x00" in text:
        raise invalid("text must not contain NUL characters")
    return text


def reply_event_id(actor: str, idempotency_key: str | None) -> str:
    """A retried request with the same Idempotency-Key publishes the same event (deduplicated by the stream)."""
    if not idempotency_key:
        return "h:" + uuid.uuid4().hex
    return "h:" + hashlib.sha256(f"{actor}\x00{idempotency_key}".encode("utf-8", "surrogatepass")).hexdigest()[:40]


def build_reply(event_id: str, platform: str, user_id: str, text: str, actor: str,
                last_user_message_at: datetime | None, conversation_id: int) -> pb.MessageEvent:
    # The sender picks Messenger's HUMAN_AGENT tag when the 24 h window since the user's last message is over.
    metadata = {"last_user_message_at": iso(last_user_message_at), "conversation_id": conversation_id}
    return pb.MessageEvent(
        event_id=event_id, occurred_at=timestamp(), key=pb.ConversationKey(platform=platform, user_id=user_id),
        sender=pb.SENDER_HUMAN, content=text, metadata_json=json.dumps(metadata), kind="text",
        channel=pb.CHANNEL_MESSAGING, actor=actor, needs_delivery=True,
    )


async def publish_reply(js: JetStreamContext, event: pb.MessageEvent) -> None:
    subject = Subjects.outgoing(event.key.platform, event.key.user_id)
    try:
        await publish(js, subject, event, event.event_id)
    except (NatsTimeoutError, NoRespondersError, ConnectionClosedError, JsApiError, TimeoutError) as exc:
        log.warning("reply not published", extra={"event_id": event.event_id, "error": type(exc).__name__})
        raise unavailable("the message bus did not accept the reply, retry later") from None
    log.info("outgoing message published", extra={"event_id": event.event_id})
