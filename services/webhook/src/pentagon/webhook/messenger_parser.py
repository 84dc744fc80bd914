"""Turns one Messenger webhook POST (already signature-checked) into protobuf events.

Every entry and every event of the ``messaging`` and ``standby`` arrays is
handled; an event that fails validation is skipped (logged by reason, never by
content) so one odd event never blocks the others. Structural nonsense (no
``entry`` list) raises :class:`PayloadError` and becomes a 400.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from google.protobuf.message import Message

from pentagon.common import rating
from pentagon.common.bus import Subjects
from pentagon.common.events import timestamp_ms
from pentagon.common.jsonrow import dumps
from pentagon.common.proto import events_pb2 as pb
from pentagon.webhook.sanitize import Invalid, clean_id, clean_json, clean_str, opt_str

log = logging.getLogger(__name__)

PLATFORM = "messenger"
OWN_METADATA_PREFIX = "pentagon:"  # set on every message we send; echoes carry it back
MAX_TEXT = 20_000
MAX_MID = 512
MAX_PAYLOAD = 4096
MAX_EVENTS = 1000
_ENVELOPE_KEYS = {"sender", "recipient", "timestamp"}
_HANDLED = ("message", "postback", "reaction", "delivery", "read")


class _UnknownKind(Exception):
    """An event kind we do not handle (optin, referral, handover...): ignored with a log line."""


class PayloadError(ValueError):
    """The body is JSON but not a Messenger webhook payload."""


@dataclass
class BusEvent:
    subject: str
    event_id: str
    message: Message
    label: str  # metrics label: text, attachment, postback, echo, delivery...
    echo_mid: str | None = None  # page echoes: checked against the mids we sent


@dataclass
class ParseResult:
    events: list[BusEvent] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _millis(event: dict[str, Any]) -> int:
    value = event.get("timestamp")
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**14:
        return value
    return int(time.time() * 1000)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _attachment(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid("attachment: not an object")
    kind = clean_str(raw.get("type", "fallback"), 32, "attachment.type")
    out: dict[str, Any] = {"type": kind}
    payload = raw.get("payload")
    if isinstance(payload, dict):
        out.update({k: v for k, v in clean_json(payload).items() if v is not None})
    for key in ("title", "url"):
        if key in raw and key not in out:
            out[key] = opt_str(raw[key], MAX_PAYLOAD, f"attachment.{key}")
    return out


def _attachments(message: dict[str, Any]) -> list[dict[str, Any]]:
    raw = message.get("attachments") or []
    if not isinstance(raw, list):
        raise Invalid("attachments: not a list")
    return [_attachment(item) for item in raw[:20]]


def _party(ev: dict[str, Any], role: str) -> str:
    party = ev.get(role)
    return clean_id(party.get("id") if isinstance(party, dict) else None, f"{role}.id")


def _message_event(event_id: str, ms: int, user: str, sender: int, content: str, kind: str,
                   channel: int, metadata: dict[str, Any], mid: str = "") -> pb.MessageEvent:
    return pb.MessageEvent(
        event_id=event_id, occurred_at=timestamp_ms(ms), key=pb.ConversationKey(platform=PLATFORM, user_id=user),
        sender=sender, content=content, platform_message_id=mid, kind=kind, channel=channel,
        metadata_json=dumps({k: v for k, v in metadata.items() if v not in (None, [], {})}),
    )


def _user_message(ev: dict[str, Any], msg: dict[str, Any], channel: int) -> BusEvent:
    user = _party(ev, "sender")
    mid = clean_str(msg.get("mid"), MAX_MID, "message.mid")
    text = opt_str(msg.get("text"), MAX_TEXT, "message.text") or ""
    quick = msg.get("quick_reply")
    qr_payload = opt_str(quick.get("payload"), MAX_PAYLOAD, "quick_reply.payload") if isinstance(quick, dict) else None
    attachments = _attachments(msg)
    if not (text or attachments or qr_payload):
        raise Invalid("message: empty")
    kind = "quick_reply" if qr_payload is not None else ("text" if text else "attachment")
    reply_to = msg.get("reply_to")
    metadata = {
        "attachments": attachments,
        "quick_reply": {"payload": qr_payload} if qr_payload is not None else None,
        "sticker_id": clean_json(msg.get("sticker_id")),
        "reply_to_mid": opt_str(reply_to.get("mid"), MAX_MID, "reply_to.mid") if isinstance(reply_to, dict) else None,
    }
    rated = rating.parse(qr_payload)
    if rated is not None:
        kind = rating.KIND
        metadata.update(rating.answer_metadata(rated, datetime.fromtimestamp(_millis(ev) / 1000, timezone.utc)))
    event_id = f"m:{mid}"
    event = _message_event(event_id, _millis(ev), user, pb.SENDER_USER, text, kind, channel, metadata, mid)
    if rated is not None:
        event.reply_to_event_id = rated.request_event_id  # tracking files it under the question's conversation
    return BusEvent(Subjects.incoming(PLATFORM, user), event_id, event, kind)


def _echo(ev: dict[str, Any], msg: dict[str, Any], channel: int, app_id: str) -> BusEvent | None:
    user = _party(ev, "recipient")
    mid = clean_str(msg.get("mid"), MAX_MID, "message.mid")
    echo_app = str(msg.get("app_id", "")) if msg.get("app_id") is not None else ""
    marker = msg.get("metadata")
    if (app_id and echo_app == app_id) or (isinstance(marker, str) and marker.startswith(OWN_METADATA_PREFIX)):
        return None  # our own send coming back: recorded already by the sender worker
    text = opt_str(msg.get("text"), MAX_TEXT, "message.text") or ""
    attachments = _attachments(msg)
    if not (text or attachments):
        raise Invalid("echo: empty")
    metadata = {"echo": {"app_id": echo_app or None}, "attachments": attachments}
    event_id = f"m:{mid}"
    event = _message_event(event_id, _millis(ev), user, pb.SENDER_HUMAN, text, "echo", channel, metadata, mid)
    event.actor = "page_inbox"
    return BusEvent(Subjects.outgoing(PLATFORM, user), event_id, event, "echo", echo_mid=mid)


def _postback(ev: dict[str, Any], channel: int) -> BusEvent:
    user = _party(ev, "sender")
    raw = ev["postback"]
    if not isinstance(raw, dict):
        raise Invalid("postback: not an object")
    title = opt_str(raw.get("title"), MAX_PAYLOAD, "postback.title") or ""
    payload = opt_str(raw.get("payload"), MAX_PAYLOAD, "postback.payload") or ""
    mid = opt_str(raw.get("mid"), MAX_MID, "postback.mid") or ""
    ms = _millis(ev)
    event_id = f"m:{mid}" if mid else f"mb:{_sha(f'{user}|{ms}|{_canonical(raw)}')}"
    metadata = {"postback": {"title": title, "payload": payload}, "referral": clean_json(raw.get("referral"))}
    event = _message_event(event_id, ms, user, pb.SENDER_USER, title or payload, "postback", channel, metadata, mid)
    return BusEvent(Subjects.incoming(PLATFORM, user), event_id, event, "postback")


def _reaction(ev: dict[str, Any], channel: int) -> BusEvent:
    user = _party(ev, "sender")
    raw = ev["reaction"]
    if not isinstance(raw, dict):
        raise Invalid("reaction: not an object")
    reaction = {
        "action": clean_str(raw.get("action", "react"), 32, "reaction.action"),
        "reaction": opt_str(raw.get("reaction"), 64, "reaction.reaction"),
        "emoji": opt_str(raw.get("emoji"), 64, "reaction.emoji"),
        "mid": opt_str(raw.get("mid"), MAX_MID, "reaction.mid"),
    }
    ms = _millis(ev)
    event_id = f"mb:{_sha(f'{user}|{ms}|{_canonical(reaction)}')}"
    content = reaction["emoji"] or reaction["reaction"] or ""
    event = _message_event(event_id, ms, user, pb.SENDER_USER, content, "reaction", channel, {"reaction": reaction})
    return BusEvent(Subjects.incoming(PLATFORM, user), event_id, event, "reaction")


def _receipt(ev: dict[str, Any], kind: str) -> BusEvent:
    user = _party(ev, "sender")
    raw = ev[kind]
    if not isinstance(raw, dict):
        raise Invalid(f"{kind}: not an object")
    watermark = raw.get("watermark")
    if isinstance(watermark, bool) or not isinstance(watermark, int) or not 0 < watermark < 10**14:
        raise Invalid(f"{kind}: bad watermark")
    mids = raw.get("mids") or []
    if not isinstance(mids, list):
        raise Invalid("delivery.mids: not a list")
    event_id = f"d:{_sha(_canonical(ev))}"
    event = pb.DeliveryEvent(
        event_id=event_id, occurred_at=timestamp_ms(_millis(ev)), key=pb.ConversationKey(platform=PLATFORM, user_id=user),
        state=pb.DELIVERY_DELIVERED if kind == "delivery" else pb.DELIVERY_READ,
        platform_message_ids=[clean_str(m, MAX_MID, "delivery.mid") for m in mids[:200]],
        watermark=timestamp_ms(watermark),
    )
    return BusEvent(Subjects.delivery(PLATFORM, user), event_id, event, kind)


def _one(ev: dict[str, Any], channel: int, app_id: str) -> BusEvent | None:
    if "message" in ev:
        msg = ev["message"]
        if not isinstance(msg, dict):
            raise Invalid("message: not an object")
        if msg.get("is_echo") is True:
            return _echo(ev, msg, channel, app_id)
        return _user_message(ev, msg, channel)
    if "postback" in ev:
        return _postback(ev, channel)
    if "reaction" in ev:
        return _reaction(ev, channel)
    if "delivery" in ev or "read" in ev:
        return _receipt(ev, "delivery" if "delivery" in ev else "read")
    raise _UnknownKind(",".join(sorted(k for k in ev if k not in _ENVELOPE_KEYS))[:100] or "empty")


def _handle(ev: Any, channel: int, app_id: str, result: ParseResult) -> None:
    if not isinstance(ev, dict):
        result.skip("not_an_object")
        return
    try:
        bus_event = _one(ev, channel, app_id)
    except Invalid as exc:
        log.info("messenger event skipped", extra={"reason": str(exc)})
        result.skip("invalid")
        return
    except _UnknownKind as exc:
        log.info("messenger event kind ignored", extra={"kind": str(exc)})
        result.skip("unknown_kind")
        return
    except (TypeError, AttributeError, ValueError) as exc:
        log.info("messenger event skipped", extra={"reason": type(exc).__name__})
        result.skip("invalid")
        return
    if bus_event is None:
        result.skip("own_echo")
    else:
        result.events.append(bus_event)


def parse_webhook(payload: dict[str, Any], app_id: str = "") -> ParseResult:
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("entry must be a list")
    result = ParseResult()
    count = 0
    for entry in entries:
        if not isinstance(entry, dict):
            raise PayloadError("entry items must be objects")
        for key, channel in (("messaging", pb.CHANNEL_MESSAGING), ("standby", pb.CHANNEL_STANDBY)):
            events = entry.get(key) or []
            if not isinstance(events, list):
                raise PayloadError(f"{key} must be a list")
            for ev in events:
                count += 1
                if count > MAX_EVENTS:
                    raise PayloadError("too many events")
                _handle(ev, channel, app_id, result)
        for other in sorted(set(entry) - {"messaging", "standby", "id", "time"}):
            log.info("messenger entry field ignored", extra={"kind": other[:50]})
    return result
