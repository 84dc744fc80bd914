"""Events that can never be stored go to dlq.<original subject>, with the reason, then are acked."""

from __future__ import annotations

import logging

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from pentagon.common.bus import Subjects
from pentagon.tracking import metrics

log = logging.getLogger(__name__)

REASON_HEADER = "Pentagon-Reason"
SOURCE_SEQ_HEADER = "Pentagon-Source-Seq"


async def dead_letter(js: JetStreamContext, msg: Msg, reason: str, timeout: float = 5.0) -> None:
    """Store the original bytes in the DLQ stream (idempotent per source sequence), then ack."""
    seq = msg.metadata.sequence.stream
    headers = {REASON_HEADER: reason[:500], SOURCE_SEQ_HEADER: str(seq), "Nats-Msg-Id": f"dlq:{seq}"}
    await js.publish(Subjects.dead_letter(msg.subject), msg.data, timeout=timeout, headers=headers)
    await msg.ack()
    metrics.DLQ.labels(_label(reason)).inc()
    # The reason names a field, never its content.
    log.warning("event dead-lettered", extra={"seq": seq, "subject_family": msg.subject.split(".")[1:2], "reason": reason})


def _label(reason: str) -> str:
    return reason.split(":")[0][:60]
