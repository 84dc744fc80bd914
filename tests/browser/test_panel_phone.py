"""The admin panel on a phone (staff behind the counter): one pane at a time, nothing off screen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from panelkit import LocalStack, PanelPage, conv_item, conversation_of, eventually, psid, screenshot, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any, stack: LocalStack) -> Iterator[PanelPage]:
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB",
                              timezone_id="Asia/Yangon", base_url=stack.gateway_url)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield PanelPage(page, [], errors)
    ctx.close()


def overflow(page: Any) -> int:
    """Pixels the page is wider than the screen (a phone would scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_phone_shows_the_list_then_the_conversation_and_back(phone: PanelPage, stack: LocalStack) -> None:
    page = phone.page
    user = psid()
    stack.messenger(user, "I want to speak to a human please, my order was wrong " + "ကော်ဖီ " * 20)
    sign_in(phone, stack.admin_token)
    row = conv_item(page, user)
    row.wait_for(timeout=30_000)
    assert page.locator(".list-pane").is_visible() and page.locator("#conv-pane").is_hidden()
    assert overflow(page) <= 0

    row.tap()
    page.locator("#conv-detail .msg.user").first.wait_for(timeout=20_000)
    assert page.locator(".list-pane").is_hidden()
    for needed in ("#conv-back", "#reply-text", "#reply-send", "#act-close"):
        box = page.locator(needed).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], needed  # reachable, on screen
    assert overflow(page) <= 0
    screenshot(page, "phone-conversation.png")

    if page.locator("#act-takeover").is_visible():
        page.locator("#act-takeover").tap()
    page.locator("#reply-text").fill("Sorry about that! Fixing your order now.")
    page.locator("#reply-send").tap()
    eventually(lambda: "Sorry about that! Fixing your order now." in stack.sent_texts(user),
               what="the staff reply sent from the phone to reach Messenger")

    # The phone's own back button returns to the list, not out of the panel.
    page.go_back()
    row.wait_for()
    assert page.locator("#conv-pane").is_hidden() and page.locator("#app").is_visible()
    assert "#c/" not in page.url
    row.tap()
    page.locator("#conv-back").wait_for()
    page.locator("#conv-back").tap()
    row.wait_for()
    assert page.locator("#conv-pane").is_hidden()
    assert "#c/" not in page.url  # a reload shows the list, not the conversation left behind
    page.go_forward()  # and forward again opens it
    page.locator("#conv-detail .msg.user").first.wait_for()
    assert page.locator(".list-pane").is_hidden()

    page.locator("#tab-stats").tap()
    page.locator("#stats-cards .stat").first.wait_for(timeout=20_000)
    assert overflow(page) <= 0
    assert not phone.console_errors, phone.console_errors


def test_every_view_is_reachable_on_a_phone(phone: PanelPage, stack: LocalStack) -> None:
    """Five tabs do not fit 390 px: they scroll sideways in their own strip, each on one line, and
    the one tapped is brought fully on screen, never cut off at the edge."""
    page = phone.page
    sign_in(phone, stack.admin_token)
    page.locator("#tab-staff").wait_for(state="visible")  # admins see Staff: five tabs
    tabs = page.locator(".tabs .tab")
    heights = {round(box["height"]) for box in (tabs.nth(i).bounding_box() for i in range(tabs.count())) if box}
    assert len(heights) == 1, heights  # "Saved replies" not broken over two lines
    for name in ("staff", "knowledge", "saved", "stats", "conversations"):
        page.locator(f"#tab-{name}").tap(timeout=5_000)
        page.locator(f"#view-{name}").wait_for(state="visible")
        eventually(lambda name=name: on_screen(page, f"#tab-{name}"), what=f"the {name} tab fully on screen")
        assert overflow(page) <= 0
    page.locator("#tab-staff").tap()
    page.reload()  # opens on #staff: the strip starts scrolled to the left, the tab is brought in
    page.locator("#view-staff").wait_for(state="visible")
    eventually(lambda: on_screen(page, "#tab-staff"), what="the staff tab on screen after a reload")
    assert not phone.console_errors, phone.console_errors


def on_screen(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return bool(box) and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_the_panel_can_be_installed_on_a_home_screen(phone: PanelPage, stack: LocalStack) -> None:
    page = phone.page
    sign_in(phone, stack.admin_token)
    manifest = page.evaluate("""async () => {
        const href = document.querySelector('link[rel=manifest]').href;
        return (await fetch(href)).json();
    }""")
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        response = page.request.get(icon["src"])
        assert response.status == 200 and response.headers["content-type"] == "image/png", icon
    # Chromium's own verdict, the one behind "Install app" / "Add to Home screen".
    cdp = page.context.new_cdp_session(page)
    errors = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
    assert [e for e in errors if e != "in-incognito"] == [], errors  # test browsers are always incognito


# What Android's Chrome does: the page may ask for permission, but `new Notification()` throws;
# only a service worker registration may show one.
ANDROID_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  class PageNotification {
    static get permission() { return Real.permission; }
    static requestPermission() { return Real.requestPermission(); }
    constructor() { throw new TypeError("Failed to construct 'Notification': Illegal constructor."); }
  }
  window.Notification = PageNotification;
  // Headless Chromium drops shown notifications from getNotifications() after a moment, so what the
  // panel asked the browser to show, and whether the browser accepted it, is recorded here.
  window.__shown = [];
  const show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    return show.call(this, title, options).then(() => { window.__shown.push({ title, options }); });
  };
})();
"""

# The browser's half of a tap: our worker's `notificationclick` listener gets an event carrying the
# notification it showed (built here, since headless Chromium does not keep shown notifications).
TAP_NOTIFICATION = """(data) => {
  const event = new Event('notificationclick');
  const pending = [];
  const notification = { data, close() {} };
  Object.defineProperties(event, {
    notification: { value: notification },
    waitUntil: { value: (promise) => pending.push(promise) },
  });
  self.dispatchEvent(event);
  return Promise.all(pending).then(() => true);
}"""


def test_phone_alerts_come_from_the_service_worker_and_open_the_conversation(
        phone: PanelPage, stack: LocalStack) -> None:
    page = phone.page
    page.context.grant_permissions(["notifications"], origin=stack.gateway_url)
    page.context.add_init_script(ANDROID_NOTIFICATIONS)
    user = psid()
    stack.messenger(user, "Hello")
    eventually(lambda: conversation_of(stack, user).get("message_count", 0) >= 2, what="the bot's answer")
    sign_in(phone, stack.admin_token)
    # Polled from here: wait_for_function does not await a promise (a pending one is already truthy).
    eventually(lambda: page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => Boolean(r?.active))"),
               what="the service worker")
    conv_item(page, user).wait_for(timeout=30_000)

    page.locator("#tab-stats").tap()  # staff are looking at another tab when the customer needs them
    page.locator("#view-stats").wait_for()
    conversation_id = conversation_of(stack, user)["id"]
    detail = stack.admin("GET", f"/admin/conversations/{conversation_id}")
    first = next(m for m in detail["messages"] if m["sender_type"] == "user")
    stack.admin("POST", f"/admin/messages/{first['id']}/mark-human")
    shown = eventually(lambda: page.evaluate("window.__shown"), what="the worker's notification")
    assert shown == [{"title": "A customer needs a human", "options": {
        "body": f"Conversation #{conversation_id} (messenger)",  # ids only: no message text on a lock screen
        "tag": f"pentagon-needs-human-{conversation_id}",
        "data": {"conversationId": conversation_id}, "vibrate": [120, 60, 120]}}]
    assert page.locator("#conv-pane").is_hidden()

    # A tap on the notification: the worker's click handler tells the open panel which conversation.
    worker = page.context.service_workers[0]
    assert worker.evaluate(TAP_NOTIFICATION, shown[0]["options"]["data"])
    page.locator("#conv-detail .msg.user").first.wait_for(timeout=20_000)
    assert page.url.endswith(f"#c/{conversation_id}") and page.locator(".list-pane").is_hidden()
    assert page.locator("#view-stats").is_hidden()
    assert not phone.console_errors, phone.console_errors
