"""After a commit: UpdateEvents on updates.<kind>.<platform>.<u> and the conversation_mode bucket.

Every update carries a deterministic Nats-Msg-Id, so a batch replayed after a
crash between commit and ack republishes the same ids and the UPDATES stream
keeps one copy (within its duplicate window).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from pentagon.common.bus import MODE_BUCKET, mode_key, user_token
from pentagon.common.events import timestamp
from pentagon.common.jsonrow import CONVERSATION_COLUMNS, dumps, row_to_dict
from pentagon.common.proto import events_pb2 as pb
from pentagon.tracking import metrics
from pentagon.tracking.erasure import BusEraser
from pentagon.tracking.wire import pub_frame, send_frames

log = logging.getLogger(__name__)

TIMESTAMP_COLUMNS = frozenset({"created_at", "updated_at", "last_message_at", "closed_at", "timestamp",
                               "delivered_at", "read_at", "waiting_since"})
MODES = {"active": "bot", "human": "human", "closed": "closed"}
MODE_WRITES_AT_ONCE = 64
MODE_CAS_ATTEMPTS = 20
KINDS = {
    "message": pb.UPDATE_MESSAGE_CREATED,
    "conversation": pb.UPDATE_CONVERSATION_CHANGED,
    "delivery": pb.UPDATE_DELIVERY_CHANGED,
    "user_deleted": pb.UPDATE_USER_DELETED,
    "customer": pb.UPDATE_CUSTOMER_CHANGED,
    "conversation_deleted": pb.UPDATE_CONVERSATION_DELETED,
}


def as_row(raw: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """A row that came back as jsonb, made identical to what admin-api gets from asyncpg + row_to_dict."""
    typed: dict[str, Any] = {}
    for name in columns:
        value = raw.get(name)
        if name in TIMESTAMP_COLUMNS and isinstance(value, str):
            value = datetime.fromisoformat(value)
        typed[name] = value
    return row_to_dict(typed)


class Update:
    __slots__ = ("kind", "platform", "user_id", "row_json", "msg_id", "conversation_id", "message_id", "mode")

    def __init__(self, kind: str, platform: str, user_id: str, row_json: str, msg_id: str,
                 conversation_id: int = 0, message_id: int = 0, mode: str = "") -> None:
        self.kind, self.platform, self.user_id, self.row_json, self.msg_id = kind, platform, user_id, row_json, msg_id
        self.conversation_id, self.message_id, self.mode = conversation_id, message_id, mode

    def event(self, occurred_at: Any = None) -> pb.UpdateEvent:
        return pb.UpdateEvent(
            event_id=self.msg_id, occurred_at=occurred_at or timestamp(),
            key=pb.ConversationKey(platform=self.platform, user_id=self.user_id),
            kind=KINDS[self.kind], conversation_id=self.conversation_id, message_id=self.message_id,
            row_json=self.row_json, mode=self.mode)


def message_update(kind: str, item: dict[str, Any], msg_id: str) -> Update:
    """From pentagon_message_out: the row is already JSON text in row_to_dict's format."""
    return Update(kind, item["platform"], item["user_id"], item["row_json"], msg_id, item["conversation_id"],
                  item["id"], MODES.get(item.get("status", ""), ""))


def conversation_row_update(row: dict[str, Any], msg_id_prefix: str = "conversation") -> Update:
    """From a row already in row_to_dict form (commands)."""
    return Update("conversation", row["platform"], row["user_id"], dumps(row),
                  f"{msg_id_prefix}:{row['id']}:{row['updated_at']}", row["id"], 0, MODES[row["status"]])


def conversation_update(raw: dict[str, Any]) -> Update:
    return conversation_row_update(as_row(raw, CONVERSATION_COLUMNS))


class ModeChange:
    """mode None = forget the user. (conversation_id, version) orders the changes of one user (0006 migration)."""

    __slots__ = ("platform", "user_id", "mode", "conversation_id", "version")

    def __init__(self, platform: str, user_id: str, mode: str | None, conversation_id: int = 0,
                 version: int = 0) -> None:
        self.platform, self.user_id, self.mode = platform, user_id, mode
        self.conversation_id, self.version = conversation_id, version

    @property
    def order(self) -> tuple[int, int]:
        return self.conversation_id, self.version

    def value(self) -> bytes:
        """What the webhook reads: the mode first (modes.py takes the text before the first ';')."""
        return f"{self.mode};{self.conversation_id};{self.version}".encode()


def value_order(value: bytes | None) -> tuple[int, int]:
    """The (conversation_id, version) of a stored mode value; (0, 0) for a bare mode (older writers, tests)."""
    parts = (value or b"").split(b";")
    try:
        return (int(parts[1]), int(parts[2])) if len(parts) == 3 else (0, 0)
    except ValueError:
        return 0, 0


def plan_ingest(result: dict[str, Any]) -> tuple[list[Update], list[ModeChange]]:
    """The updates and mode writes one pentagon_ingest result calls for, in commit order."""
    updates: list[Update] = []
    modes: list[ModeChange] = []
    for part in result.get("parts", []):
        if "deleted" in part:
            updates.append(deleted_update(part["deleted"], f"user_deleted:{part['cause']}"))
            modes.append(ModeChange(part["deleted"]["platform"], part["deleted"]["user_id"], None))
            continue
        for item in part.get("messages", []):
            updates.append(message_update("message", item, f"message:{item['id']}"))
        for item in part.get("changed_messages", []):
            updates.append(message_update("message", item, f"message:{item['id']}:{item['cause']}"))
        for item in part.get("conversations", []):
            mode = MODES[item["status"]]
            updates.append(Update("conversation", item["platform"], item["user_id"], item["row_json"],
                                  f"conversation:{item['id']}:{item['updated_at']}", item["id"], 0, mode))
            if item.get("mode_changed"):
                modes.append(ModeChange(item["platform"], item["user_id"], mode, item["id"], item.get("mode_version", 0)))
        for item in part.get("deliveries", []):
            updates.append(message_update("delivery", item, f"delivery:{item['id']}:{item['cause']}"))
    return updates, modes


def customer_update(row: dict[str, Any], msg_id: str) -> Update:
    """A block or unblock, so every open panel shows it; the row is admin_actions' "after"."""
    return Update("customer", row["platform"], row["user_id"], dumps(row), msg_id, row.get("conversation_id") or 0)


def deleted_update(deleted: dict[str, Any], msg_id: str) -> Update:
    ids = deleted.get("conversation_ids") or []
    return Update("user_deleted", deleted["platform"], deleted["user_id"], dumps(deleted), msg_id, ids[0] if ids else 0)


class UpdatePublisher:
    def __init__(self, js: JetStreamContext, kv: KeyValue, timeout_s: float = 10.0,
                 eraser: BusEraser | None = None) -> None:
        self._js = js
        self._nc = js._nc  # the connection the JetStream context publishes on
        self._kv = kv
        self._timeout = timeout_s
        self._eraser = eraser

    async def publish(self, updates: Sequence[Update], modes: Iterable[ModeChange]) -> None:
        """Store every update in UPDATES (in order), then write the modes; raises if that is not certain."""
        if updates:
            await self._publish_updates(updates)
        counts: dict[str, int] = {}
        for update in updates:
            counts[update.kind] = counts.get(update.kind, 0) + 1
        for kind, n in counts.items():
            metrics.UPDATES.labels(kind).inc(n)
        await self.write_modes(modes)
        if self._eraser is not None:
            for update in updates:
                if update.kind == "user_deleted":
                    await self._eraser.note(update.platform, update.user_id)

    async def _publish_updates(self, updates: Sequence[Update]) -> None:
        occurred = timestamp()
        tokens: dict[tuple[str, str], str] = {}
        items = []
        for update in updates:
            key = (update.platform, update.user_id)
            token = tokens.get(key) or tokens.setdefault(key, user_token(update.user_id))
            items.append((f"updates.{update.kind}.{update.platform}.{token}", update.event(occurred).SerializeToString(),
                          update.msg_id))
        await self._publish_in_order(items, "Nats-Msg-Id")

    async def _publish_in_order(self, items: list[tuple[str, bytes, str | None]], header: str) -> None:
        """All but the last as plain NATS publishes, the last with a JetStream ack.

        The server hands one connection's messages to a stream in order, so the
        stream's ack of the last one means the earlier ones were processed too (an
        acked publish per update cost most of tracking's CPU). That holds only on
        one TCP connection: after a reconnect in between, the caller publishes the
        whole list again under the same Nats-Msg-Ids (deduplicated by the stream;
        KV writes are idempotent).
        """
        nc = self._nc
        reconnects = nc.stats["reconnects"]
        frames = []
        for subject, data, value in items[:-1]:
            if len(data) > nc.max_payload:
                raise ValueError("update larger than the server's max payload")
            frames.append(pub_frame(subject, data, value) if header == "Nats-Msg-Id" else
                          pub_frame_kv(subject, data, value))
        await send_frames(nc, frames)
        subject, data, value = items[-1]
        await self._js.publish(subject, data, timeout=self._timeout, headers={header: value} if value else None)
        if nc.stats["reconnects"] != reconnects:
            raise ConnectionError("reconnected while publishing")

    async def write_modes(self, modes: Iterable[ModeChange]) -> None:
        """Deletions at once; modes only over an older (conversation_id, version), compare-and-set."""
        latest: dict[str, ModeChange] = {}
        for change in modes:  # later changes of the same user win
            latest[mode_key(change.platform, change.user_id)] = change
        deletions = [(f"$KV.{MODE_BUCKET}.{key}", b"", "DEL") for key, c in latest.items() if c.mode is None]
        if deletions:
            await self._publish_in_order(deletions, "KV-Operation")
        writes = [(key, c) for key, c in latest.items() if c.mode is not None]
        for start in range(0, len(writes), MODE_WRITES_AT_ONCE):
            await asyncio.gather(*(self._write_mode(key, c) for key, c in writes[start:start + MODE_WRITES_AT_ONCE]))

    async def _write_mode(self, key: str, change: ModeChange) -> None:
        for _ in range(MODE_CAS_ATTEMPTS):
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError as exc:
                # A deleted user's key holds a delete marker: the next write must name its revision.
                deleted = getattr(exc, "entry", None)
                last = deleted.revision if deleted is not None and deleted.revision else 0
            else:
                if entry.value is not None and value_order(entry.value) >= change.order:
                    return  # a newer (or the same) state is there already: this write would go back in time
                last = entry.revision or 0
            try:
                await self._kv.update(key, change.value(), last=last)
                return
            except KeyWrongLastSequenceError:
                metrics.RETRIES.labels("mode_cas").inc()  # another writer got in between: look again
        raise ConnectionError("mode write kept losing the compare-and-set")


def pub_frame_kv(subject: str, data: bytes, operation: str | None) -> bytes:
    """A KV write; a delete is an empty message with the KV-Operation: DEL header."""
    if operation is None:
        return pub_frame(subject, data)
    header = b"NATS/1.0\r\nKV-Operation: %s\r\n\r\n" % operation.encode()
    return b"HPUB %s %d %d\r\n%s%s\r\n" % (subject.encode(), len(header), len(header) + len(data), header, data)
