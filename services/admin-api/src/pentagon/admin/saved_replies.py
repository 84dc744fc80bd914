"""Saved replies: the answers staff send again and again ("one moment please", opening hours),
in English and Burmese, picked in the panel's reply box. Kept in the bucket ``saved_replies``
(kvrecords.py).
"""

from __future__ import annotations

from typing import Any

from pentagon.common.bus import SAVED_REPLIES_BUCKET
from pentagon.common.jsonrow import iso
from pentagon.admin.kvrecords import KvRecords
from pentagon.admin.queries import utc_now


class SavedReplies(KvRecords):
    bucket = SAVED_REPLIES_BUCKET
    required = "title"
    limit = 200
    what = "saved replies"

    async def all(self) -> list[dict[str, Any]]:
        """Every saved reply, by title."""
        return sorted(await self.rows(), key=lambda r: (r["title"].casefold(), r["id"]))

    async def put(self, reply_id: str, title: str, text: str, actor: str) -> dict[str, Any]:
        row = {"id": reply_id, "title": title, "text": text, "updated_at": iso(utc_now()), "updated_by": actor}
        return await self.put_row(reply_id, row)
