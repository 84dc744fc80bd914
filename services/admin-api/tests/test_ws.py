"""/admin/ws on a real socket: auth, hello, ordering, resume from seq, resync, slow clients, replicas."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from admin_support import ADMIN_TOKEN, JWT_SECRET, VIEWER_TOKEN, add_conversation, auth, publish_update, supabase_token
from conftest import make_settings, start_runtime
from pentagon.admin.app import create_app
from pentagon.common.proto import events_pb2 as pb


async def live_admin(db_url, nats_url, serve_app, **overrides):
    settings = make_settings(db_url, nats_url, **overrides)
    runtime = await start_runtime(settings)
    base = await serve_app(create_app(runtime), settings)
    return runtime, base


async def recv(ws, timeout: float = 20.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_updates(ws, n: int) -> list[dict]:
    frames = []
    while len(frames) < n:
        frame = await recv(ws)
        if "seq" in frame and frame["type"] != "hello":
            frames.append(frame)
    return frames


async def publish_messages(js, n: int, start: int = 0) -> list[int]:
    return [await publish_update(js, pb.UPDATE_MESSAGE_CREATED, 7, {"id": start + i, "content": f"m{start + i}"})
            for i in range(n)]


@pytest.fixture
async def live(db_url, nats_url, serve_app):
    runtime, base = await live_admin(db_url, nats_url, serve_app)
    yield runtime, base
    await runtime.stop()


@pytest.fixture
async def two_replicas(db_url, nats_url, serve_app):
    """Two admin-api processes' worth (runtime, base) on the same NATS and database."""
    replicas = [await live_admin(db_url, nats_url, serve_app) for _ in range(2)]
    yield replicas
    for runtime, _ in replicas:
        await runtime.stop()


@pytest.mark.parametrize("token,query,code,reason", [
    (None, "", 4401, "unauthorized"), ("wrong", "", 4401, "unauthorized"),
    (ADMIN_TOKEN, "?since=-3", 4422, "since must be a non-negative integer"),
    (ADMIN_TOKEN, "?since=abc", 4422, "since must be a non-negative integer"),
    (ADMIN_TOKEN, "?batch=yes", 4422, "batch must be 0 or 1"),
    # A token in the URL ends up in proxies' access logs: refused even when it is right.
    (None, "?token=" + ADMIN_TOKEN, 4401, "token_in_url: send it as an Authorization header"),
    (ADMIN_TOKEN, "?token=" + ADMIN_TOKEN, 4401, "token_in_url: send it as an Authorization header"),
])
async def test_refused_connections_get_close_codes(live, token, query, code, reason):
    _, base = live
    headers = auth(token) if token else None
    async with websockets.connect(f"ws://{base}/admin/ws{query}", additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await recv(ws)
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (code, reason)


def bearer_protocol(token: str) -> str:
    return "bearer." + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


async def test_token_as_a_subprotocol_keeps_it_out_of_the_url(live):
    """What the panel does: no token in the URL; the server answers with its subprotocol."""
    _, base = live
    async with websockets.connect(f"ws://{base}/admin/ws?batch=1",
                                  subprotocols=["pentagon.v1", bearer_protocol(VIEWER_TOKEN)]) as ws:
        assert ws.subprotocol == "pentagon.v1"
        assert (await recv(ws))["type"] == "hello"


@pytest.mark.parametrize("protocol", [bearer_protocol("wrong"), "bearer.", "bearer.%%%not-base64", "bearer.__8"])
async def test_a_bad_subprotocol_token_is_refused(live, protocol):
    _, base = live
    async with websockets.connect(f"ws://{base}/admin/ws", subprotocols=["pentagon.v1", protocol]) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await recv(ws)
    assert info.value.rcvd.code == 4401


async def test_a_socket_opened_with_a_jwt_is_closed_when_the_jwt_expires(db_url, nats_url, serve_app):
    runtime, base = await live_admin(db_url, nats_url, serve_app, supabase_jwt_secret=JWT_SECRET)
    try:
        expires_at = int(time.time()) + 3
        token = supabase_token({"exp": expires_at, "app_metadata": {"role": "viewer"}})
        async with websockets.connect(f"ws://{base}/admin/ws", subprotocols=["pentagon.v1", bearer_protocol(token)]) as ws, \
                websockets.connect(f"ws://{base}/admin/ws", additional_headers=auth(ADMIN_TOKEN)) as static:
            assert (await recv(ws))["type"] == "hello" and (await recv(static))["type"] == "hello"
            seqs = await publish_messages(runtime.js, 1)
            assert [f["seq"] for f in await recv_updates(ws, 1)] == seqs  # live until then
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await recv(ws)
            assert time.time() >= expires_at - 0.1
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (4401, "token expired")
            seqs = await publish_messages(runtime.js, 1, start=1)  # a static token's socket stays
            assert [f["seq"] for f in await recv_updates(static, 2)][-1] == seqs[0]
    finally:
        await runtime.stop()


async def test_hello_then_live_frames_in_order(live):
    runtime, base = live
    before = await publish_messages(runtime.js, 2)
    async with websockets.connect(f"ws://{base}/admin/ws", additional_headers=auth(VIEWER_TOKEN)) as ws:
        hello = await recv(ws)
        assert hello == {"type": "hello", "seq": before[-1]}
        seqs = await publish_messages(runtime.js, 20, start=2)
        await publish_update(runtime.js, pb.UPDATE_CONVERSATION_CHANGED, 7, {"id": 7, "status": "human"}, mode="human")
        frames = await recv_updates(ws, 21)
    assert [f["seq"] for f in frames[:20]] == seqs
    assert [f["data"]["content"] for f in frames[:20]] == [f"m{i}" for i in range(2, 22)]
    assert frames[0]["type"] == "message.created" and frames[0]["conversation_id"] == 7
    assert frames[-1]["type"] == "conversation.updated" and frames[-1]["data"]["status"] == "human"
    assert frames[-1]["seq"] == seqs[-1] + 1


async def test_reconnect_with_since_replays_missed_frames_then_live(live):
    runtime, base = live
    url = f"ws://{base}/admin/ws"
    async with websockets.connect(url, additional_headers=auth(ADMIN_TOKEN)) as ws:
        await recv(ws)
        first = await publish_messages(runtime.js, 5)
        got = await recv_updates(ws, 3)
    last_seen = got[-1]["seq"]
    missed = await publish_messages(runtime.js, 4, start=5)  # while disconnected
    async with websockets.connect(f"{url}?since={last_seen}", additional_headers=auth(ADMIN_TOKEN)) as ws:
        hello = await recv(ws)
        assert hello["seq"] == missed[-1]
        replayed = await recv_updates(ws, 6)
        assert [f["seq"] for f in replayed] == first[3:] + missed
        live_seqs = await publish_messages(runtime.js, 3, start=9)
        after = await recv_updates(ws, 3)
        assert [f["seq"] for f in after] == live_seqs  # no duplicates, no gaps


async def test_too_far_behind_gets_resync(db_url, nats_url, serve_app):
    runtime, base = await live_admin(db_url, nats_url, serve_app, admin_ws_replay_max=5)
    try:
        seqs = await publish_messages(runtime.js, 10)
        async with websockets.connect(f"ws://{base}/admin/ws?since=1", additional_headers=auth(ADMIN_TOKEN)) as ws:
            assert (await recv(ws))["type"] == "hello"
            assert await recv(ws) == {"type": "resync", "seq": seqs[-1], "since": 1}
            more = await publish_messages(runtime.js, 1)
            assert [f["seq"] for f in await recv_updates(ws, 1)] == more
        async with websockets.connect(f"ws://{base}/admin/ws?since=999999", additional_headers=auth(ADMIN_TOKEN)) as ws:
            await recv(ws)
            assert (await recv(ws))["type"] == "resync"
    finally:
        await runtime.stop()


async def test_slow_client_is_cut_off_without_slowing_others(db_url, nats_url, serve_app):
    runtime, base = await live_admin(db_url, nats_url, serve_app, admin_ws_queue_size=16)
    try:
        url = f"ws://{base}/admin/ws"
        # max_queue=1, no compression: this client stops reading, so TCP and then its server-side queue fill up.
        slow = await websockets.connect(url, additional_headers=auth(ADMIN_TOKEN), max_queue=1, compression=None)
        fast = await websockets.connect(url, additional_headers=auth(ADMIN_TOKEN))
        await recv(slow)
        await recv(fast)
        big = "x" * 60_000
        seqs, frames = [], []
        for batch in range(10):  # ~12 MB in all: far beyond socket buffers plus the slow client's queue
            seqs += [await publish_update(runtime.js, pb.UPDATE_MESSAGE_CREATED, 1, {"id": i, "content": big})
                     for i in range(20)]
            frames += await recv_updates(fast, 20)
        assert [f["seq"] for f in frames] == seqs
        code = None
        try:
            while True:
                await asyncio.wait_for(slow.recv(), 10)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
        assert code == 4408
        assert runtime.hub.client_count == 1
        await fast.close()
    finally:
        await runtime.stop()


async def test_every_replica_delivers_every_update(two_replicas):
    (r1, base1), (_, base2) = two_replicas
    async with websockets.connect(f"ws://{base1}/admin/ws", additional_headers=auth(ADMIN_TOKEN)) as a, \
            websockets.connect(f"ws://{base2}/admin/ws", additional_headers=auth(ADMIN_TOKEN)) as b:
        await recv(a)
        await recv(b)
        seqs = await publish_messages(r1.js, 10)
        assert [f["seq"] for f in await recv_updates(a, 10)] == seqs
        assert [f["seq"] for f in await recv_updates(b, 10)] == seqs


async def test_heartbeat_and_stats_frames(db_url, nats_url, serve_app, pg):
    await add_conversation(pg, "psid-1")
    runtime, base = await live_admin(db_url, nats_url, serve_app, admin_ws_heartbeat_seconds=0.2,
                                     admin_ws_stats_seconds=0.3)
    try:
        async with websockets.connect(f"ws://{base}/admin/ws", additional_headers={
                "Authorization": f"Bearer {VIEWER_TOKEN}"}) as ws:
            await recv(ws)
            kinds: dict[str, dict] = {}
            while len(kinds) < 2:
                frame = await recv(ws)
                kinds[frame["type"]] = frame
        assert kinds["heartbeat"]["ts"].endswith("Z")
        assert kinds["stats"]["data"]["total_conversations"] == 1
    finally:
        await runtime.stop()


def unpack(frame: dict) -> list[dict]:
    return frame["frames"] if frame.get("type") == "batch" else [frame]


async def test_batch_client_gets_a_burst_as_one_message_and_a_lone_update_unchanged(db_url, nats_url, serve_app):
    # A long flush interval makes the burst deterministic: it all arrives within one interval.
    runtime, base = await live_admin(db_url, nats_url, serve_app, admin_ws_flush_ms=1000)
    try:
        async with websockets.connect(f"ws://{base}/admin/ws?batch=1", additional_headers=auth(VIEWER_TOKEN)) as ws:
            assert (await recv(ws))["type"] == "hello"
            lone = await publish_messages(runtime.js, 1)
            frame = await recv(ws)  # after a quiet period: sent at once, as a plain frame
            assert frame["type"] == "message.created" and frame["seq"] == lone[0]
            burst = await publish_messages(runtime.js, 5, start=1)
            await publish_update(runtime.js, pb.UPDATE_CONVERSATION_CHANGED, 7, {"id": 7, "status": "human"})
            batch = await recv(ws)
            assert batch["type"] == "batch" and "seq" not in batch
            assert [f["seq"] for f in batch["frames"]] == burst + [burst[-1] + 1]
            assert [f["data"]["content"] for f in batch["frames"][:5]] == [f"m{i}" for i in range(1, 6)]
            assert batch["frames"][-1]["type"] == "conversation.updated"
            assert batch["frames"][-1]["data"] == {"id": 7, "status": "human"}
    finally:
        await runtime.stop()


async def test_without_batch_every_frame_is_its_own_message(db_url, nats_url, serve_app):
    runtime, base = await live_admin(db_url, nats_url, serve_app, admin_ws_flush_ms=1000)
    try:
        async with websockets.connect(f"ws://{base}/admin/ws?batch=0", additional_headers=auth(VIEWER_TOKEN)) as ws:
            await recv(ws)
            seqs = await publish_messages(runtime.js, 6)
            frames = [await recv(ws) for _ in seqs]
            assert [f["type"] for f in frames] == ["message.created"] * 6
            assert [f["seq"] for f in frames] == seqs
    finally:
        await runtime.stop()


async def test_batch_client_resumes_with_the_missed_frames_in_one_batch(live):
    runtime, base = live
    url = f"ws://{base}/admin/ws?batch=1"
    async with websockets.connect(url, additional_headers=auth(ADMIN_TOKEN)) as ws:
        await recv(ws)
        seen = await publish_messages(runtime.js, 2)
        got = []
        while len(got) < 2:
            got += unpack(await recv(ws))
        assert [f["seq"] for f in got] == seen
    missed = await publish_messages(runtime.js, 4, start=2)
    async with websockets.connect(f"{url}&since={seen[-1]}", additional_headers=auth(ADMIN_TOKEN)) as ws:
        assert (await recv(ws)) == {"type": "hello", "seq": missed[-1]}
        replay = await recv(ws)
        assert replay["type"] == "batch" and [f["seq"] for f in replay["frames"]] == missed
        live_seqs = await publish_messages(runtime.js, 3, start=6)
        after = []
        while len(after) < 3:
            after += unpack(await recv(ws))
        assert [f["seq"] for f in after] == live_seqs  # no duplicates, no gaps


async def test_presence_reaches_every_replica_under_the_sockets_own_name(two_replicas):
    """Two staff on two replicas: what one does in a conversation shows on the other's socket,
    named by the server from the token, never by the client; junk is ignored, not fatal."""
    (_, base1), (_, base2) = two_replicas
    async with websockets.connect(f"ws://{base1}/admin/ws", additional_headers=auth(ADMIN_TOKEN)) as alice, \
            websockets.connect(f"ws://{base2}/admin/ws", additional_headers=auth(VIEWER_TOKEN)) as victor:
        await recv(alice)
        await recv(victor)
        for junk in ("not json", "x" * 5000, '{"type": "typing", "conversation_id": "7; DROP TABLE"}',
                     '{"type": "typing", "conversation_id": 0}', '{"type": "delete", "conversation_id": 7}',
                     '{"type": "typing", "conversation_id": 99999999999999999999}', "[]"):
            await alice.send(junk)
        await alice.send('{"type": "typing", "conversation_id": 7, "name": "mallory", "role": "admin"}')
        for _ in range(5):  # a burst: heard once
            await alice.send('{"type": "typing", "conversation_id": 7}')
        await alice.send('{"type": "viewing", "conversation_id": 7}')
        seen = []
        while len(seen) < 2:
            frame = await recv(victor)
            if frame["type"] == "presence":
                seen.append(frame)
        assert [f["data"] for f in seen] == [
            {"name": "alice", "role": "admin", "conversation_id": 7, "activity": "typing", "ttl_s": 6},
            {"name": "alice", "role": "admin", "conversation_id": 7, "activity": "viewing", "ttl_s": 30}]
        assert all("seq" not in f for f in seen)  # now or never: not part of the replayable feed
        await victor.send('{"type": "viewing", "conversation_id": 7}')  # viewers are seen too
        frame = await recv(alice)
        while frame["type"] != "presence" or frame["data"]["name"] != "victor":
            frame = await recv(alice)
        assert frame["data"]["role"] == "viewer"
        with pytest.raises(asyncio.TimeoutError):  # the burst and the junk produced nothing more
            while True:
                extra = await recv(victor, timeout=1.0)
                if extra["type"] == "presence" and extra["data"]["name"] == "alice":
                    raise AssertionError(f"unexpected {extra}")


async def test_an_admin_typing_is_told_to_the_webhook_for_the_customer(db_url, nats_url, serve_app, pg):
    """staff.typing carries the conversation's key (from the database, not the client); viewers and
    closed conversations tell nobody."""
    open_id = await add_conversation(pg, "psid-typing", status="human")
    closed_id = await add_conversation(pg, "psid-closed", status="closed")
    runtime, base = await live_admin(db_url, nats_url, serve_app)
    told: list[pb.StaffTyping] = []

    async def collect(msg) -> None:
        event = pb.StaffTyping()
        event.ParseFromString(msg.data)
        told.append(event)

    sub = await runtime.nc.subscribe("staff.typing.>", cb=collect)
    try:
        async with websockets.connect(f"ws://{base}/admin/ws", additional_headers=auth(VIEWER_TOKEN)) as viewer:
            await recv(viewer)
            await viewer.send(json.dumps({"type": "typing", "conversation_id": open_id}))
            async with websockets.connect(f"ws://{base}/admin/ws", additional_headers=auth(ADMIN_TOKEN)) as admin:
                await recv(admin)
                await admin.send(json.dumps({"type": "typing", "conversation_id": closed_id}))
                for _ in range(50):  # the closed one is looked up and dropped; the viewer's is never looked up
                    frames = [f for f in [await recv(viewer)] if f["type"] == "presence"]
                    if frames and frames[0]["data"]["conversation_id"] == closed_id:
                        break
                await asyncio.sleep(2.1)  # the same activity is heard again after MIN_INTERVAL_S
                await admin.send(json.dumps({"type": "typing", "conversation_id": open_id}))
                for _ in range(100):
                    if told:
                        break
                    await asyncio.sleep(0.05)
        await runtime.nc.flush()
        assert [(t.key.platform, t.key.user_id, t.conversation_id) for t in told] == [
            ("messenger", "psid-typing", open_id)]
    finally:
        await sub.unsubscribe()
        await runtime.stop()
