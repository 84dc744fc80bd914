"""Prometheus metrics of the webhook (served at /metrics by pentagon.common.health)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOK_REQUESTS = Counter("webhook_requests_total", "Messenger webhook POSTs by outcome", ["outcome"])
WEBHOOK_ACK_SECONDS = Histogram(
    "webhook_ack_seconds", "Time from request start to 200 (all events acknowledged by JetStream)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter("webhook_events_published_total", "Events published to JetStream", ["kind"])
EVENTS_SKIPPED = Counter("webhook_events_skipped_total", "Webhook events not published", ["reason"])
REPLIES = Counter("webhook_replies_total", "Reply worker outcomes", ["outcome"])
SEND_RESULTS = Counter("webhook_send_results_total", "Send API results", ["result"])
CHAT_REQUESTS = Counter("webhook_chat_requests_total", "Web chat requests by endpoint and outcome", ["endpoint", "outcome"])
AGENT_SECONDS = Histogram("webhook_agent_call_seconds", "Agent Reply call latency (all attempts)", ["outcome"])
RATE_LIMITED = Counter("webhook_rate_limited_total", "Requests refused by a rate limit", ["scope"])
