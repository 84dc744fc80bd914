"""Menu items staff mark sold out in the panel: the bot says so, by name and in lists, until the mark ends."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import grpc

from pentagon.agent.answer import OfflineAnswerer
from pentagon.agent.knowledge import load_knowledge
from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR
from pentagon.agent.sold_out import SoldOutMenu
from pentagon.common.bus import sold_out_bucket
from pentagon.common.proto import agent_pb2, agent_pb2_grpc
from pentagon.devtools.embedded import NatsServer

from agent_support import agent_env, write_bucket
from test_staff_knowledge import ask, eventually

MANGO = "How much is the mango smoothie?"
MANGO_MY = "သရက်သီး ဖျော်ရည် ဘယ်လောက်လဲ"
NOW = datetime(2026, 4, 16, 9, 0, tzinfo=timezone.utc)


def row(until: datetime | None) -> bytes:
    return json.dumps({"id": "15", "until": until and until.isoformat(), "by": "alice:admin"}).encode()


def test_a_sold_out_item_is_said_sold_out_and_comes_back_when_its_mark_ends() -> None:
    clock = [NOW]
    sold_out = SoldOutMenu(clock=lambda: clock[0])
    bot = OfflineAnswerer(load_knowledge(PACKAGED_KNOWLEDGE_DIR), sold_out=sold_out)
    assert "4,500" in bot.answer(MANGO).text

    sold_out.apply("15", row(NOW + timedelta(hours=10)))  # "sold out today"
    answer = bot.answer(MANGO)
    assert "sold out" in answer.text and "4,500" not in answer.text
    assert answer.sources[0].id == "menu:15" and not answer.requires_human
    assert "ကုန်သွားပါပြီ" in bot.answer(MANGO_MY).text
    drinks = bot.answer("Show me the juice menu").text
    assert "Mango Smoothie - 4,500 (sold out)" in drinks and "Avocado Smoothie - 5,000\n" in drinks
    assert "Espresso" in bot.answer("Espresso price?").text and "sold out" not in bot.answer("Espresso price?").text

    clock[0] = NOW + timedelta(hours=11)  # the cafe's next day: on sale again, nobody had to clear it
    assert "sold out" not in bot.answer(MANGO).text
    sold_out.apply("15", row(None))  # until staff put it back
    clock[0] = NOW + timedelta(days=30)
    assert "sold out" in bot.answer(MANGO).text
    sold_out.apply("15", None)
    assert "4,500" in bot.answer(MANGO).text


def test_an_unreadable_mark_never_hides_a_dish() -> None:
    sold_out = SoldOutMenu(clock=lambda: NOW)
    sold_out.apply("15", row(None))
    for bad in (b"not json", b"[]", json.dumps({"until": "tomorrow"}).encode(),
                json.dumps({"until": "2026-04-17T00:00:00"}).encode()):  # no time zone: which midnight?
        sold_out.apply("15", bad)
        assert not sold_out("15"), bad


def menu(port: int) -> Any:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return agent_pb2_grpc.AgentServiceStub(channel).ListMenu(agent_pb2.ListMenuRequest(), timeout=10).items


def test_the_agent_follows_the_panels_marks_and_lists_its_menu(services, nats_server: NatsServer,
                                                              nats_url: str) -> None:
    log_start = nats_server.log_size()
    env, grpc_port, http_port = agent_env()
    env |= nats_server.env_for("agent")  # read-only: this bucket and the taught answers
    services.start("pentagon.agent", env, ready_url=f"http://127.0.0.1:{http_port}/readyz")
    items = {m.id: m for m in menu(grpc_port)}
    assert (items["15"].name_en, items["15"].name_mm, items["15"].price) == ("Mango Smoothie", "သရက်သီး ဖျော်ရည်", 4500)
    assert items["15"].category == "drinks" and items["15"].currency == "MMK"

    asyncio.run(write_bucket(nats_url, sold_out_bucket, "15", row(datetime.now(timezone.utc) + timedelta(hours=6))))
    assert eventually(lambda: "sold out" in ask(grpc_port, MANGO).text), "the panel's mark was not used"
    asyncio.run(write_bucket(nats_url, sold_out_bucket, "15", None))
    assert eventually(lambda: "4,500" in ask(grpc_port, MANGO).text), "the item did not come back"
    assert not nats_server.refusals(log_start), "the agent's NATS user lacks a permission (deploy/nats/users.conf)"
