"""The Streamlit web chat against the real stack: a conversation with the bot, then a staff
takeover seen by the chat user, a real 429, and the page in Chromium through the gateway."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from panelkit import LocalStack, eventually, screenshot
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "clients" / "streamlit-chat" / "app.py"
STAFF_TEXT = "Hello from Thida at the counter"


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@pytest.fixture
def chat(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("GATEWAY_URL", stack.gateway_url)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    yield at


def messages(at: AppTest, role: str) -> list[str]:
    out = []
    for message in at.chat_message:
        if message.name == role:
            out.extend(unescape(m.value) for m in message.markdown)
    return out


def say(at: AppTest, text: str) -> None:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, [e.value for e in at.exception]


def web_conversation(stack: LocalStack, at: AppTest) -> dict[str, Any]:
    user_id = at.session_state["session"].user_id
    data = stack.admin("GET", "/admin/conversations", params={"platform": "web", "status": "all", "limit": 500})
    found = [c for c in data["conversations"] if c["user_id"] == user_id]
    assert found, f"no web conversation for {user_id}"
    return found[0]


def rerun_until(at: AppTest, check, what: str) -> None:
    def once() -> bool:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return bool(check())

    eventually(once, timeout=45, interval=0.5, what=what)


def test_bot_conversation_then_staff_takeover_seen_by_the_user(chat: AppTest, stack: LocalStack) -> None:
    at = chat
    say(at, "What are your opening hours?")
    assert messages(at, "user") == ["What are your opening hours?"]
    answers = messages(at, "assistant")
    assert len(answers) == 1 and answers[0].strip(), answers  # the greeting gives way to the bot's answer
    assert any("%" in c.value for c in at.caption), "a discreet confidence indicator"
    quick = [b for b in at.button if b.key and b.key.startswith("qr-")]
    if quick:
        label = quick[0].label
        quick[0].click().run()
        assert messages(at, "user")[-1] == label

    conversation = web_conversation(stack, at)
    stack.admin("POST", f"/admin/conversations/{conversation['id']}/takeover")
    stack.admin("POST", f"/admin/conversations/{conversation['id']}/reply", json={"text": STAFF_TEXT})
    rerun_until(at, lambda: STAFF_TEXT in messages(at, "staff"), "the staff reply in the chat")
    assert any("staff" in i.value and "taken over" in i.value for i in at.info)

    bot_count = len(messages(at, "assistant"))
    say(at, "Thanks, can I pay by card?")
    assert len(messages(at, "assistant")) == bot_count  # the bot is silent in human mode
    assert any("taken over" in i.value for i in at.info)

    stack.admin("POST", f"/admin/conversations/{conversation['id']}/handback")
    rerun_until(at, lambda: not at.info, "the takeover banner to go after hand-back")
    assert any("assistant again" in c.value for c in at.caption)


def test_a_visitor_a_person_helped_rates_the_chat_once_it_is_closed(chat: AppTest, stack: LocalStack) -> None:
    """Staff close it: "How did we do?" with five buttons; one tap rates that conversation (still
    closed, no new one) and the visitor is thanked."""
    at = chat
    say(at, "Can I book the upstairs room for a birthday?")
    conversation = web_conversation(stack, at)
    stack.admin("POST", f"/admin/conversations/{conversation['id']}/takeover")
    stack.admin("POST", f"/admin/conversations/{conversation['id']}/reply", json={"text": STAFF_TEXT})
    rerun_until(at, lambda: STAFF_TEXT in messages(at, "staff"), "the staff reply in the chat")
    stack.admin("POST", f"/admin/conversations/{conversation['id']}/close")

    def offered() -> list:
        return [b for b in at.button if b.key and b.key.startswith("choice-")]

    rerun_until(at, offered, "the rating question and its buttons")
    assert any("How did we do?" in unescape(c.value) for c in at.caption)
    assert [b.label for b in offered()] == ["😍 Excellent", "🙂 Good", "😐 OK", "🙁 Poor", "😞 Bad"]
    next(b for b in offered() if b.label == "😍 Excellent").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert messages(at, "user")[-1] == "😍 Excellent"
    assert messages(at, "assistant")[-1] == "Thank you for your rating! 🙏"
    assert offered() == []  # answered: the buttons are gone

    def rated() -> dict:
        return stack.admin("GET", f"/admin/conversations/{conversation['id']}")["conversation"]["metadata"].get("rating")

    assert eventually(rated, what="the rating on the conversation")["score"] == 5
    assert web_conversation(stack, at)["id"] == conversation["id"]
    assert web_conversation(stack, at)["status"] == "closed"


def test_rate_limited_user_gets_a_friendly_message(chat: AppTest) -> None:
    at = chat
    for i in range(12):
        say(at, f"message number {i}")
        if any("a little fast" in w.value for w in at.warning):
            break
    else:
        pytest.fail("never rate limited")
    assert not at.exception
    assert any(c.value.startswith("Not sent") for c in at.caption)
    assert any("စောင့်" in w.value for w in at.warning)  # said in Burmese too ("wait")


def test_a_token_the_server_no_longer_honours_never_strands_the_tab(chat: AppTest, stack: LocalStack) -> None:
    """The operators rotated CHAT_SESSION_SECRET while a customer's tab stayed open: the tab's token,
    signed with the old secret, proves nothing any more. The next message still goes through (as a new
    web user, since nothing can show the old one is theirs), and so do the polls for staff replies."""
    from pentagon.webhook.chat_sessions import SessionSigner

    at = chat
    say(at, "Hello")
    first = at.session_state["session"]

    def signed_before_rotation(user_id: str) -> Any:
        return type(first)(token=SessionSigner("the secret before rotation", 3600).issue(user_id)[0], user_id=user_id)

    at.session_state["session"] = signed_before_rotation(first.user_id)
    answers = len(messages(at, "assistant"))
    say(at, "What are your opening hours?")
    assert not at.warning, [w.value for w in at.warning]
    assert len(messages(at, "assistant")) == answers + 1
    second = at.session_state["session"]
    assert second.user_id != first.user_id
    assert web_conversation(stack, at)["message_count"] >= 2

    at.session_state["session"] = signed_before_rotation(second.user_id)
    at.run()  # a poll, no message: the tab renews by itself
    assert not at.exception, [e.value for e in at.exception]
    third = at.session_state["session"]
    assert third.user_id not in (first.user_id, second.user_id)
    say(at, "Thanks")  # the renewed token works as it is: no second renewal
    assert not at.warning and at.session_state["session"] == third
    conversation = web_conversation(stack, at)
    stack.admin("POST", f"/admin/conversations/{conversation['id']}/takeover")
    rerun_until(at, lambda: any("taken over" in i.value for i in at.info), "staff news on the renewed session")


@pytest.mark.browser
def test_chat_page_in_the_browser(context: Any, stack: LocalStack) -> None:
    page = context.new_page()
    page.goto("/chat/")
    box = page.locator("[data-testid='stChatInputTextArea']")
    box.wait_for(timeout=60_000)
    box.fill("Do you have oat milk? ကော်ဖီ")
    box.press("Enter")
    page.locator("[data-testid='stChatMessage']", has_text="oat milk").wait_for(timeout=60_000)
    eventually(lambda: page.locator("[data-testid='stChatMessage']").count() >= 2, what="the bot's answer")
    assert "Traceback" not in page.content()
    # A customer's page: no Streamlit developer toolbar.
    assert page.get_by_role("button", name="Deploy").count() == 0
    assert page.locator("[data-testid='stMainMenu']").count() == 0
    # The oat-milk answer, not a milk coffee from the menu (the Burmese word must not outweigh the English).
    eventually(lambda: "၈၀၀" in page.locator("[data-testid='stChatMessage']").nth(1).inner_text(),
               what="the oat-milk answer (800 MMK extra)")
    screenshot(page, "chat.png")

    # A staff member starts typing an answer in the admin panel: the customer sees it.
    def oat_milk_conversation() -> dict[str, Any] | None:
        found = stack.admin("GET", "/admin/conversations",
                            params={"platform": "web", "q": "oat milk", "status": "all"})["conversations"]
        return found[0] if found else None

    conversation = eventually(oat_milk_conversation, what="the web conversation in the admin API")
    from websockets.sync.client import connect

    ws_url = stack.gateway_url.replace("http://", "ws://") + "/admin/ws"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {stack.admin_token}"}) as panel_socket:
        panel_socket.recv()  # hello
        panel_socket.send(json.dumps({"type": "typing", "conversation_id": conversation["id"]}))
        page.get_by_text("A staff member is typing", exact=False).wait_for(timeout=20_000)

    # A list answer keeps its lines: Markdown would run "• Espresso - 2,500" and the rest into one line.
    box.fill("Menu")
    box.press("Enter")
    answer = page.locator("[data-testid='stChatMessage']", has_text="Espresso")
    answer.wait_for(timeout=60_000)
    lines = [line.strip() for line in answer.inner_text().splitlines() if line.strip()]
    assert any(line.startswith("Here is our menu") for line in lines), lines
    assert "• Espresso - 2,500" in lines and "• Americano - 3,000" in lines, lines
