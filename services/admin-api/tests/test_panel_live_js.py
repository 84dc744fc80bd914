"""The panel's live feed (static/live.js) in headless Chromium against a real /admin/ws: batches unpacked."""

from __future__ import annotations

import asyncio

import pytest

from admin_support import VIEWER_TOKEN, publish_update
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
            await frames_when(page, 0)
            for _ in range(100):
                if await page.evaluate("window.__frames.some((f) => f.type === 'hello')"):
                    break
                await asyncio.sleep(0.05)
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
