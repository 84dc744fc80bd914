"""The answers staff add in the admin panel (bucket ``knowledge_faq``), answered from at once.

The knowledge files are read once at start; what staff teach the bot between deployments
arrives here: every agent replica follows the bucket (an ordered KV watch, read-only NATS
user ``agent``) and, when it changes, builds a new index over the files plus those rows and
swaps it in. A build runs in a worker thread so answering never waits for it; requests keep
the index they started with. NATS away: the agent keeps answering from what it has (at start,
from the files alone) and picks the rows up once NATS is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Gauge
from pydantic import ValidationError

from pentagon.agent.buckets import Buckets
from pentagon.agent.knowledge import Faq
from pentagon.common.bus import knowledge_bucket
from pentagon.common.kvwatch import follow

log = logging.getLogger(__name__)

STAFF_FAQS = Gauge("agent_staff_faqs", "Questions and answers from the panel in the index in use")
# Edits come in bursts (a form saved twice, several rows in a minute): one build for the burst.
SETTLE_S = 0.2


def staff_faq(key: str, value: bytes) -> Faq | None:
    """A bucket row as an FAQ record (source id ``faq:staff-<key>``); None if it is not one.

    Either language may be the written one: the other's fields fall back to it, so a question
    staff wrote only in Burmese is still a complete record for the index.
    """
    try:
        row: Any = json.loads(value)
        if not isinstance(row, dict):
            return None
        q_en, a_en = str(row.get("question_en") or ""), str(row.get("answer_en") or "")
        q_mm, a_mm = str(row.get("question_mm") or ""), str(row.get("answer_mm") or "")
        tags = row.get("tags") if isinstance(row.get("tags"), list) else []
        return Faq(id=f"staff-{key}", category=str(row.get("category") or ""),
                   question_en=q_en or q_mm, answer_en=a_en or a_mm, question_mm=q_mm, answer_mm=a_mm,
                   tags=[str(t) for t in tags])
    except (ValueError, ValidationError, TypeError):
        return None


class StaffKnowledge:
    def __init__(self, buckets: Buckets, rebuild: Callable[[list[Faq]], Awaitable[None]]) -> None:
        self._buckets = buckets
        self._rebuild = rebuild
        self._rows: dict[str, Faq] = {}
        self._changed = asyncio.Event()
        self._loaded = False

    async def run(self) -> None:
        """Until cancelled: connect (retrying), follow the bucket, rebuild after each burst of changes."""
        builder = asyncio.create_task(self._build_on_change())
        try:
            kv = await self._buckets.open(knowledge_bucket, "knowledge_faq")
            await follow(kv, self._apply, on_loaded=self._on_loaded, what="staff knowledge")
        finally:
            builder.cancel()
            await asyncio.gather(builder, return_exceptions=True)

    def _apply(self, key: str, value: bytes | None) -> None:
        faq = staff_faq(key, value) if value else None
        if faq is None:
            if self._rows.pop(key, None) is None and value:
                log.warning("unusable row in the knowledge bucket skipped", extra={"key": key})
        else:
            self._rows[key] = faq
        if self._loaded:
            self._changed.set()

    def _on_loaded(self) -> None:
        self._loaded = True
        self._changed.set()

    async def _build_on_change(self) -> None:
        while True:
            await self._changed.wait()
            await asyncio.sleep(SETTLE_S)
            self._changed.clear()
            rows = [self._rows[k] for k in sorted(self._rows)]
            try:
                await self._rebuild(rows)
            except Exception as exc:  # noqa: BLE001 - keep the index in use; the next change tries again
                log.error("index with the staff's answers not built", extra={"error": type(exc).__name__})
                continue
            STAFF_FAQS.set(len(rows))
            log.info("staff answers in use", extra={"records": len(rows)})
