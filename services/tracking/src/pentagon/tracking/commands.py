"""Admin commands: NATS requests on tracking.cmd.<action> (queue group `tracking`).

Each is applied by the pentagon_command SQL function in one transaction with its
admin_actions row; the reply carries the row after the change, then the change
is published like any other (UpdateEvent + conversation_mode).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from pentagon.common.bus import COMMAND_SUBJECT
from pentagon.common.jsonrow import CONVERSATION_COLUMNS, MESSAGE_COLUMNS, dumps
from pentagon.common.proto import tracking_pb2 as tpb
from pentagon.tracking import metrics
from pentagon.tracking.store import Store, StoreConflict, StoreRejected, StoreUnavailable
from pentagon.tracking.updates import (
    ModeChange, Update, UpdatePublisher, as_row, conversation_update, customer_update, deleted_update,
)

log = logging.getLogger(__name__)

QUEUE = "tracking"
ACTIONS = frozenset({"close", "reopen", "takeover", "handback", "assign", "priority", "labels", "note", "mark_human",
                     "mark_replied", "delete_user", "purge", "revoke_access", "restore_access", "issue_token",
                     "withdraw_token", "block_user", "unblock_user", "knowledge_put", "knowledge_delete",
                     "menu_sold_out", "menu_on_sale", "day_closed", "day_reopened",
                     "menu_price", "menu_price_reset"})
MAX_PARAMS_BYTES = 16 * 1024
MAX_ID_CHARS = 200


class CommandError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_command(data: bytes, subject: str) -> dict[str, Any]:
    command = tpb.Command()
    try:
        command.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - any garbage is the caller's error
        raise CommandError("invalid", "undecodable command") from exc
    action = subject.rsplit(".", 1)[-1]
    if action not in ACTIONS or (command.action and command.action != action):
        raise CommandError("invalid", "unknown action")
    if not command.command_id or len(command.command_id) > MAX_ID_CHARS or "\x00" in command.command_id:
        raise CommandError("invalid", "command_id is required (at most 200 characters)")
    if len(command.params_json) > MAX_PARAMS_BYTES or "\\u0000" in command.params_json:
        raise CommandError("invalid", "params_json is too large or contains NUL")
    try:
        params = json.loads(command.params_json) if command.params_json else {}
    except ValueError as exc:
        raise CommandError("invalid", "params_json is not JSON") from exc
    if not isinstance(params, dict):
        raise CommandError("invalid", "params_json must be a JSON object")
    return {"command_id": command.command_id, "action": action, "conversation_id": command.conversation_id,
            "message_id": command.message_id, "actor": command.actor.replace("\x00", "")[:MAX_ID_CHARS],
            "params": params}


def plan_command(command_id: str, result: dict[str, Any]) -> tuple[dict[str, Any], list[Update], list[ModeChange]]:
    """(reply row, updates, mode changes) of a successful command result."""
    kind = result["kind"]
    prefix = f"cmd:{command_id}"
    if kind == "staff_access":
        # Recorded in admin_actions; nothing changed in conversations (staff access, taught answers).
        return result["row"], [], []
    if kind == "customer_access":
        row = result["row"]
        # Audit rows written before functions revision 8 do not say which way the block went.
        updates = [customer_update(row, f"{prefix}:customer")] if "blocked" in row else []
        return row, updates, []
    if kind == "user_deleted":
        row = result["row"]
        return row, [deleted_update(row, f"{prefix}:user_deleted")], [ModeChange(row["platform"], row["user_id"], None)]
    if kind == "conversation_purged":
        row = result["row"]
        # A replay answers the audit record, which keeps no customer id: the update then goes out
        # under an empty one (panels go by the conversation id).
        purged = Update("conversation_deleted", row["platform"], result.get("user_id") or "", dumps(row),
                        f"{prefix}:purged", row["id"])
        return row, [purged], []
    updates: list[Update] = []
    modes: list[ModeChange] = []
    conversation = conversation_update(result["conversation"]) if result.get("conversation") else None
    if kind == "message":
        row = as_row(result["row"], MESSAGE_COLUMNS)
        if conversation is not None:
            updates.append(Update("message", conversation.platform, conversation.user_id, dumps(row),
                                  f"{prefix}:message", row["conversation_id"], row["id"], conversation.mode))
    else:
        row = as_row(result["conversation"], CONVERSATION_COLUMNS) if conversation else {}
    if conversation is not None:
        updates.append(conversation)
        if result.get("mode_changed"):
            raw = result["conversation"]
            modes.append(ModeChange(conversation.platform, conversation.user_id, conversation.mode,
                                    raw["id"], raw.get("mode_version", 0)))
    return row, updates, modes


class CommandHandler:
    def __init__(self, nc: Client, store: Store, publisher: UpdatePublisher) -> None:
        self._nc = nc
        self._store = store
        self._publisher = publisher
        self._sub: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(f"{COMMAND_SUBJECT}.*", queue=QUEUE, cb=self._on_message)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    async def _on_message(self, msg: Msg) -> None:
        # One task per request: a slow command must not hold up the others.
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        reply = await self.apply(msg.data, msg.subject)
        if msg.reply:
            try:
                await msg.respond(reply.SerializeToString())
            except Exception:  # noqa: BLE001 - the caller is gone; it will retry with the same command_id
                log.warning("command reply not sent")

    async def apply(self, data: bytes, subject: str) -> tpb.CommandReply:
        action = subject.rsplit(".", 1)[-1][:32]
        try:
            command = parse_command(data, subject)
            result = await self._execute(command)
            if not result.get("ok"):
                raise CommandError(result.get("code", "invalid"), result.get("message", "rejected"))
            row, updates, modes = plan_command(command["command_id"], result)
        except CommandError as exc:
            metrics.COMMANDS.labels(action, exc.code).inc()
            return tpb.CommandReply(ok=False, error_code=exc.code, error_message=str(exc))
        await self._publish(updates, modes, command["command_id"])
        metrics.COMMANDS.labels(action, "ok").inc()
        log.info("command applied", extra={"command_id": command["command_id"], "action": action,
                                           "conversation_id": command["conversation_id"] or None,
                                           "message_id": command["message_id"] or None})
        return tpb.CommandReply(ok=True, result_json=dumps(row))

    async def _execute(self, command: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(5):
            try:
                return await self._store.command(command)
            except StoreConflict:
                await asyncio.sleep(0.01 * (attempt + 1))
            except StoreRejected as exc:
                raise CommandError("invalid", "the database refused these values") from exc
            except StoreUnavailable as exc:
                raise CommandError("unavailable", "database unavailable, retry later") from exc
        raise CommandError("unavailable", "busy, retry later")

    async def _publish(self, updates: list[Update], modes: list[ModeChange], command_id: str) -> None:
        # Committed already: a retried command (same id) republishes the same update ids.
        try:
            await self._publisher.publish(updates, modes)
        except Exception as exc:  # noqa: BLE001
            log.warning("command updates not published", extra={"command_id": command_id, "error": type(exc).__name__})
