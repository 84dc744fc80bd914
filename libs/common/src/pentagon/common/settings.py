"""Settings base: every service's settings object extends this one.

Values come from the environment first, then from `.env` in the working
directory. Every variable is documented in the README table and `.env.example`.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    nats_url: str = "nats://127.0.0.1:4222"
    log_level: str = "INFO"
    # JetStream replicas for the streams and buckets this service creates; 3 on a NATS cluster.
    nats_stream_replicas: int = 1


def split_addr(addr: str) -> tuple[str, int]:
    """'127.0.0.1:8001' -> ('127.0.0.1', 8001); '[::1]:80' works too."""
    host, _, port = addr.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)
