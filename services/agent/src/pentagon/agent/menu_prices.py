"""Prices staff changed in the panel (bucket ``menu_prices``), known within moments.

"The latte is 5,000 now" is set at the counter, not in Menu.json: the bot quotes the new price
for the item, in lists and when sorting by price (answer.py lays these prices over the menu file's
at answer time, no index rebuild). Deleting a row puts the file's price back. NATS away, the agent
keeps the prices it had.
"""

from __future__ import annotations

from prometheus_client import Gauge

from pentagon.agent.buckets import PanelRows
from pentagon.common.bus import MENU_PRICES_BUCKET, menu_prices_bucket
from pentagon.common.menu_prices import menu_price


class MenuPrices(PanelRows[float]):
    """``rows()``: the changed prices by menu id."""

    bucket = MENU_PRICES_BUCKET
    opener = staticmethod(menu_prices_bucket)
    gauge = Gauge("agent_menu_price_rows", "Menu prices staff changed in the panel (rows)")

    def parse(self, key: str, value: bytes) -> float:
        return menu_price(key, value)
