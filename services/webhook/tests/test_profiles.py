"""Customers' names (profiles.py) with the real tracking and agent: asked of Messenger's User
Profile API once per customer, while the agent thinks, and merged into the conversation the staff
see; a web chat visitor's typed name the same way."""

from __future__ import annotations

import json

import asyncpg

from pentagon.devtools.graph_stub import profile_of
from pentagon.webhook.profiles import display_name

QUESTIONS = ["Do you have wifi?", "What time do you open?", "Do you have oat milk?"]


async def _answered(database_url: str, psid: str, count: int, wait_for) -> dict:  # type: ignore[no-untyped-def]
    """The customer's conversation metadata once the bot's `count` answers are stored."""
    async def done():
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow(
                "SELECT c.metadata, count(*) FILTER (WHERE m.sender_type = 'bot') AS answers FROM conversations c "
                "JOIN messages m ON m.conversation_id = c.id WHERE c.user_id = $1 GROUP BY c.id", psid)
        finally:
            await conn.close()
        return row is not None and row["answers"] >= count and [json.loads(row["metadata"])]

    (metadata,) = await wait_for(done, timeout=30)
    return metadata


async def _ask(hook, messenger, psid: str, n: int) -> None:  # type: ignore[no-untyped-def]
    page = messenger.page(messenger.text(psid, f"m_{psid}_{n}", QUESTIONS[n % len(QUESTIONS)]))
    assert (await hook.post_signed(page)).status_code == 200


async def test_the_name_is_asked_once_and_shown_on_the_conversation(stack, graph, messenger, database_url,
                                                                     wait_for) -> None:
    hook = stack()
    await _ask(hook, messenger, "811", 0)
    meta = await _answered(database_url, "811", 1, wait_for)
    assert meta.get("user_name") == display_name(profile_of("811"))
    await _ask(hook, messenger, "811", 1)
    await _answered(database_url, "811", 2, wait_for)
    (asked,) = await graph.requests("profile")
    assert asked["body"]["recipient"] == {"id": "811"} and asked["body"]["fields"] == "first_name,last_name"
    assert asked["access_token"] == "test-page-token"


async def test_a_refusal_is_remembered_and_a_transient_failure_asked_again(stack, graph, messenger, database_url,
                                                                            wait_for) -> None:
    hook = stack()
    # 812: the page may not see the name (Graph code 10, permanent); 813: Graph is briefly down.
    await graph.fail(kind="profile", recipient="812", status=400, code=10, message="Permission denied", times=-1)
    await graph.fail(kind="profile", recipient="813", status=500, times=1)
    for psid in ("812", "813"):
        await _ask(hook, messenger, psid, 0)
        assert "user_name" not in await _answered(database_url, psid, 1, wait_for)  # answered all the same
        await _ask(hook, messenger, psid, 1)
    assert "user_name" not in await _answered(database_url, "812", 2, wait_for)
    meta = await _answered(database_url, "813", 2, wait_for)
    assert meta.get("user_name") == display_name(profile_of("813"))
    asked = [r["body"]["recipient"]["id"] for r in await graph.requests("profile")]
    assert sorted(asked) == ["812", "813", "813"]


async def test_names_are_not_asked_when_the_operator_turns_them_off(stack, graph, messenger, database_url,
                                                                     wait_for) -> None:
    hook = stack(MESSENGER_USER_NAMES="false")
    await _ask(hook, messenger, "814", 0)
    assert "user_name" not in await _answered(database_url, "814", 1, wait_for)
    assert await graph.requests("profile") == []


async def test_a_web_visitors_typed_name_is_shown_on_the_conversation(stack, database_url, wait_for) -> None:
    hook = stack()
    session = await hook.chat_session(name="သီရိ Thiri")
    assert (await hook.chat(session["session_token"], "Do you have wifi?")).status_code == 200
    meta = await _answered(database_url, session["user_id"], 1, wait_for)
    assert meta.get("user_name") == "သီရိ Thiri"


def test_display_name_keeps_burmese_and_drops_control_characters() -> None:
    assert display_name({"first_name": " မြတ် ", "last_name": "နိုင်"}) == "မြတ် နိုင်"
    assert display_name({"first_name": "Su\u202eSu\x00", "last_name": None}) == "SuSu"
    assert display_name({"first_name": "x" * 500}) == "x" * 100
    assert display_name({}) == ""
