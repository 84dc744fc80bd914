"""Prometheus metrics of the tracking service (served on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PERSISTED = Counter("tracking_events_persisted_total", "Message rows inserted (duplicates excluded)")
EVENTS_PROCESSED = Counter("tracking_events_processed_total", "Events committed, duplicates included", ["type"])
BATCHES = Counter("tracking_batches_total", "Batches committed")
BATCH_SIZE = Histogram("tracking_batch_events", "Events per committed batch",
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000))
BATCH_SECONDS = Histogram("tracking_batch_seconds", "From fetch to ack of one batch",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DLQ = Counter("tracking_dead_lettered_total", "Events sent to the dead-letter stream", ["reason"])
RETRIES = Counter("tracking_retries_total", "Batch retries", ["reason"])
PARKED = Counter("tracking_receipts_parked_total", "Delivery receipts parked because their message was not stored yet")
OUTBOX_REPLAYED = Counter("tracking_outbox_replayed_total", "Outbox rows republished after their worker died")
UPDATES = Counter("tracking_updates_published_total", "UpdateEvents published", ["kind"])
COMMANDS = Counter("tracking_commands_total", "Admin commands answered", ["action", "result"])
# How far behind tracking is, for alerts (deploy/monitoring/alerts.yml): events of the stream this
# durable has not delivered yet, as JetStream counted them at the last fetch; and events fetched but
# not committed yet (in the lanes or in a batch being written).
BACKLOG = Gauge("tracking_backlog_events",
                "Events in JetStream not yet delivered to tracking (at the last fetch; asked of JetStream "
                "each second while tracking cannot take more)")
IN_HAND = Gauge("tracking_events_in_hand", "Events fetched by this process, not acknowledged yet")
ERASURES = Counter("tracking_bus_erasures_total", "Deleted users whose events were purged from every stream")
ERASURES_PENDING = Gauge("tracking_bus_erasures_pending", "Deleted users whose events are still being purged")
AUTO_CLOSED = Counter("tracking_auto_closed_total", "Conversations closed after TRACKING_AUTO_CLOSE_HOURS without messages")
PURGED = Counter("tracking_retention_deleted_total", "Closed conversations deleted after TRACKING_RETENTION_DAYS")
