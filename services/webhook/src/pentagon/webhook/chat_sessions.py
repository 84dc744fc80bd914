"""Web chat session tokens: ``<payload>.<signature>``, both base64url.

payload = JSON {"u": user_id, "n": name, "exp": unix seconds, "sid": random};
signature = HMAC-SHA256(CHAT_SESSION_SECRET, payload). Stateless, so every
replica verifies any token; checked in constant time, then the expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

from pentagon.webhook.signature import b64url_decode, b64url_encode

USER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ChatSession:
    user_id: str
    name: str
    expires_at: int


def new_user_id() -> str:
    return "w" + secrets.token_hex(12)


class SessionSigner:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._key = secret.encode()
        self.ttl_s = ttl_s

    def _sign(self, payload: str) -> str:
        return b64url_encode(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, user_id: str, name: str = "") -> tuple[str, int]:
        expires_at = int(time.time()) + self.ttl_s
        body = {"u": user_id, "n": name, "exp": expires_at, "sid": secrets.token_hex(8)}
        payload = b64url_encode(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}", expires_at

    def verify(self, token: str, leeway_s: int = 0) -> ChatSession | None:
        """The session of a valid token; ``leeway_s`` accepts recently expired ones (renewal)."""
        if not token or token.count(".") != 1 or len(token) > 2048:
            return None
        payload, signature = token.split(".")
        try:
            expected = self._sign(payload)
        except UnicodeError:
            return None
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return None
        try:
            body = json.loads(b64url_decode(payload))
            session = ChatSession(str(body["u"]), str(body.get("n", "")), int(body["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires_at + leeway_s < time.time() or not USER_ID.match(session.user_id):
            return None
        return session


def bearer(header: str | None) -> str:
    if not header:
        return ""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
