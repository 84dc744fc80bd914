"""The menu as the bot knows it and what staff mark sold out: real agent, real NATS bucket, audit by tracking."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from admin_support import ADMIN, VIEWER, eventually
from conftest import AdminHarness
from pentagon.common.bus import sold_out_bucket

MANGO = "How much is the mango smoothie?"


def ahead(**delta: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


async def item(harness: AdminHarness, menu_id: str) -> dict[str, Any]:
    listed = await harness.client.get("/admin/menu", headers=VIEWER)
    assert listed.status_code == 200, listed.text
    return next(i for i in listed.json()["items"] if i["id"] == menu_id)


async def bot_says(harness: AdminHarness, words: str) -> str:
    """The bot's answer to the mango question once it contains `words` (every replica follows within moments)."""
    async def text() -> str:
        return (await harness.client.post("/admin/agent/try", headers=VIEWER, json={"text": MANGO})).json()["reply"]["text"]

    return await eventually(text, lambda said: words in said)


async def test_an_admin_marks_a_dish_sold_out_and_the_bot_tells_customers(with_agent: AdminHarness, tracking) -> None:
    listed = (await with_agent.client.get("/admin/menu", headers=VIEWER)).json()
    assert listed["count"] == len(listed["items"]) >= 20
    mango = await item(with_agent, "15")
    assert (mango["name_en"], mango["name_mm"], mango["price"], mango["currency"]) == (
        "Mango Smoothie", "သရက်သီး ဖျော်ရည်", 4500, "MMK")
    assert (mango["sold_out"], mango["sold_out_until"]) == (False, None)
    assert (await with_agent.client.put("/admin/menu/15/sold-out", headers=VIEWER, json={})).status_code == 403

    marked = await with_agent.client.put("/admin/menu/15/sold-out", headers=ADMIN, json={"until": ahead(hours=6)})
    assert marked.status_code == 200, marked.text
    assert marked.json()["item"]["sold_out"] and marked.json()["item"]["sold_out_by"] == "alice:admin"
    assert (await item(with_agent, "15"))["sold_out_until"].endswith("Z")
    assert "sold out" in await bot_says(with_agent, "sold out")
    forever = await with_agent.client.put("/admin/menu/15/sold-out", headers=ADMIN, json={"until": None})
    assert forever.status_code == 200 and forever.json()["item"]["sold_out_until"] is None

    assert (await with_agent.client.delete("/admin/menu/15/sold-out", headers=VIEWER)).status_code == 403
    assert (await with_agent.client.delete("/admin/menu/15/sold-out", headers=ADMIN)).json()["deleted"] is True
    assert (await with_agent.client.delete("/admin/menu/15/sold-out", headers=ADMIN)).status_code == 404
    assert not (await item(with_agent, "15"))["sold_out"]
    assert "4,500" in await bot_says(with_agent, "4,500")

    audit = (await with_agent.client.get("/admin/audit?limit=10", headers=VIEWER)).json()["entries"]
    mine = [(e["action"], e["actor"], e["params"]) for e in audit if e["params"].get("id") == "15"]
    assert [a for a, _, _ in mine] == ["menu_on_sale", "menu_sold_out", "menu_sold_out"]
    assert mine[1][2] == {"id": "15", "until": None, "name": "Mango Smoothie"}


async def test_bad_marks_get_a_clear_error_and_change_nothing(with_agent: AdminHarness) -> None:
    cases = [("999", {"until": ahead(hours=1)}, 404), ("x" * 41, {}, 422), ("15", {"until": ahead(hours=-1)}, 422),
             ("15", {"until": ahead(days=40)}, 422), ("15", {"until": "2026-12-01T00:00:00"}, 422),
             ("15", {"until": "tonight"}, 422), ("15", {"until": None, "price": 0}, 422)]
    for menu_id, body, status in cases:
        response = await with_agent.client.put(f"/admin/menu/{menu_id}/sold-out", headers=ADMIN, json=body)
        assert response.status_code == status, (menu_id, body, response.text)
        assert response.json()["success"] is False
    assert not (await item(with_agent, "15"))["sold_out"]

    # A mark past its end is on sale again without anyone clearing it (written as an old mark would be).
    kv = await sold_out_bucket(with_agent.js)
    await kv.put("16", json.dumps({"id": "16", "until": ahead(minutes=-5), "by": "alice:admin"}).encode())
    assert not (await item(with_agent, "16"))["sold_out"]
    # Written by hand without a time zone (which midnight?): unreadable, so the dish stays on sale.
    await kv.put("17", json.dumps({"id": "17", "until": "2099-01-01T00:00:00", "by": "ops"}).encode())
    assert not (await item(with_agent, "17"))["sold_out"]


async def test_without_the_agent_the_menu_says_so(admin: AdminHarness) -> None:
    response = await admin.client.get("/admin/menu", headers=VIEWER)
    assert (response.status_code, response.json()["error"]["code"]) == (503, "agent_unavailable")
    marked = await admin.client.put("/admin/menu/15/sold-out", headers=ADMIN, json={})
    assert marked.status_code == 503, "an item the menu cannot confirm is not marked"


async def test_an_admin_changes_a_price_and_the_bot_quotes_it(with_agent: AdminHarness, tracking) -> None:
    assert (await with_agent.client.put("/admin/menu/15/price", headers=VIEWER, json={"price": 5200})).status_code == 403
    changed = await with_agent.client.put("/admin/menu/15/price", headers=ADMIN, json={"price": 5200})
    assert changed.status_code == 200, changed.text
    got = changed.json()["item"]
    assert (got["price"], got["file_price"], got["price_by"]) == (5200, 4500, "alice:admin")
    mango = await item(with_agent, "15")
    assert (mango["price"], mango["file_price"], mango["price_by"]) == (5200, 4500, "alice:admin")
    assert "5,200" in await bot_says(with_agent, "5,200")
    # Sold out and repriced at once: both are shown, neither undoes the other.
    assert (await with_agent.client.put("/admin/menu/15/sold-out", headers=ADMIN, json={})).json()["item"]["price"] == 5200
    assert (await with_agent.client.delete("/admin/menu/15/sold-out", headers=ADMIN)).status_code == 200

    assert (await with_agent.client.delete("/admin/menu/15/price", headers=VIEWER)).status_code == 403
    assert (await with_agent.client.delete("/admin/menu/15/price", headers=ADMIN)).json()["deleted"] is True
    assert (await with_agent.client.delete("/admin/menu/15/price", headers=ADMIN)).status_code == 404
    mango = await item(with_agent, "15")
    assert (mango["price"], mango["price_by"]) == (4500, None)
    assert "4,500" in await bot_says(with_agent, "4,500")

    audit = (await with_agent.client.get("/admin/audit?limit=10", headers=VIEWER)).json()["entries"]
    mine = [(e["action"], e["params"]) for e in audit if e["params"].get("id") == "15" and "price" in e["action"]]
    assert [a for a, _ in mine] == ["menu_price_reset", "menu_price"]
    assert mine[1][1] == {"id": "15", "price": 5200, "file_price": 4500, "name": "Mango Smoothie"}


async def test_bad_prices_get_a_clear_error_and_change_nothing(with_agent: AdminHarness) -> None:
    cases = [("999", {"price": 100}, 404), ("15", {"price": 0}, 422), ("15", {"price": -5}, 422),
             ("15", {"price": 10_000_001}, 422), ("15", {"price": "cheap"}, 422), ("15", {}, 422),
             ("15", {"price": 100, "currency": "USD"}, 422), ("x" * 41, {"price": 100}, 422)]
    for menu_id, body, status in cases:
        response = await with_agent.client.put(f"/admin/menu/{menu_id}/price", headers=ADMIN, json=body)
        assert response.status_code == status, (menu_id, body, response.text)
        assert response.json()["success"] is False
    bad_json = await with_agent.client.put("/admin/menu/15/price", headers={**ADMIN, "Content-Type": "application/json"},
                                           content=b'{"price": NaN}')
    assert bad_json.status_code == 422, bad_json.text
    assert (await item(with_agent, "15"))["price"] == 4500
