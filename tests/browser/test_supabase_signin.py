"""The admin panel's "Sign in with Supabase", in headless Chromium (issue 7; issue 9's Supabase JWT items).

Supabase Auth is replaced by the GoTrue loopback stub (pentagon.devtools.gotrue_stub),
served over HTTPS on its own origin like a real project: the panel's own code posts
the password grant cross-origin (CORS preflight included, through the page's
Content-Security-Policy), then hands the stub's HS256 access token to admin-api,
which verifies it with SUPABASE_JWT_SECRET. A second admin-api (the stack's one
has no Supabase settings) and a second gateway run on the session stack's NATS
and database, so the conversations, tracking and the Messenger path are the real ones.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from panelkit import ROOT, LocalStack, PanelPage, conv_item, conversation_of, eventually, psid

from pentagon.devtools.embedded import Caddy, ManagedProcess, free_port
from pentagon.devtools.gotrue_stub import GoTrueStub
from pentagon.devtools.pytest_plugin import wait_ready

pytestmark = pytest.mark.browser

ADMIN = ("alma@cafe.test", "correct horse battery")
VIEWER = ("vin@cafe.test", "viewer pass 123")
NO_ROLE = ("nora@cafe.test", "no role pass 456")


@dataclass
class SupabasePanel:
    stub: GoTrueStub
    admin_api: ManagedProcess
    gateway: Caddy
    gateway_url: str
    anon_key: str


@pytest.fixture(scope="module")
def supabase(stack: LocalStack) -> Iterator[SupabasePanel]:
    jwt_secret = secrets.token_urlsafe(32)
    anon_key = "anon-" + secrets.token_urlsafe(16)
    stub = GoTrueStub(jwt_secret, anon_key).start()
    for (email, password), role in ((ADMIN, "admin"), (VIEWER, "viewer"), (NO_ROLE, None)):
        stub.add_user(email, password, role)
    work = stack.work_dir.parent / "supabase-signin"
    admin_addr = f"127.0.0.1:{free_port()}"
    env = {**stack.env_of("admin-api"), "ADMIN_API_ADDR": admin_addr, "SUPABASE_URL": stub.base_url,
           "SUPABASE_ANON_KEY": anon_key, "SUPABASE_JWT_SECRET": jwt_secret,
           "SSL_CERT_FILE": str(stub.cert_path)}  # admin-api also reads the (empty, HS256 project) JWKS
    admin_api = ManagedProcess("admin-api-supabase", stack._argv("admin-api"), work / "logs" / "admin-api.log",
                               env=env).start()
    gateway: Caddy | None = None
    try:
        wait_ready(f"http://{admin_addr}/readyz", admin_api, timeout=120)
        port = free_port()
        gateway_url = f"http://127.0.0.1:{port}"
        gateway = Caddy(ROOT / "deploy" / "gateway" / "Caddyfile", work / "logs" / "gateway.log",
                        {"GATEWAY_SITE": gateway_url, "WEBHOOK_UPSTREAM": stack.env["WEBHOOK_ADDR"],
                         "ADMIN_UPSTREAM": admin_addr, "CHAT_UI_UPSTREAM": stack.env["CHAT_UI_ADDR"]}).start(port)
        yield SupabasePanel(stub, admin_api, gateway, gateway_url, anon_key)
    finally:
        if gateway is not None:
            gateway.stop()
        admin_api.stop()
        stub.stop()


@pytest.fixture
def sb_panel(browser: Any, supabase: SupabasePanel) -> Iterator[PanelPage]:
    # The stub's certificate is self-signed; everything else about the https origin is real.
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB", timezone_id="Asia/Yangon",
                              base_url=supabase.gateway_url, ignore_https_errors=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    supabase.stub.requests.clear()
    yield PanelPage(page, [], errors)
    ctx.close()


# ---------------------------------------------------------------- helpers


def fill_supabase_form(panel: PanelPage, email: str, password: str, press_enter: bool = False) -> None:
    page = panel.page
    page.goto("/")
    page.locator("#supabase-signin").wait_for()
    page.locator("#sb-email").fill(email)
    page.locator("#sb-password").fill(password)
    if press_enter:
        page.locator("#sb-password").press("Enter")
    else:
        page.locator("#sb-submit").click()


def supabase_sign_in(panel: PanelPage, email: str, password: str, press_enter: bool = False) -> None:
    fill_supabase_form(panel, email, password, press_enter)
    panel.page.locator("#conn[data-state='open']").wait_for(timeout=20_000)


def stored_token(page: Any) -> str:
    return page.evaluate("() => sessionStorage.getItem('pentagon.admin.token') || "
                         "localStorage.getItem('pentagon.admin.token') || ''")


def stub_password_grant(supabase: SupabasePanel, email: str, password: str) -> httpx.Response:
    assert supabase.stub.cert_path is not None
    return httpx.post(f"{supabase.stub.base_url}/auth/v1/token", params={"grant_type": "password"},
                      json={"email": email, "password": password}, headers={"apikey": supabase.anon_key},
                      verify=str(supabase.stub.cert_path), timeout=10)


# ---------------------------------------------------------------- tests

def test_supabase_sign_in_loads_the_list_survives_reload_and_signs_out(
        sb_panel: PanelPage, supabase: SupabasePanel, stack: LocalStack) -> None:
    page = sb_panel.page
    user = psid()
    stack.messenger(user, "Do you have oat milk?")
    eventually(lambda: conversation_of(stack, user), what="the conversation to be stored")

    supabase_sign_in(sb_panel, *ADMIN)
    assert page.locator("#me").inner_text() == f"{ADMIN[0]} (admin)"
    # The list comes from admin-api with the stub's JWT as bearer token: it accepted it.
    conv_item(page, user).wait_for(timeout=20_000)
    assert page.locator("#signin").is_hidden()
    assert page.locator("#sb-password").input_value() == ""  # not left behind in the hidden form

    # The browser really went cross-origin to Supabase: a CORS preflight for the apikey header, then the grant.
    methods = [(r["method"], r["status"]) for r in supabase.stub.requests]
    assert ("OPTIONS", 200) in methods and ("POST", 200) in methods, methods
    grant = next(r for r in supabase.stub.requests if r["method"] == "POST")
    assert grant["has_apikey"] and grant["grant_type"] == "password" and grant["origin"] == supabase.gateway_url
    preflight = next(r for r in supabase.stub.requests if r["method"] == "OPTIONS")
    assert "apikey" in (preflight["request_headers"] or "")
    token = stored_token(page)
    assert token.count(".") == 2

    page.reload()
    page.locator("#conn[data-state='open']").wait_for(timeout=20_000)
    assert page.locator("#me").inner_text() == f"{ADMIN[0]} (admin)"
    conv_item(page, user).wait_for()
    assert [r for r in supabase.stub.requests if r["method"] == "POST"] == [grant]  # no new sign-in needed

    page.locator("#signout").click()
    page.locator("#signin-form").wait_for()
    assert stored_token(page) == ""
    page.reload()
    page.locator("#supabase-signin").wait_for()
    assert page.locator("#app").is_hidden()
    assert not sb_panel.console_errors, sb_panel.console_errors


@pytest.mark.parametrize("error_format", ["current", "legacy"])
def test_wrong_password_shows_a_plain_error_and_stays_signed_out(
        sb_panel: PanelPage, supabase: SupabasePanel, error_format: str) -> None:
    page = sb_panel.page
    supabase.stub.error_format = error_format
    try:
        for email, password in ((ADMIN[0], "not the password"), ("nobody@cafe.test", ADMIN[1])):
            fill_supabase_form(sb_panel, email, password)
            error = page.locator("#signin-error")
            error.wait_for()
            assert error.inner_text() == "Invalid login credentials"
            assert page.locator("#app").is_hidden()
            assert stored_token(page) == ""
    finally:
        supabase.stub.error_format = "current"
    assert [r["status"] for r in supabase.stub.requests if r["method"] == "POST"] == [400, 400]
    assert page.locator("#sb-password").input_value() == ""

    # A wrong anon key (misconfigured SUPABASE_ANON_KEY) says so, instead of blaming the password.
    supabase.stub.anon_key, right_key = "rotated-" + secrets.token_hex(8), supabase.stub.anon_key
    try:
        fill_supabase_form(sb_panel, *ADMIN)
        page.locator("#signin-error", has_text="Invalid API key").wait_for()
    finally:
        supabase.stub.anon_key = right_key
    assert page.locator("#app").is_hidden()

    # Right password, but the account has no panel role: Supabase signs in, admin-api refuses (403).
    fill_supabase_form(sb_panel, *NO_ROLE)
    page.locator("#signin-error", has_text="no admin panel role").wait_for()
    assert page.locator("#app").is_hidden()
    assert stored_token(page) == ""
    assert not sb_panel.console_errors, sb_panel.console_errors


def test_supabase_viewer_reads_but_close_is_refused_and_nothing_changes(
        sb_panel: PanelPage, supabase: SupabasePanel, stack: LocalStack) -> None:
    page = sb_panel.page
    user = psid()
    stack.messenger(user, "Just browsing the menu")
    conversation = eventually(lambda: conversation_of(stack, user), what="the conversation to be stored")
    cid = conversation["id"]
    # The bot's answer may hand the conversation to a human: read the status once it is settled.
    eventually(lambda: stack.db_value("SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender_type = 'bot'",
                                cid), what="the bot's answer to be stored")
    status_before = stack.db_value("SELECT status FROM conversations WHERE id = $1", cid)
    audit_before = stack.db_value("SELECT count(*) FROM admin_actions WHERE conversation_id = $1", cid)

    supabase_sign_in(sb_panel, *VIEWER, press_enter=True)  # Enter in the password field signs in
    assert page.locator("#me").inner_text() == f"{VIEWER[0]} (viewer)"
    conv_item(page, user).click()
    page.locator("#thread .msg.user", has_text="Just browsing the menu").wait_for()
    assert page.locator("#act-close").is_disabled()

    # A viewer who re-enables the button (devtools) still meets the server's refusal, shown plainly.
    page.evaluate("() => { const b = document.querySelector('#act-close'); b.disabled = false; b.click(); }")
    banner = page.locator("#error")
    banner.wait_for()
    assert "admin role" in page.locator("#error-text").inner_text()
    page.locator(f"#conv-detail[data-status='{status_before}']").wait_for()
    assert page.locator("#act-close").is_disabled()

    assert stack.db_value("SELECT status FROM conversations WHERE id = $1", cid) == status_before
    assert stack.db_value("SELECT count(*) FROM admin_actions WHERE conversation_id = $1", cid) == audit_before
    assert status_before != "closed"


def test_expired_supabase_token_is_refused_and_ends_the_session(
        sb_panel: PanelPage, supabase: SupabasePanel) -> None:
    page = sb_panel.page
    supabase.stub.expires_in = -120  # the stub issues a token whose exp is already past
    try:
        expired = stub_password_grant(supabase, *ADMIN)
    finally:
        supabase.stub.expires_in = 3600
    assert expired.status_code == 200, expired.text
    expired_token = expired.json()["access_token"]
    fresh = stub_password_grant(supabase, *ADMIN).json()["access_token"]

    def me(token: str) -> int:
        return httpx.get(f"{supabase.gateway_url}/admin/me", headers={"Authorization": f"Bearer {token}"},
                         timeout=10).status_code

    assert (me(expired_token), me(fresh)) == (401, 200)

    # Signed in, then the access token ages past its exp and the session was revoked in Supabase
    # (signed out everywhere): the renewal is refused and the next load ends the session plainly.
    supabase_sign_in(sb_panel, *ADMIN)
    supabase.stub.revoke_sessions()
    page.evaluate("(t) => sessionStorage.setItem('pentagon.admin.token', t)", expired_token)
    page.reload()
    page.locator("#signin-error", has_text="session expired").wait_for()
    assert page.locator("#app").is_hidden()
    assert stored_token(page) == "" and stored(page, "refresh") == ""
    # Each renewal tried (the live panel may have met the expired token before the reload) was refused.
    assert set(refresh_grants(supabase)) == {400}


def stored(page: Any, name: str) -> str:
    return page.evaluate("(k) => sessionStorage.getItem(k) || localStorage.getItem(k) || ''", f"pentagon.admin.{name}")


def refresh_grants(supabase: SupabasePanel) -> list[int]:
    return [r["status"] for r in supabase.stub.requests if r["method"] == "POST" and r["grant_type"] == "refresh_token"]


def test_supabase_session_renews_itself_before_the_token_expires(
        sb_panel: PanelPage, supabase: SupabasePanel, stack: LocalStack) -> None:
    """A shift is longer than an access token's life: the panel renews it, staff are never thrown out."""
    page = sb_panel.page
    supabase.stub.expires_in = 62  # renewal falls due one minute before expiry: 2 s after sign-in
    try:
        supabase_sign_in(sb_panel, *ADMIN)
        first_token, first_refresh = stored_token(page), stored(page, "refresh")
        assert first_refresh
        eventually(lambda: 200 in refresh_grants(supabase), what="the panel to renew its Supabase session")
    finally:
        supabase.stub.expires_in = 3600
    eventually(lambda: stored_token(page) != first_token, what="the renewed token to be stored")
    assert stored(page, "refresh") != first_refresh  # refresh tokens are single-use (rotated)
    assert 400 not in refresh_grants(supabase)  # never replayed a spent refresh token
    # Still signed in and working with the new token: the list and a live update arrive.
    assert page.locator("#app").is_visible() and page.locator("#signin").is_hidden()
    user = psid()
    stack.messenger(user, "Still open at nine?")
    conv_item(page, user).wait_for(timeout=20_000)
    status = httpx.get(f"{supabase.gateway_url}/admin/me", headers={"Authorization": f"Bearer {stored_token(page)}"},
                       timeout=10).status_code
    assert status == 200
    assert not sb_panel.console_errors, sb_panel.console_errors


def test_reload_after_the_token_expired_renews_instead_of_signing_out(
        sb_panel: PanelPage, supabase: SupabasePanel) -> None:
    """The panel left open overnight (or the laptop asleep): the refresh token brings the session back."""
    page = sb_panel.page
    supabase.stub.expires_in = -120
    try:
        expired_token = stub_password_grant(supabase, *ADMIN).json()["access_token"]
    finally:
        supabase.stub.expires_in = 3600
    supabase_sign_in(sb_panel, *ADMIN)
    # Leave the panel first: a request it sent between the token's swap and a reload (the list's
    # next page, a refresh) would renew the session itself, before the reload this test is about.
    page.goto("/admin/config")
    page.evaluate("(t) => sessionStorage.setItem('pentagon.admin.token', t)", expired_token)
    page.goto("/")
    page.locator("#conn[data-state='open']").wait_for(timeout=20_000)
    assert page.locator("#me").inner_text() == f"{ADMIN[0]} (admin)"
    assert refresh_grants(supabase) == [200]
    assert stored_token(page) not in ("", expired_token)
    assert not sb_panel.console_errors, sb_panel.console_errors


def test_a_session_revoked_in_supabase_ends_when_its_token_expires(
        sb_panel: PanelPage, supabase: SupabasePanel) -> None:
    """Signed out everywhere (or the user removed): renewal is refused and the panel signs out plainly."""
    page = sb_panel.page
    supabase.stub.expires_in = 4  # renewal due at once; the token dies 4 s after each renewal
    try:
        supabase_sign_in(sb_panel, *ADMIN)
        supabase.stub.revoke_sessions()
        page.locator("#signin-error", has_text="session ended").wait_for(timeout=30_000)
    finally:
        supabase.stub.expires_in = 3600
    assert page.locator("#app").is_hidden()
    assert stored_token(page) == "" and stored(page, "refresh") == ""
    assert 400 in refresh_grants(supabase)
