"""Days staff close the cafe: real agent, real NATS bucket, audit by tracking."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from admin_support import ADMIN, VIEWER, eventually
from conftest import AdminHarness
from pentagon.common.bus import closed_days_bucket

TODAY = "Are you open today?"


def cafe_today() -> date:
    """Today where the agent is (its default time zone, the sample cafe's)."""
    return datetime.now(ZoneInfo("Asia/Yangon")).date()


async def bot_says(harness: AdminHarness, question: str, words: str, present: bool = True) -> str:
    async def text() -> str:
        return (await harness.client.post("/admin/agent/try", headers=VIEWER, json={"text": question})).json()[
            "reply"]["text"]

    return await eventually(text, lambda said: (words in said) == present)


async def listed(harness: AdminHarness, since: str = "") -> list[dict]:
    response = await harness.client.get(f"/admin/closed-days{since and '?from=' + since}", headers=VIEWER)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == len(response.json()["days"])
    return response.json()["days"]


async def test_an_admin_closes_today_and_the_bot_tells_customers_why(with_agent: AdminHarness, tracking) -> None:
    today = cafe_today().isoformat()
    assert await listed(with_agent) == []
    # The knowledge file's days are the agent's: listed beside, from the day asked (its sample's is in April).
    april = (await with_agent.client.get("/admin/closed-days?from=2026-04-01", headers=VIEWER)).json()
    assert {"date": "2026-04-17", "open": None, "close": None} in april["file_days"]
    assert (await with_agent.client.get("/admin/closed-days", headers=VIEWER)).json()["file_days"] == []
    assert (await with_agent.client.put(f"/admin/closed-days/{today}", headers=VIEWER, json={})).status_code == 403

    closed = await with_agent.client.put(f"/admin/closed-days/{today}", headers=ADMIN,
                                         json={"note_en": " Power cut, sorry! ", "note_mm": "မီးပျက်နေလို့ပါ"})
    assert closed.status_code == 200, closed.text
    day = closed.json()["day"]
    assert (day["date"], day["open"], day["close"], day["note_en"], day["note_mm"], day["by"]) == (
        today, None, None, "Power cut, sorry!", "မီးပျက်နေလို့ပါ", "alice:admin")
    assert [d["date"] for d in await listed(with_agent)] == [today]
    said = await bot_says(with_agent, TODAY, "We are closed today")
    assert "Power cut, sorry!" in said
    assert "မီးပျက်နေလို့ပါ" in await bot_says(with_agent, "ဒီနေ့ ဆိုင်ဖွင့်လား", "မီးပျက်နေလို့ပါ")

    # The power is back at three: open until the evening after all (the same day, its hours now).
    changed = await with_agent.client.put(f"/admin/closed-days/{today}", headers=ADMIN,
                                          json={"open": "15:00", "close": "02:00", "note_en": "Power is back"})
    assert changed.status_code == 200 and (changed.json()["day"]["open"], changed.json()["day"]["close"]) == (
        "15:00", "02:00")
    assert "we are open from 15:00 to 02:00" in await bot_says(with_agent, "What are your opening hours?",
                                                                 "15:00 to 02:00")

    later = (cafe_today() + timedelta(days=30)).isoformat()
    assert (await with_agent.client.put(f"/admin/closed-days/{later}", headers=ADMIN, json={})).status_code == 200
    assert [d["date"] for d in await listed(with_agent)] == [today, later]  # soonest first
    assert [d["date"] for d in await listed(with_agent, later)] == [later]  # from the panel's today on

    assert (await with_agent.client.delete(f"/admin/closed-days/{today}", headers=VIEWER)).status_code == 403
    assert (await with_agent.client.delete(f"/admin/closed-days/{today}", headers=ADMIN)).json()["deleted"] is True
    assert (await with_agent.client.delete(f"/admin/closed-days/{today}", headers=ADMIN)).status_code == 404
    assert "We are closed today" not in await bot_says(with_agent, TODAY, "We are closed today", present=False)

    audit = (await with_agent.client.get("/admin/audit?limit=10", headers=VIEWER)).json()["entries"]
    mine = [(e["action"], e["actor"], e["params"]) for e in audit if e["params"].get("id") in (today, later)]
    assert [a for a, _, _ in mine] == ["day_reopened", "day_closed", "day_closed", "day_closed"]
    assert mine[2][2] == {"id": today, "open": "15:00", "close": "02:00", "note_en": "Power is back", "note_mm": ""}
    assert mine[3] == ("day_closed", "alice:admin", {"id": today, "open": None, "close": None,
                                                     "note_en": "Power cut, sorry!", "note_mm": "မီးပျက်နေလို့ပါ"})


async def test_bad_days_and_notes_get_a_clear_error_and_change_nothing(admin: AdminHarness) -> None:
    utc_today = datetime.now(timezone.utc).date()
    cases = [("2026-02-30", {}), ("tomorrow", {}), ("2026-1-05", {}),
             ((utc_today - timedelta(days=2)).isoformat(), {}),
             ((utc_today + timedelta(days=367)).isoformat(), {}),
             (utc_today.isoformat(), {"note_en": "x" * 301}),
             (utc_today.isoformat(), {"note_en": "nul\x00byte"}),
             (utc_today.isoformat(), {"note_en": ["list"]}),
             (utc_today.isoformat(), {"reason": "extra field"}),
             (utc_today.isoformat(), {"open": "10:00"}), (utc_today.isoformat(), {"close": "18:00"}),
             (utc_today.isoformat(), {"open": "10:00", "close": "10:00"}),
             (utc_today.isoformat(), {"open": "9am", "close": "18:00"}),
             (utc_today.isoformat(), {"open": "10:00", "close": "24:00"})]
    for day, body in cases:
        response = await admin.client.put(f"/admin/closed-days/{day}", headers=ADMIN, json=body)
        assert response.status_code == 422, (day, body, response.text)
        assert response.json()["success"] is False
    assert (await admin.client.get("/admin/closed-days?from=2026-02-30", headers=VIEWER)).status_code == 422
    assert await listed(admin) == []
    # No agent here: the days set in the panel are still listed, the file's are unknown (not "none").
    assert (await admin.client.get("/admin/closed-days", headers=VIEWER)).json()["file_days"] is None

    # Written by hand (an operator, another version): a row that is not ours is not listed.
    kv = await closed_days_bucket(admin.js)
    await kv.put(utc_today.isoformat(), json.dumps({"note_en": "no date"}).encode())
    assert await listed(admin) == []
