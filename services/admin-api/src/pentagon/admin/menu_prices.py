"""Prices staff change in the panel, kept in the bucket ``menu_prices`` (key = the Menu.json id).

The menu itself is the agent's (its knowledge files, read over gRPC ``ListMenu``, at the file's
prices); a row here only says "this id costs that now" (format and meaning:
``pentagon.common.menu_prices``). Every agent replica follows the bucket and quotes the price
within moments (agent menu_prices.py); deleting the row puts the file's price back.
"""

from __future__ import annotations

from typing import Any

from pentagon.admin.kvrecords import KvRecords
from pentagon.admin.queries import utc_now
from pentagon.common.bus import MENU_PRICES_BUCKET
from pentagon.common.jsonrow import iso
from pentagon.common.menu_prices import row_price


class MenuPrices(KvRecords):
    bucket = MENU_PRICES_BUCKET
    required = "id"
    limit = 1000
    what = "changed prices"

    async def current(self) -> dict[str, dict[str, Any]]:
        """The rows the agent uses, by menu id (one it would skip is not shown as a price either)."""
        rows = {}
        for row in await self.rows():
            try:
                row_price(row["id"], row)
            except ValueError:
                continue
            rows[row["id"]] = row
        return rows

    async def set_price(self, menu_id: str, price: float, actor: str) -> dict[str, Any]:
        row = {"id": menu_id, "price": price, "by": actor, "at": iso(utc_now())}
        return await self.put_row(menu_id, row)
