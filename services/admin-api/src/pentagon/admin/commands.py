"""Admin changes go to tracking as NATS requests (tracking.cmd.<action>); admin-api never writes the database."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from typing import Any

from nats.aio.client import Client
from nats.errors import ConnectionClosedError, NoRespondersError, TimeoutError as NatsTimeoutError
from prometheus_client import Histogram

from pentagon.admin.errors import ApiError, available, not_found, unavailable
from pentagon.admin.kvrecords import KvRecords
from pentagon.common.bus import Subjects
from pentagon.common.proto import tracking_pb2 as tpb

log = logging.getLogger(__name__)

ACTIONS = frozenset({"close", "reopen", "takeover", "handback", "assign", "priority", "labels", "note", "mark_human",
                     "mark_replied", "delete_user", "revoke_access", "restore_access", "issue_token",
                     "withdraw_token", "block_user", "unblock_user", "knowledge_put", "knowledge_delete",
                     "menu_sold_out", "menu_on_sale", "day_closed", "day_reopened",
                     "menu_price", "menu_price_reset"})
COMMAND_SECONDS = Histogram("admin_command_seconds", "Round trip of admin commands to tracking", ["action"])

_ERROR_STATUS = {"not_found": 404, "illegal_transition": 409, "invalid": 422, "unavailable": 503}


def command_id_for(actor: str, idempotency_key: str | None) -> str:
    """A client-supplied Idempotency-Key makes a retried request the same command (tracking answers it once)."""
    if not idempotency_key:
        return uuid.uuid4().hex
    return "k:" + hashlib.sha256(f"{actor}\x00{idempotency_key}".encode("utf-8", "surrogatepass")).hexdigest()[:40]


class CommandClient:
    def __init__(self, nc: Client, timeout: float) -> None:
        self._nc = nc
        self._timeout = timeout

    async def send(self, action: str, actor: str, *, conversation_id: int = 0, message_id: int = 0,
                   params: dict[str, Any] | None = None, command_id: str | None = None) -> dict[str, Any]:
        """Apply one command; returns tracking's result row, or raises ApiError with the mapped status."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action}")
        command = tpb.Command(
            command_id=command_id or uuid.uuid4().hex, action=action, conversation_id=conversation_id,
            message_id=message_id, actor=actor, params_json=json.dumps(params or {}, ensure_ascii=False),
        )
        reply = await self._request(action, command)
        if not reply.ok:
            raise _reply_error(reply)
        log.info("command applied", extra={"action": action, "command_id": command.command_id,
                                           "conversation_id": conversation_id or None, "message_id": message_id or None})
        return json.loads(reply.result_json) if reply.result_json else {}

    async def _request(self, action: str, command: tpb.Command) -> tpb.CommandReply:
        started = time.perf_counter()
        try:
            msg = await self._nc.request(Subjects.command(action), command.SerializeToString(), timeout=self._timeout)
        except (NatsTimeoutError, NoRespondersError, ConnectionClosedError, TimeoutError) as exc:
            log.warning("command not answered", extra={"action": action, "command_id": command.command_id,
                                                       "error": type(exc).__name__})
            raise unavailable("tracking did not answer, retry later") from None
        finally:
            COMMAND_SECONDS.labels(action).observe(time.perf_counter() - started)
        reply = tpb.CommandReply()
        try:
            reply.ParseFromString(msg.data)
        except Exception:  # noqa: BLE001 - a garbled reply is tracking's fault, not the caller's
            raise unavailable("tracking answered with an unreadable reply") from None
        return reply


def _reply_error(reply: tpb.CommandReply) -> ApiError:
    status = _ERROR_STATUS.get(reply.error_code, 503)
    code = reply.error_code if reply.error_code in _ERROR_STATUS else "unavailable"
    return ApiError(status, code, reply.error_message or code)


async def delete_recorded(commands: CommandClient | None, rows: KvRecords, row_id: str, *, what: str, action: str,
                          actor: str, idempotency_key: str | None) -> None:
    """Delete one row of an admin-api bucket and record who did (404 naming `what` when there is none)."""
    if not await rows.delete(row_id):
        raise not_found(what)
    await record_bucket_change(commands, action, row_id, actor, idempotency_key)


async def record_bucket_change(commands: CommandClient | None, action: str, row_id: str, actor: str,
                               idempotency_key: str | None, extra: dict[str, Any] | None = None) -> None:
    """The audit row of a change made in one of admin-api's KV buckets (the change is already made).

    Keyed by the row, so a retry of the same request (same Idempotency-Key) is recorded once.
    """
    key = idempotency_key and f"{action}:{row_id}:{idempotency_key}"
    await available(commands).send(action, actor, params={"id": row_id, **(extra or {})},
                                   command_id=command_id_for(actor, key))
