"""Settings base: every service's settings object extends this one.

Values come from the environment first, then from `.env` in the working
directory. Every variable is documented in the README table and `.env.example`.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pentagon.common.logging import configure_logging


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    nats_url: str = "nats://127.0.0.1:4222"
    log_level: str = "INFO"
    # JetStream replicas for the streams and buckets this service creates; 3 on a NATS cluster.
    nats_stream_replicas: int = 1


S = TypeVar("S", bound=CommonSettings)


def load_settings(cls: type[S], service: str) -> S:
    """The service's settings, with logging configured; on invalid configuration, exit code 2.

    The error is one JSON log line naming every wrong variable and what is wrong with it, never
    its value (it may be a secret), instead of a traceback.
    """
    try:
        settings = cls()
    except ValidationError as exc:
        configure_logging(service, "INFO")
        errors = [{"variable": "_".join(str(part) for part in error["loc"]).upper(), "error": error["msg"]}
                  for error in exc.errors(include_url=False, include_context=False, include_input=False)]
        logging.getLogger(__name__).error("invalid configuration", extra={"errors": errors})
        raise SystemExit(2) from None
    configure_logging(service, settings.log_level)
    return settings


def split_addr(addr: str) -> tuple[str, int]:
    """'127.0.0.1:8001' -> ('127.0.0.1', 8001); '[::1]:80' works too."""
    host, _, port = addr.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)
