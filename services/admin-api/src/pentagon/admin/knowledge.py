"""Questions and answers staff teach the bot in the panel, kept in the bucket ``knowledge_faq``.

The cafe's knowledge files (FAQ_QA.json, Menu.json...) are deployment data; these are what
staff add between deployments, typically from the statistics view's list of questions the bot
could not answer. Each row has the original FAQ record's fields, so the agent indexes it
like any FAQ entry; every agent replica follows the bucket and answers from a new row within
moments, no restart (agent staff_knowledge.py).
"""

from __future__ import annotations

from typing import Any

from pentagon.common.bus import KNOWLEDGE_BUCKET
from pentagon.common.jsonrow import iso
from pentagon.admin.kvrecords import KvRecords
from pentagon.admin.queries import utc_now


class StaffKnowledge(KvRecords):
    bucket = KNOWLEDGE_BUCKET
    # Either language may be the one written: a row has at least one question with its answer.
    required = "id"
    limit = 500
    what = "questions"

    async def all(self) -> list[dict[str, Any]]:
        """Every row, newest change first."""
        return sorted(await self.rows(), key=lambda r: (str(r.get("updated_at", "")), r["id"]), reverse=True)

    async def put(self, faq_id: str, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        row = {"id": faq_id, **fields, "updated_at": iso(utc_now()), "updated_by": actor}
        return await self.put_row(faq_id, row)
