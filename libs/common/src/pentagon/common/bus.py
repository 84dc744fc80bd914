"""NATS connection, JetStream streams, subjects and the conversation-mode bucket.

Every service calls :func:`connect` and :func:`ensure_streams` at start; the
stream definitions live only here so that services always agree on them.
See docs/architecture.md for who publishes and who consumes what.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, KeyValueConfig, RetentionPolicy, StorageType, StreamConfig, SubjectTransform
from nats.js.errors import APIError, BadRequestError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

EVENTS_STREAM = "EVENTS"
UPDATES_STREAM = "UPDATES"
DLQ_STREAM = "DLQ"
MODE_BUCKET = "conversation_mode"
SAVED_REPLIES_BUCKET = "saved_replies"  # staff's canned answers; admin-api owns it
RATE_LIMITS_BUCKET = "rate_limits"  # token buckets shared by every replica (common/ratelimit.py)
STAFF_ACCESS_BUCKET = "staff_access"  # staff whose access an admin revoked; admin-api owns it
BLOCKED_USERS_BUCKET = "blocked_users"  # customers an admin blocked; admin-api owns it, the webhook follows it
BUS_ERASURES_BUCKET = "bus_erasures"  # deleted users still being purged from the streams; tracking owns it
KNOWLEDGE_BUCKET = "knowledge_faq"  # questions and answers staff add in the panel; admin-api writes, the agent reads
SOLD_OUT_BUCKET = "menu_sold_out"  # menu items staff marked sold out, key = menu id; admin-api writes, the agent reads
MENU_PRICES_BUCKET = "menu_prices"  # prices staff changed, key = menu id; admin-api writes, the agent reads
CLOSED_DAYS_BUCKET = "closed_days"  # days staff closed the cafe, key = YYYY-MM-DD; admin-api writes, the agent reads
STAFF_TYPING_SUBJECT = "staff.typing"  # staff.typing.<platform>.<u>: StaffTyping, admin-api -> webhook, core NATS
COMMAND_SUBJECT = "tracking.cmd"  # tracking.cmd.<action>, request/reply, queue group "tracking"

DAY = 24 * 3600
# Partitions of the EVENTS stream: per-conversation order across worker replicas (webhook consumer.py).
EVENT_PARTITIONS = 64

_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def user_token(user_id: str) -> str:
    """A subject- and KV-safe token for a user id.

    Messenger PSIDs and our web ids are used as they are; anything else is
    hashed (prefix ``h_`` keeps hashed and raw ids from ever colliding).
    """
    if _SAFE_TOKEN.match(user_id) and not user_id.startswith("h_"):
        return user_id
    return "h_" + hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]


@dataclass(frozen=True)
class Subjects:
    """Subject builders. <platform> is 'messenger' or 'web'."""

    @staticmethod
    def incoming(platform: str, user_id: str) -> str:
        return f"events.in.{platform}.{user_token(user_id)}"

    @staticmethod
    def outgoing(platform: str, user_id: str) -> str:
        return f"events.out.{platform}.{user_token(user_id)}"

    @staticmethod
    def delivery(platform: str, user_id: str) -> str:
        return f"events.delivery.{platform}.{user_token(user_id)}"

    @staticmethod
    def conversation(platform: str, user_id: str) -> str:
        return f"events.conversation.{platform}.{user_token(user_id)}"

    @staticmethod
    def update(kind: str, platform: str, user_id: str) -> str:
        return f"updates.{kind}.{platform}.{user_token(user_id)}"

    @staticmethod
    def staff_typing(platform: str, user_id: str) -> str:
        return f"{STAFF_TYPING_SUBJECT}.{platform}.{user_token(user_id)}"

    @staticmethod
    def dead_letter(source_subject: str) -> str:
        return f"dlq.{source_subject}"

    @staticmethod
    def command(action: str) -> str:
        return f"{COMMAND_SUBJECT}.{action}"


def mode_key(platform: str, user_id: str) -> str:
    return f"{platform}.{user_token(user_id)}"


async def unsubscribe_quietly(sub: Any) -> None:
    """Ends a subscription at shutdown, when the connection may already be gone."""
    if sub is None:
        return
    try:
        await sub.unsubscribe()
    except Exception:  # noqa: BLE001 - nothing left to stop
        pass


async def connect(url: str, name: str) -> Client:
    """Connect with reconnects forever: a NATS restart must never kill a service."""

    async def _err(exc: Exception) -> None:
        log.warning("nats error", extra={"error": type(exc).__name__})

    async def _disconnected() -> None:
        log.warning("nats disconnected")

    async def _reconnected() -> None:
        log.info("nats reconnected")

    return await nats.connect(
        servers=url.split(","),
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
        error_cb=_err,
        disconnected_cb=_disconnected,
        reconnected_cb=_reconnected,
        pending_size=64 * 1024 * 1024,
    )


def partition_transform(partitions: int) -> SubjectTransform:
    """events.<family>.<platform>.<u> is stored as events.<family>.<platform>.<p>.<u>, p = hash(u) mod N.

    The server computes p, so publishers need not know N; every event of one user
    lands in the same partition, which the workers consume one message at a time
    (filter events.in.messenger.<p>.*).
    """
    return SubjectTransform(src="events.*.*.*",
                            dest=f"events.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}.{{{{partition({partitions},3)}}}}"
                                 f".{{{{wildcard(3)}}}}")


def stream_configs(replicas: int = 1, partitions: int = EVENT_PARTITIONS) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=["events.>"],
            subject_transform=partition_transform(partitions),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=7 * DAY,
            duplicate_window=120,  # Nats-Msg-Id = event_id: a retried publish is stored once
            num_replicas=replicas,
            discard=DiscardPolicy.OLD,
        ),
        StreamConfig(
            name=UPDATES_STREAM,
            subjects=["updates.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=2 * DAY,
            max_msgs=5_000_000,
            duplicate_window=120,
            num_replicas=replicas,
            discard=DiscardPolicy.OLD,
        ),
        StreamConfig(
            name=DLQ_STREAM,
            subjects=["dlq.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=30 * DAY,
            num_replicas=replicas,
        ),
    ]


async def ensure_streams(js: JetStreamContext, replicas: int = 1, partitions: int = EVENT_PARTITIONS,
                         owner: bool = True) -> None:
    """Create the streams and the mode bucket when missing; safe from every replica at once.

    Only the owner (tracking) brings an existing stream's configuration up to date:
    the other services' NATS users may create a missing stream but never change one
    (deploy/nats/users.conf), so an upgrade's new configuration is applied once, by
    tracking, which starts first.
    """
    for config in stream_configs(replicas, partitions):
        try:
            await _add_stream(js, config)
        except BadRequestError:
            if owner:
                await js.update_stream(config)
    await mode_bucket(js, replicas)


CREATE_ATTEMPTS = 5


async def _add_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """add_stream, tried again when the server fails (5xx): nats-server answers 500 "error creating store
    for stream" now and then, e.g. while the files of a just-deleted stream of that name are still going."""
    for attempt in range(CREATE_ATTEMPTS):
        try:
            await js.add_stream(config)
            return
        except BadRequestError:
            raise  # exists already (or invalid): the caller's decision
        except APIError as exc:
            if (exc.code or 0) < 500 or attempt == CREATE_ATTEMPTS - 1:
                raise
            log.warning("stream not created, retrying", extra={"stream": config.name, "error": exc.description})
            await asyncio.sleep(0.1 * 2**attempt)


async def mode_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    return await kv_bucket(js, MODE_BUCKET, history=1, replicas=replicas)


async def saved_replies_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # A little history: an edit or deletion made by mistake can be looked up with `nats kv history`.
    return await kv_bucket(js, SAVED_REPLIES_BUCKET, history=5, replicas=replicas)


async def knowledge_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # History: an answer changed or deleted by mistake can be looked up with `nats kv history`.
    return await kv_bucket(js, KNOWLEDGE_BUCKET, history=5, replicas=replicas)


async def sold_out_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # History: who marked what sold out, and when it came back, stays readable with `nats kv history`.
    return await kv_bucket(js, SOLD_OUT_BUCKET, history=5, replicas=replicas)


async def menu_prices_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # History: the earlier prices and who set them stay readable with `nats kv history`.
    return await kv_bucket(js, MENU_PRICES_BUCKET, history=5, replicas=replicas)


async def closed_days_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # A day is set at most a year ahead (common/closed_days.py), so 400 days after its last write it
    # is past: the bucket forgets old closures by itself.
    return await kv_bucket(js, CLOSED_DAYS_BUCKET, history=5, replicas=replicas, ttl=400 * DAY)


async def staff_access_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # History: who revoked or restored whom, and when, stays readable with `nats kv history`.
    return await kv_bucket(js, STAFF_ACCESS_BUCKET, history=10, replicas=replicas)


async def blocked_users_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # History: who blocked or unblocked a customer, and when, stays readable with `nats kv history`.
    return await kv_bucket(js, BLOCKED_USERS_BUCKET, history=10, replicas=replicas)


async def rate_limits_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # An idle entry expires after an hour: the same as a full bucket for any refill faster than that.
    return await kv_bucket(js, RATE_LIMITS_BUCKET, history=1, replicas=replicas, ttl=3600)


async def bus_erasures_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    # After 30 days (the DLQ's max age, the longest of the streams) there is nothing left to purge.
    return await kv_bucket(js, BUS_ERASURES_BUCKET, history=1, replicas=replicas, ttl=30 * DAY)


async def kv_bucket(js: JetStreamContext, name: str, history: int = 1, replicas: int = 1,
                    ttl: float | None = None) -> KeyValue:
    """The bucket, created when missing (another service may race us: then look it up again)."""
    try:
        return await js.key_value(name)
    except Exception:  # noqa: BLE001 - bucket missing: create it
        try:
            return await js.create_key_value(KeyValueConfig(bucket=name, history=history, ttl=ttl,
                                                            replicas=replicas, storage=StorageType.FILE))
        except Exception:  # noqa: BLE001
            return await js.key_value(name)
