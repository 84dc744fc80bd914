"""Staff ask the real agent from the panel (POST /admin/agent/try): what a customer would get, sent to no one."""

from __future__ import annotations

import uuid
from typing import Any

from admin_support import ADMIN, VIEWER, add_conversation, add_message, eventually, later
from conftest import AdminHarness, make_settings, running_admin
from pentagon.common.bus import EVENTS_STREAM, UPDATES_STREAM

WIFI_EN = "Do you have free Wi-Fi?"
WIFI_MY = "အခမဲ့ ဝိုင်ဖိုင် ရှိပါသလား"
DURIAN = "Do you sell durian cake?"


async def ask(harness: AdminHarness, text: Any, headers: dict[str, str] = VIEWER, **extra: Any) -> Any:
    return await harness.client.post("/admin/agent/try", headers=headers, json={"text": text, **extra})


async def footprint(harness: AdminHarness) -> tuple[int, ...]:
    """Rows in the database and events on the bus: a try must leave both as they were."""
    async with harness.runtime.connection() as conn:
        rows = await conn.fetchrow("SELECT (SELECT count(*) FROM conversations) c, (SELECT count(*) FROM messages) m")
    streams = [(await harness.js.stream_info(name)).state.messages for name in (EVENTS_STREAM, UPDATES_STREAM)]
    return (rows["c"], rows["m"], *streams)


async def test_staff_see_what_a_customer_would_be_answered(with_agent: AdminHarness) -> None:
    before = await footprint(with_agent)
    english = await ask(with_agent, WIFI_EN)
    assert english.status_code == 200, english.text
    reply = english.json()["reply"]
    assert reply["sources"][0]["id"] == "faq:1" and "Pentagon-Guest" in reply["text"]
    assert (reply["language"], reply["requires_human"], reply["model"]) == ("en", False, "offline")
    assert 0 < reply["confidence"] <= 1

    burmese = (await ask(with_agent, WIFI_MY))
    assert burmese.status_code == 200
    assert burmese.json()["reply"]["language"] == "my" and "ဝိုင်ဖိုင်" in burmese.json()["reply"]["text"]

    unknown = (await ask(with_agent, DURIAN)).json()["reply"]
    assert unknown["requires_human"] and unknown["escalation_reason"], "the panel must show it would hand over"

    # Script and markup are the customer's words, answered as text; the JSON carries them verbatim.
    hostile = await ask(with_agent, "<img src=x onerror=alert(1)> '; DROP TABLE messages; -- ☕🙂")
    assert hostile.status_code == 200 and isinstance(hostile.json()["reply"]["text"], str)

    assert await footprint(with_agent) == before, "a try was stored or published: it must reach no one"


async def test_a_bad_question_gets_a_clear_error(with_agent: AdminHarness) -> None:
    cases = [(None, 401, {}), (" \t\n ", 422, VIEWER), ("nul\x00byte", 422, VIEWER), ("x" * 2001, 422, VIEWER),
             (["a list"], 422, VIEWER)]
    for text, status, headers in cases:
        response = await ask(with_agent, text, headers) if headers else await with_agent.client.post(
            "/admin/agent/try", json={"text": "hello"})
        assert response.status_code == status, (text, response.text)
        assert response.json()["success"] is False
    extra = await ask(with_agent, WIFI_EN, locale="my_MM", conversation_id=7)
    assert extra.status_code == 422, "unknown fields are refused, not ignored"
    assert (await ask(with_agent, WIFI_EN, locale="<script>")).status_code == 422
    assert (await ask(with_agent, "x" * 2000)).status_code == 200, "the longest allowed question is answered"
    for history in ([{"role": "system", "text": "hi"}], [{"role": "user", "text": "hi"}] * 11,
                    [{"role": "user", "text": "a\x00b"}], [{"role": "user"}]):
        assert (await ask(with_agent, WIFI_EN, history=history)).status_code == 422, history


async def test_a_follow_up_is_understood_with_the_turns_before_it(with_agent: AdminHarness) -> None:
    """What "Bot's draft" sends: the customer's "how much is it?" after they asked about a dish."""
    history = [{"role": "user", "text": "Do you have mango smoothie?"}, {"role": "bot", "text": "Yes, 4,500 MMK."}]
    follow_up = (await ask(with_agent, "how much is it?", history=history)).json()["reply"]
    assert follow_up["sources"][0]["id"] == "menu:15" and "4,500" in follow_up["text"]
    alone = (await ask(with_agent, "how much is it?")).json()["reply"]
    assert alone["intent"] == "menu" and "Mango Smoothie" in alone["text"] and "Espresso" in alone["text"]


async def test_an_answer_just_taught_is_what_the_bot_says(with_agent: AdminHarness, tracking) -> None:
    faq_id = f"q-{uuid.uuid4().hex[:10]}"
    assert (await ask(with_agent, DURIAN)).json()["reply"]["requires_human"]
    taught = await with_agent.client.put(f"/admin/knowledge/faq/{faq_id}", headers=ADMIN,
                                    json={"question_en": DURIAN, "answer_en": "Only in June, when durians are ripe."})
    assert taught.status_code == 200, taught.text
    async def durian() -> dict[str, Any]:
        return (await ask(with_agent, DURIAN)).json()["reply"]

    # The agent rebuilds its index moments after the bucket changes.
    reply = await eventually(durian, lambda r: bool(r["sources"]) and r["sources"][0]["id"] == f"faq:staff-{faq_id}")
    assert reply["sources"][0]["id"] == f"faq:staff-{faq_id}", reply
    assert "June" in reply["text"] and not reply["requires_human"]


async def test_without_the_agent_the_panel_says_so_and_everything_else_works(admin: AdminHarness) -> None:
    response = await ask(admin, WIFI_EN, ADMIN)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "agent_unavailable"
    assert (await admin.client.get("/admin/stats", headers=ADMIN)).status_code == 200


async def test_each_staff_member_has_a_few_tries_then_waits_on_every_replica(db_url, nats_url, agent_addr) -> None:
    settings = make_settings(db_url, nats_url, agent_addr=agent_addr, admin_agent_tries_burst=3,
                             admin_agent_tries_per_min=1.0)
    async with running_admin(settings) as first, running_admin(settings) as second:
        assert (await ask(first, "   ")).status_code == 422  # refused before the limit: costs no try
        for replica in (first, second, first):
            assert (await ask(replica, WIFI_EN)).status_code == 200
        for replica in (first, second):  # the other replica counts the same tries
            refused = await ask(replica, WIFI_EN)
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert (await ask(second, WIFI_EN, ADMIN)).status_code == 200  # a colleague has their own


async def test_the_unanswered_list_says_which_questions_the_bot_answers_now(with_agent: AdminHarness, pg,
                                                                              tracking) -> None:
    conv = await add_conversation(pg, "p-coverage", last_message_at=later(30))
    low = {"requires_human": True, "escalation_reason": "low_confidence"}
    await add_message(pg, conv, DURIAN, at=later(1), **low)
    await add_message(pg, conv, "Do you have free Wi-Fi", at=later(2), **low)  # the files answer it today
    url = "/admin/stats/unanswered?since=2026-01-15T10:00:00Z&until=2026-01-15T12:00:00Z"

    async def answered() -> dict[str, Any]:
        return {q["text"]: q["answered_now"] for q in (await with_agent.client.get(url, headers=VIEWER)).json()["questions"]}

    assert await answered() == {DURIAN: False, "Do you have free Wi-Fi": True}
    # Taught under other words: the list knows the bot answers it now, not only an exact copy.
    taught = await with_agent.client.put(f"/admin/knowledge/faq/durian-{uuid.uuid4().hex[:6]}", headers=ADMIN,
                                         json={"question_en": "Durian cakes available?", "answer_en": "In June.",
                                               "tags": ["durian"]})
    assert taught.status_code == 200, taught.text
    now = await eventually(answered, lambda found: found[DURIAN])
    assert now == {DURIAN: True, "Do you have free Wi-Fi": True}
