"""Staff ask the real agent from the panel (POST /admin/agent/try): what a customer would get, sent to no one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from admin_support import ADMIN, VIEWER
from conftest import AdminHarness, make_settings, running_admin
from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR
from pentagon.common.bus import EVENTS_STREAM, UPDATES_STREAM
from pentagon.devtools.embedded import free_port

WIFI_EN = "Do you have free Wi-Fi?"
WIFI_MY = "အခမဲ့ ဝိုင်ဖိုင် ရှိပါသလား"
DURIAN = "Do you sell durian cake?"


@pytest.fixture
def agent_addr(services, nats_url: str) -> str:
    """The real agent process, the cafe's sample knowledge, offline answerer, following the taught answers."""
    grpc_port, http_port = free_port(), free_port()
    services.start("pentagon.agent", {"NATS_URL": nats_url, "AGENT_ADDR": f"127.0.0.1:{grpc_port}",
                                      "AGENT_HTTP_ADDR": f"127.0.0.1:{http_port}", "OPENAI_API_KEY": "",
                                      "KNOWLEDGE_DIR": str(PACKAGED_KNOWLEDGE_DIR)},
                   ready_url=f"http://127.0.0.1:{http_port}/readyz")
    return f"127.0.0.1:{grpc_port}"


@pytest_asyncio.fixture
async def asker(db_url: str, nats_url: str, agent_addr: str) -> AsyncIterator[AdminHarness]:
    async with running_admin(make_settings(db_url, nats_url, agent_addr=agent_addr)) as harness:
        yield harness


async def ask(harness: AdminHarness, text: Any, headers: dict[str, str] = VIEWER, **extra: Any) -> Any:
    return await harness.client.post("/admin/agent/try", headers=headers, json={"text": text, **extra})


async def footprint(harness: AdminHarness) -> tuple[int, ...]:
    """Rows in the database and events on the bus: a try must leave both as they were."""
    async with harness.runtime.connection() as conn:
        rows = await conn.fetchrow("SELECT (SELECT count(*) FROM conversations) c, (SELECT count(*) FROM messages) m")
    streams = [(await harness.js.stream_info(name)).state.messages for name in (EVENTS_STREAM, UPDATES_STREAM)]
    return (rows["c"], rows["m"], *streams)


async def test_staff_see_what_a_customer_would_be_answered(asker: AdminHarness) -> None:
    before = await footprint(asker)
    english = await ask(asker, WIFI_EN)
    assert english.status_code == 200, english.text
    reply = english.json()["reply"]
    assert reply["sources"][0]["id"] == "faq:1" and "Pentagon-Guest" in reply["text"]
    assert (reply["language"], reply["requires_human"], reply["model"]) == ("en", False, "offline")
    assert 0 < reply["confidence"] <= 1

    burmese = (await ask(asker, WIFI_MY))
    assert burmese.status_code == 200
    assert burmese.json()["reply"]["language"] == "my" and "ဝိုင်ဖိုင်" in burmese.json()["reply"]["text"]

    unknown = (await ask(asker, DURIAN)).json()["reply"]
    assert unknown["requires_human"] and unknown["escalation_reason"], "the panel must show it would hand over"

    # Script and markup are the customer's words, answered as text; the JSON carries them verbatim.
    hostile = await ask(asker, "<img src=x onerror=alert(1)> '; DROP TABLE messages; -- ☕🙂")
    assert hostile.status_code == 200 and isinstance(hostile.json()["reply"]["text"], str)

    assert await footprint(asker) == before, "a try was stored or published: it must reach no one"


async def test_a_bad_question_gets_a_clear_error(asker: AdminHarness) -> None:
    cases = [(None, 401, {}), (" \t\n ", 422, VIEWER), ("nul\x00byte", 422, VIEWER), ("x" * 2001, 422, VIEWER),
             (["a list"], 422, VIEWER)]
    for text, status, headers in cases:
        response = await ask(asker, text, headers) if headers else await asker.client.post(
            "/admin/agent/try", json={"text": "hello"})
        assert response.status_code == status, (text, response.text)
        assert response.json()["success"] is False
    extra = await ask(asker, WIFI_EN, locale="my_MM", conversation_id=7)
    assert extra.status_code == 422, "unknown fields are refused, not ignored"
    assert (await ask(asker, WIFI_EN, locale="<script>")).status_code == 422
    assert (await ask(asker, "x" * 2000)).status_code == 200, "the longest allowed question is answered"


async def test_an_answer_just_taught_is_what_the_bot_says(asker: AdminHarness, tracking) -> None:
    faq_id = f"q-{uuid.uuid4().hex[:10]}"
    assert (await ask(asker, DURIAN)).json()["reply"]["requires_human"]
    taught = await asker.client.put(f"/admin/knowledge/faq/{faq_id}", headers=ADMIN,
                                    json={"question_en": DURIAN, "answer_en": "Only in June, when durians are ripe."})
    assert taught.status_code == 200, taught.text
    reply: dict[str, Any] = {}
    for _ in range(150):  # the agent rebuilds its index moments after the bucket changes
        reply = (await ask(asker, DURIAN)).json()["reply"]
        if reply["sources"] and reply["sources"][0]["id"] == f"faq:staff-{faq_id}":
            break
        await asyncio.sleep(0.2)
    assert reply["sources"][0]["id"] == f"faq:staff-{faq_id}", reply
    assert "June" in reply["text"] and not reply["requires_human"]


async def test_without_the_agent_the_panel_says_so_and_everything_else_works(admin: AdminHarness) -> None:
    response = await ask(admin, WIFI_EN, ADMIN)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "agent_unavailable"
    assert (await admin.client.get("/admin/stats", headers=ADMIN)).status_code == 200
