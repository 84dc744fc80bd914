"""Who else is looking at, or typing in, a conversation: so two staff members do not answer
the same customer at once.

The panel tells its socket what its user is doing, ``{"type": "viewing"|"typing",
"conversation_id": n}``. The replica stamps the name and role of the socket's identity
(never taken from the client), publishes it on core NATS (``admin.presence``: nothing is
stored, presence only matters now) and every replica sends it to its sockets as a frame
without a sequence number: ``{"type": "presence", "data": {"name", "role",
"conversation_id", "activity", "ttl_s"}}``. Clients forget it after ``ttl_s``.

An admin typing in a conversation that is not closed is also told to the webhook
(``staff.typing.<platform>.<u>``, a StaffTyping protobuf), which shows the customer a typing
indicator (Messenger's, or the web chat's): they see someone is answering, as at the counter.

A socket is heard at most once per MIN_INTERVAL_S per activity; anything else it sends
(too long, not JSON, another type, a bad id) is ignored without closing it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from nats.aio.client import Client
from prometheus_client import Counter

from pentagon.admin.auth import Identity
from pentagon.admin.live import UpdatesHub, control_frame
from pentagon.common.bus import Subjects, unsubscribe_quietly
from pentagon.common.events import timestamp
from pentagon.common.proto import events_pb2 as pb

log = logging.getLogger(__name__)

SUBJECT = "admin.presence"
ACTIVITIES = {"viewing": 30, "typing": 6}  # how long, in seconds, a client shows each
MIN_INTERVAL_S = 2.0
MAX_CLIENT_FRAME = 256
BIGINT_MAX = 2**63 - 1
PRESENCE_FRAMES = Counter("admin_presence_frames_total", "Presence frames from sockets", ["result"])


def parse_client_frame(text: str | None) -> tuple[str, int] | None:
    """(activity, conversation id) of a socket's message, or None for anything else."""
    if not text or len(text) > MAX_CLIENT_FRAME:
        return None
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(frame, dict) or frame.get("type") not in ACTIVITIES:
        return None
    conversation_id = frame.get("conversation_id")
    if type(conversation_id) is not int or not 0 < conversation_id <= BIGINT_MAX:
        return None
    return frame["type"], conversation_id


# (platform, user_id) of a conversation that is not closed, None otherwise (runtime.open_conversation_key).
ConversationKeyOf = Callable[[int], Awaitable[tuple[str, str] | None]]


class SocketPresence:
    """What one socket says, rate limited, published for every replica (and typing for the customer)."""

    def __init__(self, nc: Client | None, identity: Identity, key_of: ConversationKeyOf | None = None) -> None:
        self._nc = nc
        self._identity = identity
        self._key_of = key_of
        self._last: dict[str, float] = {}

    async def heard(self, text: str | None) -> None:
        parsed = parse_client_frame(text)
        if parsed is None:
            PRESENCE_FRAMES.labels("ignored").inc()
            return
        activity, conversation_id = parsed
        now = time.monotonic()
        if now - self._last.get(activity, float("-inf")) < MIN_INTERVAL_S or self._nc is None:
            PRESENCE_FRAMES.labels("throttled").inc()
            return
        self._last[activity] = now
        data = {"name": self._identity.name, "role": self._identity.role, "conversation_id": conversation_id,
                "activity": activity, "ttl_s": ACTIVITIES[activity]}
        try:
            await self._nc.publish(SUBJECT, orjson.dumps(data))
            PRESENCE_FRAMES.labels("published").inc()
            if activity == "typing" and self._identity.can_act and self._key_of is not None:
                await self._tell_the_customer(conversation_id)
        except Exception as exc:  # noqa: BLE001 - presence is best effort: NATS or the database away drops it
            log.debug("presence not published", extra={"error": type(exc).__name__})

    async def _tell_the_customer(self, conversation_id: int) -> None:
        assert self._nc is not None and self._key_of is not None
        key = await self._key_of(conversation_id)
        if key is None:
            return  # closed or unknown: nobody to show it to
        event = pb.StaffTyping(key=pb.ConversationKey(platform=key[0], user_id=key[1]),
                               conversation_id=conversation_id, occurred_at=timestamp())
        await self._nc.publish(Subjects.staff_typing(key[0], key[1]), event.SerializeToString())


class PresenceRelay:
    """Every replica's subscription: presence from any replica to this replica's sockets."""

    def __init__(self, nc: Client, hub: UpdatesHub) -> None:
        self._nc = nc
        self._hub = hub
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(SUBJECT, cb=self._on_presence)

    async def stop(self) -> None:
        await unsubscribe_quietly(self._sub)

    async def _on_presence(self, msg: Any) -> None:
        try:
            data = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return
        if isinstance(data, dict) and data.get("activity") in ACTIVITIES:
            self._hub.broadcast(control_frame("presence", data=data))
