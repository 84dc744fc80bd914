"""Guessing tokens: refused tokens are counted per client address, across replicas, REST and WebSocket alike."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from admin_support import ADMIN, ADMIN_TOKEN, JWT_SECRET, auth, supabase_token
from conftest import make_settings, start_runtime
from pentagon.admin.app import create_app
from pentagon.devtools.metrics import sample_sum

WRONG = {"Authorization": "Bearer not-the-token"}
# Three refused tokens, then one more per 60 s: a test never sees a refill.
SLOW = {"admin_auth_failures_burst": 3, "admin_auth_failures_per_min": 1}


async def counters(client: httpx.AsyncClient) -> tuple[float, float]:
    text = (await client.get("/metrics")).text
    return (sample_sum(text, "admin_auth_failures_total") or 0.0, sample_sum(text, "admin_auth_throttled_total") or 0.0)


def from_address(headers: dict[str, str], address: str) -> dict[str, str]:
    # The in-process client's peer is 127.0.0.1, a trusted proxy by default, like the gateway.
    return {**headers, "X-Forwarded-For": address}


@pytest.mark.parametrize("admin", [SLOW], indirect=True)
async def test_after_the_burst_even_the_right_token_waits(admin):
    before = await counters(admin.client)
    codes = [(await admin.client.get("/admin/me", headers=WRONG)).status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    refused = await admin.client.get("/admin/me", headers=WRONG)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Checked before the token is looked at: a right guess now would tell the guesser nothing.
    assert (await admin.client.get("/admin/me", headers=ADMIN)).status_code == 429
    # Another address is not affected.
    other = await admin.client.get("/admin/me", headers=from_address(ADMIN, "198.51.100.7"))
    assert other.status_code == 200
    after = await counters(admin.client)
    assert (after[0] - before[0], after[1] - before[1]) == (3, 2)  # failures, throttled


@pytest.mark.parametrize("admin", [SLOW], indirect=True)
async def test_only_refused_tokens_count(admin):
    for _ in range(5):
        assert (await admin.client.get("/admin/me")).status_code == 401  # no token: guesses nothing
        assert (await admin.client.get("/admin/me", headers=ADMIN)).status_code == 200
    for _ in range(3):
        assert (await admin.client.get("/admin/me", headers=WRONG)).status_code == 401


@pytest.mark.parametrize("admin", [SLOW], indirect=True)
async def test_guesses_sent_all_at_once_get_no_more_than_the_burst(admin):
    responses = await asyncio.gather(*(admin.client.get("/admin/me", headers=WRONG) for _ in range(40)))
    codes = Counter(r.status_code for r in responses)
    assert codes == {401: 3, 429: 37}


@pytest.mark.parametrize("admin", [SLOW], indirect=True)
async def test_many_right_tokens_at_once_are_never_throttled(admin):
    responses = await asyncio.gather(*(admin.client.get("/admin/me", headers=ADMIN) for _ in range(40)))
    assert {r.status_code for r in responses} == {200}


@pytest.mark.parametrize("admin", [{**SLOW, "supabase_jwt_secret": JWT_SECRET}], indirect=True)
async def test_genuine_supabase_tokens_are_not_guesses(admin):
    expired = {"Authorization": f"Bearer {supabase_token({'exp': int(time.time()) - 60})}"}
    no_role = {"Authorization": f"Bearer {supabase_token({})}"}
    forged = {"Authorization": f"Bearer {supabase_token({'app_metadata': {'role': 'admin'}}, secret='x' * 40)}"}
    for _ in range(5):  # stale tabs waking up, an account without a panel role
        response = await admin.client.get("/admin/me", headers=expired)
        assert (response.status_code, response.json()["error"]["message"]) == (401, "token expired")
        assert (await admin.client.get("/admin/me", headers=no_role)).status_code == 403
    codes = [(await admin.client.get("/admin/me", headers=forged)).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


@pytest.mark.parametrize("admin", [{**SLOW, "trusted_proxies": ""}], indirect=True)
async def test_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_count(admin):
    codes = [(await admin.client.get("/admin/me", headers=from_address(WRONG, f"198.51.100.{i}"))).status_code
             for i in range(4)]
    assert codes == [401, 401, 401, 429]


async def test_replicas_share_the_count(db_url, nats_url):
    runtimes = [await start_runtime(make_settings(db_url, nats_url, **SLOW)) for _ in range(2)]
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://admin.test")
               for rt in runtimes]
    try:
        codes = [(await clients[i % 2].get("/admin/me", headers=WRONG)).status_code for i in range(3)]
        assert codes == [401, 401, 401]
        # Replica 1 refused one guess itself and learns of replica 0's two from its copy of the
        # bucket, which lags by a moment (throttle.py): a right token passes until then, and
        # is refused once the shared count has arrived (a pass costs no failure).
        for _ in range(200):
            if (await clients[1].get("/admin/me", headers=ADMIN)).status_code == 429:
                break
            await asyncio.sleep(0.025)
        else:
            raise AssertionError("replica 1 never saw the other replica's failures")
        assert (await clients[0].get("/admin/me", headers=ADMIN)).status_code == 429
    finally:
        for client, runtime in zip(clients, runtimes):
            await client.aclose()
            await runtime.stop()


async def test_websocket_guesses_count_and_are_closed_4429(db_url, nats_url, serve_app):
    settings = make_settings(db_url, nats_url, **SLOW)
    runtime = await start_runtime(settings)
    base = await serve_app(create_app(runtime), settings)
    try:
        codes = []
        for token in ["wrong-1", "wrong-2", "wrong-3", ADMIN_TOKEN]:
            async with websockets.connect(f"ws://{base}/admin/ws", additional_headers=auth(token)) as ws:
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
            codes.append(info.value.rcvd.code)
        assert codes == [4401, 4401, 4401, 4429]
        async with httpx.AsyncClient() as client:  # the same address over REST: throttled too
            assert (await client.get(f"http://{base}/admin/me", headers=ADMIN)).status_code == 429
    finally:
        await runtime.stop()


@pytest.mark.parametrize("admin", [SLOW], indirect=True)
async def test_without_nats_the_replica_counts_on_its_own(admin):
    await admin.runtime.nc.close()
    codes = [(await admin.client.get("/admin/me", headers=WRONG)).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
