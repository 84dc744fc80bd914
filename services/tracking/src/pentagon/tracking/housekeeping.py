"""Conversations changed by the clock, each through an ordinary command.

- Auto-close (TRACKING_AUTO_CLOSE_HOURS, 0: never): without it the panel's "Open" list fills
  with conversations the bot answered days ago. Closed only while nobody waits for a person
  (pending_human_count 0), through the same `close` command as an admin's, with `idle_since`
  so that the database refuses it if a message arrived after the conversation was picked.
  The customer's next message opens a new conversation, as after any close.
- Retention (TRACKING_RETENTION_DAYS, 0: keep forever): a closed conversation quiet for that
  long is deleted with its messages by the `purge` command, which checks again under the
  row's lock; its audit rows keep who did what, not what the rows held, and every panel
  drops it (UPDATE_CONVERSATION_DELETED).

Each change is an audited command (actor `system:...`) and reaches every panel like a staff
member's. Every replica may run these jobs: command ids are deterministic, so two replicas
changing one conversation change it once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pentagon.common.bus import COMMAND_SUBJECT
from pentagon.common.proto import tracking_pb2 as tpb
from pentagon.tracking import metrics
from pentagon.tracking.commands import CommandHandler
from pentagon.tracking.periodic import Periodic
from pentagon.tracking.store import Store

log = logging.getLogger(__name__)

BATCH = 200


class ClockedCommands(Periodic):
    """Each round: the conversations the clock picked, one command each."""

    actor = ""

    def __init__(self, store: Store, commands: CommandHandler, interval_s: float) -> None:
        super().__init__(interval_s)
        self._store = store
        self._commands = commands

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.round()
            except Exception as exc:  # noqa: BLE001 - database or NATS away: the next round tries again
                log.warning("clocked round failed", extra={"job": self.actor, "error": type(exc).__name__})
            await self.pause()

    async def round(self) -> int:
        """Applies what is due now; returns how many conversations changed."""
        changed = 0
        for row in await self.due():
            command = self.command(row)
            command.actor = self.actor
            reply = await self._commands.apply(command.SerializeToString(), f"{COMMAND_SUBJECT}.{command.action}")
            if reply.ok:
                changed += 1
                self.done(int(row["id"]))
        return changed

    async def due(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def command(self, row: dict[str, Any]) -> tpb.Command:
        raise NotImplementedError

    def done(self, conversation_id: int) -> None:
        raise NotImplementedError


class IdleCloser(ClockedCommands):
    actor = "system:auto-close"

    def __init__(self, store: Store, commands: CommandHandler, hours: float, interval_s: float) -> None:
        super().__init__(store, commands, interval_s)
        self._hours = hours

    async def due(self) -> list[dict[str, Any]]:
        return await self._store.idle_conversations(self._hours, BATCH)

    def command(self, row: dict[str, Any]) -> tpb.Command:
        return tpb.Command(command_id=f"auto-close:{row['id']}:{row['last_message_at']}", action="close",
                           conversation_id=int(row["id"]), params_json=json.dumps({"idle_since": row["last_message_at"]}))

    def done(self, conversation_id: int) -> None:
        metrics.AUTO_CLOSED.inc()
        log.info("conversation closed after a quiet spell", extra={"conversation_id": conversation_id})


class RetentionPurger(ClockedCommands):
    actor = "system:retention"

    def __init__(self, store: Store, commands: CommandHandler, days: float, interval_s: float) -> None:
        super().__init__(store, commands, interval_s)
        self._days = days

    async def due(self) -> list[dict[str, Any]]:
        return await self._store.retention_candidates(self._days, BATCH)

    def command(self, row: dict[str, Any]) -> tpb.Command:
        # A conversation is deleted once: its id alone names the command.
        return tpb.Command(command_id=f"retention:{row['id']}", action="purge", conversation_id=int(row["id"]),
                           params_json=json.dumps({"closed_before": row["closed_before"]}))

    def done(self, conversation_id: int) -> None:
        metrics.PURGED.inc()
        log.info("conversation deleted by the retention rule", extra={"conversation_id": conversation_id})
