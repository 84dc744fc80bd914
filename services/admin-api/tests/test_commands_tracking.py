"""Actions end to end with the real tracking service (its own process) answering commands and persisting."""

from __future__ import annotations

import asyncio
import json
import uuid

import websockets
from prometheus_client import REGISTRY

from admin_support import ADMIN, ADMIN_TOKEN, VIEWER, auth
from conftest import make_settings, start_runtime
from pentagon.admin.app import create_app
from pentagon.admin.alert_figures import AlertFigures
from pentagon.common.bus import Subjects
from pentagon.common.events import publish, timestamp
from pentagon.common.jsonrow import iso
from pentagon.common.proto import events_pb2 as pb


async def user_says(admin, user_id: str, text: str, platform: str = "messenger") -> int:
    """A user message through the real pipeline; returns its conversation id once tracking stored it."""
    event_id = uuid.uuid4().hex
    event = pb.MessageEvent(event_id=event_id, occurred_at=timestamp(), sender=pb.SENDER_USER, content=text,
                            key=pb.ConversationKey(platform=platform, user_id=user_id), kind="text",
                            channel=pb.CHANNEL_MESSAGING)
    await publish(admin.js, Subjects.incoming(platform, user_id), event, event_id)
    for _ in range(200):
        async with admin.runtime.connection() as conn:
            conv = await conn.fetchval("SELECT conversation_id FROM messages WHERE event_id = $1", event_id)
        if conv:
            return conv
        await asyncio.sleep(0.05)
    raise AssertionError("tracking did not store the message")


async def act(admin, conv: int, action: str, body=None, headers=ADMIN):
    return await admin.client.post(f"/admin/conversations/{conv}/{action}", headers=headers, json=body)


async def test_lifecycle_transitions_and_illegal_ones(admin, tracking):
    conv = await user_says(admin, "psid-life", "hello")
    r = await act(admin, conv, "takeover")
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["status"] == "human" and r.json()["conversation"]["bot_paused"] is True
    assert (await act(admin, conv, "takeover")).status_code == 409
    assert (await act(admin, conv, "handback")).json()["conversation"]["status"] == "active"
    assert (await act(admin, conv, "handback")).status_code == 409
    closed = await act(admin, conv, "close")
    assert closed.json()["conversation"]["status"] == "closed" and closed.json()["conversation"]["closed_at"]
    for action in ("close", "takeover", "handback"):
        r = await act(admin, conv, action)
        assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    assert (await admin.client.post(f"/admin/conversations/{conv}/reply", headers=ADMIN,
                                    json={"text": "hi"})).status_code == 409
    assert (await act(admin, conv, "reopen")).json()["conversation"]["status"] == "active"
    assert (await act(admin, 987654, "close")).status_code == 404


async def test_reopen_refused_while_the_user_has_another_open_conversation(admin, tracking):
    old = await user_says(admin, "psid-two", "first")
    assert (await act(admin, old, "close")).status_code == 200
    new = await user_says(admin, "psid-two", "second")
    assert new != old
    r = await act(admin, old, "reopen")
    assert r.status_code == 409


async def test_assign_priority_and_message_flags(admin, tracking):
    conv = await user_says(admin, "psid-flags", "is the cafe open?")
    r = await act(admin, conv, "assign", {"assigned_to": "victor"})
    assert r.json()["conversation"]["assigned_to"] == "victor"
    assert (await act(admin, conv, "assign", {"assigned_to": None})).json()["conversation"]["assigned_to"] is None
    assert (await act(admin, conv, "priority", {"priority": 5})).json()["conversation"]["priority"] == 5
    message = (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()["messages"][0]
    assert (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()["conversation"][
        "waiting_since"] is None
    r = await admin.client.post(f"/admin/messages/{message['id']}/mark-human", headers=ADMIN)
    assert r.status_code == 200 and r.json()["message"]["requires_human"] is True
    listed = await admin.client.get("/admin/conversations?needs_human=true", headers=VIEWER)
    assert [c["id"] for c in listed.json()["conversations"]] == [conv]
    # Waiting since the customer's message, in the list and in the detail, and as the longest wait.
    assert listed.json()["conversations"][0]["waiting_since"] == message["timestamp"]
    stats = (await admin.client.get("/admin/stats", headers=VIEWER)).json()["stats"]
    assert stats["oldest_waiting_since"] == message["timestamp"]
    watch = AlertFigures(admin.runtime.connection, 0.05)
    watch.start()
    try:
        for _ in range(200):
            if watch.oldest is not None:
                break
            await asyncio.sleep(0.05)
        assert iso(watch.oldest) == message["timestamp"]
        assert REGISTRY.get_sample_value("admin_longest_wait_seconds") > 0  # what the alert reads
    finally:
        await watch.stop()
    r = await admin.client.post(f"/admin/messages/{message['id']}/mark-replied", headers=ADMIN)
    assert r.json()["message"]["human_replied"] is True
    assert (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()["conversation"][
        "waiting_since"] is None
    assert (await admin.client.post("/admin/messages/99999999/mark-human", headers=ADMIN)).status_code == 404


async def test_reply_is_stored_as_human_and_clears_pending(admin, tracking):
    conv = await user_says(admin, "web-reply", "I want to talk to someone", platform="web")
    message_id = (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()["messages"][0]["id"]
    await admin.client.post(f"/admin/messages/{message_id}/mark-human", headers=ADMIN)
    r = await admin.client.post(f"/admin/conversations/{conv}/reply", headers=ADMIN, json={"text": "Hi, Alice here"})
    assert r.status_code == 202
    event_id = r.json()["event_id"]
    for _ in range(200):
        detail = (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()
        if any(m["event_id"] == event_id for m in detail["messages"]):
            break
        await asyncio.sleep(0.05)
    human = [m for m in detail["messages"] if m["event_id"] == event_id]
    assert len(human) == 1 and human[0]["sender_type"] == "human" and human[0]["actor"] == "alice:admin"
    assert detail["conversation"]["pending_human_count"] == 0
    assert detail["conversation"]["status"] == "human"


async def test_delete_user_and_audit_trail(admin, tracking):
    conv = await user_says(admin, "psid-gone", "delete me")
    await act(admin, conv, "takeover", headers={**ADMIN, "Idempotency-Key": "k1"})
    await act(admin, conv, "handback", headers={**ADMIN, "Idempotency-Key": "k1"})
    again = await act(admin, conv, "takeover", headers={**ADMIN, "Idempotency-Key": "k1"})
    assert again.status_code == 200  # the same command answered again, not a second transition
    r = await admin.client.delete("/admin/users/messenger/psid-gone", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).status_code == 404
    entries = (await admin.client.get("/admin/audit", headers=VIEWER)).json()["entries"]
    assert [e["action"] for e in entries] == ["delete_user", "handback", "takeover"]
    assert {e["actor"] for e in entries} == {"alice:admin"}


async def test_staff_notes_stay_with_the_staff_and_leave_with_the_user(admin, tracking):
    conv = await user_says(admin, "psid-noted", "my usual please")
    before = (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()
    text = "Regular: oat milk latte, allergic to nuts. ‌နို့ မပါ 🥜 <b>not html</b>"
    r = await act(admin, conv, "notes", {"text": f"  {text}\n"})
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["updated_at"] > before["conversation"]["updated_at"]  # panels hear of it
    audit = (await admin.client.get("/admin/audit", headers=VIEWER, params={"conversation_id": conv})).json()
    assert [(e["action"], e["params"], e["actor"]) for e in audit["entries"]] == [("note", {"text": text}, "alice:admin")]
    after = (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()
    assert after["messages"] == before["messages"]  # not a message: nothing is sent, nothing is counted
    assert after["conversation"]["message_count"] == before["conversation"]["message_count"]

    for bad in ({"text": "   "}, {"text": "a\x00b"}, {"text": "x" * 2001}, {"text": 7}, {}):
        refused = await act(admin, conv, "notes", bad)
        assert refused.status_code == 422, (bad, refused.text)
    assert (await act(admin, conv, "notes", {"text": "hi"}, headers=VIEWER)).status_code == 403
    assert (await act(admin, 987654, "notes", {"text": "hi"})).status_code == 404

    assert (await admin.client.delete("/admin/users/messenger/psid-noted", headers=ADMIN)).status_code == 200
    audit = (await admin.client.get("/admin/audit", headers=VIEWER, params={"conversation_id": conv})).json()
    assert [(e["action"], e["params"]) for e in audit["entries"]] == [("note", {})]  # who and when stay, not the text


async def test_websocket_sees_tracking_updates(db_url, nats_url, serve_app, tracking):
    settings = make_settings(db_url, nats_url)
    runtime = await start_runtime(settings)
    base = await serve_app(create_app(runtime), settings)
    try:
        async with websockets.connect(f"ws://{base}/admin/ws", additional_headers=auth(ADMIN_TOKEN)) as ws:
            await asyncio.wait_for(ws.recv(), 30)
            event_id = uuid.uuid4().hex
            event = pb.MessageEvent(event_id=event_id, occurred_at=timestamp(), sender=pb.SENDER_USER, content="hey",
                                    key=pb.ConversationKey(platform="web", user_id="web-live"), kind="text")
            await publish(runtime.js, Subjects.incoming("web", "web-live"), event, event_id)
            types = set()
            while "message.created" not in types:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                types.add(frame["type"])
                if frame["type"] == "message.created":
                    assert frame["data"]["event_id"] == event_id and frame["data"]["content"] == "hey"
    finally:
        await runtime.stop()


async def test_labels_put_on_taken_off_filtered_and_counted(admin, tracking):
    conv = await user_says(admin, "psid-labels", "I'd like to order 3 lattes")
    other = await user_says(admin, "psid-labels-2", "table for four tonight?")
    r = await act(admin, conv, "labels", {"add": ["  Order ", "ဘောက်ချာ", "ORDER", "follow\u200b  up"]})
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["labels"] == ["follow up", "order", "ဘောက်ချာ"]  # one spelling each, sorted
    assert (await act(admin, other, "labels", {"add": ["reservation", "order"]})).status_code == 200
    # Two staff labelling at once: both labels stay (adds and removes, not a whole new list).
    await asyncio.gather(act(admin, conv, "labels", {"add": ["vip"]}), act(admin, conv, "labels", {"add": ["paid"]}))
    r = await act(admin, conv, "labels", {"remove": ["follow up", "not there"]})
    assert r.json()["conversation"]["labels"] == ["order", "paid", "vip", "ဘောက်ချာ"]

    listed = (await admin.client.get("/admin/conversations", headers=VIEWER, params={"label": " VIP"})).json()
    assert [c["id"] for c in listed["conversations"]] == [conv]
    both = (await admin.client.get("/admin/conversations", headers=VIEWER, params={"label": "order"})).json()
    assert sorted(c["id"] for c in both["conversations"]) == sorted([conv, other])
    exported = await admin.client.get("/admin/export/conversations.jsonl", headers=VIEWER,
                                      params={"label": "reservation"})
    assert [json.loads(line)["id"] for line in exported.text.splitlines()] == [other]
    counts = (await admin.client.get("/admin/labels", headers=VIEWER)).json()["labels"]
    assert counts[0] == {"label": "order", "conversations": 2, "open": 2}
    assert {"label": "ဘောက်ချာ", "conversations": 1, "open": 1} in counts

    for bad in ({}, {"add": []}, {"add": [""]}, {"add": ["x" * 33]}, {"add": ["a\x01b"]}, {"add": "order"},
                {"add": ["a"], "color": "red"}, {"remove": [None]}):
        refused = await act(admin, conv, "labels", bad)
        assert refused.status_code == 422, (bad, refused.text)
    full = await act(admin, conv, "labels", {"add": [f"tag {i}" for i in range(7)]})  # 4 + 7 > 10
    assert full.status_code == 422 and "at most 10" in full.json()["error"]["message"]
    assert (await act(admin, conv, "labels", {"add": ["x"]}, headers=VIEWER)).status_code == 403
    assert (await act(admin, 987654, "labels", {"add": ["x"]})).status_code == 404
    detail = (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()["conversation"]
    assert detail["labels"] == ["order", "paid", "vip", "ဘောက်ချာ"]  # the refused changes changed nothing
    audit = (await admin.client.get("/admin/audit", headers=VIEWER,
                                    params={"conversation_id": conv, "action": "labels"})).json()["entries"]
    assert audit[0]["params"] == {"add": [], "remove": ["follow up", "not there"]}
    assert audit[0]["after"]["labels"] == ["order", "paid", "vip", "ဘောက်ချာ"]
    # Labels are staff-written words about the customer: they leave with the customer's data.
    assert (await admin.client.delete("/admin/users/messenger/psid-labels", headers=ADMIN)).status_code == 200
    audit = (await admin.client.get("/admin/audit", headers=VIEWER,
                                    params={"conversation_id": conv, "action": "labels"})).json()["entries"]
    assert audit and all(e["params"] == {} and e["after"] is None for e in audit)
    counts = (await admin.client.get("/admin/labels", headers=VIEWER)).json()["labels"]
    assert {c["label"] for c in counts} == {"order", "reservation"}
