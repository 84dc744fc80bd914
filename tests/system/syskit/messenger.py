"""Messenger webhook payloads and their X-Hub-Signature-256, as Facebook sends them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import time
from typing import Any

PAGE_ID = "100000000000001"
_counter = itertools.count()
_run = os.urandom(4).hex()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_mid() -> str:
    return f"m_{_run}_{next(_counter)}"


def text_event(psid: str, text: str, mid: str | None = None, ts_ms: int | None = None) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": ts_ms or int(time.time() * 1000),
        "message": {"mid": mid or new_mid(), "text": text},
    }


def page_body(*events: dict[str, Any], channel: str = "messaging") -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), channel: list(events)}]}


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signed(secret: str, payload: Any) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else encode(payload)
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)}


def user_event_id(mid: str) -> str:
    """The deterministic event id the webhook gives a Messenger message (docs/architecture.md)."""
    return f"m:{mid}"
