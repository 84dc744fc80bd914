"""The panel's live feed (static/live.js) in headless Chromium against a real /admin/ws: batches unpacked."""

from __future__ import annotations

import asyncio
import time

import pytest

from admin_support import JWT_SECRET, VIEWER_TOKEN, publish_update, supabase_token
from pentagon.common.proto import events_pb2 as pb
from pentagon.devtools.chromium import ensure_chromium
from test_ws import live_admin, publish_messages

pytestmark = pytest.mark.browser

START_FEED = """async (token) => {
  const { LiveFeed } = await import('/static/live.js');
  window.__frames = [];
  window.__feed = new LiveFeed(() => token, (frame) => window.__frames.push(frame), () => {});
  window.__feed.start();
}"""


async def frames_when(page, n: int) -> list[dict]:
    for _ in range(200):
        frames = await page.evaluate("window.__frames")
        if len([f for f in frames if "seq" in f and f["type"] != "hello"]) >= n:
            return frames
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {n} frames: {await page.evaluate('window.__frames')}")


async def hello(page) -> None:
    """Updates published before the hello frame are part of the state the panel loads over REST."""
    for _ in range(200):
        if await page.evaluate("window.__frames.some((f) => f.type === 'hello')"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no hello frame")


async def test_panel_feed_unpacks_batches_in_order_and_tracks_the_last_seq(db_url, nats_url, serve_app):
    chromium = ensure_chromium()  # installed when missing: never skipped
    from playwright.async_api import async_playwright

    # A long flush interval: the burst below reaches the page as one batch message.
    runtime, base = await live_admin(db_url, nats_url, serve_app, admin_ws_flush_ms=1000)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
            page = await browser.new_page()
            await page.goto(f"http://{base}/healthz")
            await page.evaluate(START_FEED, VIEWER_TOKEN)
            await hello(page)
            seqs = await publish_messages(runtime.js, 1)
            seqs += await publish_messages(runtime.js, 4, start=1)
            seqs.append(await publish_update(runtime.js, pb.UPDATE_CONVERSATION_CHANGED, 7, {"id": 7}))
            frames = await frames_when(page, 6)
            updates = [f for f in frames if f["type"] != "hello"]
            assert [f["seq"] for f in updates] == seqs
            assert [f["type"] for f in updates] == ["message.created"] * 5 + ["conversation.updated"]
            assert not [f for f in frames if f["type"] == "batch"]
            assert await page.evaluate("window.__feed.lastSeq") == seqs[-1]
            await page.evaluate("window.__feed.stop()")
            await browser.close()
    finally:
        await runtime.stop()


START_RENEWABLE_FEED = """async (token) => {
  const { LiveFeed } = await import('/static/live.js');
  window.__token = token;
  window.__frames = [];
  window.__states = [];
  window.__feed = new LiveFeed(() => window.__token, (frame) => window.__frames.push(frame),
                               (state) => window.__states.push(state));
  window.__feed.start();
}"""


async def states_when(page, predicate: str) -> list[str]:
    for _ in range(400):
        states = await page.evaluate("window.__states")
        if await page.evaluate(f"(states) => {predicate}", states):
            return states
        await asyncio.sleep(0.05)
    raise AssertionError(f"states never matched {predicate}: {await page.evaluate('window.__states')}")


async def test_panel_feed_carries_on_with_a_renewed_token_and_stops_without_one(db_url, nats_url, serve_app):
    """The server closes a socket when its JWT expires: a renewed session reconnects from the last seq."""
    chromium = ensure_chromium()
    from playwright.async_api import async_playwright

    runtime, base = await live_admin(db_url, nats_url, serve_app, supabase_jwt_secret=JWT_SECRET)
    short = lambda: supabase_token({"exp": int(time.time()) + 3, "app_metadata": {"role": "viewer"}})  # noqa: E731
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
            page = await browser.new_page()
            await page.goto(f"http://{base}/healthz")

            await page.evaluate(START_RENEWABLE_FEED, short())
            await hello(page)
            seqs = await publish_messages(runtime.js, 2)
            await frames_when(page, 2)
            # The panel renews its session before expiry; the open socket still carries the old token.
            await page.evaluate("(t) => { window.__token = t; }", supabase_token({"app_metadata": {"role": "viewer"}}))
            states = await states_when(page, "states.filter((s) => s === 'open').length >= 2")
            assert "unauthorized" not in states
            seqs += await publish_messages(runtime.js, 2, start=2)
            frames = await frames_when(page, 4)
            assert [f["seq"] for f in frames if f["type"] != "hello"] == seqs  # nothing missed, nothing twice
            await page.evaluate("window.__feed.stop()")

            # Not renewed (signed out elsewhere): the feed stops and says so, the panel then signs out.
            await page.evaluate(START_RENEWABLE_FEED, short())
            states = await states_when(page, "states.includes('unauthorized')")
            assert states.count("open") == 1
            assert await page.evaluate("window.__feed.stopped")
            await browser.close()
    finally:
        await runtime.stop()
