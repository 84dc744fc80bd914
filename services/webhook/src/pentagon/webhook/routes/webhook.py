"""Messenger webhook: subscription check (GET) and event delivery (POST).

POST order matters: size limit, then signature over the raw bytes, and only
then JSON parsing. 200 is returned only once JetStream acknowledged every
event of the request; otherwise 503 and Messenger retries the whole POST
(event ids are deterministic, so the retry stores nothing twice).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from pentagon.webhook.messenger_parser import PayloadError, parse_webhook
from pentagon.webhook.metrics import EVENTS_PUBLISHED, EVENTS_SKIPPED, WEBHOOK_ACK_SECONDS, WEBHOOK_REQUESTS
from pentagon.webhook.routes.common import BodyTooLarge, parse_json, publish_all, read_body, runtime
from pentagon.webhook.runtime import Runtime
from pentagon.webhook.signature import tokens_equal, verify_body

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/webhook")
async def verify_subscription(request: Request) -> Response:
    rt = runtime(request)
    params = request.query_params
    challenge = params.get("hub.challenge", "")
    ok = params.get("hub.mode") == "subscribe" and tokens_equal(params.get("hub.verify_token"),
                                                                 rt.settings.secret("messenger_verify_token"))
    if not ok or not challenge or len(challenge) > 512:
        log.warning("webhook verification refused")
        return PlainTextResponse("forbidden", status_code=403)
    return PlainTextResponse(challenge)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    content_type: bytes = b"application/json"


RECEIVED = Outcome(200, b"EVENT_RECEIVED", b"text/plain; charset=utf-8")


def _outcome(outcome: str, status: int, code: str, message: str) -> Outcome:
    WEBHOOK_REQUESTS.labels(outcome).inc()
    return Outcome(status, json.dumps({"error": {"code": code, "message": message}}).encode())


def too_large() -> Outcome:
    return _outcome("too_large", 413, "too_large", "body exceeds the size limit")


async def handle_post(rt: Runtime, body: bytes, signature: str | None, started: float) -> Outcome:
    """Everything after the body is read: shared by the FastAPI route and the raw ASGI fast path."""
    if not verify_body(body, signature, rt.settings.secret("messenger_app_secret")):
        log.warning("webhook signature rejected")
        return _outcome("bad_signature", 403, "bad_signature", "missing or invalid X-Hub-Signature-256")
    try:
        payload = parse_json(body)
    except ValueError:
        return _outcome("bad_json", 400, "bad_json", "body is not valid JSON")
    if not isinstance(payload, dict):
        return _outcome("bad_payload", 400, "bad_payload", "body must be a JSON object")
    if payload.get("object") != "page":
        return _outcome("not_page", 404, "unknown_object", "only page subscriptions are handled")
    try:
        result = parse_webhook(payload, rt.settings.messenger_app_id)
    except PayloadError as exc:
        return _outcome("bad_payload", 400, "bad_payload", str(exc))
    for reason, count in result.skipped.items():
        EVENTS_SKIPPED.labels(reason).inc(count)
    events = result.events
    try:
        if rt.records_sent_mids and any(e.echo_mid for e in events):
            events = [e for e in events if not (e.echo_mid and await rt.is_sent_mid(e.echo_mid))]
            EVENTS_SKIPPED.labels("own_echo").inc(len(result.events) - len(events))
        await publish_all(rt, events)
    except Exception:  # noqa: BLE001 - KV or JetStream unreachable: nothing confirmed
        log.warning("jetstream unavailable, asking Messenger to retry", extra={"events": len(events)})
        return _outcome("unavailable", 503, "unavailable", "try again later")
    for event in events:
        EVENTS_PUBLISHED.labels(event.label).inc()
    WEBHOOK_REQUESTS.labels("ok").inc()
    WEBHOOK_ACK_SECONDS.observe(time.perf_counter() - started)
    return RECEIVED


@router.post("/webhook")
async def receive(request: Request) -> Response:
    started = time.perf_counter()
    rt = runtime(request)
    try:
        body = await read_body(request, rt.settings.webhook_max_body_bytes)
    except BodyTooLarge:
        outcome = too_large()
    else:
        outcome = await handle_post(rt, body, request.headers.get("x-hub-signature-256"), started)
    return Response(outcome.body, status_code=outcome.status, media_type=outcome.content_type.decode())
