"""Saved replies over REST, stored in the real NATS key-value bucket."""

from __future__ import annotations

import uuid

import pytest

from admin_support import ADMIN, VIEWER
from pentagon.admin.saved_replies import SavedReplies

BURMESE = "ခဏစောင့်ပေးပါ။ ဝန်ထမ်းတစ်ယောက် အခုပဲ ပြန်ဖြေပေးပါမယ်။"


def new_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


async def test_admin_creates_edits_lists_and_deletes(admin) -> None:
    reply_id = new_id()
    created = await admin.client.put(f"/admin/saved-replies/{reply_id}", headers=ADMIN,
                                     json={"title": "  Please wait (MY) ", "text": f" {BURMESE} "})
    assert created.status_code == 200, created.text
    row = created.json()["saved_reply"]
    assert (row["id"], row["title"], row["text"], row["updated_by"]) == (reply_id, "Please wait (MY)", BURMESE,
                                                                          "alice:admin")
    edited = await admin.client.put(f"/admin/saved-replies/{reply_id}", headers=ADMIN,
                                    json={"title": "Please wait", "text": "One moment please ☕"})
    assert edited.json()["saved_reply"]["text"] == "One moment please ☕"

    listed = (await admin.client.get("/admin/saved-replies", headers=VIEWER)).json()  # viewers read them
    mine = [r for r in listed["saved_replies"] if r["id"] == reply_id]
    assert mine and mine[0]["title"] == "Please wait" and listed["count"] == len(listed["saved_replies"])
    titles = [r["title"].casefold() for r in listed["saved_replies"]]
    assert titles == sorted(titles)

    assert (await admin.client.delete(f"/admin/saved-replies/{reply_id}", headers=ADMIN)).json()["deleted"] is True
    gone = await admin.client.delete(f"/admin/saved-replies/{reply_id}", headers=ADMIN)
    assert gone.status_code == 404
    listed = (await admin.client.get("/admin/saved-replies", headers=ADMIN)).json()["saved_replies"]
    assert reply_id not in {r["id"] for r in listed}


async def test_viewers_and_strangers_cannot_write(admin) -> None:
    reply_id = new_id()
    body = {"title": "Hours", "text": "We open at 7 am."}
    assert (await admin.client.put(f"/admin/saved-replies/{reply_id}", headers=VIEWER, json=body)).status_code == 403
    assert (await admin.client.put(f"/admin/saved-replies/{reply_id}", json=body)).status_code == 401
    assert (await admin.client.get("/admin/saved-replies")).status_code == 401
    await admin.client.put(f"/admin/saved-replies/{reply_id}", headers=ADMIN, json=body)
    assert (await admin.client.delete(f"/admin/saved-replies/{reply_id}", headers=VIEWER)).status_code == 403
    listed = (await admin.client.get("/admin/saved-replies", headers=ADMIN)).json()["saved_replies"]
    assert [r["text"] for r in listed if r["id"] == reply_id] == ["We open at 7 am."]


@pytest.mark.parametrize("reply_id, body", [
    ("Upper", {"title": "t", "text": "x"}),
    ("-dash-first", {"title": "t", "text": "x"}),
    ("a" * 41, {"title": "t", "text": "x"}),
    ("ok-id", {"title": "", "text": "x"}),
    ("ok-id", {"title": "   ", "text": "x"}),
    ("ok-id", {"title": "t", "text": "   "}),
    ("ok-id", {"title": "t", "text": "x" * 2001}),
    ("ok-id", {"title": "t", "text": "a\x00b"}),
    ("ok-id", {"title": "t\x00", "text": "x"}),
    ("ok-id", {"title": "t" * 81, "text": "x"}),
    ("ok-id", {"title": "t", "text": "x", "extra": 1}),
    ("ok-id", {"title": "t"}),
])
async def test_bad_input_is_422_and_writes_nothing(admin, reply_id: str, body: dict) -> None:
    response = await admin.client.put(f"/admin/saved-replies/{reply_id}", headers=ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["success"] is False
    listed = (await admin.client.get("/admin/saved-replies", headers=ADMIN)).json()["saved_replies"]
    assert "ok-id" not in {r["id"] for r in listed}


async def test_at_most_max_saved_replies(admin) -> None:
    existing = (await admin.client.get("/admin/saved-replies", headers=ADMIN)).json()["count"]
    created = [new_id() for _ in range(SavedReplies.limit - existing)]
    try:
        for reply_id in created:
            r = await admin.client.put(f"/admin/saved-replies/{reply_id}", headers=ADMIN, json={"title": reply_id, "text": "x"})
            assert r.status_code == 200
        over = await admin.client.put(f"/admin/saved-replies/{new_id()}", headers=ADMIN, json={"title": "one more", "text": "x"})
        assert (over.status_code, over.json()["error"]["code"]) == (409, "too_many")
        # Editing one that exists is still fine at the limit.
        again = await admin.client.put(f"/admin/saved-replies/{created[0]}", headers=ADMIN, json={"title": "edited", "text": "y"})
        assert again.status_code == 200
    finally:
        for reply_id in created:
            await admin.client.delete(f"/admin/saved-replies/{reply_id}", headers=ADMIN)
