"""Web chat API (``/api/chat``), used by the Streamlit client through the gateway.

A session token names its user id; every call acts only on that user's
conversation, so one session can never read or write another's. Rate limits:
per session and per client address, token buckets per replica.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import KeyWrongLastSequenceError

from pentagon.common import rating
from pentagon.common.bus import Subjects, user_token
from pentagon.common.events import publish, timestamp
from pentagon.common.jsonrow import dumps, iso
from pentagon.common.proto import events_pb2 as pb
from pentagon.webhook.chat_sessions import USER_ID, ChatSession, bearer, new_user_id
from pentagon.webhook.chat_updates import poll
from pentagon.webhook.metrics import CHAT_REQUESTS
from pentagon.common.ratelimit import SharedTokenBucket, client_address
from pentagon.webhook.replies import generate_reply, rating_thanks
from pentagon.webhook.routes.common import BodyTooLarge, error, parse_json, rate_limited, read_body, runtime
from pentagon.webhook.runtime import Runtime, key_hash
from pentagon.webhook.sanitize import Invalid, clean_str, opt_str

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/chat")

PLATFORM = "web"
MAX_BODY = 16 * 1024
MAX_NAME = 100
MAX_IDEMPOTENCY_KEY = 200


class Refused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


async def _limit(bucket: SharedTokenBucket, key: str) -> None:
    refused = await rate_limited(bucket, key)
    if refused is not None:
        raise Refused(refused)


async def _limit_ip(rt: Runtime, request: Request) -> None:
    await _limit(rt.ip_limit, client_address(request, rt.trusted))


def _session(rt: Runtime, request: Request) -> ChatSession:
    session = rt.sessions.verify(bearer(request.headers.get("authorization")))
    if session is None:
        raise Refused(error(401, "unauthorized", "missing, invalid or expired session token",
                            {"WWW-Authenticate": "Bearer"}))
    return session


async def _json_body(request: Request, allow_empty: bool = False) -> dict[str, Any]:
    try:
        body = await read_body(request, MAX_BODY)
    except BodyTooLarge:
        raise Refused(error(413, "too_large", "body too large")) from None
    if allow_empty and not body.strip():
        return {}
    try:
        value = parse_json(body)
    except ValueError:
        raise Refused(error(400, "bad_json", "body is not valid JSON")) from None
    if not isinstance(value, dict):
        raise Refused(error(422, "invalid", "body must be a JSON object"))
    return value


def _invalid(message: str) -> Refused:
    return Refused(error(422, "invalid", message))


async def _claim(rt: Runtime, request: Request, wanted: Any) -> str:
    """The user id for a new session: minted, renewed by its own token, or claimed once if unused."""
    if wanted is None:
        user_id = new_user_id()
    elif not isinstance(wanted, str) or not USER_ID.match(wanted):
        raise _invalid("user_id must be 1-64 characters of A-Z a-z 0-9 _ -")
    else:
        user_id = wanted
        current = rt.sessions.verify(bearer(request.headers.get("authorization")), leeway_s=rt.settings.chat_session_ttl_s)
        if current is not None and current.user_id == user_id:
            return user_id
    try:
        await rt.chat_users.create(user_token(user_id), str(int(time.time())).encode())
    except KeyWrongLastSequenceError:
        raise Refused(error(403, "forbidden", "this user_id belongs to another session")) from None
    return user_id


async def _handle(endpoint: str, work) -> Response:  # type: ignore[no-untyped-def]
    try:
        response = await work()
        CHAT_REQUESTS.labels(endpoint, "ok").inc()
        return response
    except Refused as refused:
        CHAT_REQUESTS.labels(endpoint, str(refused.response.status_code)).inc()
        return refused.response
    except (NatsTimeout, asyncio.TimeoutError, ConnectionError) as exc:
        log.warning("web chat unavailable", extra={"endpoint": endpoint, "error": type(exc).__name__})
        CHAT_REQUESTS.labels(endpoint, "503").inc()
        return error(503, "unavailable", "try again later")


@router.post("/session")
async def create_session(request: Request) -> Response:
    rt = runtime(request)

    async def work() -> Response:
        await _limit_ip(rt, request)
        body = await _json_body(request, allow_empty=True)
        try:
            name = opt_str(body.get("name"), MAX_NAME, "name") or ""
        except Invalid:
            raise _invalid(f"name must be a string of at most {MAX_NAME} characters") from None
        user_id = await _claim(rt, request, body.get("user_id"))
        token, expires_at = rt.sessions.issue(user_id, name.strip())
        expires = iso(datetime.fromtimestamp(expires_at, tz=timezone.utc))
        return JSONResponse({"session_token": token, "user_id": user_id, "expires_at": expires})

    return await _handle("session", work)


def _event_id(session: ChatSession, idempotency_key: str | None) -> str:
    """From the client's Idempotency-Key when it sends one (as admin-api's actions take it), so a
    retried POST is the same message."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise _invalid(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    return "w:" + key_hash(f"{session.user_id}\n{idempotency_key}")


def _user_event(session: ChatSession, body: dict[str, Any], max_chars: int,
                idempotency_key: str | None = None) -> pb.MessageEvent:
    try:
        text = clean_str(body.get("text"), max_chars, "text").strip()
        payload = opt_str(body.get("quick_reply_payload"), 1000, "quick_reply_payload")
    except Invalid:
        raise _invalid(f"text must be a string of 1 to {max_chars} characters; quick_reply_payload at most 1000") from None
    if not text:
        raise _invalid("text must not be empty")
    event_id = _event_id(session, idempotency_key)
    metadata: dict[str, Any] = {}
    conversation: dict[str, Any] = {}  # merged into the conversation by tracking
    if payload is not None:
        metadata["quick_reply"] = {"payload": payload}
    rated = rating.parse(payload)
    if rated is not None:  # the answer to "How did we do?": filed under the question's conversation
        answer = rating.answer_metadata(rated, datetime.now(timezone.utc))
        metadata["rating"] = answer["rating"]
        conversation.update(answer["conversation"])
    if session.name:
        metadata["user_name"] = session.name
        conversation["user_name"] = session.name  # the staff see who they talk to
    if conversation:
        metadata["conversation"] = conversation
    kind = rating.KIND if rated is not None else "quick_reply" if payload is not None else "text"
    return pb.MessageEvent(
        event_id=event_id, occurred_at=timestamp(), key=pb.ConversationKey(platform=PLATFORM, user_id=session.user_id),
        sender=pb.SENDER_USER, content=text, kind=kind, channel=pb.CHANNEL_MESSAGING, metadata_json=dumps(metadata),
        reply_to_event_id=rated.request_event_id if rated is not None else "",
    )


def _matches(update: pb.UpdateEvent, event_id: str) -> bool:
    if update.event_id == event_id:
        return True
    try:
        return json.loads(update.row_json or "{}").get("event_id") == event_id
    except (ValueError, AttributeError):
        return False


async def _await_update(sub, event_id: str, timeout: float) -> pb.UpdateEvent | None:  # type: ignore[no-untyped-def]
    """Tracking's update for our message, or None if it does not come in time (tracking slow or down)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        try:
            msg = await sub.next_msg(timeout=left)
        except (NatsTimeout, asyncio.TimeoutError):
            return None
        try:
            update = pb.UpdateEvent.FromString(msg.data)
        except Exception:  # noqa: BLE001
            continue
        if _matches(update, event_id):
            return update
    return None


async def _post_message(rt: Runtime, session: ChatSession, event: pb.MessageEvent) -> dict[str, Any]:
    user = session.user_id
    sub = await rt.nc.subscribe(Subjects.update("message", PLATFORM, user))
    try:
        ack = await publish(rt.js, Subjects.incoming(PLATFORM, user), event, event.event_id,
                            rt.settings.webhook_publish_timeout_s)
        # A retried POST inside the stream's duplicate window: the stream dropped it, so tracking
        # publishes nothing to wait for (the first POST's answer carried the ids).
        wait_s = 0.0 if ack.duplicate else rt.settings.chat_update_wait_ms / 1000
        update = await _await_update(sub, event.event_id, wait_s) if wait_s else None
    finally:
        await sub.unsubscribe()
    mode = await rt.modes.for_reply(PLATFORM, user, update.mode if update and update.mode else None)
    conversation_id = update.conversation_id if update and update.conversation_id else None
    result: dict[str, Any] = {
        "conversation_id": conversation_id, "user_message_id": update.message_id if update and update.message_id else None,
        "event_id": event.event_id, "mode": mode, "reply": None,
    }
    if event.kind == rating.KIND:
        # Thanked whatever the mode: the question came after staff closed the conversation.
        thanks = rating_thanks(event, needs_delivery=False)
        await publish(rt.js, Subjects.outgoing(PLATFORM, user), thanks, thanks.event_id, rt.settings.webhook_publish_timeout_s)
        result["reply"] = {"text": thanks.content, "confidence": None, "requires_human": False,
                           "escalation_reason": None, "quick_replies": [], "event_id": thanks.event_id}
        return result
    if mode != "bot":
        return result
    thread = await rt.history.read_quietly(PLATFORM, user)
    reply, quick = await generate_reply(rt.agent, event, thread.turns if thread else [], needs_delivery=False,
                                        conversation_id=conversation_id or 0)
    # Answered before (a retry): the client gets an answer again, but the stream drops this copy
    # of the reply (same id) and the history keeps the turns once.
    await publish(rt.js, Subjects.outgoing(PLATFORM, user), reply, reply.event_id, rt.settings.webhook_publish_timeout_s)
    if reply.requires_human:
        rt.modes.note_escalation(PLATFORM, user)
    if thread is None or event.event_id not in thread.answered:
        await rt.history.append(PLATFORM, user, ("user", event.content), ("bot", reply.content),
                                base=thread, answered=event.event_id)
    result["reply"] = {
        "text": reply.content, "confidence": reply.confidence, "requires_human": reply.requires_human,
        "escalation_reason": reply.escalation_reason or None, "quick_replies": quick, "event_id": reply.event_id,
    }
    return result


@router.post("/messages")
async def post_message(request: Request) -> Response:
    rt = runtime(request)

    async def work() -> Response:
        await _limit_ip(rt, request)
        session = _session(rt, request)
        if rt.blocked.is_blocked(PLATFORM, session.user_id):
            # Refused, not acknowledged: nothing of it is stored (admin-api routes/customers.py).
            raise Refused(error(403, "blocked", "this chat is not available"))
        await _limit(rt.session_limit, session.user_id)
        body = await _json_body(request)
        event = _user_event(session, body, rt.settings.chat_max_text_chars, request.headers.get("idempotency-key"))
        result = await _post_message(rt, session, event)
        log.info("web message handled", extra={"event_id": event.event_id, "mode": result["mode"]})
        return JSONResponse(result)

    return await _handle("messages", work)


def _poll_params(request: Request, max_wait: float) -> tuple[int, float]:
    try:
        after = int(request.query_params.get("after", "0"))
        wait = float(request.query_params.get("wait", "25"))
    except ValueError:
        raise _invalid("after must be an integer and wait a number") from None
    if after < 0 or after > 2**63 or wait != wait:
        raise _invalid("after must be >= 0")
    return after, min(max(wait, 0.0), max_wait)


@router.get("/updates")
async def updates(request: Request) -> Response:
    rt = runtime(request)

    async def work() -> Response:
        await _limit_ip(rt, request)
        session = _session(rt, request)
        await _limit(rt.poll_limit, session.user_id)
        after, wait = _poll_params(request, rt.settings.chat_longpoll_max_s)
        frames, last = await poll(rt, session.user_id, after, wait)
        return JSONResponse({"updates": frames, "last_seq": last})

    return await _handle("updates", work)
