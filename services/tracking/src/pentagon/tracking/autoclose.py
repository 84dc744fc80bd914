"""Closing conversations nobody has written in for TRACKING_AUTO_CLOSE_HOURS (0: never).

Without it the panel's "Open" list fills with conversations the bot answered days ago. A
conversation is closed only while nobody waits for a person in it (pending_human_count 0); it
goes through the same `close` command as an admin's (audit row by `system:auto-close`, update
to every panel, mode `closed` in KV), with `idle_since` so that the database refuses it if a
message arrived after the conversation was picked (the check runs under the row's lock). The
customer's next message opens a new conversation, as after any close. Every replica may run
it: the command ids are deterministic, so two replicas closing one conversation close it once.
"""

from __future__ import annotations

import json
import logging

from pentagon.common.bus import COMMAND_SUBJECT
from pentagon.common.proto import tracking_pb2 as tpb
from pentagon.tracking import metrics
from pentagon.tracking.commands import CommandHandler
from pentagon.tracking.periodic import Periodic
from pentagon.tracking.store import Store

log = logging.getLogger(__name__)

ACTOR = "system:auto-close"
BATCH = 200


class IdleCloser(Periodic):
    def __init__(self, store: Store, commands: CommandHandler, hours: float, interval_s: float) -> None:
        super().__init__(interval_s)
        self._store = store
        self._commands = commands
        self._hours = hours

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.round()
            except Exception as exc:  # noqa: BLE001 - database or NATS away: the next round tries again
                log.warning("auto-close round failed", extra={"error": type(exc).__name__})
            await self.pause()

    async def round(self) -> int:
        """Closes what is idle now; returns how many were closed."""
        closed = 0
        for row in await self._store.idle_conversations(self._hours, BATCH):
            command = tpb.Command(command_id=f"auto-close:{row['id']}:{row['last_message_at']}", action="close",
                                  conversation_id=int(row["id"]), actor=ACTOR,
                                  params_json=json.dumps({"idle_since": row["last_message_at"]}))
            reply = await self._commands.apply(command.SerializeToString(), f"{COMMAND_SUBJECT}.close")
            if reply.ok:
                closed += 1
                metrics.AUTO_CLOSED.inc()
                log.info("conversation closed after a quiet spell", extra={"conversation_id": int(row["id"])})
        return closed
