"""The Graph API recorder speaks the Send API's wire format, including its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from pentagon.devtools.embedded import free_port
from pentagon.devtools.graph_stub import build_app


@pytest.fixture
async def stub() -> AsyncIterator[httpx.AsyncClient]:
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        await runner.cleanup()


async def test_stub_answers_records_and_fails_on_request(stub: httpx.AsyncClient) -> None:
    client = stub
    await client.delete("/requests")
    msg = {"recipient": {"id": "9"}, "messaging_type": "RESPONSE", "message": {"text": "hi"}}
    ok = (await client.post("/v21.0/me/messages", params={"access_token": "t"}, json=msg)).json()
    assert ok["recipient_id"] == "9" and ok["message_id"].startswith("m_stub_")
    assert (await client.post("/v21.0/me/messages", json=msg)).json()["error"]["code"] == 190
    too_long = {**msg, "message": {"text": "x" * 2001}}
    assert (await client.post("/v21.0/me/messages", params={"access_token": "t"}, json=too_long)).json()["error"]["code"] == 100
    untagged = {**msg, "messaging_type": "MESSAGE_TAG"}
    assert (await client.post("/v21.0/me/messages", params={"access_token": "t"}, json=untagged)).status_code == 400
    await client.post("/control/fail", json={"status": 400, "code": 613, "times": 1})
    limited = await client.post("/v21.0/me/messages", params={"access_token": "t"}, json=msg)
    assert limited.status_code == 400 and limited.json()["error"]["code"] == 613
    assert (await client.post("/v21.0/me/messages", params={"access_token": "t"}, json=msg)).status_code == 200
    action = {"recipient": {"id": "9"}, "sender_action": "typing_on"}
    assert (await client.post("/v21.0/me/messages", params={"access_token": "t"}, json=action)).json() == {"recipient_id": "9"}
    recorded = (await client.get("/requests")).json()["requests"]
    assert [r["status"] for r in recorded] == [200, 401, 400, 400, 400, 200, 200]
    assert len((await client.get("/requests", params={"kind": "sender_action"})).json()["requests"]) == 1
    assert (await client.post("/control/fail", content=b"[1]")).status_code == 422
    assert (await client.get("/_stub/count")).json()["messages"] == 6
    await client.delete("/requests")
    assert (await client.get("/requests")).json() == {"requests": []}
    assert (await client.get("/healthz")).json() == {"status": "ok"}
