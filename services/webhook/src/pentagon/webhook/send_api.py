"""Messenger Send API client: one pooled httpx.AsyncClient for the whole process.

POST {MESSENGER_GRAPH_URL}/me/messages?access_token=<page token>. The token is
only ever put in the query string of the request; errors are reported by
Graph code and our own words, never by the URL (which carries the token).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

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


def quick_replies(titles: Any) -> list[dict[str, str]]:
    if not isinstance(titles, list):
        return []
    out = []
    for title in titles:
        if isinstance(title, str) and title.strip():
            out.append({"content_type": "text", "title": title.strip()[:MAX_QR_TITLE],
                        "payload": title.strip()[:MAX_QR_PAYLOAD]})
        if len(out) == MAX_QUICK_REPLIES:
            break
    return out


def _graph_error(response: httpx.Response) -> GraphError:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    code = int(error.get("code") or 0) if str(error.get("code", "0")).lstrip("-").isdigit() else 0
    subcode = int(error.get("error_subcode") or 0) if str(error.get("error_subcode", "0")).isdigit() else 0
    message = str(error.get("message") or response.reason_phrase)[:200]
    transient = response.status_code >= 500 or response.status_code == 429 or code in TRANSIENT_CODES
    return GraphError(response.status_code, code, subcode, message, transient)


class SendApi:
    def __init__(self, graph_url: str, page_token: str, timeout_s: float = 15.0) -> None:
        self.url = graph_url.rstrip("/") + "/me/messages"
        self._token = page_token
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            # Keep every connection alive: closing the ones above a smaller keep-alive pool made each
            # burst of sends open new TCP connections (CPU on both sides).
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        )

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.client.post(self.url, params={"access_token": self._token}, json=body)
        except httpx.HTTPError as exc:
            raise GraphError(0, 0, 0, type(exc).__name__, transient=True) from None
        if response.status_code != 200:
            raise _graph_error(response)
        try:
            return response.json()
        except ValueError:
            raise GraphError(200, 0, 0, "unreadable response", transient=True) from None

    async def send(self, psid: str, message: dict[str, Any], messaging_type: str = "RESPONSE",
                   tag: str | None = None) -> SendResult:
        body: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": messaging_type, "message": message}
        if tag:
            body["tag"] = tag
        data = await self._post(body)
        return SendResult(str(data.get("recipient_id", psid)), str(data.get("message_id", "")))

    async def sender_action(self, psid: str, action: str) -> None:
        await self._post({"recipient": {"id": psid}, "sender_action": action})

    async def close(self) -> None:
        await self.client.aclose()
