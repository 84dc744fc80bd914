"""/admin/ws: live frames with stream sequence numbers, replay from ?since= on reconnect.

Protocol (docs/services/admin-api.md): auth first (close 4401/4403/4429), then
{"type": "hello", "seq": last}, then missed frames (since < seq <= last) or a
{"type": "resync"} frame when they are no longer available, then live frames.
With ?batch=1, frames that are already waiting when the client's writer wakes up
travel together as one {"type": "batch", "frames": [...]} message. A socket opened with a
Supabase JWT is closed with 4401 "token expired" when that token expires, and any socket with
4401 "revoked" when an admin revokes its name. Clients may say what their user is doing
(presence.py); nothing else they send is read.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from pentagon.admin.auth import authenticate
from pentagon.admin.errors import ApiError
from pentagon.admin.live import BATCH_MAX_CHARS, LiveClient, UpdatesHub, control_frame, pack_frames
from pentagon.admin.presence import SocketPresence
from pentagon.admin.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_INVALID = 4422
CLOSE_UNAVAILABLE = 1013
CLOSE_THROTTLED = 4429  # too many refused tokens from this address: retry later, as the HTTP 429 says
_AUTH_CLOSES = {403: CLOSE_FORBIDDEN, 429: CLOSE_THROTTLED}


# Browsers cannot set headers on a WebSocket. The panel offers its token as a subprotocol,
# "bearer.<base64url of the token>", next to SUBPROTOCOL, so the token never sits in a URL
# (access logs, proxies, browser history); other clients send an Authorization header. A token
# in the query string is refused outright: accepting it would teach clients to leak it.
SUBPROTOCOL = "pentagon.v1"
BEARER_PROTOCOL = "bearer."
INVALID = "\x00invalid"  # never a configured token, never a JWT: refused like a wrong token


def _offered(websocket: WebSocket) -> list[str]:
    return list(websocket.scope.get("subprotocols") or [])


def _token(websocket: WebSocket) -> str | None:
    for protocol in _offered(websocket):
        if protocol.startswith(BEARER_PROTOCOL):
            encoded = protocol[len(BEARER_PROTOCOL):]
            try:
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8") or INVALID
            except (ValueError, UnicodeDecodeError):
                return INVALID
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _since(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("since")
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise ValueError("since must be a non-negative integer")
    return int(raw)


_FLAGS = {"": False, "0": False, "false": False, "1": True, "true": True}


def _batch(websocket: WebSocket) -> bool:
    raw = websocket.query_params.get("batch", "")
    if raw not in _FLAGS:
        raise ValueError("batch must be 0 or 1")
    return _FLAGS[raw]


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            # A stalled peer must not keep this handler (and its task) alive.
            await asyncio.wait_for(websocket.close(code=code, reason=reason), timeout=2.0)


@router.websocket("/admin/ws")
async def admin_ws(websocket: WebSocket) -> None:
    rt: Runtime = websocket.app.state.runtime
    # A browser that offered subprotocols drops a connection whose answer names none of them.
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in _offered(websocket) else None)
    if "token" in websocket.query_params:
        await _close(websocket, CLOSE_UNAUTHORIZED, "token_in_url: send it as an Authorization header")
        return
    try:
        identity = await authenticate(websocket, _token(websocket))
    except ApiError as exc:
        await _close(websocket, _AUTH_CLOSES.get(exc.status, CLOSE_UNAUTHORIZED), exc.code)
        return
    try:
        since = _since(websocket)
        batch = _batch(websocket)
    except ValueError as exc:
        await _close(websocket, CLOSE_INVALID, str(exc))
        return
    if rt.hub is None:
        await _close(websocket, CLOSE_UNAVAILABLE, "unavailable")
        return
    client = rt.hub.connect()
    revoked = asyncio.Event()
    if rt.access is not None:
        revoked = rt.access.revoked_event(identity.name)
    try:
        last_sent = await _catch_up(websocket, rt, rt.hub, since, batch)
        await _pump(websocket, client, last_sent, batch, identity.expires_at, revoked,
                    SocketPresence(rt.nc, identity, rt.open_conversation_key))
    except (WebSocketDisconnect, ConnectionError):
        pass
    except Exception as exc:  # noqa: BLE001 - one broken socket must never take others down
        log.warning("websocket ended", extra={"error": type(exc).__name__})
        await _close(websocket, 1011, "internal")
    finally:
        rt.hub.disconnect(client)
        if rt.access is not None:
            rt.access.forget(identity.name, revoked)


async def _catch_up(websocket: WebSocket, rt: Runtime, hub: UpdatesHub, since: int | None, batch: bool) -> int:
    """Sends hello and the missed frames; returns the last sequence the client has."""
    first, last = await hub.stream_bounds()
    await websocket.send_text(control_frame("hello", seq=last))
    if since is None or since == last:
        return last
    gone = since + 1 < first and since < last
    too_far = last - since > rt.settings.admin_ws_replay_max
    if since > last or gone or too_far:
        # The client must reload its state over REST; live frames continue after `last`.
        await websocket.send_text(control_frame("resync", seq=last, since=since))
        return last
    if not batch:
        async for _, text in hub.replay(since, last):
            await websocket.send_text(text)
        return last
    chunk: list[str] = []
    size = 0
    async for _, text in hub.replay(since, last):
        chunk.append(text)
        size += len(text)
        if size >= BATCH_MAX_CHARS:
            await _send_all(websocket, pack_frames(chunk))
            chunk, size = [], 0
    await _send_all(websocket, pack_frames(chunk))
    return last


async def _send_all(websocket: WebSocket, texts: list[str]) -> None:
    for text in texts:
        await websocket.send_text(text)


async def _pump(websocket: WebSocket, client: LiveClient, last_sent: int, batch: bool,
                expires_at: float | None, revoked: asyncio.Event, presence: SocketPresence) -> None:
    writer = asyncio.create_task(_write(websocket, client, last_sent, batch))
    reader = asyncio.create_task(_read(websocket, presence))
    slow = asyncio.create_task(client.overflowed.wait())
    # A socket lives no longer than the token that opened it: a revoked Supabase session (a staff
    # member removed) stops receiving when its last access token expires, not at the next reconnect.
    expired = asyncio.create_task(_until(expires_at))
    # Nor longer than an admin allows: revoking a name (access.py) closes its sockets on every replica.
    locked_out = asyncio.create_task(revoked.wait())
    done, pending = await asyncio.wait({writer, reader, slow, expired, locked_out},
                                       return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if slow in done:
        log.info("slow websocket client cut off")
        await _close(websocket, CLOSE_TOO_SLOW, "too slow: reconnect with since")
    elif expired in done:
        await _close(websocket, CLOSE_UNAUTHORIZED, "token expired")
    elif locked_out in done:
        await _close(websocket, CLOSE_UNAUTHORIZED, "revoked")
    for task in done:
        if task not in (slow, expired, locked_out) and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def _until(expires_at: float | None) -> None:
    if expires_at is None:
        await asyncio.Event().wait()  # static tokens do not expire
    else:
        await asyncio.sleep(max(0.0, expires_at - time.time()))


async def _write(websocket: WebSocket, client: LiveClient, last_sent: int, batch: bool) -> None:
    while True:
        # Wake up once per burst and take everything already queued. With batching, a burst is one
        # socket write however long it is: under load bursts grow instead of latency (the fan-out's
        # main cost is one write per client per message, not the bytes).
        texts = []
        for seq, text in await client.take():
            if seq and seq <= last_sent:
                continue  # already sent during the replay
            texts.append(text)
            if seq:
                last_sent = seq
        await _send_all(websocket, pack_frames(texts) if batch else texts)


async def _read(websocket: WebSocket, presence: SocketPresence) -> None:
    # Clients only say what their user is doing (presence.py); reading is also how we notice they left.
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        await presence.heard(message.get("text"))
