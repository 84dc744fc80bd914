"""A price staff changed in the panel (bucket ``menu_prices``): admin-api writes it, the agent reads it.

Key = the Menu.json id; the row ``{"id", "price", "by", "at"}``, the price in the menu's currency.
The menu file keeps its own price: deleting the row puts it back. Both services read rows here,
so the panel and the bot never disagree about what a dish costs.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Above any cafe's price in kyat: a typo with three zeros too many is refused, not quoted to customers.
MAX_PRICE = 10_000_000


def menu_price(key: str, value: bytes) -> float:
    """The price of the stored row of `key`; ValueError when it is not one of ours (the file's price holds)."""
    return row_price(key, json.loads(value))


def row_price(key: str, row: Any) -> float:
    """The price of a row already decoded (admin-api reads rows as objects)."""
    if not isinstance(row, dict) or row.get("id") != key:
        raise ValueError("not a menu price row")
    price = row.get("price")
    if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) \
            or not 0 < price <= MAX_PRICE:
        raise ValueError("price must be a number above 0")
    return float(price)
