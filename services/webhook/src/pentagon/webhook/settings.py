"""Configuration of the webhook service (environment, then .env)."""

from __future__ import annotations

from pentagon.common.settings import CommonSettings


class Settings(CommonSettings):
    webhook_addr: str = "127.0.0.1:8001"
