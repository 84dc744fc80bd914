"""How database rows become JSON, identically in tracking (update events) and admin-api (REST)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

# The columns (and order) of a conversation or message as the REST API and the update
# frames show them: tracking builds UpdateEvent.row_json and admin-api its answers from these.
CONVERSATION_COLUMNS = (
    "id", "user_id", "platform", "status", "priority", "bot_paused", "assigned_to", "escalation_reason",
    "created_at", "updated_at", "last_message_at", "closed_at", "message_count", "user_message_count",
    "bot_message_count", "human_message_count", "pending_human_count", "waiting_since", "labels", "metadata",
)
MESSAGE_COLUMNS = (
    "id", "conversation_id", "sender_type", "content", "timestamp", "confidence_score", "requires_human",
    "human_replied", "escalation_reason", "metadata", "kind", "channel", "actor", "platform_message_id",
    "event_id", "reply_to_event_id", "delivery_status", "delivery_error", "delivered_at", "read_at", "created_at",
)


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, as the original integration returned timestamps."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value[:1] in "{[":
        return value
    return value


def row_to_dict(row: Mapping[str, Any], json_columns: tuple[str, ...] = ("metadata", "before", "after", "params")) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in json_columns and isinstance(value, str):
            out[key] = json.loads(value)
        else:
            out[key] = _plain(value)
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
