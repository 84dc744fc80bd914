"""Configuration of the admin-api service (environment, then .env)."""

from __future__ import annotations

from pentagon.common.settings import CommonSettings


class Settings(CommonSettings):
    admin_api_addr: str = "127.0.0.1:8002"
