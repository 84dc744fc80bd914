"""Messenger Send API client: one pooled aiohttp ClientSession for the whole process.

aiohttp rather than httpx: under load this client was half of the worker
process's CPU with httpx; aiohttp costs several times less per request.

POST {MESSENGER_GRAPH_URL}/me/messages?access_token=<page token>, and the User
Profile API (GET {MESSENGER_GRAPH_URL}/<psid>?fields=first_name,last_name). The
token is only ever put in the query string of the request; errors are reported by
Graph code and our own words, never by the URL (which carries the token).
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_QR_TITLE = 20
MAX_QR_PAYLOAD = 1000
# Graph codes worth retrying: temporary errors, throttling (4, 17, 32, 613), Messenger rate limit 80006...
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 368, 613, 1200, 80006}
OUTSIDE_WINDOW_SUBCODES = {2018278}
_BREAK = re.compile(r"[\s\u104a\u104b]")  # whitespace and the Burmese punctuation ၊ ။


class GraphError(Exception):
    def __init__(self, status: int, code: int, subcode: int, message: str, transient: bool) -> None:
        super().__init__(f"graph status={status} code={code} subcode={subcode}: {message}")
        self.status = status
        self.code = code
        self.subcode = subcode
        self.message = message
        self.transient = transient

    @property
    def reason(self) -> str:
        return f"code={self.code} subcode={self.subcode} status={self.status}: {self.message}"[:300]

    @property
    def outside_window(self) -> bool:
        return self.code == 10 or self.subcode in OUTSIDE_WINDOW_SUBCODES


@dataclass(frozen=True)
class SendResult:
    recipient_id: str
    message_id: str


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most ``limit`` characters, cut at the last word break before the limit."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max((m.end() for m in _BREAK.finditer(window) if m.end() <= limit), default=0)
        if cut <= limit // 2:
            cut = limit  # one enormous "word" (a URL, unspaced Burmese): hard cut
        chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if chunk:
            chunks.append(chunk)
    if rest:
        chunks.append(rest)
    return chunks


def quick_replies(items: Any) -> list[dict[str, str]]:
    """Messenger quick replies from titles (the payload is the title: the bot's suggestions) or from
    ``{"title", "payload"}`` objects (a payload the tap must bring back, e.g. a rating)."""
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        title, payload = (item.get("title"), item.get("payload")) if isinstance(item, dict) else (item, item)
        if isinstance(title, str) and title.strip() and isinstance(payload, str) and payload.strip():
            out.append({"content_type": "text", "title": title.strip()[:MAX_QR_TITLE],
                        "payload": payload.strip()[:MAX_QR_PAYLOAD]})
        if len(out) == MAX_QUICK_REPLIES:
            break
    return out


def _graph_error(status: int, reason: str, raw: bytes) -> GraphError:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    error = (data.get("error") or {}) if isinstance(data, dict) else {}
    if not isinstance(error, dict):
        error = {}
    code = int(error.get("code") or 0) if str(error.get("code", "0")).lstrip("-").isdigit() else 0
    subcode = int(error.get("error_subcode") or 0) if str(error.get("error_subcode", "0")).isdigit() else 0
    message = str(error.get("message") or reason)[:200]
    transient = status >= 500 or status == 429 or code in TRANSIENT_CODES
    return GraphError(status, code, subcode, message, transient)


class SendApi:
    def __init__(self, graph_url: str, page_token: str, timeout_s: float = 15.0) -> None:
        self.base = graph_url.rstrip("/")
        self.url = self.base + "/me/messages"
        self._params = {"access_token": page_token}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=5.0)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession belongs to the running event loop.
        if self._session is None or self._session.closed:
            # Keep every connection alive: reopening TCP connections per burst costs CPU on both sides.
            connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=60.0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", self.url, body=body)

    async def _request(self, method: str, url: str, body: dict[str, Any] | None = None,
                       fields: str | None = None) -> dict[str, Any]:
        params = self._params if fields is None else {**self._params, "fields": fields}
        data, headers = (orjson.dumps(body), {"Content-Type": "application/json"}) if body is not None else (None, None)
        try:
            async with self._client().request(method, url, params=params, data=data, headers=headers) as response:
                status, reason, raw = response.status, response.reason or "", await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise GraphError(0, 0, 0, type(exc).__name__, transient=True) from None
        if status != 200:
            raise _graph_error(status, reason, raw)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise GraphError(200, 0, 0, "unreadable response", transient=True) from None
        if not isinstance(data, dict):
            raise GraphError(200, 0, 0, "unreadable response", transient=True)
        return data

    async def send(self, psid: str, message: dict[str, Any], messaging_type: str = "RESPONSE",
                   tag: str | None = None) -> SendResult:
        body: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": messaging_type, "message": message}
        if tag:
            body["tag"] = tag
        data = await self._post(body)
        return SendResult(str(data.get("recipient_id", psid)), str(data.get("message_id", "")))

    async def sender_action(self, psid: str, action: str) -> None:
        await self._post({"recipient": {"id": psid}, "sender_action": action})

    async def profile(self, psid: str) -> dict[str, Any]:
        """The User Profile API: what the customer who wrote to the page lets it see of their name."""
        return await self._request("GET", f"{self.base}/{quote(psid, safe='')}", fields="first_name,last_name")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
