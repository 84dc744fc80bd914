"""Prices staff change in the panel: the bot quotes them, in lists and sorted by them, until put back."""

from __future__ import annotations

import asyncio
import json

from pentagon.agent.answer import OfflineAnswerer
from pentagon.agent.knowledge import load_knowledge
from pentagon.agent.menu_prices import MenuPrices
from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR
from pentagon.common.bus import menu_prices_bucket
from pentagon.devtools.embedded import NatsServer

from agent_support import agent_env, write_bucket
from test_staff_knowledge import ask, eventually

MANGO = "How much is the mango smoothie?"


def row(menu_id: str, price: object) -> bytes:
    return json.dumps({"id": menu_id, "price": price, "by": "alice:admin"}).encode()


def test_a_changed_price_is_quoted_listed_and_sorted_by() -> None:
    prices = MenuPrices()
    bot = OfflineAnswerer(load_knowledge(PACKAGED_KNOWLEDGE_DIR), menu_prices=prices.rows)
    assert "4,500" in bot.answer(MANGO).text

    prices.apply("15", row("15", 5200))
    answer = bot.answer(MANGO)
    assert "5,200" in answer.text and "4,500" not in answer.text and answer.sources[0].id == "menu:15"
    assert "၅,၂၀၀" in bot.answer("သရက်သီး ဖျော်ရည် ဘယ်လောက်လဲ").text
    assert "Mango Smoothie - 5,200" in bot.answer("Show me the juice menu").text
    prices.apply("15", row("15", 100))  # a promotion: the cheapest drink now
    cheapest = bot.answer("What is your cheapest drink?").text.split("\n")
    assert cheapest[1] == "• Mango Smoothie - 100", cheapest

    prices.apply("15", None)  # back to the menu file's price
    assert "4,500" in bot.answer(MANGO).text


def test_an_unreadable_price_never_changes_what_customers_are_quoted() -> None:
    prices = MenuPrices()
    prices.apply("15", row("15", 5200))
    for bad in (b"not json", b"[]", row("16", 5200), row("15", 0), row("15", -1), row("15", "5200"),
                row("15", True), row("15", 10_000_001), b'{"id": "15", "price": NaN}'):
        prices.apply("15", bad)
        assert prices.rows() == {}, bad


def test_the_agent_follows_the_panels_prices(services, nats_server: NatsServer, nats_url: str) -> None:
    log_start = nats_server.log_size()
    env, grpc_port, http_port = agent_env()
    env |= nats_server.env_for("agent")  # read-only: the buckets staff fill in the panel
    services.start("pentagon.agent", env, ready_url=f"http://127.0.0.1:{http_port}/readyz")
    asyncio.run(write_bucket(nats_url, menu_prices_bucket, "15", row("15", 5200)))
    assert eventually(lambda: "5,200" in ask(grpc_port, MANGO).text), "the panel's price was not used"
    asyncio.run(write_bucket(nats_url, menu_prices_bucket, "15", None))
    assert eventually(lambda: "4,500" in ask(grpc_port, MANGO).text), "the file's price did not come back"
    assert not nats_server.refusals(log_start), "the agent's NATS user lacks a permission (deploy/nats/users.conf)"
