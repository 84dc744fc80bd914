"""Every open panel hears when staff configuration changes (saved replies, taught answers, sold-out marks),
whichever replica made the change: real sockets, two admin-api replicas, real NATS buckets, the real agent."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import httpx
import websockets

from admin_support import ADMIN, VIEWER_TOKEN, auth
from conftest import make_settings, start_runtime
from pentagon.admin.app import create_app
from pentagon.admin.config_feed import BucketFollower
from pentagon.admin.live import UpdatesHub
from pentagon.common.bus import sold_out_bucket


async def replica(db_url: str, nats_url: str, serve_app, agent_addr: str):
    settings = make_settings(db_url, nats_url, agent_addr=agent_addr)
    runtime = await start_runtime(settings)
    return runtime, await serve_app(create_app(runtime), settings)


async def config_frame(ws, timeout: float = 20.0) -> dict:
    """The next config.changed frame (heartbeats, hello and updates skipped)."""
    async def wait() -> dict:
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "config.changed":
                return frame

    return await asyncio.wait_for(wait(), timeout)


async def test_a_change_on_one_replica_reaches_the_panels_of_every_replica(db_url, nats_url, serve_app, agent_addr,
                                                                         tracking):
    first, base_a = await replica(db_url, nats_url, serve_app, agent_addr)
    second = None
    try:
        async with httpx.AsyncClient(base_url=f"http://{base_a}", headers=ADMIN) as a:
            # Made before the second replica starts: its current value is no news to anyone.
            old = await a.put("/admin/saved-replies/opening-hours", json={"title": "Hours", "text": "7am-9pm"})
            assert old.status_code == 200, old.text
            second, base_b = await replica(db_url, nats_url, serve_app, agent_addr)
            today = datetime.now(timezone.utc).date().isoformat()
            async with websockets.connect(f"ws://{base_b}/admin/ws", additional_headers=auth(VIEWER_TOKEN)) as viewer:
                changes = [
                    ("PUT", "/admin/menu/15/sold-out", {}, ("menu", "15")),
                    ("PUT", "/admin/knowledge/faq/parking",
                     {"question_en": "Where do I park?", "answer_en": "Behind the cafe."}, ("knowledge", "parking")),
                    ("PUT", "/admin/saved-replies/wifi", {"title": "Wi-Fi", "text": "cafe1234"},
                     ("saved_replies", "wifi")),
                    ("DELETE", "/admin/menu/15/sold-out", None, ("menu", "15")),
                    ("PUT", f"/admin/closed-days/{today}", {"note_en": "Power cut"}, ("closed_days", today)),
                    ("PUT", "/admin/menu/15/price", {"price": 5200}, ("menu_prices", "15")),
                ]
                for method, path, body, expected in changes:
                    response = await a.request(method, path, json=body)
                    assert response.status_code == 200, response.text
                    frame = await config_frame(viewer)
                    assert (frame["what"], frame["key"]) == expected
                    assert "seq" not in frame  # "read it again", not an update to resume from

                # Written straight into the bucket (an operator, a replica of a later version): heard too.
                kv = await sold_out_bucket(first.js)
                await kv.put("16", json.dumps({"id": "16", "until": None, "by": "ops"}).encode())
                assert (await config_frame(viewer))["key"] == "16"
    finally:
        for runtime in (first, second):
            if runtime is not None:
                await runtime.stop()


async def test_the_feed_carries_on_after_nats_restarts(db_url, nats_server, nats_url, serve_app, agent_addr, tracking):
    runtime, base = await replica(db_url, nats_url, serve_app, agent_addr)
    try:
        async with websockets.connect(f"ws://{base}/admin/ws", additional_headers=auth(VIEWER_TOKEN)) as viewer, \
                httpx.AsyncClient(base_url=f"http://{base}", headers=ADMIN) as a:
            # Rows the watch already knows: a restarted watch reads them again, and must not push them again.
            for row in ("hours", "menu-link"):
                assert (await a.put(f"/admin/saved-replies/{row}", json={"title": row, "text": "x"})).status_code == 200
                assert (await config_frame(viewer))["key"] == row
            nats_server.restart()

            async def saved_after_restart() -> None:
                for _ in range(300):
                    if (await a.put("/admin/saved-replies/wifi", json={"title": "Wi-Fi", "text": "x"})).status_code == 200:
                        return
                    await asyncio.sleep(0.1)
                raise AssertionError("admin-api never wrote again after NATS came back")

            await saved_after_restart()
            # A watch that broke says "anything may have changed" (key None); one that carried on names the row.
            frames = [await config_frame(viewer, timeout=30)]
            while frames[-1]["key"] != "wifi":
                frames.append(await config_frame(viewer, timeout=30))
            assert {(f["what"], f["key"]) for f in frames} <= {("saved_replies", None), ("saved_replies", "wifi")}
    finally:
        await runtime.stop()


async def test_a_watch_that_broke_says_everything_may_have_changed_once_not_row_by_row() -> None:
    hub = UpdatesHub(None, queue_size=100, stats=None, stats_interval=3600, heartbeat_interval=3600)  # type: ignore[arg-type]
    panel = hub.connect()
    follower = BucketFollower("menu", hub)
    follower.apply("15", b"{}")  # the bucket's current values, read at start: nobody is told
    follower.on_loaded()
    follower.apply("16", b"{}")
    follower.on_lost()
    for key in ("15", "16", "17"):  # a new watch reads every row again
        follower.apply(key, b"{}")
    follower.on_loaded()
    frames = [json.loads(text) for _, text in await panel.take()]
    assert [(f["what"], f["key"]) for f in frames] == [("menu", "16"), ("menu", None)]
