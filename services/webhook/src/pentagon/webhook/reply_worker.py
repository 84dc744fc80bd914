"""Reply worker: durables ``reply-worker-<p>`` on ``events.in.messenger.<p>.<u>`` (consumer.py: order per user).

For each user message: skip what the bot never answers (standby, reactions,
receipts, bare attachments), skip conversations not in ``bot`` mode, otherwise
show mark_seen/typing_on, ask the agent (and, once per customer, Messenger for
their name: profiles.py) and publish the bot reply on
``events.out.messenger.<u>`` (id ``r:<user event id>``, needs_delivery). The
message is acked only after the reply's publish ack. The conversation's history
(history.py) lists the user messages already answered and is written with the
answer, so a redelivery never calls the agent again and the check costs no
request of its own. A customer's rating (their tap on "How did we do?" after staff closed the
conversation: ``pentagon.common.rating``) is thanked without the agent, whatever the mode.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nats.aio.msg import Msg

from pentagon.common import rating
from pentagon.common.bus import Subjects
from pentagon.common.events import publish, to_datetime
from pentagon.common.proto import events_pb2 as pb
from pentagon.common.bus import EVENT_PARTITIONS
from pentagon.webhook.consumer import PartitionedConsumer
from pentagon.webhook.metrics import REPLIES
from pentagon.webhook.profiles import lookup
from pentagon.webhook.replies import answerable, generate_reply, rating_thanks, with_user_name
from pentagon.webhook.runtime import Runtime
from pentagon.webhook.send_api import GraphError

log = logging.getLogger(__name__)

DURABLE = "reply-worker"
SUBJECT = "events.in.messenger"  # .<u>.<partition>
# Messenger's standard window: answering later than this needs a tag we may not use for bots.
MAX_AGE_S = 24 * 3600


class ReplyWorker:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        s = rt.settings
        self.consumer = PartitionedConsumer(rt.js, DURABLE, SUBJECT, self.handle, EVENT_PARTITIONS, s.worker_ack_wait_s)

    async def handle(self, msg: Msg, event: pb.MessageEvent) -> None:
        outcome = await self._process(event)
        REPLIES.labels(outcome).inc()
        await msg.ack()

    async def _process(self, event: pb.MessageEvent) -> str:
        rated = event.kind == rating.KIND and event.sender == pb.SENDER_USER
        if not (rated or answerable(event)):
            return "not_answerable"
        if time.time() - to_datetime(event.occurred_at).timestamp() > MAX_AGE_S:
            return "too_old"
        if self.rt.marks.recent("reply", event.event_id):
            return "duplicate"
        platform, user = event.key.platform, event.key.user_id
        if self.rt.blocked.is_blocked(platform, user):
            return "silent_blocked"  # recorded by tracking all the same: Messenger was answered 200
        if rated:
            return await self._thank(event)
        mode = await self.rt.modes.for_reply(platform, user)
        if mode != "bot":
            log.debug("bot silent", extra={"event_id": event.event_id, "mode": mode})
            return f"silent_{mode}"
        # Unreadable history raises: answering blind could answer a second time (nak, redelivered).
        thread = await self.rt.history.read(platform, user)
        if event.event_id in thread.answered:
            return "duplicate"
        showing = asyncio.Event()
        typing = asyncio.create_task(self._show_typing(user, self.rt.settings.typing_delay_ms / 1000, showing))
        naming = (asyncio.create_task(lookup(self.rt.send_api, user))
                  if thread.name is None and self.rt.settings.messenger_user_names else None)
        reply, _ = await generate_reply(self.rt.agent, event, thread.turns, needs_delivery=True)
        name = await naming if naming is not None else thread.name
        if name:
            with_user_name(reply, name)
        if showing.is_set():
            # Let the indicator land before the reply is sent, or typing would show after the answer.
            await asyncio.wait([typing], timeout=2.0)
        else:
            typing.cancel()  # answered quickly: the reply itself is the only thing the user needs to see
        await publish(self.rt.js, Subjects.outgoing(platform, user), reply, reply.event_id)
        if reply.requires_human:
            self.rt.modes.note_escalation(platform, user)
        self.rt.marks.note("reply", event.event_id)
        await self.rt.history.append(platform, user, ("user", event.content), ("bot", reply.content),
                                     base=thread, answered=event.event_id, name=name)
        log.debug("bot replied", extra={"event_id": reply.event_id, "requires_human": reply.requires_human})
        return "escalated" if reply.requires_human else "replied"

    async def _thank(self, event: pb.MessageEvent) -> str:
        """A rating answers staff's question after a close: thanked whatever the mode (it is "closed")."""
        thanks = rating_thanks(event, needs_delivery=True)
        await publish(self.rt.js, Subjects.outgoing(event.key.platform, event.key.user_id), thanks, thanks.event_id)
        self.rt.marks.note("reply", event.event_id)
        return "rating_thanked"

    async def _show_typing(self, psid: str, delay_s: float, showing: asyncio.Event) -> None:
        """Cosmetic: failures here never delay or block the answer.

        Only when the agent takes longer than ``delay_s``: a fast answer needs no indicator, and
        two Graph calls per message were half of this process's CPU under load.
        """
        await asyncio.sleep(delay_s)
        showing.set()
        try:
            await self.rt.send_api.sender_action(psid, "mark_seen")
            await self.rt.send_api.sender_action(psid, "typing_on")
        except GraphError as exc:
            log.info("sender action failed", extra={"code": exc.code})
