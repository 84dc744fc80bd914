"""The team's statistics (GET /admin/stats/staff): what each staff member did in a period."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from admin_support import ADMIN, T0, VIEWER, add_conversation, add_message, eventually
from conftest import AdminHarness
from test_commands_tracking import act, user_says

PERIOD = {"since": T0.isoformat(), "until": (T0 + timedelta(hours=24)).isoformat()}


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


async def staff_stats(admin: AdminHarness, **params) -> dict[str, dict]:
    response = await admin.client.get("/admin/stats/staff", headers=ADMIN, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["staff"])
    return {row["actor"]: row for row in body["staff"]}


async def asked_then_answered(pg, user: str, answers: list[tuple[str | None, float]], asked_at: float = 0,
                              rating: int | None = None) -> int:
    """A customer asks for a person at ``asked_at`` (minutes after T0); staff answer at their minutes."""
    metadata = {"rating": {"score": rating, "rated_at": at(120).isoformat()}} if rating else {}
    conv = await add_conversation(pg, user, status="closed", last_message_at=at(120), metadata=json.dumps(metadata))
    await add_message(pg, conv, "Can I talk to someone?", at=at(asked_at), requires_human=True)
    for actor, minutes in answers:
        await add_message(pg, conv, "Here to help", "human", at=at(minutes), actor=actor)
    return conv


async def audit(pg, actor: str, action: str, conv: int, minutes: float) -> None:
    await pg.execute("INSERT INTO admin_actions (actor, action, conversation_id, created_at) VALUES ($1, $2, $3, $4)",
                     actor, action, conv, at(minutes))


async def test_each_staff_member_s_replies_first_answers_actions_and_ratings(admin: AdminHarness, pg) -> None:
    shared = await asked_then_answered(pg, "c-shared", [("bob:admin", 4), ("alice:admin", 10), ("bob:admin", 12)],
                                       rating=5)
    quick = await asked_then_answered(pg, "c-quick", [("alice:admin", 2), ("page_inbox", 3)], rating=2)
    await asked_then_answered(pg, "c-slow", [("alice:admin", 6)])
    # Asked the day before: alice's answer counts as a reply, not as a first answer in this period.
    await asked_then_answered(pg, "c-old", [("alice:admin", 30)], asked_at=-24 * 60)
    await asked_then_answered(pg, "c-unknown", [(None, 40)], asked_at=35)
    await audit(pg, "alice:admin", "takeover", quick, 1)
    await audit(pg, "bob:admin", "close", shared, 100)
    await audit(pg, "bob:admin", "note", shared, 90)
    await audit(pg, "system:auto-close", "close", quick, 110)  # the clock's, nobody's
    await audit(pg, "bob:admin", "takeover", quick, 25 * 60)  # after the period
    await audit(pg, "alice:admin", "assign", quick, 5)  # not a counted action

    staff = await staff_stats(admin, **PERIOD)
    assert list(staff) == ["alice:admin", "bob:admin", "", "page_inbox"]  # busiest first, then by name
    alice, bob = staff["alice:admin"], staff["bob:admin"]
    assert (alice["name"], alice["replies"], alice["conversations"]) == ("alice", 4, 4)
    assert (alice["first_replies"], alice["median_first_reply_seconds"]) == (2, pytest.approx(240))  # 2 and 6 min
    assert (alice["takeovers"], alice["closes"], alice["handbacks"], alice["notes"]) == (1, 0, 0, 0)
    assert (alice["rated"], alice["average_rating"]) == (2, pytest.approx(3.5))  # both conversations she wrote in
    assert (bob["replies"], bob["conversations"], bob["first_replies"]) == (2, 1, 1)
    assert bob["median_first_reply_seconds"] == pytest.approx(240)
    assert (bob["closes"], bob["notes"], bob["takeovers"], bob["rated"], bob["average_rating"]) == (1, 1, 0, 1, 5)
    inbox = {"name": "page_inbox", "replies": 1, "first_replies": 0, "median_first_reply_seconds": None, "rated": 1,
             "average_rating": 2}  # written in the Facebook Page inbox
    assert {key: staff["page_inbox"][key] for key in inbox} == inbox
    assert staff[""]["first_replies"] == 1 and staff[""]["median_first_reply_seconds"] == pytest.approx(300)
    assert not any(actor.startswith("system:") for actor in staff)

    assert await staff_stats(admin, since="2025-01-01T00:00:00Z", until="2025-01-02T00:00:00Z") == {}


async def test_only_admins_see_how_their_colleagues_work(admin: AdminHarness) -> None:
    refused = await admin.client.get("/admin/stats/staff", headers=VIEWER)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (await admin.client.get("/admin/stats/staff")).status_code == 401
    for bad in ({"since": "yesterday"}, {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
                {"since": "2025-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}):  # over 92 days
        response = await admin.client.get("/admin/stats/staff", headers=ADMIN, params=bad)
        assert response.status_code == 422 and response.json()["success"] is False, bad


async def test_what_staff_do_in_the_panel_counts_for_them(admin: AdminHarness, tracking) -> None:
    """Through the real pipeline: the actor tracking records is the one the statistics count."""
    conv = await user_says(admin, "psid-team", "I need a person please")
    assert (await act(admin, conv, "takeover")).status_code == 200
    reply = await admin.client.post(f"/admin/conversations/{conv}/reply", headers=ADMIN, json={"text": "Alice here"})
    assert reply.status_code == 202
    assert (await act(admin, conv, "notes", {"text": "called them back"})).status_code == 200
    assert (await act(admin, conv, "close")).status_code == 200

    async def alice() -> dict | None:
        return (await staff_stats(admin)).get("alice:admin")
    row = await eventually(alice, lambda r: bool(r and r["replies"]))
    assert (row["replies"], row["conversations"], row["takeovers"], row["notes"], row["closes"]) == (1, 1, 1, 1, 1)
