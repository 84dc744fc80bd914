"""Configuration of the webhook service (environment, then .env).

Secrets are ``SecretStr`` so they never show up in a repr or a log line.
Missing Messenger/chat secrets are replaced by ephemeral random ones at start
(see :func:`fill_ephemeral_secrets`) so the service always starts.
"""

from __future__ import annotations

import logging
import secrets

from pydantic import Field, SecretStr

from pentagon.common.ratelimit import TrustedProxies
from pentagon.common.settings import CommonSettings

log = logging.getLogger(__name__)


class Settings(CommonSettings):
    webhook_addr: str = "127.0.0.1:8001"
    public_url: str = "http://127.0.0.1:8080"

    # Messenger
    messenger_app_secret: SecretStr | None = None
    messenger_verify_token: SecretStr | None = None
    messenger_page_token: SecretStr | None = None
    messenger_app_id: str = ""
    messenger_graph_url: str = "https://graph.facebook.com/v21.0"
    # Ask Messenger's User Profile API for each customer's name, shown to the staff (profiles.py).
    messenger_user_names: bool = True
    webhook_max_body_bytes: int = 1024 * 1024
    webhook_publish_timeout_s: float = 5.0

    # Agent (gRPC)
    agent_addr: str = "127.0.0.1:50051"
    agent_timeout_ms: int = 8000
    agent_retries: int = 2
    agent_history_turns: int = 10

    # Workers
    # True (or --workers-only): reply worker + sender only, ops routes on WEBHOOK_WORKER_ADDR, no public HTTP.
    webhook_workers_only: bool = False
    webhook_worker_addr: str = "127.0.0.1:8011"
    reply_worker_enabled: bool = True
    sender_enabled: bool = True
    mode_closed_wait_ms: int = 3000
    # mark_seen + typing_on only when the agent has not answered within this delay (0 = always).
    typing_delay_ms: int = 300
    send_max_attempts: int = 4
    send_backoff_ms: int = 300
    send_max_deliveries: int = 10
    send_timeout_s: float = 15.0
    # Redelivery of a message whose worker died. A live worker keeps its claim with in-progress
    # pings, so this only bounds how long a crashed replica's partition waits (one user in 64).
    worker_ack_wait_s: float = Field(15.0, ge=1.0, le=3600.0)

    # Web chat
    chat_session_secret: SecretStr | None = None
    chat_session_ttl_s: int = 7 * 24 * 3600
    chat_max_text_chars: int = 2000
    chat_update_wait_ms: int = 2000
    chat_longpoll_max_s: float = 25.0

    # Rate limits (token buckets shared by every replica in NATS KV; per replica while NATS is down)
    rate_limit_session_per_min: float = 30.0
    rate_limit_session_burst: int = 10
    rate_limit_ip_per_min: float = 120.0
    rate_limit_ip_burst: int = 30
    rate_limit_poll_per_min: float = 60.0
    rate_limit_poll_burst: int = 20
    trusted_proxies: TrustedProxies = "127.0.0.1/32,::1/128"

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else ""


def fill_ephemeral_secrets(settings: Settings) -> None:
    """Generate missing secrets for this process only, warning without the values.

    With an ephemeral app secret no real Messenger POST verifies (403), which is
    the safe failure; sessions do not survive a restart without CHAT_SESSION_SECRET.
    """
    for name in ("messenger_app_secret", "messenger_verify_token", "chat_session_secret"):
        if not settings.secret(name):
            setattr(settings, name, SecretStr(secrets.token_urlsafe(32)))
            log.warning("secret not configured, using an ephemeral random value", extra={"setting": name.upper()})
    if not settings.secret("messenger_page_token"):
        log.warning("MESSENGER_PAGE_TOKEN not configured: Send API calls will be rejected by Graph")
