"""Staff close a conversation a person helped with: the customer is asked "How did we do?" once, and
their answers show in the statistics. Real tracking (it executes the close and files the question)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from admin_support import ADMIN, add_conversation, add_message, eventually, later
from conftest import AdminHarness
from pentagon.admin.alert_figures import AlertFigures
from pentagon.common.bus import EVENTS_STREAM
from pentagon.common.proto import events_pb2 as pb


def now(**delta: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(**delta)


async def questions(harness: AdminHarness) -> list[pb.MessageEvent]:
    """Every rating question on the bus (system messages on events.out)."""
    sub = await harness.js.pull_subscribe("events.out.>", stream=EVENTS_STREAM)
    found = []
    try:
        for msg in await sub.fetch(100, timeout=1):
            event = pb.MessageEvent.FromString(msg.data)
            if event.sender == pb.SENDER_SYSTEM:
                found.append(event)
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return found


async def helped(pg, user: str, text: str = "Where is my order?", platform: str = "messenger",
                 asked_at: datetime | None = None) -> int:
    """An open conversation: the customer asked, a staff member answered."""
    conv = await add_conversation(pg, user, platform=platform, status="human", last_message_at=None)
    await add_message(pg, conv, text, at=asked_at or now(minutes=-5), event_id=f"m:{user}")
    await add_message(pg, conv, "It is on its way", "human", at=now(minutes=-4), event_id=f"h:{user}")
    return conv


async def close(harness: AdminHarness, conv: int) -> None:
    response = await harness.client.post(f"/admin/conversations/{conv}/close", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["conversation"]["status"] == "closed"


@pytest.mark.parametrize("platform", ["messenger", "web"])
async def test_a_customer_a_person_helped_is_asked_once_in_their_language(admin: AdminHarness, pg, tracking,
                                                                        platform: str) -> None:
    conv = await helped(pg, "psid-rate", "ကျွန်တော့် အော်ဒါ ဘယ်မှာလဲ", platform=platform)
    await close(admin, conv)
    [question] = await questions(admin)
    assert (question.event_id, question.key.user_id, question.needs_delivery) == (f"rate:{conv}", "psid-rate", True)
    assert question.key.platform == platform
    assert question.reply_to_event_id == "h:psid-rate"  # filed after the last message, in this conversation
    assert "ကျေးဇူးတင်ပါတယ်" in question.content
    metadata = json.loads(question.metadata_json)
    assert [q["payload"] for q in metadata["quick_replies"]] == [f"RATE:{s}:rate:{conv}" for s in (5, 4, 3, 2, 1)]
    assert metadata["quick_replies"][0]["title"].startswith("😍")

    # Tracking files it under the closed conversation: no new conversation for the customer.
    async def filed() -> list:
        return await pg.fetch("SELECT conversation_id FROM messages WHERE event_id = $1", f"rate:{conv}")
    assert [r["conversation_id"] for r in await eventually(filed, bool)] == [conv]
    assert await pg.fetchval("SELECT count(*) FROM conversations WHERE user_id = 'psid-rate'") == 1
    assert await pg.fetchval("SELECT status FROM conversations WHERE id = $1", conv) == "closed"

    # Reopened and closed again: asked already, nothing new is sent.
    reopened = await admin.client.post(f"/admin/conversations/{conv}/reopen", headers=ADMIN)
    assert reopened.status_code == 200, reopened.text
    await close(admin, conv)
    assert len(await questions(admin)) == 1


async def test_nobody_is_asked_when_it_would_make_no_sense(admin: AdminHarness, pg, tracking) -> None:
    bot_only = await add_conversation(pg, "psid-bot", last_message_at=None)
    await add_message(pg, bot_only, "menu?", at=now(minutes=-3))
    await add_message(pg, bot_only, "Here it is", "bot", at=now(minutes=-3))
    stale = await helped(pg, "psid-stale", asked_at=now(days=-2))
    elsewhere = await helped(pg, "wa-1", platform="whatsapp")  # no way to put buttons there yet
    for conv in (bot_only, stale, elsewhere):
        await close(admin, conv)
    assert await questions(admin) == []


@pytest.mark.parametrize("admin", [{"admin_rating_on_close": False}], indirect=True)
async def test_an_operator_can_turn_the_question_off(admin: AdminHarness, pg, tracking) -> None:
    await close(admin, await helped(pg, "psid-off"))
    assert await questions(admin) == []


async def test_the_statistics_sum_up_what_customers_answered(admin: AdminHarness, pg) -> None:
    def rated(score, at):
        return {"rating": {"score": score, "rated_at": at}}

    for i, meta in enumerate([rated(5, "2026-01-15T10:30:00Z"), rated(4, "2026-01-15T11:00:00.5+00:00"),
                              rated(2, "2026-01-15T12:00:00Z"),
                              rated(5, "2026-01-13T10:00:00Z"),  # before the period
                              rated(3, "yesterday"), rated("5; DROP TABLE conversations", "2026-01-15T10:30:00Z"),
                              {"rating": "great"}]):
        await add_conversation(pg, f"rated-{i}", status="closed", last_message_at=later(180), metadata=json.dumps(meta))
    response = await admin.client.get("/admin/stats/detailed", headers=ADMIN,
                                      params={"since": "2026-01-15T00:00:00Z", "until": "2026-01-16T00:00:00Z"})
    assert response.status_code == 200, response.text
    ratings = response.json()["stats"]["ratings"]
    assert ratings["count"] == 3 and ratings["by_score"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert ratings["average"] == pytest.approx(11 / 3) and ratings["satisfied_share"] == pytest.approx(2 / 3)

    empty = await admin.client.get("/admin/stats/detailed", headers=ADMIN,
                                   params={"since": "2025-01-01T00:00:00Z", "until": "2025-01-02T00:00:00Z"})
    assert empty.json()["stats"]["ratings"] == {"count": 0, "average": None, "satisfied_share": None,
                                                "by_score": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}



async def test_staff_list_the_unhappy_customers_to_follow_up(admin: AdminHarness, pg) -> None:
    ids = {}
    for name, meta in [("sad", {"rating": {"score": 1, "rated_at": "2026-01-15T10:30:00Z"}}),
                       ("happy", {"rating": {"score": 4, "rated_at": "2026-01-15T10:31:00Z"}}),
                       ("silent", {}), ("odd", {"rating": {"score": "1 OR 1=1"}})]:
        ids[name] = await add_conversation(pg, f"rated-{name}", status="closed", metadata=json.dumps(meta))

    async def listed(**params) -> set[int]:
        response = await admin.client.get("/admin/conversations", headers=ADMIN, params={"status": "all", **params})
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["conversations"]}

    assert await listed(max_rating=2) == {ids["sad"]}
    assert await listed(max_rating=5) == {ids["sad"], ids["happy"]}
    exported = await admin.client.get("/admin/export/conversations.jsonl", headers=ADMIN, params={"max_rating": 2})
    assert [json.loads(line)["id"] for line in exported.text.splitlines()] == [ids["sad"]]
    for bad in ("0", "6", "two", "2; DROP TABLE conversations"):
        refused = await admin.client.get("/admin/conversations", headers=ADMIN, params={"max_rating": bad})
        assert refused.status_code == 422 and refused.json()["success"] is False


async def test_a_bad_rating_is_a_figure_for_the_on_call_alert(admin: AdminHarness, pg) -> None:
    """admin_low_ratings_last_hour (alert CustomerRatedUsBadly) counts the 1-2 ratings of the last hour,
    whether or not a panel is open."""
    for user, score, minutes_ago in [("sad-now", 1, 10), ("meh-now", 2, 50), ("happy-now", 5, 5),
                                     ("sad-before", 1, 90), ("sad-soon", 1, -5)]:
        rated_at = now(minutes=-minutes_ago).isoformat()
        await add_conversation(pg, user, status="closed", last_message_at=now(minutes=-minutes_ago),
                               metadata=json.dumps({"rating": {"score": score, "rated_at": rated_at}}))
    figures = AlertFigures(admin.runtime.connection, 0.05)
    figures.start()
    try:
        for _ in range(200):
            if figures.low_ratings:
                break
            await asyncio.sleep(0.05)
        assert figures.low_ratings == 2
        assert REGISTRY.get_sample_value("admin_low_ratings_last_hour") == 2  # what the alert reads
    finally:
        await figures.stop()
