"""Helpers to build, publish and read protobuf events."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext
from nats.js.api import PubAck

from pentagon.common.proto import events_pb2 as pb

SENDER_NAMES = {
    pb.SENDER_USER: "user",
    pb.SENDER_BOT: "bot",
    pb.SENDER_HUMAN: "human",
    pb.SENDER_SYSTEM: "system",
}
DELIVERY_NAMES = {
    pb.DELIVERY_SENT: "sent",
    pb.DELIVERY_DELIVERED: "delivered",
    pb.DELIVERY_READ: "read",
    pb.DELIVERY_FAILED: "failed",
}


def new_event_id() -> str:
    return uuid.uuid4().hex


def timestamp(at: datetime | None = None) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime((at or datetime.now(timezone.utc)).astimezone(timezone.utc))
    return ts


def timestamp_ms(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def to_datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=timezone.utc)


async def publish(js: JetStreamContext, subject: str, event: Message, event_id: str, timeout: float = 5.0) -> PubAck:
    """Publish and wait for the stream's acknowledgement.

    The Nats-Msg-Id header makes a retried publish (same event id) a no-op
    inside the stream's duplicate window.
    """
    return await js.publish(subject, event.SerializeToString(), timeout=timeout, headers={"Nats-Msg-Id": event_id})
