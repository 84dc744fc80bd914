"""Everything the routes and workers share: NATS, KV buckets, agent and Graph clients."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.msg import Msg

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pentagon.common.agent_client import AgentClient
from pentagon.common.blocklist import Blocklist
from pentagon.common.bus import blocked_users_bucket, connect, ensure_streams, kv_bucket, mode_bucket, rate_limits_bucket
from pentagon.common.ratelimit import Network, SharedTokenBucket, parse_networks
from pentagon.webhook.chat_sessions import SessionSigner
from pentagon.webhook.history import History
from pentagon.webhook.metrics import AGENT_SECONDS
from pentagon.webhook.modes import ModeReader
from pentagon.webhook.send_api import SendApi
from pentagon.webhook.staff_typing import TypingBoard
from pentagon.webhook.settings import Settings

log = logging.getLogger(__name__)

DAY = 24 * 3600
# Younger than this, a first delivery cannot repeat work already done: a second stream copy of the
# same event id would have been dropped by the streams' 120 s duplicate window (docs/architecture.md).
FRESH_S = 30.0
# Buckets owned by the webhook (the mode bucket belongs to tracking, see docs/architecture.md).
SENT_MIDS = "sent_mids"          # mids of messages we sent: their echoes are not recorded twice
MARKS = "webhook_marks"          # sent.<h>: chunks already sent, checked on redelivery
HISTORY = "chat_history"         # recent turns per conversation for the agent, and the messages answered
CHAT_USERS = "chat_users"        # web user ids already claimed by a session
DELETIONS = "data_deletions"     # Messenger data deletion requests by confirmation code


def key_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:40]


RECENT_MARKS = 50_000


class Marks:
    """Idempotency markers in KV: ``kind.<sha(event id)>`` -> value.

    The markers this process wrote are also remembered locally (the newest
    RECENT_MARKS), so a repeat handled by the same process costs no round trip.
    """

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self._recent: dict[str, str] = {}

    def recent(self, kind: str, event_id: str) -> str | None:
        return self._recent.get(f"{kind}.{event_id}")

    async def get(self, kind: str, event_id: str) -> str | None:
        try:
            entry = await self.kv.get(f"{kind}.{key_hash(event_id)}")
        except KeyNotFoundError:
            return None
        return (entry.value or b"").decode()

    def note(self, kind: str, event_id: str, value: str = "1") -> None:
        """Remember in this process only (the durable record is kept elsewhere, or by put)."""
        self._recent[f"{kind}.{event_id}"] = value
        if len(self._recent) > RECENT_MARKS:
            del self._recent[next(iter(self._recent))]  # dicts keep insertion order: the oldest goes

    async def put(self, kind: str, event_id: str, value: str = "1") -> None:
        # Remembered before the write: the work is done whether NATS takes the marker or not (it fails
        # while NATS restarts), and the redelivery that follows must not repeat it in this process.
        self.note(kind, event_id, value)
        await self.kv.put(f"{kind}.{key_hash(event_id)}", value.encode())


def may_repeat(msg: Msg, occurred_at: Timestamp) -> bool:
    """False only when another process cannot have done this work: skip the KV marker read then.

    A redelivery (num_delivered > 1) or an event older than FRESH_S (a Messenger retry arriving
    after the duplicate window) is checked against the KV markers; a fresh first delivery is
    checked only against this process's own recent markers (Marks.recent). If a read was skipped
    wrongly (a durable deleted and recreated), the result's publish still carries the same
    Nats-Msg-Id and is dropped by the stream.
    """
    if msg.metadata.num_delivered > 1:
        return True
    return time.time() - occurred_at.seconds > FRESH_S


@dataclass
class Runtime:
    settings: Settings
    nc: Client
    js: JetStreamContext
    modes: ModeReader
    marks: Marks
    sent_mids: KeyValue
    history: History
    chat_users: KeyValue
    deletions: KeyValue
    agent: AgentClient
    send_api: SendApi
    sessions: SessionSigner
    session_limit: SharedTokenBucket
    ip_limit: SharedTokenBucket
    poll_limit: SharedTokenBucket
    trusted: list[Network]  # TRUSTED_PROXIES, parsed once: client_address runs on every chat request
    staff_typing: TypingBoard  # web users a staff member is typing to (chat long-poll)
    blocked: Blocklist  # customers an admin blocked: refused (web chat), never answered (Messenger)

    async def ready(self) -> bool:
        return self.nc.is_connected

    @property
    def records_sent_mids(self) -> bool:
        """Without MESSENGER_APP_ID our echoes are told apart by the mids we sent (KV sent_mids);
        with it, by the app id alone, and the sender records nothing."""
        return not self.settings.messenger_app_id

    async def is_sent_mid(self, mid: str) -> bool:
        try:
            await self.sent_mids.get(key_hash(mid))
            return True
        except KeyNotFoundError:
            return False

    async def close(self) -> None:
        await self.staff_typing.stop()
        await self.blocked.stop()
        await self.modes.close()
        await self.agent.close()
        await self.send_api.close()
        # Every publish was already acknowledged: nothing to drain, and draining pull subscriptions stalls.
        await self.nc.close()


async def connect_forever(url: str) -> Client:
    """NATS may be down when we start: keep trying (readyz stays unreachable meanwhile)."""
    while True:
        try:
            return await connect(url, "webhook")
        except Exception as exc:  # noqa: BLE001
            log.warning("nats not reachable, retrying", extra={"error": type(exc).__name__})
            await asyncio.sleep(1.0)


async def build_runtime(settings: Settings) -> Runtime:
    nc = await connect_forever(settings.nats_url)
    js = nc.jetstream()
    replicas = settings.nats_stream_replicas
    await ensure_streams(js, replicas, owner=False)
    mode_kv = await mode_bucket(js, replicas)
    limits = await rate_limits_bucket(js, replicas)

    def limit(name: str, per_minute: float, burst: int) -> SharedTokenBucket:
        return SharedTokenBucket(limits, name, per_minute, burst, connected=lambda: nc.is_connected)

    secret = settings.secret
    typing_board = TypingBoard()
    await typing_board.start(nc)
    blocked = Blocklist(await blocked_users_bucket(js, replicas))
    await blocked.start()
    return Runtime(
        settings=settings, nc=nc, js=js,
        modes=ModeReader(mode_kv, settings.mode_closed_wait_ms / 1000, lambda: nc.stats["reconnects"]),
        marks=Marks(await kv_bucket(js, MARKS, replicas=replicas, ttl=7 * DAY)),
        sent_mids=await kv_bucket(js, SENT_MIDS, replicas=replicas, ttl=2 * DAY),
        history=History(await kv_bucket(js, HISTORY, replicas=replicas, ttl=7 * DAY), settings.agent_history_turns),
        chat_users=await kv_bucket(js, CHAT_USERS, replicas=replicas, ttl=60 * DAY),
        deletions=await kv_bucket(js, DELETIONS, replicas=replicas, ttl=90 * DAY),
        agent=AgentClient(settings.agent_addr, settings.agent_timeout_ms, settings.agent_retries, AGENT_SECONDS),
        send_api=SendApi(settings.messenger_graph_url, secret("messenger_page_token"), settings.send_timeout_s),
        sessions=SessionSigner(secret("chat_session_secret"), settings.chat_session_ttl_s),
        session_limit=limit("session", settings.rate_limit_session_per_min, settings.rate_limit_session_burst),
        ip_limit=limit("ip", settings.rate_limit_ip_per_min, settings.rate_limit_ip_burst),
        poll_limit=limit("poll", settings.rate_limit_poll_per_min, settings.rate_limit_poll_burst),
        trusted=parse_networks(settings.trusted_proxies),
        staff_typing=typing_board,
        blocked=blocked,
    )
