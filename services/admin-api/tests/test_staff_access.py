"""Revoking staff access: refused at once on every replica, open sockets closed, restored by an admin."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from admin_support import ADMIN_TOKEN, ADMIN_TOKENS, JWT_SECRET, auth, supabase_token
from conftest import make_settings, start_runtime
from pentagon.admin.app import create_app

ADMIN = auth(ADMIN_TOKEN)


class Replica:
    """One admin-api process: its runtime, a REST client and its WebSocket address."""

    def __init__(self, runtime, base: str) -> None:
        self.runtime, self.base = runtime, base
        self.client = httpx.AsyncClient(base_url=f"http://{base}")

    async def close(self) -> None:
        await self.client.aclose()
        await self.runtime.stop()


@pytest.fixture
def staff() -> tuple[str, str]:
    """A staff member of this test only: the KV bucket outlives tests, so names never repeat."""
    return f"barista-{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(24)


@pytest.fixture
async def replicas(db_url, nats_url, serve_app, staff, tracking):
    name, token = staff
    started = []
    for _ in range(2):
        settings = make_settings(db_url, nats_url, admin_tokens=f"{ADMIN_TOKENS},{name}:viewer:{token}",
                                 supabase_jwt_secret=JWT_SECRET)
        runtime = await start_runtime(settings)
        started.append(Replica(runtime, await serve_app(create_app(runtime), settings)))
    yield started
    for replica in started:
        await replica.close()


async def closed_with(ws) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await asyncio.wait_for(ws.recv(), 20)
    return info.value.rcvd.code, info.value.rcvd.reason


async def test_a_revoked_token_is_refused_everywhere_at_once_and_restored(replicas, staff) -> None:
    first, second = replicas
    name, token = staff
    assert (await second.client.get("/admin/me", headers=auth(token))).status_code == 200
    async with websockets.connect(f"ws://{second.base}/admin/ws", additional_headers=auth(token)) as ws:
        assert '"hello"' in await ws.recv()
        revoked = await first.client.post("/admin/staff/revoke", headers=ADMIN, json={"name": name})
        assert revoked.status_code == 200, revoked.text
        member = revoked.json()["staff_member"]
        assert (member["name"], member["role"], member["source"], member["revoked"], member["changed_by"]) == (
            name, "viewer", "token", True, "alice:admin")
        # The socket opened on the other replica is closed by that replica, without a reconnect.
        assert await asyncio.wait_for(closed_with(ws), 60) == (4401, "revoked")

    for replica in replicas:
        refused = await replica.client.get("/admin/me", headers=auth(token))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "revoked"
    async with websockets.connect(f"ws://{first.base}/admin/ws", additional_headers=auth(token)) as ws:
        assert await asyncio.wait_for(closed_with(ws), 60) == (4401, "revoked")

    listed = (await second.client.get("/admin/staff", headers=ADMIN)).json()
    row = next(s for s in listed["staff"] if s["name"] == name)
    assert row["revoked"] is True and row["changed_by"] == "alice:admin"
    assert any(s["name"] == "alice" and not s["revoked"] for s in listed["staff"])

    restored = await second.client.post("/admin/staff/restore", headers=ADMIN, json={"name": name})
    assert restored.status_code == 200 and restored.json()["staff_member"]["revoked"] is False
    # Both are in the audit log, with who did them, like every admin action.
    audit = (await first.client.get("/admin/audit", headers=ADMIN, params={"actor": "alice:admin"})).json()["entries"]
    mine = [(e["action"], e["params"]) for e in audit if e["action"].endswith("_access")]
    assert mine == [("restore_access", {"name": name}), ("revoke_access", {"name": name})]  # newest first

    async def back_everywhere() -> bool:
        answers = [await r.client.get("/admin/me", headers=auth(token)) for r in replicas]
        return all(a.status_code == 200 for a in answers)

    for _ in range(100):
        if await back_everywhere():
            break
        await asyncio.sleep(0.05)
    assert await back_everywhere()


async def test_a_revocation_survives_a_restart(db_url, nats_url, serve_app, replicas, staff) -> None:
    name, token = staff
    await replicas[0].client.post("/admin/staff/revoke", headers=ADMIN, json={"name": name})
    for replica in replicas:
        await replica.runtime.stop()
    settings = make_settings(db_url, nats_url, admin_tokens=f"{ADMIN_TOKENS},{name}:viewer:{token}")
    runtime = await start_runtime(settings)
    fresh = Replica(runtime, await serve_app(create_app(runtime), settings))
    try:
        refused = await fresh.client.get("/admin/me", headers=auth(token))
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "revoked")
    finally:
        await fresh.client.aclose()
        await runtime.stop()


async def test_a_supabase_user_is_revoked_by_email_and_is_not_counted_as_a_guess(replicas) -> None:
    first, _ = replicas
    email = f"leaver-{uuid.uuid4().hex[:8]}@cafe.example"
    token = supabase_token({"email": email, "app_metadata": {"role": "admin"}})
    assert (await first.client.get("/admin/me", headers=auth(token))).status_code == 200
    revoked = await first.client.post("/admin/staff/revoke", headers=ADMIN, json={"name": email})
    assert revoked.json()["staff_member"]["source"] == "supabase"
    burst = first.runtime.settings.admin_auth_failures_burst
    for _ in range(burst + 3):  # a genuine but revoked token is no guess: never a 429 for the address
        answer = await first.client.get("/admin/conversations", headers=auth(token))
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, "revoked")
    assert (await first.client.get("/admin/me", headers=ADMIN)).status_code == 200
    listed = (await first.client.get("/admin/staff", headers=ADMIN)).json()["staff"]
    assert any(s["name"] == email and s["source"] == "supabase" and s["revoked"] for s in listed)


async def test_who_may_revoke_and_what_is_refused(replicas, staff) -> None:
    first, _ = replicas
    name, token = staff
    viewer = await first.client.post("/admin/staff/revoke", headers=auth(token), json={"name": "alice"})
    assert viewer.status_code == 403
    assert (await first.client.get("/admin/staff", headers=auth(token))).status_code == 403
    assert (await first.client.post("/admin/staff/revoke", json={"name": name})).status_code == 401
    own = await first.client.post("/admin/staff/revoke", headers=ADMIN, json={"name": "alice"})
    assert (own.status_code, own.json()["error"]["code"]) == (409, "illegal_transition")
    never = await first.client.post("/admin/staff/restore", headers=ADMIN, json={"name": f"nobody-{uuid.uuid4()}"})
    assert never.status_code == 404
    for body in ({"name": ""}, {"name": "x" * 321}, {"name": "bad\x00name"}, {"name": "line\nbreak"}, {},
                 {"name": name, "extra": 1}):
        answer = await first.client.post("/admin/staff/revoke", headers=ADMIN, json=body)
        assert answer.status_code == 422, body
    assert (await first.client.get("/admin/me", headers=auth(token))).status_code == 200  # nothing was revoked


async def test_revoked_at_once_even_when_the_audit_log_is_down_then_recorded_once(db_url, nats_url, serve_app, staff,
                                                                                  services) -> None:
    """Security first: tracking away means a 503, but the access is already gone; the retry records it once."""
    name, token = staff
    settings = make_settings(db_url, nats_url, admin_tokens=f"{ADMIN_TOKENS},{name}:viewer:{token}",
                             admin_command_timeout=0.5)
    runtime = await start_runtime(settings)
    replica = Replica(runtime, await serve_app(create_app(runtime), settings))
    try:
        retry = {**ADMIN, "Idempotency-Key": "revoke-1"}
        first = await replica.client.post("/admin/staff/revoke", headers=retry, json={"name": name})
        assert (first.status_code, first.json()["error"]["code"]) == (503, "unavailable")
        assert (await replica.client.get("/admin/me", headers=auth(token))).status_code == 401

        from pentagon.devtools.embedded import free_port

        port = free_port()
        services.start("pentagon.tracking", {"NATS_URL": nats_url, "DATABASE_URL": db_url,
                                             "TRACKING_ADDR": f"127.0.0.1:{port}"},
                       ready_url=f"http://127.0.0.1:{port}/readyz")
        for _ in range(2):  # a retry, and a retry of the retry: one audit row
            again = await replica.client.post("/admin/staff/revoke", headers=retry, json={"name": name})
            assert again.status_code == 200, again.text
        audit = (await replica.client.get("/admin/audit", headers=ADMIN, params={"action": "revoke_access"})).json()
        assert [e["params"]["name"] for e in audit["entries"]].count(name) == 1
    finally:
        await replica.close()


async def _eventually_status(replicas, token: str, status: int) -> None:
    for _ in range(200):
        answers = [(await r.client.get("/admin/me", headers=auth(token))).status_code for r in replicas]
        if answers == [status] * len(replicas):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {status} everywhere: {answers}")


async def test_an_admin_issues_a_token_that_works_on_every_replica_and_withdraws_it(replicas) -> None:
    first, second = replicas
    name = f"new-barista-{uuid.uuid4().hex[:8]}"
    issued = await first.client.post("/admin/staff/tokens", headers=ADMIN, json={"name": name, "role": "viewer"})
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    member = issued.json()["staff_member"]
    assert (member["name"], member["role"], member["source"], member["issued_by"]) == (
        name, "viewer", "issued", "alice:admin")
    assert token.startswith("pt_") and len(token) > 40
    # No restart, no edit of ADMIN_TOKENS: the other replica knows it from the bucket it follows.
    await _eventually_status(replicas, token, 200)
    me = (await second.client.get("/admin/me", headers=auth(token))).json()["user"]
    assert me == {"name": name, "role": "viewer"}
    assert (await second.client.post("/admin/staff/revoke", headers=auth(token), json={"name": "x"})).status_code == 403
    listed = (await second.client.get("/admin/staff", headers=ADMIN)).json()["staff"]
    row = next(s for s in listed if s["name"] == name)
    assert (row["source"], row["role"], row["revoked"]) == ("issued", "viewer", False) and token not in str(listed)
    again = await second.client.post("/admin/staff/tokens", headers=ADMIN, json={"name": name, "role": "admin"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "name_taken")

    async with websockets.connect(f"ws://{second.base}/admin/ws", additional_headers=auth(token)) as ws:
        assert '"hello"' in await ws.recv()
        withdrawn = await first.client.post("/admin/staff/withdraw", headers=ADMIN, json={"name": name})
        assert withdrawn.status_code == 200, withdrawn.text
        assert await asyncio.wait_for(closed_with(ws), 60) == (4401, "revoked")  # closed by the other replica, at once
    await _eventually_status(replicas, token, 401)
    assert (await first.client.post("/admin/staff/withdraw", headers=ADMIN, json={"name": name})).status_code == 404
    audit = (await first.client.get("/admin/audit", headers=ADMIN, params={"actor": "alice:admin"})).json()["entries"]
    mine = [(e["action"], e["params"]) for e in audit if e["action"].endswith("_token") and e["params"]["name"] == name]
    assert mine == [("withdraw_token", {"name": name}), ("issue_token", {"name": name, "role": "viewer"})]


async def test_who_may_issue_tokens_and_what_is_refused(replicas, staff) -> None:
    first = replicas[0]
    name, token = staff
    taken = await first.client.post("/admin/staff/tokens", headers=ADMIN, json={"name": name, "role": "admin"})
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "name_taken")  # an ADMIN_TOKENS name
    viewer = await first.client.post("/admin/staff/tokens", headers=auth(token), json={"name": "eve", "role": "admin"})
    assert viewer.status_code == 403
    for bad in ({"name": "eve", "role": "owner"}, {"name": "", "role": "viewer"}, {"name": "e\x00ve", "role": "viewer"},
                {"name": "eve"}, {"name": "eve", "role": "viewer", "token": "mine"}):
        refused = await first.client.post("/admin/staff/tokens", headers=ADMIN, json=bad)
        assert refused.status_code == 422, (bad, refused.text)
    own = await first.client.post("/admin/staff/withdraw", headers=ADMIN, json={"name": "alice"})
    assert own.status_code == 409


async def test_withdrawing_takes_back_every_token_of_the_name(replicas) -> None:
    """Two replicas issuing for one name at the same moment may both succeed: withdrawing ends both."""
    first, second = replicas
    name = f"twin-{uuid.uuid4().hex[:8]}"
    (one, _), (two, _) = await asyncio.gather(first.runtime.access.issue(name, "viewer", "alice:admin"),
                                              second.runtime.access.issue(name, "viewer", "alice:admin"))
    await _eventually_status(replicas, one, 200)
    await _eventually_status(replicas, two, 200)
    withdrawn = await first.client.post("/admin/staff/withdraw", headers=ADMIN, json={"name": name})
    assert withdrawn.status_code == 200, withdrawn.text
    await _eventually_status(replicas, one, 401)
    await _eventually_status(replicas, two, 401)
