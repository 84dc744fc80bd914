"""Configuration of the tracking service (environment, then .env)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from pentagon.common.settings import CommonSettings


class Settings(CommonSettings):
    tracking_addr: str = "127.0.0.1:8003"
    # Postgres (also Supabase's own Postgres connection string). Takes precedence over the REST store.
    database_url: SecretStr | None = None
    supabase_url: str | None = None
    supabase_service_role_key: SecretStr | None = None
    # auto: Postgres when DATABASE_URL is set, else Supabase REST.
    tracking_store: Literal["auto", "postgres", "supabase"] = "auto"
    tracking_batch_size: int = Field(500, ge=1, le=10_000)
    # How long a batch lingers for more events after its first. 0 commits what is waiting at once,
    # but pentagon_ingest has a fixed cost per call: e2e_bench measured Postgres at ~2x the CPU per
    # message at 100 msg/s with 0, and no better WebSocket latency, so the default lingers.
    tracking_batch_wait_ms: int = Field(50, ge=0, le=60_000)
    # ...but only while events keep arriving: a quiet gap this long ends the batch. At a cafe's real
    # traffic that commits each message at once (push_latency.py: admin frame 22 vs 68 ms p50); under
    # load events never pause that long, so batches still grow (e2e_bench: same saturation point).
    tracking_batch_gap_ms: int = Field(5, ge=0, le=60_000)
    # Batches in flight per process, one lane of users each (consumer.lane_of); each has its own connection.
    tracking_workers: int = Field(2, ge=1, le=32)
    tracking_db_pool_size: int = Field(4, ge=1, le=100)
    tracking_ack_wait_s: int = Field(60, ge=5, le=3600)
    tracking_max_ack_pending: int = Field(20_000, ge=100)
    # Retry backoff while the database is down or slow.
    tracking_retry_initial_ms: int = Field(200, ge=1)
    tracking_retry_max_ms: int = Field(5_000, ge=10)
    # Outbox and parked receipts: how often the sweep runs, and how old an outbox row must be
    # (its worker presumed dead between commit and publish) before the sweep republishes it.
    tracking_sweep_interval_s: float = Field(5.0, gt=0, le=3600)
    # Close a conversation nobody has written in for this long, unless a customer waits for a person
    # (housekeeping.py; checked every sweep interval). 0: never.
    tracking_auto_close_hours: float = Field(0.0, ge=0, le=24 * 365)
    # Delete a closed conversation and its messages once it has been closed and quiet this many days
    # (housekeeping.py; checked every sweep interval). 0: keep forever. At least 8 when set: the EVENTS
    # stream keeps events 7 days, and no event of a deleted conversation may still be redeliverable.
    tracking_retention_days: float = Field(0.0, ge=0, le=36_500)
    tracking_outbox_replay_age_s: float = Field(30.0, ge=0)
    tracking_shutdown_grace_s: float = Field(20.0, ge=0)
    tracking_max_content_chars: int = Field(100_000, ge=1)
    tracking_max_metadata_bytes: int = Field(256 * 1024, ge=1)
    tracking_migrate: bool = True

    @field_validator("tracking_retention_days")
    @classmethod
    def _outlives_the_bus(cls, days: float) -> float:
        if 0 < days < 8:
            raise ValueError("TRACKING_RETENTION_DAYS must be 0 (keep forever) or at least 8")
        return days

    def dsn(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None

    def store_kind(self) -> str:
        if self.tracking_store != "auto":
            return self.tracking_store
        return "postgres" if self.database_url else "supabase"
