"""The long-lived pieces one admin-api process shares: database pool, NATS, commands, live hub."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from prometheus_client import Histogram
from nats.aio.client import Client
from nats.js import JetStreamContext

from pentagon.admin import queries
from pentagon.admin.alert_figures import AlertFigures
from pentagon.admin.access import StaffAccess
from pentagon.admin.auth import Authenticator
from pentagon.admin.closed_days import ClosedDaysStore
from pentagon.admin.jwks import SigningKeys
from pentagon.admin.knowledge import StaffKnowledge
from pentagon.admin.menu_prices import MenuPrices
from pentagon.admin.saved_replies import SavedReplies
from pentagon.admin.sold_out import SoldOutItems
from pentagon.admin.commands import CommandClient
from pentagon.admin.config_feed import ConfigFeed
from pentagon.admin.errors import unavailable
from pentagon.admin.live import UpdatesHub
from pentagon.admin.presence import PresenceRelay
from pentagon.admin.settings import Settings
from pentagon.admin.throttle import SignInThrottle
from pentagon.common.agent_client import AgentClient
from pentagon.common.blocklist import Blocklist
from pentagon.common.bus import (
    blocked_users_bucket, closed_days_bucket, connect, ensure_streams, knowledge_bucket, menu_prices_bucket,
    rate_limits_bucket, saved_replies_bucket, sold_out_bucket, staff_access_bucket,
)
from pentagon.common.jsonrow import iso
from pentagon.common.ratelimit import SharedTokenBucket, parse_networks

log = logging.getLogger(__name__)
AGENT_SECONDS = Histogram("admin_agent_call_seconds", "Agent calls (Ask the bot, the menu): latency, all attempts",
                          ["outcome"])


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secret = settings.supabase_jwt_secret.get_secret_value() if settings.supabase_jwt_secret else None
        keys_url = settings.signing_keys_url()
        self.signing_keys = SigningKeys(keys_url, min_refetch_s=settings.supabase_jwks_refetch_s) if keys_url else None
        self.auth = Authenticator(settings.admin_tokens.get_secret_value(), secret, settings.supabase_jwt_audience,
                                  self.signing_keys)
        self.pool: asyncpg.Pool | None = None
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.commands: CommandClient | None = None
        self.hub: UpdatesHub | None = None
        self.presence: PresenceRelay | None = None
        self.config_feed: ConfigFeed | None = None
        self.saved_replies: SavedReplies | None = None
        self.knowledge: StaffKnowledge | None = None
        self.sold_out: SoldOutItems | None = None
        self.closed_days: ClosedDaysStore | None = None
        self.prices: MenuPrices | None = None
        self.throttle: SignInThrottle | None = None
        self.agent_tries: SharedTokenBucket | None = None
        self.access: StaffAccess | None = None
        self.blocklist: Blocklist | None = None
        self._stats_cache: tuple[float, dict[str, Any]] | None = None
        self._stats_lock = asyncio.Lock()
        self._pool_task: asyncio.Task[None] | None = None
        self.alert_figures = AlertFigures(self.connection, settings.admin_ws_stats_seconds)
        # The channel connects on the first try: admin-api starts and serves without the agent.
        self.agent = AgentClient(settings.agent_addr, settings.agent_timeout_ms, 1, AGENT_SECONDS)

    async def start(self) -> None:
        self.nc = await connect(self.settings.nats_url, "admin-api")
        self.js = self.nc.jetstream()
        await ensure_streams(self.js, self.settings.nats_stream_replicas, owner=False)
        replicas = self.settings.nats_stream_replicas
        # Staff configuration: read and written by the routes, followed by the config feed.
        config = {"saved_replies": await saved_replies_bucket(self.js, replicas),
                  "knowledge": await knowledge_bucket(self.js, replicas),
                  "menu": await sold_out_bucket(self.js, replicas),
                  "menu_prices": await menu_prices_bucket(self.js, replicas),
                  "closed_days": await closed_days_bucket(self.js, replicas)}
        self.saved_replies = SavedReplies(config["saved_replies"], self.js)
        self.knowledge = StaffKnowledge(config["knowledge"], self.js)
        self.sold_out = SoldOutItems(config["menu"], self.js)
        self.closed_days = ClosedDaysStore(config["closed_days"], self.js)
        self.prices = MenuPrices(config["menu_prices"], self.js)
        access = StaffAccess(await staff_access_bucket(self.js, replicas))
        await access.start()
        self.access = access
        self.auth.issued = access.token_holder
        blocklist = Blocklist(await blocked_users_bucket(self.js, replicas))
        await blocklist.start()
        self.blocklist = blocklist
        nc = self.nc
        limits = await rate_limits_bucket(self.js, replicas)
        failures = SharedTokenBucket(limits, "admin_auth", self.settings.admin_auth_failures_per_min,
                                     self.settings.admin_auth_failures_burst, connected=lambda: nc.is_connected)
        failures.mirror()  # every request checks its address: read a local copy, not the bucket
        self.throttle = SignInThrottle(failures, parse_networks(self.settings.trusted_proxies))
        self.agent_tries = SharedTokenBucket(limits, "admin_agent_try", self.settings.admin_agent_tries_per_min,
                                             self.settings.admin_agent_tries_burst, connected=lambda: nc.is_connected)
        self.commands = CommandClient(self.nc, self.settings.admin_command_timeout)
        self.hub = UpdatesHub(self.js, self.settings.admin_ws_queue_size, self.stats,
                              self.settings.admin_ws_stats_seconds, self.settings.admin_ws_heartbeat_seconds,
                              self.settings.admin_ws_flush_ms / 1000)
        await self.hub.start()
        self.presence = PresenceRelay(self.nc, self.hub)
        await self.presence.start()
        self.config_feed = ConfigFeed(self.hub, config)
        await self.config_feed.start()
        if self.signing_keys is not None:
            await self.signing_keys.start()
        # The database may come up after us: keep trying in the background, /readyz says 503 meanwhile.
        self._pool_task = asyncio.create_task(self._open_pool())
        self.alert_figures.start()

    async def _open_pool(self) -> None:
        delay = 0.2
        while self.pool is None:
            try:
                self.pool = await asyncpg.create_pool(
                    self.settings.database_url, min_size=1, max_size=self.settings.admin_db_pool_size,
                    server_settings={"statement_timeout": str(self.settings.admin_db_statement_timeout_ms),
                                     "application_name": "admin-api", "default_transaction_read_only": "on"},
                )
            except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
                log.warning("database not reachable yet", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        await self.alert_figures.stop()
        if self.signing_keys is not None:
            await self.signing_keys.stop()
        if self.access is not None:
            await self.access.stop()
        if self.blocklist is not None:
            await self.blocklist.stop()
        if self.throttle is not None:
            await self.throttle.shared.close()
        if self.config_feed is not None:
            await self.config_feed.stop()
        if self.presence is not None:
            await self.presence.stop()
        if self.hub is not None:
            await self.hub.stop()
        if self._pool_task is not None:
            self._pool_task.cancel()
            await asyncio.gather(self._pool_task, return_exceptions=True)
        if self.pool is not None:
            await self.pool.close()
        await self.agent.close()
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.drain()

    async def ready(self) -> bool:
        if self.pool is None or self.nc is None or not self.nc.is_connected:
            return False
        async with self.pool.acquire(timeout=1.5) as conn:
            return await conn.fetchval("SELECT 1") == 1

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self.pool is None:
            raise unavailable("the database is not reachable yet")
        async with self.pool.acquire(timeout=5) as conn:
            yield conn

    async def open_conversation_key(self, conversation_id: int) -> tuple[str, str] | None:
        async with self.connection() as conn:
            return await queries.open_conversation_key(conn, conversation_id)

    async def stats(self) -> dict[str, Any]:
        """The original /admin/stats totals, cached briefly: the panel and every socket ask for them."""
        ttl = self.settings.admin_stats_cache_seconds
        cached = self._stats_cache
        if cached and time.monotonic() - cached[0] < ttl:
            return cached[1]
        async with self._stats_lock:
            cached = self._stats_cache
            if cached and time.monotonic() - cached[0] < ttl:
                return cached[1]
            async with self.connection() as conn:
                stats = await queries.basic_stats(conn)
            stats["timestamp"] = iso(queries.utc_now())
            self._stats_cache = (time.monotonic(), stats)
            return stats
