"""Saved replies: the answers staff send again and again ("one moment please", opening hours),
in English and Burmese, picked in the panel's reply box. Kept in the bucket ``saved_replies``
(kvrecords.py).
"""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from pentagon.common.bus import SAVED_REPLIES_BUCKET
from pentagon.common.jsonrow import iso
from pentagon.admin.kvrecords import KvRecords
from pentagon.admin.queries import utc_now


class SavedReplies(KvRecords):
    required = "title"
    limit = 200
    what = "saved replies"

    def __init__(self, kv: KeyValue, js: JetStreamContext, bucket: str = SAVED_REPLIES_BUCKET) -> None:
        super().__init__(kv, js, bucket)

    async def all(self) -> list[dict[str, Any]]:
        """Every saved reply, by title."""
        return sorted(await self.rows(), key=lambda r: (r["title"].casefold(), r["id"]))

    async def put(self, reply_id: str, title: str, text: str, actor: str) -> dict[str, Any]:
        row = {"id": reply_id, "title": title, "text": text, "updated_at": iso(utc_now()), "updated_by": actor}
        return await self.put_row(reply_id, row)
