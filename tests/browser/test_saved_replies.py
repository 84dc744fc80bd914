"""Saved replies in the panel, in headless Chromium against the real stack: an admin writes one in
Burmese, uses it from the reply box and the customer receives it on Messenger; a viewer only reads."""

from __future__ import annotations

import uuid

import pytest
from panelkit import LocalStack, PanelPage, conv_item, eventually, sign_in

pytestmark = pytest.mark.browser

WAIT_MY = "ခဏစောင့်ပေးပါ။ ဝန်ထမ်းတစ်ယောက် အခုပဲ ပြန်ဖြေပေးပါမယ်။"
SCRIPT = '<img src=x onerror="window.__pwned=1">'


def saved_rows(stack: LocalStack) -> list[dict]:
    return stack.admin("GET", "/admin/saved-replies")["saved_replies"]


def test_admin_writes_a_saved_reply_and_sends_it_to_a_customer(panel: PanelPage, stack: LocalStack) -> None:
    page = panel.page
    title = f"Please wait {uuid.uuid4().hex[:6]}"
    user = "7" + uuid.uuid4().hex[:15]
    stack.messenger(user, "hello")
    sign_in(panel, stack.admin_token)

    # Written in the Saved replies view; markup in it stays text.
    page.locator("#tab-saved").click()
    page.locator("#saved-title").fill(title)
    page.locator("#saved-text").fill(f"{WAIT_MY} {SCRIPT}")
    page.locator("#saved-submit").click()
    card = page.locator(".saved-item", has_text=title)
    card.wait_for()
    assert card.locator(".saved-text").inner_text() == f"{WAIT_MY} {SCRIPT}"
    assert page.evaluate("() => window.__pwned") is None
    stored = [r for r in saved_rows(stack) if r["title"] == title]
    assert stored and stored[0]["text"] == f"{WAIT_MY} {SCRIPT}" and stored[0]["updated_by"].endswith(":admin")

    # Edited: the text changes, the key stays.
    card.locator(".saved-edit").click()
    page.locator("#saved-text").fill(WAIT_MY)
    page.locator("#saved-submit").click()
    page.locator(".saved-item .saved-text", has_text=WAIT_MY).first.wait_for()
    eventually(lambda: [r["text"] for r in saved_rows(stack) if r["title"] == title] == [WAIT_MY],
               what="the edit stored")
    assert [r["id"] for r in saved_rows(stack) if r["title"] == title] == [stored[0]["id"]]

    # Used from the reply box: the text lands in the box, Enter sends it, Messenger receives it.
    page.locator("#tab-conversations").click()
    eventually(lambda: stack.sent_texts(user), what="the bot's answer")  # then the staff take over
    conv_item(page, user).click()
    page.locator("#conv-detail").wait_for()
    page.locator("#act-takeover").click()
    page.locator("#conv-detail[data-status='human']").wait_for()
    page.locator("#saved-pick").select_option(label=title)
    box = page.locator("#reply-text")
    assert box.input_value() == WAIT_MY
    assert page.locator("#saved-pick").input_value() == ""
    box.press("Enter")
    eventually(lambda: WAIT_MY in stack.sent_texts(user), what="the saved reply at the Graph API")
    page.locator("#thread .msg.human .msg-body", has_text=WAIT_MY).wait_for()

    # Deleted with two clicks (no modal dialog to dismiss by mistake).
    page.locator("#tab-saved").click()
    delete = page.locator(".saved-item", has_text=title).locator(".saved-delete")
    delete.click()
    assert title in [r["title"] for r in saved_rows(stack)]
    delete.click()
    page.locator(".saved-item", has_text=title).wait_for(state="detached")
    assert title not in [r["title"] for r in saved_rows(stack)]
    assert not panel.dialogs
    assert not panel.console_errors, panel.console_errors


def test_viewer_sees_saved_replies_but_cannot_write_them(panel: PanelPage, stack: LocalStack) -> None:
    page = panel.page
    reply_id = f"hours-{uuid.uuid4().hex[:6]}"
    stack.admin("PUT", f"/admin/saved-replies/{reply_id}", json={"title": f"Hours {reply_id}", "text": "7 am to 9 pm"})
    sign_in(panel, stack.viewer_token)
    page.goto("/#saved")
    page.locator("#conn[data-state='open']").wait_for()
    page.locator(".saved-item", has_text=reply_id).wait_for()
    assert page.locator("#saved-form").is_hidden()
    assert page.locator(".saved-item", has_text=reply_id).locator(".saved-edit, .saved-delete").count() == 0


def test_an_older_slower_list_does_not_undo_a_new_saved_reply(panel: PanelPage, stack: LocalStack) -> None:
    """The list is loaded at sign-in, on the tab and after each write; the answers can arrive out of
    order on a busy server. Here the sign-in's list (from before the write) is answered last."""
    page = panel.page
    title = f"Late list {uuid.uuid4().hex[:6]}"
    held: list = []

    def hold_the_first_list(route) -> None:
        if held:
            route.continue_()
            return
        held.append((route, route.fetch()))  # the server's answer now, handed to the page later

    page.route("**/admin/saved-replies", hold_the_first_list)
    sign_in(panel, stack.admin_token)
    page.locator("#tab-saved").click()
    page.locator("#saved-title").fill(title)
    page.locator("#saved-text").fill("One moment, please.")
    page.locator("#saved-submit").click()
    page.locator(".saved-item", has_text=title).wait_for()

    route, old_answer = held[0]
    with page.expect_response("**/admin/saved-replies"):
        route.fulfill(response=old_answer)
    page.wait_for_timeout(1000)  # the page has long handled that answer by now (without the guard: gone at once)
    assert page.locator(".saved-item", has_text=title).count() == 1
    assert title in page.locator("#saved-pick option").all_inner_texts()
    stack.admin("DELETE", f"/admin/saved-replies/{saved_id(stack, title)}")


def saved_id(stack: LocalStack, title: str) -> str:
    return next(r["id"] for r in saved_rows(stack) if r["title"] == title)
