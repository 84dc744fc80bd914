"""Sender worker: durables ``sender-<p>`` on ``events.out.messenger.<p>.<u>``, delivers ``needs_delivery`` events.

Each chunk of a message (texts over 2000 characters are split) is sent once:
a ``sent.<h>`` marker holding the returned mid is written right after Graph
answers and checked before sending, so a redelivery resends nothing already
sent (the marker is read only when the message may repeat earlier work, see
runtime.may_repeat). The remaining double-send window is a crash between Graph's answer and
that marker write (documented); a failed write (NATS restarting) is not one, because the
process remembers its own markers first (Marks.put). Results become DeliveryEvents: SENT with the
mids, or FAILED with the reason for permanent errors or exhausted retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone

from nats.aio.msg import Msg

from pentagon.common.bus import Subjects
from pentagon.common.events import publish, timestamp
from pentagon.common.proto import events_pb2 as pb
from pentagon.common.bus import EVENT_PARTITIONS
from pentagon.webhook.consumer import PartitionedConsumer
from pentagon.webhook.messenger_parser import OWN_METADATA_PREFIX
from pentagon.webhook.metrics import SEND_RESULTS
from pentagon.webhook.runtime import Runtime, key_hash, may_repeat
from pentagon.webhook.send_api import GraphError, SendResult, quick_replies, split_text

log = logging.getLogger(__name__)

DURABLE = "sender"
SUBJECT = "events.out.messenger"  # .<u>.<partition>
WINDOW = timedelta(hours=24)


def _metadata(event: pb.MessageEvent) -> dict:
    try:
        value = json.loads(event.metadata_json or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def outside_window(metadata: dict, now: datetime | None = None) -> bool:
    """True when the user's last message is older than 24 h.

    admin-api puts ``last_user_message_at`` (ISO 8601) in a human reply's
    metadata; without it we assume the window is open and fall back to the
    HUMAN_AGENT tag if Graph answers "outside the window".
    """
    raw = metadata.get("last_user_message_at")
    if not isinstance(raw, str):
        return False
    try:
        last = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return False
    if last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    return (now or datetime.now(timezone.utc)) - last > WINDOW


class Sender:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        s = rt.settings
        self.consumer = PartitionedConsumer(rt.js, DURABLE, SUBJECT, self.handle, EVENT_PARTITIONS, s.worker_ack_wait_s)

    async def handle(self, msg: Msg, event: pb.MessageEvent) -> None:
        if not event.needs_delivery or event.sender == pb.SENDER_USER:
            await msg.ack()
            return
        try:
            mids = await self._deliver(event, may_repeat(msg, event.occurred_at))
        except GraphError as exc:
            if exc.transient and msg.metadata.num_delivered < self.rt.settings.send_max_deliveries:
                SEND_RESULTS.labels("retry_later").inc()
                await msg.nak(delay=min(60.0, 2.0 * msg.metadata.num_delivered))
                return
            await self._publish_failed(event, exc.reason if not exc.transient else f"retries_exhausted: {exc.reason}")
            await msg.ack()
            return
        await self._publish_sent(event, mids)
        await msg.ack()

    def _messages(self, event: pb.MessageEvent, metadata: dict) -> list[dict]:
        chunks = split_text(event.content)
        messages: list[dict] = [{"text": chunk} for chunk in chunks]
        for attachment in metadata.get("outgoing_attachments") or []:
            if isinstance(attachment, dict):
                messages.append({"attachment": attachment})
        if not messages:
            raise GraphError(0, 0, 0, "nothing to send", transient=False)
        replies = quick_replies(metadata.get("quick_replies"))
        if replies:
            messages[-1]["quick_replies"] = replies
        for message in messages:
            message["metadata"] = OWN_METADATA_PREFIX + event.event_id[:900]
        return messages

    async def _deliver(self, event: pb.MessageEvent, check_marks: bool = True) -> list[str]:
        metadata = _metadata(event)
        human = event.sender == pb.SENDER_HUMAN
        tagged = human and outside_window(metadata)
        mids: list[str] = []
        for index, message in enumerate(self._messages(event, metadata)):
            part_id = f"{event.event_id}#{index}"
            done = self.rt.marks.recent("sent", part_id)
            if done is None and check_marks:
                done = await self.rt.marks.get("sent", part_id)
            if done is None:
                result, tagged = await self._send_part(event.key.user_id, message, tagged, human)
                done = result.message_id
                await asyncio.gather(self.rt.marks.put("sent", part_id, done), self._remember_mid(done, event.event_id))
            mids.append(done)
        return mids

    async def _send_part(self, psid: str, message: dict, tagged: bool, human: bool) -> tuple[SendResult, bool]:
        """Send with in-process retries on transient errors; a human reply refused as outside the window is retagged."""
        attempts = self.rt.settings.send_max_attempts
        for attempt in range(attempts):
            try:
                if tagged:
                    result = await self.rt.send_api.send(psid, message, "MESSAGE_TAG", "HUMAN_AGENT")
                else:
                    result = await self.rt.send_api.send(psid, message, "RESPONSE")
                SEND_RESULTS.labels("sent").inc()
                return result, tagged
            except GraphError as exc:
                SEND_RESULTS.labels("transient" if exc.transient else "permanent").inc()
                if human and not tagged and exc.outside_window:
                    tagged = True
                    continue
                if not exc.transient or attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.rt.settings.send_backoff_ms / 1000 * 2**attempt)
        raise GraphError(0, 0, 0, "no attempt made", transient=True)

    async def _remember_mid(self, mid: str, event_id: str) -> None:
        if mid and self.rt.records_sent_mids:
            try:
                await self.rt.sent_mids.put(key_hash(mid), event_id.encode())
            except Exception as exc:  # noqa: BLE001 - echo detection also uses app_id and metadata
                log.warning("sent mid not recorded", extra={"event_id": event_id, "error": type(exc).__name__})

    async def _publish_sent(self, event: pb.MessageEvent, mids: list[str]) -> None:
        delivery = pb.DeliveryEvent(
            event_id=f"s:{event.event_id}", occurred_at=timestamp(), key=event.key, state=pb.DELIVERY_SENT,
            message_event_id=event.event_id, platform_message_id=mids[0] if mids else "", platform_message_ids=mids,
        )
        await publish(self.rt.js, Subjects.delivery(event.key.platform, event.key.user_id), delivery, delivery.event_id)
        if event.sender == pb.SENDER_HUMAN:
            await self.rt.history.append(event.key.platform, event.key.user_id, ("human", event.content))
        log.debug("message sent", extra={"event_id": event.event_id, "parts": len(mids)})

    async def _publish_failed(self, event: pb.MessageEvent, reason: str) -> None:
        SEND_RESULTS.labels("failed").inc()
        delivery = pb.DeliveryEvent(
            event_id=f"f:{event.event_id}", occurred_at=timestamp(), key=event.key, state=pb.DELIVERY_FAILED,
            message_event_id=event.event_id, reason=reason,
        )
        await publish(self.rt.js, Subjects.delivery(event.key.platform, event.key.user_id), delivery, delivery.event_id)
        log.warning("message delivery failed", extra={"event_id": event.event_id, "reason": reason[:100]})
