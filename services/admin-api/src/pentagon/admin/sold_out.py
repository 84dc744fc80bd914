"""Menu items staff mark sold out in the panel, kept in the bucket ``menu_sold_out``.

The menu itself is the agent's (its knowledge files, read over gRPC ``ListMenu``); a row here
only says "this id is sold out until then" (format and meaning: ``pentagon.common.sold_out``).
Every agent replica follows the bucket and tells customers within moments (agent sold_out.py);
a mark past its ``until`` is on sale again without anyone clearing it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pentagon.admin.kvrecords import KvRecords
from pentagon.admin.queries import utc_now
from pentagon.common.bus import SOLD_OUT_BUCKET
from pentagon.common.jsonrow import iso
from pentagon.common.sold_out import in_force

# Menu ids are the cafe's own (Menu.json): digits usually, any URL- and subject-safe token allowed.
MENU_ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"


class SoldOutItems(KvRecords):
    bucket = SOLD_OUT_BUCKET
    required = "id"
    limit = 1000
    what = "sold-out items"

    async def current(self) -> dict[str, dict[str, Any]]:
        """The marks still in force, by menu id (a mark past its `until` is on sale again)."""
        now = utc_now()
        return {row["id"]: row for row in await self.rows() if in_force(row, now)}

    async def mark(self, menu_id: str, until: datetime | None, actor: str) -> dict[str, Any]:
        row = {"id": menu_id, "until": until and iso(until), "by": actor, "at": iso(utc_now())}
        return await self.put_row(menu_id, row)

