"""The web chat API of the gateway (/api/chat), as the Streamlit client uses it.

Every failure becomes a :class:`ChatError` whose ``message`` is fit to show a
customer as it is: the page never shows a traceback.
See docs/architecture.md, section "Web chat".
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from wording import BLOCKED, REFUSED, SESSION_ENDED, SLOW_DOWN, UNAVAILABLE

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080"
RETRY_PAUSE_S = 1.0  # before the one repeat of a message whose answer was lost


class ChatError(Exception):
    """A friendly, user-facing failure. ``kind``: unavailable | rate_limited | session | blocked | invalid."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


@dataclass
class ChatSession:
    token: str
    user_id: str
    expires_at: str | None = None


@dataclass
class Reply:
    text: str
    confidence: float | None
    requires_human: bool
    quick_replies: list[str] = field(default_factory=list)
    event_id: str | None = None


@dataclass
class SendResult:
    mode: str
    event_id: str | None
    conversation_id: int | None
    reply: Reply | None


def gateway_url() -> str:
    return os.environ.get("GATEWAY_URL", DEFAULT_GATEWAY_URL).rstrip("/")


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "5")))
    except ValueError:
        return 5.0


def _server_message(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else None


def _error_code(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error.get("code") if isinstance(error, dict) else None


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        seconds = _retry_after(response)
        raise ChatError("rate_limited", SLOW_DOWN.format(seconds=int(seconds)), retry_after=seconds)
    if status == 403 and _error_code(response) == "blocked":
        raise ChatError("blocked", BLOCKED)  # the staff blocked this visitor: a new session would not help
    if status in (401, 403):
        raise ChatError("session", SESSION_ENDED)
    if status >= 500:
        # 502/503/504 is the gateway telling us the chat service is down.
        raise ChatError("unavailable", UNAVAILABLE)
    detail = _server_message(response)
    raise ChatError("invalid", f"{REFUSED}  \n{detail}" if detail else REFUSED)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ChatError("unavailable", UNAVAILABLE) from exc
    if not isinstance(body, dict):
        raise ChatError("unavailable", UNAVAILABLE)
    return body


def _reply(raw: Any) -> Reply | None:
    if not isinstance(raw, dict) or not raw.get("text"):
        return None
    confidence = raw.get("confidence")
    quick = raw.get("quick_replies") or []
    return Reply(
        text=str(raw["text"]),
        confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
        requires_human=bool(raw.get("requires_human")),
        quick_replies=[str(q) for q in quick if isinstance(q, str) and q.strip()][:11],
        event_id=raw.get("event_id"),
    )


class ChatApi:
    def __init__(self, base_url: str | None = None, timeout: float = 40.0) -> None:
        self.base_url = (base_url or gateway_url()).rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, path: str, token: str | None = None, timeout: float | None = None,
                 idempotency_key: str | None = None, **kwargs: Any) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            with httpx.Client(timeout=timeout or self.timeout) as client:
                response = client.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ChatError("unavailable", UNAVAILABLE) from exc
        _raise_for(response)
        return _json(response)

    def open_session(self, user_id: str | None = None, name: str | None = None) -> ChatSession:
        body = {k: v for k, v in {"user_id": user_id, "name": name}.items() if v}
        data = self._request("POST", "/api/chat/session", json=body)
        if not data.get("session_token"):
            raise ChatError("unavailable", UNAVAILABLE)
        return ChatSession(str(data["session_token"]), str(data.get("user_id", "")), data.get("expires_at"))

    def send(self, session: ChatSession, text: str, quick_reply_payload: str | None = None,
             idempotency_key: str | None = None) -> SendResult:
        """With an ``idempotency_key`` a failed attempt is repeated once: the platform stores a message
        once per key, so a retry after a lost answer cannot post it twice."""
        body: dict[str, Any] = {"text": text}
        if quick_reply_payload:
            body["quick_reply_payload"] = quick_reply_payload
        attempts = 2 if idempotency_key else 1
        for attempt in range(attempts):
            try:
                data = self._request("POST", "/api/chat/messages", token=session.token, json=body,
                                     idempotency_key=idempotency_key)
                break
            except ChatError as exc:
                if exc.kind != "unavailable" or attempt == attempts - 1:
                    raise
                time.sleep(RETRY_PAUSE_S)
        return SendResult(
            mode=str(data.get("mode") or "bot"),
            event_id=data.get("event_id"),
            conversation_id=data.get("conversation_id"),
            reply=_reply(data.get("reply")),
        )

    def updates(self, session: ChatSession, after: int, wait: int) -> tuple[list[dict[str, Any]], int]:
        """Staff replies and mode changes after ``after``; returns (updates, last_seq)."""
        data = self._request("GET", "/api/chat/updates", token=session.token, timeout=wait + 10,
                             params={"after": after, "wait": max(0, int(wait))})
        updates = [u for u in data.get("updates") or [] if isinstance(u, dict)]
        last_seq = data.get("last_seq")
        return updates, int(last_seq) if isinstance(last_seq, int) else after
