"""Messenger data deletion callback and its status page.

POST /webhook/data-deletion (form field ``signed_request``, HMAC-SHA256 with
the app secret) publishes ConversationEvent DELETE_USER_DATA for tracking,
which erases the user's conversations and messages and then publishes
``updates.user_deleted.messenger.<u>``. The status endpoint reports
``completed`` once that update is in the UPDATES stream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from nats.js.errors import KeyNotFoundError, NotFoundError

from pentagon.common.bus import UPDATES_STREAM, Subjects, user_token
from pentagon.common.events import publish, timestamp_ms
from pentagon.common.proto import events_pb2 as pb
from pentagon.common.ratelimit import client_address
from pentagon.webhook.routes.common import BodyTooLarge, error, rate_limited, read_body, runtime
from pentagon.webhook.sanitize import Invalid, clean_id
from pentagon.webhook.signature import parse_signed_request

log = logging.getLogger(__name__)
router = APIRouter()

PLATFORM = "messenger"
STATUS_PATH = "/webhook/data-deletion/status"
_CODE = re.compile(r"^[0-9a-f]{20}$")


def confirmation_code(user_id: str, issued_at: object) -> str:
    return hashlib.sha256(f"delete|{user_id}|{issued_at}".encode()).hexdigest()[:20]


def _signed_request(body: bytes) -> str:
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    values = fields.get("signed_request") or []
    return values[0] if values else ""


async def _updates_seq(rt) -> int:  # type: ignore[no-untyped-def]
    info = await rt.js.stream_info(UPDATES_STREAM)
    return int(info.state.last_seq or 0)


@router.post("/webhook/data-deletion")
async def request_deletion(request: Request) -> Response:
    rt = runtime(request)
    refused = await rate_limited(rt.ip_limit, client_address(request, rt.trusted))
    if refused is not None:
        return refused
    try:
        body = await read_body(request, 16 * 1024)
    except BodyTooLarge:
        return error(413, "too_large", "body too large")
    signed = _signed_request(body)
    if not signed:
        return error(400, "bad_request", "signed_request is required")
    payload = parse_signed_request(signed, rt.settings.secret("messenger_app_secret"))
    if payload is None:
        log.warning("data deletion request with a bad signature")
        return error(403, "bad_signature", "signed_request is not valid")
    try:
        user_id = clean_id(payload.get("user_id"), "user_id")
    except Invalid:
        return error(400, "bad_request", "signed_request has no user_id")
    code = confirmation_code(user_id, payload.get("issued_at"))
    event = pb.ConversationEvent(
        event_id=f"del:{code}", occurred_at=timestamp_ms(int(time.time() * 1000)),
        key=pb.ConversationKey(platform=PLATFORM, user_id=user_id), action=pb.CONVERSATION_DELETE_USER_DATA,
        reason="messenger_data_deletion_callback", actor="messenger",
    )
    try:
        record = {"u": user_token(user_id), "after_seq": await _updates_seq(rt), "at": int(time.time())}
        await rt.deletions.put(code, json.dumps(record).encode())
        await publish(rt.js, Subjects.conversation(PLATFORM, user_id), event, event.event_id,
                      rt.settings.webhook_publish_timeout_s)
    except Exception as exc:  # noqa: BLE001 - NATS unavailable: Facebook retries
        log.warning("data deletion not recorded", extra={"error": type(exc).__name__})
        return error(503, "unavailable", "try again later")
    await rt.history.forget(PLATFORM, user_id)
    log.info("data deletion requested", extra={"event_id": event.event_id})
    url = rt.settings.public_url.rstrip("/") + f"{STATUS_PATH}?code={code}"
    return JSONResponse({"url": url, "confirmation_code": code})


@router.get(STATUS_PATH)
async def deletion_status(request: Request, code: str = "") -> Response:
    rt = runtime(request)
    if not _CODE.match(code):
        return error(404, "not_found", "unknown confirmation code")
    try:
        record = json.loads((await rt.deletions.get(code)).value or b"{}")
    except KeyNotFoundError:
        return error(404, "not_found", "unknown confirmation code")
    except Exception:  # noqa: BLE001
        return error(503, "unavailable", "try again later")
    status = "pending"
    try:
        last = await rt.js.get_msg(UPDATES_STREAM, subject=f"updates.user_deleted.{PLATFORM}.{record['u']}")
        if int(last.seq or 0) > int(record.get("after_seq", 0)):
            status = "completed"
    except NotFoundError:
        pass
    except Exception:  # noqa: BLE001
        return error(503, "unavailable", "try again later")
    return JSONResponse({"confirmation_code": code, "status": status})
