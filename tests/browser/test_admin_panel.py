"""The admin panel as staff use it, in headless Chromium against the real stack (issue 7).

A signed Messenger message appears live; staff take over, reply (the Graph API
recorder receives it), the bot stays silent in human mode, hand back, close.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pentagon.devtools.graph_stub import profile_of
from pentagon.webhook.profiles import display_name

from panelkit import LocalStack, PanelPage, conv_item, conversation_of, eventually, psid, screenshot, sign_in, wait_js

pytestmark = pytest.mark.browser

BURMESE = "မင်္ဂလာပါ။ ကော်ဖီ ဘယ်အချိန်ဖွင့်လဲ"



def item(page, user_id: str):
    return conv_item(page, user_id)


def test_sign_in_is_required_and_survives_a_reload(panel: PanelPage, stack: LocalStack) -> None:
    page = panel.page
    page.goto("/")
    page.locator("#signin-form").wait_for()
    screenshot(page, "signin.png")
    page.locator("#token").fill("not-a-token")
    page.locator("#signin-submit").click()
    error = page.locator("#signin-error")
    error.wait_for()
    assert "not valid" in error.inner_text()
    assert page.locator("#app").is_hidden()

    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    sign_in(panel, stack.admin_token)  # waits for the live feed to be open
    assert page.locator("#me").inner_text() == f"{stack.ADMIN_NAME} (admin)"
    # The token goes as a WebSocket subprotocol: never in a URL that logs or proxies keep.
    assert sockets and all("/admin/ws" in url and "token" not in url and stack.admin_token not in url for url in sockets)
    page.reload()
    page.locator("#conn[data-state='open']").wait_for()
    assert page.locator("#signin").is_hidden()

    page.locator("#signout").click()
    page.locator("#signin-form").wait_for()
    page.reload()
    page.locator("#signin-form").wait_for()
    assert page.locator("#app").is_hidden()


def test_takeover_reply_silent_bot_handback_close(panel: PanelPage, stack: LocalStack) -> None:
    page = panel.page
    user = psid("9")
    sign_in(panel, stack.admin_token)

    # 1. A signed Messenger message appears in the panel without a reload.
    stack.messenger(user, f"Hello! {BURMESE}")
    row = item(page, user)
    row.wait_for(timeout=30_000)
    bot_first = eventually(lambda: stack.sent_texts(user), what="the bot's first answer on Messenger")
    row.click()
    thread = page.locator("#thread")
    thread.locator(".msg.user .msg-body", has_text=BURMESE).wait_for()
    thread.locator(".msg.bot").first.wait_for(timeout=30_000)
    assert thread.locator(".msg.user .msg-body").first.inner_text() == f"Hello! {BURMESE}"
    # The customer's name from Messenger's User Profile API, in the list and the header, as text.
    name = display_name(profile_of(user))
    eventually(lambda: f"· {name}" in row.inner_text(), what="the customer's name in the list")
    eventually(lambda: page.locator("#conv-title").inner_text().endswith(f"· {name}"), what="the name in the header")

    # Timestamps are in the viewer's time zone (the context runs in Asia/Yangon, UTC+06:30).
    conversation = conversation_of(stack, user)
    detail = stack.admin("GET", f"/admin/conversations/{conversation['id']}")
    first = detail["messages"][0]
    local = datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Yangon"))
    shown = thread.locator(".msg.user time").first.inner_text()
    assert local.strftime("%H:%M") in shown, (shown, first["timestamp"])
    bot_badge = thread.locator(".msg.bot .confidence")
    if detail["messages"][1].get("confidence_score") is not None:
        assert re.fullmatch(r"\d+%", bot_badge.first.inner_text())
    screenshot(page, "conversation.png")

    # 2. Take over: the server's answer is shown.
    page.locator("#act-takeover").click()
    page.locator("#conv-detail[data-status='human']").wait_for()
    assert "human" in page.locator("#conv-sub").inner_text()
    assert page.locator("#act-handback").is_visible()

    # 3. Reply as a human: Shift+Enter is a new line, Enter sends; the Graph API receives it.
    box = page.locator("#reply-text")
    box.click()
    box.type("Hi, this is Alice from the cafe.")
    box.press("Shift+Enter")
    box.type("Oat milk is available.")
    assert box.input_value() == "Hi, this is Alice from the cafe.\nOat milk is available."
    box.press("Enter")
    reply = "Hi, this is Alice from the cafe.\nOat milk is available."
    eventually(lambda: reply in stack.sent_texts(user), what="the staff reply at the Graph API")
    human = thread.locator(".msg.human").last
    human.wait_for()
    assert human.locator(".msg-body").inner_text() == reply
    assert box.input_value() == ""
    human.locator(".tick.sent, .tick.delivered, .tick.read").wait_for(timeout=30_000)
    screenshot(page, "conversation-human.png")

    # 4. The bot stays silent in human mode. Messages of one user are answered in order, so once the
    #    bot has answered a later message (after hand-back) it would have answered this one first.
    stack.messenger(user, "Are you still there?")
    thread.locator(".msg.user .msg-body", has_text="Are you still there?").wait_for(timeout=30_000)

    # 5. Hand back to the bot.
    page.locator("#act-handback").click()
    page.locator("#conv-detail[data-status='active']").wait_for()
    sent_before = len(stack.sent_texts(user))
    stack.messenger(user, "What time do you open tomorrow?")
    eventually(lambda: len(stack.sent_texts(user)) > sent_before, what="the bot answering after hand-back")
    sent = stack.sent_texts(user)
    assert sent[: len(bot_first)] == bot_first
    assert sent[len(bot_first)] == reply
    assert len(sent) == len(bot_first) + 2, sent  # nothing sent for "Are you still there?"

    def stored_order() -> list[tuple[str, str]] | None:
        # Tracking stores asynchronously: wait until the question and the bot's answer are both in.
        detail = stack.admin("GET", f"/admin/conversations/{conversation['id']}")
        order = [(m["sender_type"], m["content"]) for m in detail["messages"]]
        question = ("user", "What time do you open tomorrow?")
        return order if question in order and order[-1][0] == "bot" else None

    order = eventually(stored_order, what="the question and the bot's answer stored")
    silent_at = order.index(("user", "Are you still there?"))
    assert order[silent_at + 1] == ("user", "What time do you open tomorrow?"), order

    # 6. Close: the list drops it from the open view, the detail offers Reopen.
    page.locator("#act-close").click()
    page.locator("#conv-detail[data-status='closed']").wait_for()
    assert page.locator("#act-reopen").is_visible()
    assert page.locator("#reply-text").is_disabled()
    assert stack.admin("GET", f"/admin/conversations/{conversation['id']}")["conversation"]["status"] == "closed"

    # 7. A person helped, so the customer is asked how it went; their tap rates this conversation
    #    (still closed, no new one opened) and is thanked; the panel shows it live.
    def asked() -> list[dict]:
        return [b["message"] for b in stack.sent_to(user) if (b.get("message") or {}).get("quick_replies")
                and "How did we do?" in b["message"].get("text", "")]

    [question] = eventually(asked, what="the rating question on Messenger")
    good = next(q for q in question["quick_replies"] if q["title"] == "🙂 Good")
    stack.messenger(user, good["title"], quick_reply=good["payload"])
    page.locator("#conv-sub", has_text="rated 4/5 by the customer").wait_for(timeout=30_000)
    thread.locator(".msg.user .msg-body", has_text="🙂 Good").wait_for()
    eventually(lambda: "Thank you for your rating! 🙏" in stack.sent_texts(user), what="the thank-you")
    assert conversation_of(stack, user)["id"] == conversation["id"]
    assert conversation_of(stack, user)["status"] == "closed"
    # Rated conversations are a filter away (the open list switches to all: they are closed);
    # "Rated 1-2" lists those to follow up, not this happy one.
    page.locator("#f-rating").select_option("5")
    row.wait_for()
    assert page.locator("#f-status").input_value() == "all"
    page.locator("#f-rating").select_option("2")
    row.wait_for(state="detached")
    assert not panel.dialogs
    assert not [e for e in panel.console_errors if "Content Security Policy" in e]


def test_assign_priority_reopen_and_errors_shown(panel: PanelPage, stack: LocalStack) -> None:
    page = panel.page
    user = psid("9")
    stack.messenger(user, "Table for two?")  # a question (a day or time would make it a booking for staff)
    eventually(lambda: conversation_of(stack, user), what="the conversation to be stored")
    sign_in(panel, stack.admin_token)
    item(page, user).click()
    page.locator("#thread .msg.user").first.wait_for()

    page.locator("#act-assign").click()
    page.locator("#act-assign", has_text="Unassign me").wait_for()
    assert f"assigned to {stack.ADMIN_NAME}" in page.locator("#conv-sub").inner_text()
    item(page, user).locator(".assignee", has_text=stack.ADMIN_NAME).wait_for()

    page.locator("#act-priority").select_option("5")
    page.locator("#conv-sub", has_text="priority 5").wait_for()
    item(page, user).locator(".prio.p5").wait_for()

    # Mark the user's message as needing a human, then as replied.
    page.locator("#thread .msg.user button[data-action='mark-human']").first.click()
    page.locator("#thread .msg.user.needs-human").first.wait_for()
    item(page, user).locator(".flag.needs").wait_for()
    page.locator("#thread .msg.user button[data-action='mark-replied']").first.click()
    page.locator("#thread .msg.user .flag.replied").first.wait_for()

    page.locator("#act-close").click()
    page.locator("#conv-detail[data-status='closed']").wait_for()
    page.locator("#act-reopen").click()
    page.locator("#conv-detail[data-status='active']").wait_for()

    # Each action has its line in the thread, after the messages it followed, for whoever opens it later.
    lines = page.locator("#thread .activity span")
    expected = ["alice assigned it to alice", "alice set priority 5", "alice marked a message as needing a human",
                "alice marked a message as replied", "alice closed the conversation", "alice reopened the conversation"]
    eventually(lambda: lines.all_inner_texts() == expected, what=f"the activity lines {expected}")
    assert page.locator("#thread > *").last.get_attribute("class") == "activity"
    assert page.locator("#thread > *").first.get_attribute("class").startswith("msg user")
    page.reload()  # opened afresh, the conversation shows its history too
    page.locator("#thread .msg.user").first.wait_for()
    eventually(lambda: lines.all_inner_texts() == expected, what="the activity lines after a reload")
    # Another staff member's action appears live in the open conversation.
    conversation_id = conversation_of(stack, user)["id"]
    stack.admin("POST", f"/admin/conversations/{conversation_id}/assign", json={"assigned_to": None})
    eventually(lambda: lines.all_inner_texts()[-1:] == ["alice unassigned it"], what="the live activity line")

    # A reopen that conflicts (the user started a new conversation meanwhile) shows the server's error.
    page.locator("#act-close").click()
    page.locator("#conv-detail[data-status='closed']").wait_for()
    stack.messenger(user, "One more question")
    eventually(lambda: conversation_of(stack, user).get("status") in ("active", "human"), what="a new open conversation")
    page.locator("#act-reopen").click()
    page.locator("#error").wait_for()
    assert page.locator("#error-text").inner_text().strip()
    page.locator("#conv-detail[data-status='closed']").wait_for()


def test_viewer_cannot_act(panel: PanelPage, stack: LocalStack) -> None:
    page = panel.page
    user = psid("9")
    stack.messenger(user, "Just looking")
    eventually(lambda: conversation_of(stack, user), what="the conversation to be stored")
    sign_in(panel, stack.viewer_token)
    assert page.locator("#me").inner_text() == "victor (viewer)"
    item(page, user).click()
    page.locator("#thread .msg.user").first.wait_for()
    assert page.locator("#act-takeover").is_disabled()
    assert page.locator("#act-block").is_disabled()
    assert page.locator("#reply-text").is_disabled()
    assert page.locator("#thread button[data-action]").count() == 0


def test_an_admin_blocks_and_unblocks_a_customer(panel: PanelPage, stack: LocalStack) -> None:
    page = panel.page
    user = psid("6")
    sign_in(panel, stack.admin_token)
    stack.messenger(user, "cheap followers at www.example.test")
    row = item(page, user)
    row.wait_for(timeout=30_000)
    row.click()
    page.locator("#thread .msg.user").first.wait_for()
    page.locator("#act-block", has_text="Block customer").click()
    page.locator("#conv-sub", has_text="customer blocked").wait_for()
    page.locator("#act-block", has_text="Unblock customer").wait_for()
    page.locator("#thread", has_text="alice blocked the customer").wait_for()
    assert stack.admin("GET", "/admin/customers/blocked")["customers"][0]["user_id"] == user
    # A reload asks the server again: the block is not only in this page's memory.
    page.reload()
    item(page, user).click()
    page.locator("#conv-sub", has_text="customer blocked").wait_for()
    page.locator("#act-block", has_text="Unblock customer").click()
    page.locator("#act-block", has_text="Block customer").wait_for()
    page.locator("#thread", has_text="alice unblocked the customer").wait_for()
    assert "customer blocked" not in page.locator("#conv-sub").inner_text()
    assert stack.admin("GET", "/admin/customers/blocked")["count"] == 0
    # Another admin's block (another panel, another replica) shows here live, without a reload.
    conv = page.evaluate("location.hash").removeprefix("#c/")
    stack.admin("POST", f"/admin/conversations/{conv}/block", json={})
    page.locator("#conv-sub", has_text="customer blocked").wait_for()
    page.locator("#act-block", has_text="Unblock customer").wait_for()
    stack.admin("POST", f"/admin/conversations/{conv}/unblock", json={})
    page.locator("#act-block", has_text="Block customer").wait_for()


def test_stats_of_an_older_range_answered_late_are_not_shown(panel: PanelPage, stack: LocalStack) -> None:
    """Switching the range while the previous answer is still on its way: the panel shows the range
    its selector says, whatever order the answers arrive in."""
    page = panel.page
    held: list = []

    def hold_the_first(route) -> None:
        if held:
            route.continue_()
            return
        held.append(route)

    page.route("**/admin/stats/detailed?*", hold_the_first)
    sign_in(panel, stack.admin_token)
    page.locator("#tab-stats").click()
    page.locator("#stats-range").select_option("168")
    page.locator("#stats-cards .card").first.wait_for()
    with page.expect_response("**/admin/stats/detailed?*"):
        held[0].fulfill(json={"success": True, "stats": {"conversations_in_range": 987654}})
    page.wait_for_timeout(1000)  # long enough for the page to have handled it (without the guard: shown at once)
    assert "987654" not in page.locator("#stats-cards").inner_text()


def test_a_returning_customers_other_conversations_are_one_click_away(panel: PanelPage, stack: LocalStack,
                                                                       tmp_path) -> None:
    page = panel.page
    user = psid("3")
    stack.messenger(user, "Hello")
    first = eventually(lambda: conversation_of(stack, user).get("message_count", 0) >= 2 and conversation_of(stack, user),
                       what="the first conversation")
    stack.admin("POST", f"/admin/conversations/{first['id']}/close", json={})
    stack.messenger(user, "Hello again")
    second = eventually(lambda: (c := conversation_of(stack, user)).get("id") != first["id"] and c,
                        what="the second conversation")
    sign_in(panel, stack.admin_token)
    item(page, user).click()
    earlier = page.locator(f"#conv-history .earlier[data-id='{first['id']}']")
    earlier.wait_for()
    assert "closed" in earlier.inner_text()
    earlier.click()
    wait_js(page, f"location.hash === '#c/{first['id']}'")
    page.locator(f"#conv-history .earlier[data-id='{second['id']}']").click()  # and back again
    wait_js(page, f"location.hash === '#c/{second['id']}'")
    # A data access request: everything of this customer, both conversations, nobody else's. Still
    # available after an action (actions disable every button while they run).
    page.locator("#act-assign").click()
    page.locator("#conv-sub", has_text="assigned to alice").wait_for()
    with page.expect_download() as info:
        page.locator("#act-export-customer").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert {r["conversation_id"] for r in rows} == {first["id"], second["id"]}
    assert {"Hello", "Hello again"} <= {r["content"] for r in rows if r["sender_type"] == "user"}
    assert not panel.console_errors, panel.console_errors


def test_labels_go_on_come_off_and_filter_the_list(panel: PanelPage, stack: LocalStack) -> None:
    page = panel.page
    user, other = psid("5"), psid("6")
    stack.messenger(user, "Can I order a birthday cake?")
    stack.messenger(other, "Where are you?")
    conv = eventually(lambda: conversation_of(stack, user), what="the conversation to be stored")
    eventually(lambda: conversation_of(stack, other), what="the other conversation")
    sign_in(panel, stack.admin_token)
    item(page, user).click()
    page.locator("#thread .msg.user").first.wait_for()

    box = page.locator("#label-add")
    box.fill("  Order ")
    box.press("Enter")
    page.locator("#conv-labels .label-chip[data-label='order']").wait_for()
    box.fill("<img src=x onerror=alert(1)>")  # staff text is shown as text
    box.press("Enter")
    page.locator("#conv-labels .label-chip", has_text="<img src=x").wait_for()
    assert page.locator("#conv-labels img").count() == 0
    item(page, user).locator(".label-chip", has_text="order").wait_for()  # the card too, live
    assert stack.admin("GET", f"/admin/conversations/{conv['id']}")["conversation"]["labels"] == [
        "<img src=x onerror=alert(1)>", "order"]

    # The filter offers the labels in use and narrows the list to them.
    page.reload()
    page.locator("#f-label option[value='order']").wait_for(state="attached")
    page.locator("#f-label").select_option("order")
    item(page, user).wait_for()
    item(page, other).wait_for(state="detached")
    page.locator("#f-label").select_option("")
    item(page, other).wait_for()
    page.locator("#tab-stats").click()  # counted in the statistics
    page.locator("#chart-labels .label-chip", has_text="order").wait_for()
    page.locator("#tab-conversations").click()

    item(page, user).click()
    page.locator("#conv-labels .label-chip[data-label='order'] .label-remove").click()
    page.locator("#conv-labels .label-chip[data-label='order']").wait_for(state="detached")
    box.fill("x" * 32)  # what the server refuses is shown, and the text stays to fix
    for n in range(9):
        stack.admin("POST", f"/admin/conversations/{conv['id']}/labels", json={"add": [f"tag {n}"]})
    box.press("Enter")
    page.locator("#error-text", has_text="at most 10 labels").wait_for()
    assert box.input_value() == "x" * 32
    # The one error is the refusal itself (the browser logs every 4xx response).
    assert all("status of 422" in e for e in panel.console_errors), panel.console_errors


def test_a_conversation_past_retention_leaves_the_panel(panel: PanelPage, stack: LocalStack) -> None:
    """The stack keeps closed conversations TRACKING_RETENTION_DAYS=30: one closed and quiet longer is
    deleted by tracking, and the panel that shows it drops it live."""
    page = panel.page
    user = psid("7")
    stack.messenger(user, "Do you have oat milk?")
    conv = eventually(lambda: (c := conversation_of(stack, user)).get("message_count", 0) >= 2 and c,
                      what="the bot's answer")
    stack.admin("POST", f"/admin/conversations/{conv['id']}/close", json={})
    sign_in(panel, stack.admin_token)
    page.locator("#f-status").select_option("closed")
    item(page, user).click()
    page.locator("#thread .msg.user").first.wait_for()
    # As if the close and the last message were 31 days ago.
    stack.db_value("UPDATE conversations SET closed_at = now() - interval '31 days', "
                   "last_message_at = now() - interval '31 days' WHERE id = $1", conv["id"])
    item(page, user).wait_for(state="detached", timeout=30_000)
    page.locator("#conv-detail").wait_for(state="hidden")
    assert stack.db_value("SELECT count(*) FROM messages WHERE conversation_id = $1", conv["id"]) == 0
    audit = stack.admin("GET", f"/admin/audit?action=purge&conversation_id={conv['id']}")["entries"]
    assert [e["actor"] for e in audit] == ["system:retention"]
    assert not panel.console_errors, panel.console_errors
