"""An admin revokes a viewer's access from the Staff tab: the viewer's open panel is signed out at
once, the token no longer signs in, and access comes back when the admin restores it."""

from __future__ import annotations

import pytest
from panelkit import LocalStack, PanelPage, conversation_of, eventually, psid, screenshot, sign_in, wait_js

pytestmark = pytest.mark.browser

REVOKED = "An admin revoked your access to this panel."


def _restore(stack: LocalStack) -> None:
    rows = stack.admin("GET", "/admin/staff")["staff"]
    if any(r["name"] == "victor" and r["revoked"] for r in rows):
        stack.admin("POST", "/admin/staff/restore", json={"name": "victor"})


def test_admin_revokes_and_restores_a_viewer(panel: PanelPage, colleague: PanelPage, stack: LocalStack) -> None:
    viewer = colleague.page
    sign_in(colleague, stack.viewer_token)
    assert viewer.locator("#tab-staff").is_hidden()  # viewers do not manage access

    page = panel.page
    sign_in(panel, stack.admin_token)
    page.locator("#tab-staff").click()
    card = page.locator(".staff-item[data-name='victor']")
    card.wait_for()
    own = page.locator(f".staff-item[data-name='{stack.ADMIN_NAME}'] .staff-revoke")
    assert own.is_disabled()  # nobody locks themselves out
    try:
        card.locator(".staff-revoke").click()
        card.locator(".staff-revoke", has_text="Click again to revoke").click()
        page.locator(".staff-item.revoked[data-name='victor']").wait_for()
        assert "revoked by alice:admin" in page.locator(".staff-item[data-name='victor']").inner_text()
        screenshot(page, "staff.png")

        # The viewer's open panel is signed out by the server, with the reason, and cannot sign in again.
        viewer.locator("#signin-error", has_text=REVOKED).wait_for(timeout=20_000)
        assert viewer.locator("#app").is_hidden()
        viewer.locator("#token").fill(stack.viewer_token)
        viewer.locator("#signin-submit").click()
        eventually(lambda: viewer.locator("#signin-error").inner_text() == REVOKED, what="the refused sign-in")

        page.locator(".staff-item[data-name='victor'] .staff-restore").click()
        page.locator(".staff-item:not(.revoked)[data-name='victor']").wait_for()
        sign_in(colleague, stack.viewer_token)
        assert viewer.locator("#me").inner_text() == "victor (viewer)"
    finally:
        _restore(stack)
    assert not panel.console_errors and not colleague.console_errors, (panel.console_errors, colleague.console_errors)


def test_admin_lifts_a_block_from_the_blocked_list(panel: PanelPage, stack: LocalStack) -> None:
    user = psid("5")
    stack.messenger(user, "spam from a customer whose conversation nobody will look for")
    conv = eventually(lambda: conversation_of(stack, user).get("id"), what="the conversation")
    page = panel.page
    sign_in(panel, stack.admin_token)
    page.locator("#tab-staff").click()
    page.locator("#blocked-list", has_text="Nobody is blocked.").wait_for()
    stack.admin("POST", f"/admin/conversations/{conv}/block", json={})
    card = page.locator(f".blocked-item[data-user='{user}']")  # live: another admin blocked them
    card.wait_for()
    assert "blocked by alice:admin" in card.inner_text()
    card.locator(".blocked-open").click()  # who was that again? their latest conversation
    wait_js(page, f"location.hash === '#c/{conv}'")
    page.locator("#conv-sub", has_text="customer blocked").wait_for()
    page.locator("#tab-staff").click()
    card.locator(".blocked-unblock").click()
    page.locator("#blocked-list", has_text="Nobody is blocked.").wait_for()
    assert stack.admin("GET", "/admin/customers/blocked")["count"] == 0
    assert not panel.console_errors, panel.console_errors


def test_admin_gives_a_new_staff_member_a_token_and_withdraws_it(panel: PanelPage, colleague: PanelPage,
                                                                 stack: LocalStack) -> None:
    name = f"Thida {psid('4')[-4:]}"
    page = panel.page
    sign_in(panel, stack.admin_token)
    page.locator("#tab-staff").click()
    page.locator("#token-name").fill(name)
    page.locator("#token-role").select_option("viewer")
    page.locator("#token-submit").click()
    token = page.locator("#token-issued .token-value").inner_text()
    assert token.startswith("pt_")
    card = page.locator(f".staff-item[data-name='{name}']")
    card.wait_for()
    assert "token created here, viewer" in card.inner_text() and "created by alice:admin" in card.inner_text()
    assert token not in page.locator("#staff-list").inner_text()  # shown once, in the form only

    # The new barista signs in with it straight away: no restart, no configuration edit.
    viewer = colleague.page
    sign_in(colleague, token)
    assert viewer.locator("#me").inner_text() == f"{name} (viewer)"
    card.locator(".staff-withdraw").click()
    card.locator(".staff-withdraw", has_text="Click again to withdraw").click()
    card.wait_for(state="detached")
    viewer.locator("#signin-error", has_text=REVOKED).wait_for(timeout=20_000)  # signed out by the server
    assert viewer.locator("#app").is_hidden()
    assert not panel.console_errors, panel.console_errors
