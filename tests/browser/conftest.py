"""Fixtures: the real local stack (one per session) and Debian's headless Chromium.

See panelkit.py for what the stack is made of.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panelkit import LocalStack, PanelPage  # noqa: E402

from pentagon.devtools.chromium import CHROMIUM_ARGS, ensure_chromium  # noqa: E402
from pentagon.devtools.embedded import NatsServer, Postgres  # noqa: E402


@pytest.fixture(scope="session")
def stack(infra_dir: Path, postgres_server: Postgres) -> Iterator[LocalStack]:
    # Its own nats-server: the `nats_url` fixture of other tests wipes the shared one.
    work = infra_dir / "browser-stack"
    nats = NatsServer(work / "nats", work / "logs" / "nats.log").start()
    try:  # whatever fails below, this nats-server must not outlive the session
        local = LocalStack(work, nats, postgres_server.create_database(f"browser_{os.getpid()}"))
        try:
            local.start()
            yield local
        finally:
            local.stop()
    finally:
        nats.stop()
    refused = nats.refusals()
    assert not refused, "nats-server refused our services (deploy/nats/users.conf):\n" + "\n".join(refused[:20])


# ---------------------------------------------------------------- the browser

# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is open, which would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


# Notifications are recorded by the test (the page cannot show real ones headless).
RECORD_NOTIFICATIONS = """
(() => {
  window.__notes = [];
  class RecordingNotification {
    static permission = 'granted';
    static requestPermission() { return Promise.resolve('granted'); }
    constructor(title, options) { window.__notes.push({ title, body: (options || {}).body }); }
    addEventListener() {}
    close() {}
  }
  window.Notification = RecordingNotification;
})();
"""


@pytest.fixture
def context(browser: Any, stack: LocalStack) -> Iterator[Any]:
    # A viewer in Yangon: timestamps must show in this time zone, not UTC.
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB", timezone_id="Asia/Yangon",
                              base_url=stack.gateway_url, accept_downloads=True)
    ctx.add_init_script(RECORD_NOTIFICATIONS)
    yield ctx
    ctx.close()


@pytest.fixture
def colleague(browser: Any, stack: LocalStack) -> Iterator[PanelPage]:
    """A second staff member's own browser, next to the `panel` one."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 800}, base_url=stack.gateway_url)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield PanelPage(page, [], errors)
    ctx.close()


@pytest.fixture
def panel(context: Any, stack: LocalStack) -> PanelPage:
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return PanelPage(page, dialogs, errors)


