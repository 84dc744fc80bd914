"""Messenger signatures: X-Hub-Signature-256 on webhook POSTs and signed_request on data deletion.

Both are HMAC-SHA256 with the app secret and are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

_PREFIX = "sha256="


def sign_body(body: bytes, secret: str) -> str:
    """The header value Messenger would send for ``body`` (used by tests and the bench)."""
    return _PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_body(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not secret or not header.startswith(_PREFIX):
        return False
    expected = sign_body(body, secret)
    # Compare bytes: compare_digest on str refuses non-ASCII input with an exception.
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


def tokens_equal(given: str | None, expected: str) -> bool:
    if given is None or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def b64url_decode(data: str) -> bytes:
    padded = data + "=" * (-len(data) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_request(payload: dict[str, Any], secret: str) -> str:
    """Build a Facebook ``signed_request`` (tests and local tooling)."""
    body = b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{b64url_encode(sig)}.{body}"


def parse_signed_request(signed_request: str, secret: str) -> dict[str, Any] | None:
    """Payload of a valid ``signed_request``; None when malformed or not signed by ``secret``."""
    if not secret or signed_request.count(".") != 1 or len(signed_request) > 8192:
        return None
    sig_part, body_part = signed_request.split(".")
    try:
        sig = b64url_decode(sig_part)
        expected = hmac.new(secret.encode(), body_part.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(sig, expected):
            return None
        payload = json.loads(b64url_decode(body_part))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        return None
    return payload
