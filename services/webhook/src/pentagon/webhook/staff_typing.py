"""Staff typing in the admin panel shows as Messenger's typing indicator to the customer.

admin-api publishes a StaffTyping on ``staff.typing.<platform>.<u>`` (core NATS) while an admin
types a reply in an open conversation, at most every few seconds per panel. For Messenger, one
workers replica takes each (queue group ``webhook-typing``) and sends ``typing_on``, at most once
per TYPING_EVERY_S per customer: Messenger shows it until the next message or about 20 seconds.
Web chat users get it through their long-poll (chat_updates.py): every HTTP process keeps a
TypingBoard of the web users a staff member typed to in the last TYPING_TTL_S seconds, so a poll
that starts between two typing messages still sees it. Cosmetic: a failure is logged, nothing else.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from nats.aio.client import Client

from pentagon.common.bus import STAFF_TYPING_SUBJECT, unsubscribe_quietly, user_token
from pentagon.common.proto import events_pb2 as pb
from pentagon.webhook.send_api import GraphError, SendApi

log = logging.getLogger(__name__)

QUEUE = "webhook-typing"
TYPING_EVERY_S = 5.0
TYPING_TTL_S = 6  # how long a web chat shows "typing" after the last sign of it
MAX_USERS = 10_000


class LastHeard:
    """When each key was last heard, for the MAX_USERS most recent keys (a flood cannot grow it)."""

    def __init__(self) -> None:
        self._at: OrderedDict[str, float] = OrderedDict()

    def since(self, key: str) -> float:
        """Seconds since the key was last heard (infinite if never)."""
        heard = self._at.get(key)
        return float("inf") if heard is None else time.monotonic() - heard

    def hear(self, key: str) -> None:
        self._at[key] = time.monotonic()
        self._at.move_to_end(key)
        if len(self._at) > MAX_USERS:
            self._at.popitem(last=False)


class StaffTypingRelay:
    name = QUEUE

    def __init__(self, nc: Client, send_api: SendApi) -> None:
        self._nc = nc
        self._send_api = send_api
        self._shown = LastHeard()  # psid -> when typing_on was last sent
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(f"{STAFF_TYPING_SUBJECT}.messenger.*", queue=QUEUE, cb=self._on_typing)

    async def stop(self) -> None:
        await unsubscribe_quietly(self._sub)

    async def _on_typing(self, msg: Any) -> None:
        event = pb.StaffTyping()
        try:
            event.ParseFromString(msg.data)
        except Exception:  # noqa: BLE001 - not ours to fail on
            return
        psid = event.key.user_id
        if event.key.platform != "messenger" or not psid or self._shown.since(psid) < TYPING_EVERY_S:
            return
        self._shown.hear(psid)
        try:
            await self._send_api.sender_action(psid, "typing_on")
        except GraphError as exc:  # outside the 24-hour window, user unreachable: nothing to do
            log.info("staff typing not shown", extra={"conversation_id": event.conversation_id, "code": exc.code})
        except Exception as exc:  # noqa: BLE001 - Graph unreachable: cosmetic, never fatal
            log.info("staff typing not shown", extra={"conversation_id": event.conversation_id,
                                                     "error": type(exc).__name__})


class TypingBoard:
    """Web users a staff member is typing to, as this process heard it (every process hears all)."""

    def __init__(self) -> None:
        self._heard = LastHeard()  # user token -> when a staff member's typing was last heard
        self._sub: Any = None

    async def start(self, nc: Client) -> None:
        self._sub = await nc.subscribe(f"{STAFF_TYPING_SUBJECT}.web.*", cb=self._on_typing)

    async def stop(self) -> None:
        await unsubscribe_quietly(self._sub)

    async def _on_typing(self, msg: Any) -> None:
        self._heard.hear(msg.subject.rsplit(".", 1)[-1])

    def recent(self, user_id: str) -> bool:
        return self._heard.since(user_token(user_id)) < TYPING_TTL_S
