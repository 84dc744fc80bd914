"""Turn a JetStream message into the normalised event the ingest function takes, or say why not.

Everything that could make Postgres reject a whole batch (NUL bytes, lone
surrogates, NaN, oversized values) is caught here, per event, so one bad event
goes to the dead-letter stream instead of blocking the others.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from pentagon.common.bus import user_token
from pentagon.common.events import DELIVERY_NAMES, SENDER_NAMES
from pentagon.common.proto import events_pb2 as pb

_PLATFORM = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LONG_DIGITS = re.compile(r"\d{19}")
MAX_ID_CHARS = 512
MAX_USER_ID_CHARS = 256
MAX_SHORT_TEXT = 2_000
CHANNELS = {pb.CHANNEL_UNSPECIFIED: "messaging", pb.CHANNEL_MESSAGING: "messaging", pb.CHANNEL_STANDBY: "standby"}
ACTIONS = {pb.CONVERSATION_ESCALATE: "escalate", pb.CONVERSATION_DELETE_USER_DATA: "delete_user"}


class InvalidEvent(ValueError):
    """An event that can never be stored; the message is the dead-letter reason."""


class Limits:
    def __init__(self, max_content_chars: int = 100_000, max_metadata_bytes: int = 256 * 1024) -> None:
        self.max_content_chars = max_content_chars
        self.max_metadata_bytes = max_metadata_bytes


Received = datetime | Callable[[], datetime] | None


def decode(subject: str, data: bytes, seq: int, received_at: Received, limits: Limits) -> dict[str, Any]:
    """received_at (the stream's time, used when the producer set none) may be a callable: parsed only if needed."""
    # events.<family>.<platform>.<partition>.<u>: the stream inserts the partition token.
    parts = subject.split(".")
    if len(parts) == 5 and parts[3].isdigit():
        del parts[3]
    if len(parts) != 4 or parts[0] != "events":
        raise InvalidEvent("unknown subject")
    family, platform, token = parts[1], parts[2], parts[3]
    if family in ("in", "out"):
        event = _parse(pb.MessageEvent(), data)
        out = _message(event, family, limits)
    elif family == "delivery":
        out = _delivery(_parse(pb.DeliveryEvent(), data))
    elif family == "conversation":
        out = _conversation(_parse(pb.ConversationEvent(), data))
    else:
        raise InvalidEvent("unknown event family")
    _check_key(out, platform, token)
    out["seq"] = seq
    out["ts"] = _when(event_ts(out.pop("_occurred")), received_at)
    return out


def event_ts(ts: Timestamp) -> datetime | None:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    try:
        return ts.ToDatetime(tzinfo=timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise InvalidEvent("occurred_at out of range") from exc


def _when(at: datetime | None, fallback: Received) -> str:
    # No timestamp from the producer: the stream's own time is just as stable across replays.
    if at is None and callable(fallback):
        fallback = fallback()
    at = at or fallback or datetime.now(timezone.utc)
    return at.astimezone(timezone.utc).isoformat()


def _parse(message: Message, data: bytes) -> Any:
    try:
        message.ParseFromString(data)
    except (DecodeError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidEvent("undecodable protobuf") from exc
    return message


def _check_key(out: dict[str, Any], platform: str, token: str) -> None:
    if not _PLATFORM.match(out["platform"]):
        raise InvalidEvent("invalid platform")
    if out["platform"] != platform or user_token(out["user_id"]) != token:
        raise InvalidEvent("subject does not match the event's conversation key")


def _text(value: str, field: str, limit: int, required: bool = False) -> str:
    if required and not value:
        raise InvalidEvent(f"{field} is required")
    if len(value) > limit:
        raise InvalidEvent(f"{field} too long")
    if "\x00" in value:
        raise InvalidEvent(f"{field} contains a NUL byte")
    return value


def _free_text(value: str, limit: int, field: str) -> str:
    """User-visible text: NUL bytes cannot be stored by Postgres, so they are dropped, not the message."""
    if len(value) > limit:
        raise InvalidEvent(f"{field} too long")
    return value.replace("\x00", "")


def _key(key: pb.ConversationKey) -> tuple[str, str]:
    return key.platform, _text(key.user_id, "user_id", MAX_USER_ID_CHARS, required=True)


def _message(event: pb.MessageEvent, family: str, limits: Limits) -> dict[str, Any]:
    sender = SENDER_NAMES.get(event.sender)
    if sender is None:
        raise InvalidEvent("unknown sender")
    if (family == "in") != (sender == "user"):
        raise InvalidEvent("sender does not match the subject direction")
    kind = event.kind or "text"
    if not _KIND.match(kind):
        raise InvalidEvent("invalid kind")
    platform, user_id = _key(event.key)
    out: dict[str, Any] = {
        "t": "m",
        "event_id": _text(event.event_id, "event_id", MAX_ID_CHARS, required=True),
        "platform": platform,
        "user_id": user_id,
        "sender": sender,
        "content": _free_text(event.content, limits.max_content_chars, "content"),
        "kind": kind,
        "channel": CHANNELS.get(event.channel, "messaging"),
        "_occurred": event.occurred_at,
    }
    _optional(out, "pmid", _text(event.platform_message_id, "platform_message_id", MAX_ID_CHARS))
    _optional(out, "reply_to", _text(event.reply_to_event_id, "reply_to_event_id", MAX_ID_CHARS))
    _optional(out, "actor", _free_text(event.actor, MAX_SHORT_TEXT, "actor"))
    _optional(out, "esc_reason", _free_text(event.escalation_reason, MAX_SHORT_TEXT, "escalation_reason"))
    if event.requires_human:
        out["requires_human"] = True
    if event.HasField("confidence") and math.isfinite(event.confidence):
        out["confidence"] = min(1.0, max(0.0, event.confidence))
    metadata = _metadata(event.metadata_json, limits.max_metadata_bytes)
    if metadata:
        out["metadata"] = metadata
        if isinstance(metadata.get("conversation"), dict):
            out["conv_meta"] = metadata["conversation"]
    return out


def _optional(out: dict[str, Any], key: str, value: str) -> None:
    if value:
        out[key] = value


def _metadata(raw: str, limit: int) -> dict[str, Any]:
    if not raw:
        return {}
    if len(raw) > limit:
        raise InvalidEvent("metadata_json too large")
    try:
        if _LONG_DIGITS.search(raw):
            raise orjson.JSONDecodeError("orjson turns integers beyond 64 bits into floats", raw, 0)
        value = orjson.loads(raw)  # fast path; refuses NaN/Infinity like _reject_constant
    except orjson.JSONDecodeError:
        # Lone surrogates, huge integers, deep nesting: the standard parser decides (and _clean repairs).
        try:
            value = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise InvalidEvent("metadata_json is not valid JSON") from exc
    if not isinstance(value, dict):
        raise InvalidEvent("metadata_json is not a JSON object")
    if "\\u0000" in raw or "\\ud" in raw.lower():
        value = _clean(value)
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _clean(value: Any) -> Any:
    """jsonb refuses \\u0000 and unpaired surrogates: drop them instead of the event."""
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


def _delivery(event: pb.DeliveryEvent) -> dict[str, Any]:
    state = DELIVERY_NAMES.get(event.state)
    if state is None:
        raise InvalidEvent("unknown delivery state")
    platform, user_id = _key(event.key)
    out: dict[str, Any] = {
        "t": "d",
        "event_id": _text(event.event_id, "event_id", MAX_ID_CHARS, required=True),
        "platform": platform, "user_id": user_id, "state": state, "_occurred": event.occurred_at,
    }
    _optional(out, "msg_event_id", _text(event.message_event_id, "message_event_id", MAX_ID_CHARS))
    _optional(out, "pmid", _text(event.platform_message_id, "platform_message_id", MAX_ID_CHARS))
    _optional(out, "reason", _free_text(event.reason, MAX_SHORT_TEXT, "reason"))
    if len(event.platform_message_ids) > 1000:
        raise InvalidEvent("too many platform_message_ids")
    mids = [_text(m, "platform_message_ids", MAX_ID_CHARS) for m in event.platform_message_ids if m]
    if mids:
        out["pmids"] = mids
    watermark = event_ts(event.watermark) if event.HasField("watermark") else None
    if watermark is not None:
        out["watermark"] = watermark.isoformat()
    _check_delivery(out)
    return out


def _check_delivery(out: dict[str, Any]) -> None:
    state = out["state"]
    if state in ("sent", "failed") and "msg_event_id" not in out:
        raise InvalidEvent(f"{state} receipt without message_event_id")
    if state == "delivered" and "pmids" not in out and "watermark" not in out:
        raise InvalidEvent("delivered receipt without mids or watermark")
    if state == "read" and "watermark" not in out:
        raise InvalidEvent("read receipt without watermark")


def _conversation(event: pb.ConversationEvent) -> dict[str, Any]:
    action = ACTIONS.get(event.action)
    if action is None:
        raise InvalidEvent("unknown conversation action")
    platform, user_id = _key(event.key)
    out: dict[str, Any] = {
        "t": "c",
        "event_id": _text(event.event_id, "event_id", MAX_ID_CHARS, required=True),
        "platform": platform, "user_id": user_id, "action": action, "_occurred": event.occurred_at,
    }
    _optional(out, "reason", _free_text(event.reason, MAX_SHORT_TEXT, "reason"))
    _optional(out, "actor", _free_text(event.actor, MAX_SHORT_TEXT, "actor"))
    return out
