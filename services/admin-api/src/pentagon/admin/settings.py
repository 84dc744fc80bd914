"""Configuration of the admin-api service (environment, then .env)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from pentagon.admin.jwks import jwks_url
from pentagon.common.ratelimit import TrustedProxies
from pentagon.common.settings import CommonSettings


class Settings(CommonSettings):
    admin_api_addr: str = "127.0.0.1:8002"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pentagon"
    # Comma-separated name:role:token entries; empty means every request is refused (401).
    admin_tokens: SecretStr = SecretStr("")
    # When set, Supabase Auth access tokens signed with the legacy JWT secret (HS256) are accepted too.
    supabase_jwt_secret: SecretStr | None = None
    # Public keys of Supabase's asymmetric JWT signing keys (ES256/RS256); default with SUPABASE_URL:
    # <SUPABASE_URL>/auth/v1/.well-known/jwks.json. "off" disables them.
    supabase_jwks_url: str | None = None
    # A token naming a key id we do not know refetches the keys, at most once per this many seconds.
    supabase_jwks_refetch_s: float = Field(default=30.0, ge=0)
    supabase_jwt_audience: str = "authenticated"
    # Public values the panel needs for Supabase Auth sign-in (both unset: token sign-in only).
    supabase_url: str | None = None
    supabase_anon_key: str | None = None
    cors_origins: str = ""
    # Refused tokens per client address (every replica together): a burst, then this many a minute.
    admin_auth_failures_burst: int = Field(default=10, ge=1)
    admin_auth_failures_per_min: float = Field(default=5.0, gt=0)
    # Peers whose X-Forwarded-For is believed (the gateway); anyone else is its own client address.
    trusted_proxies: TrustedProxies = "127.0.0.1/32,::1/128"
    admin_db_pool_size: int = Field(default=5, ge=1, le=100)
    admin_db_statement_timeout_ms: int = Field(default=5000, ge=100)
    admin_command_timeout: float = Field(default=5.0, gt=0)
    admin_ws_queue_size: int = Field(default=4096, ge=1)
    admin_ws_heartbeat_seconds: float = Field(default=15.0, gt=0)
    admin_ws_stats_seconds: float = Field(default=10.0, gt=0)
    # Writers are woken at most once per this many ms: an update after a quiet period goes at once,
    # updates arriving faster share one wake-up (and, with ?batch=1, one socket write).
    admin_ws_flush_ms: float = Field(default=20.0, ge=0, le=1000)
    # A reconnect further behind than this gets a "resync" frame instead of a replay.
    admin_ws_replay_max: int = Field(default=10_000, ge=0)
    admin_ws_compression: bool = False
    admin_stats_cache_seconds: float = Field(default=1.0, ge=0)
    # Pool connections one detailed-stats request may use at once (its statements are independent).
    admin_stats_connections: int = Field(default=2, ge=1, le=16)
    # The agent admin-api asks (the webhook's AGENT_ADDR): "Ask the bot" and "Bot's draft", the menu
    # staff mark sold out, which unanswered questions it answers now. One attempt and one retry of
    # AGENT_TIMEOUT_MS each; the unanswered list waits 2 s at most.
    agent_addr: str = "127.0.0.1:50051"
    agent_timeout_ms: int = Field(default=8000, ge=100)
    # "Ask the bot" and "Bot's draft" per staff member (every replica together): a burst, then this
    # many a minute. With OPENAI_API_KEY set each one is a paid model call.
    admin_agent_tries_burst: int = Field(default=20, ge=1)
    admin_agent_tries_per_min: float = Field(default=10.0, gt=0)
    admin_reply_max_chars: int = Field(default=2000, ge=1)
    # A Messenger customer a staff member helped is asked "How did we do?" when staff close (rating_request.py).
    admin_rating_on_close: bool = True
    # Larger request bodies are refused (413) before they are read: the biggest real one is a reply.
    admin_max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    def body_limit(self) -> int:
        """ADMIN_MAX_BODY_BYTES, but never below what the longest reply needs (12 bytes a character
        covers JSON's \\uXXXX escapes of non-ASCII text)."""
        return max(self.admin_max_body_bytes, self.admin_reply_max_chars * 12 + 1024)

    def signing_keys_url(self) -> str | None:
        if self.supabase_jwks_url:
            return None if self.supabase_jwks_url == "off" else self.supabase_jwks_url
        return jwks_url(self.supabase_url) if self.supabase_url else None

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
