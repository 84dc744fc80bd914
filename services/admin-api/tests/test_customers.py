"""Blocking a customer (routes/customers.py) with the real tracking recording it in the audit log."""

from __future__ import annotations

import json

import pytest
from nats.js.errors import KeyNotFoundError

from admin_support import ADMIN, VIEWER
from pentagon.admin.live import update_frame
from pentagon.common.bus import BLOCKED_USERS_BUCKET, UPDATES_STREAM, Subjects, mode_key
from test_commands_tracking import act, user_says


async def _audit(admin, conv: int) -> list[str]:  # type: ignore[no-untyped-def]
    r = await admin.client.get("/admin/audit", params={"conversation_id": conv}, headers=ADMIN)
    return [entry["action"] for entry in r.json()["entries"]]


async def _last_customer_frame(admin, user_id: str) -> dict:  # type: ignore[no-untyped-def]
    """The /admin/ws frame of the latest customer update tracking published for this user."""
    msg = await admin.js.get_msg(UPDATES_STREAM, subject=Subjects.update("customer", "messenger", user_id))
    frame = update_frame(int(msg.seq), msg.data)
    assert frame is not None
    return json.loads(frame)


async def test_an_admin_blocks_and_unblocks_a_customer(admin, tracking) -> None:  # type: ignore[no-untyped-def]
    conv = await user_says(admin, "psid-spam", "buy followers at www.example.test")
    blocked = await act(admin, conv, "block")
    assert blocked.status_code == 200, blocked.text
    body = blocked.json()
    assert body["blocked"] is True
    assert {k: body["customer"][k] for k in ("platform", "user_id")} == {"platform": "messenger", "user_id": "psid-spam"}
    assert body["customer"]["blocked_by"].startswith("alice") and body["customer"]["blocked_at"].endswith("Z")
    # In the bucket the webhook follows, and in what the panel reads.
    kv = await admin.js.key_value(BLOCKED_USERS_BUCKET)
    assert (await kv.get(mode_key("messenger", "psid-spam"))).value
    detail = (await admin.client.get(f"/admin/conversations/{conv}", headers=VIEWER)).json()
    assert detail["conversation"]["customer_blocked"] is True
    listed = (await admin.client.get("/admin/customers/blocked", headers=VIEWER)).json()
    assert listed["count"] == 1 and listed["customers"][0]["user_id"] == "psid-spam"
    assert (await act(admin, conv, "block")).json()["customer"] == body["customer"]  # blocking twice: the same block
    assert (await _audit(admin, conv)).count("block_user") == 2  # each time an admin did it
    # Every open panel is told (admin-api forwards UPDATES to every WebSocket).
    told = await _last_customer_frame(admin, "psid-spam")
    assert told["type"] == "customer.updated" and told["conversation_id"] == conv
    assert {k: told["data"][k] for k in ("platform", "user_id", "blocked", "conversation_id")} == {
        "platform": "messenger", "user_id": "psid-spam", "blocked": True, "conversation_id": conv}
    assert told["data"]["actor"].startswith("alice")

    unblocked = await act(admin, conv, "unblock")
    assert unblocked.status_code == 200 and unblocked.json()["blocked"] is False
    with pytest.raises(KeyNotFoundError):
        await kv.get(mode_key("messenger", "psid-spam"))
    detail = (await admin.client.get(f"/admin/conversations/{conv}", headers=ADMIN)).json()
    assert detail["conversation"]["customer_blocked"] is False
    assert (await admin.client.get("/admin/customers/blocked", headers=ADMIN)).json()["count"] == 0
    again = await act(admin, conv, "unblock")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert (await _audit(admin, conv)).count("unblock_user") == 1
    told_again = await _last_customer_frame(admin, "psid-spam")
    assert told_again["seq"] > told["seq"] and told_again["data"]["blocked"] is False


async def test_a_viewer_cannot_block_and_an_unknown_conversation_is_404(admin, tracking) -> None:  # type: ignore[no-untyped-def]
    conv = await user_says(admin, "psid-kind", "hello")
    refused = await act(admin, conv, "block", headers=VIEWER)
    assert refused.status_code == 403
    assert (await admin.client.get(f"/admin/conversations/{conv}", headers=ADMIN)).json()["conversation"][
        "customer_blocked"] is False
    assert (await act(admin, 987654, "block")).status_code == 404
    assert (await act(admin, 987654, "unblock")).status_code == 404


async def test_an_admin_unblocks_from_the_blocked_list_without_a_conversation(admin, tracking) -> None:  # type: ignore[no-untyped-def]
    conv = await user_says(admin, "psid-gone", "spam spam")
    assert (await act(admin, conv, "block")).status_code == 200
    path = "/admin/customers/messenger/psid-gone/unblock"
    assert (await admin.client.post(path, headers=VIEWER)).status_code == 403
    lifted = await admin.client.post(path, headers=ADMIN)
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["blocked"] is False and lifted.json()["customer"]["user_id"] == "psid-gone"
    assert (await admin.client.get("/admin/customers/blocked", headers=ADMIN)).json()["count"] == 0
    told = await _last_customer_frame(admin, "psid-gone")
    assert told["data"]["blocked"] is False and told["data"]["conversation_id"] is None
    audit = (await admin.client.get("/admin/audit", headers=ADMIN)).json()["entries"]
    assert any(e["action"] == "unblock_user" and e["params"] == {"platform": "messenger", "user_id": "psid-gone"}
               for e in audit)
    again = await admin.client.post(path, headers=ADMIN)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    for bad in ("/admin/customers/Messenger!/psid-gone/unblock", "/admin/customers/messenger/%00/unblock"):
        refused = await admin.client.post(bad, headers=ADMIN)
        assert refused.status_code == 422, (bad, refused.text)
