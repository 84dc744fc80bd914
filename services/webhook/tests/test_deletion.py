"""Messenger data deletion callback: signed_request checks, the event for tracking, the status URL."""

from __future__ import annotations

import time

from pentagon.common.bus import Subjects
from pentagon.common.proto import events_pb2 as pb
from pentagon.webhook.signature import sign_request

NO_WORKERS = {"REPLY_WORKER_ENABLED": "false", "SENDER_ENABLED": "false"}


async def test_signed_deletion_request_publishes_and_reports_status(start_webhook, bus, make_update) -> None:
    hook = start_webhook(**NO_WORKERS)
    url = f"{hook.url}/webhook/data-deletion"
    signed = sign_request({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": "1234567"}, "test-app-secret")
    response = await hook.client.post(url, data={"signed_request": signed})
    assert response.status_code == 200, response.text
    body = response.json()
    code = body["confirmation_code"]
    assert body["url"] == f"https://pentagon.example/webhook/data-deletion/status?code={code}"
    (event,) = await bus.events(Subjects.conversation("messenger", "1234567"), pb.ConversationEvent)
    assert event.action == pb.CONVERSATION_DELETE_USER_DATA and event.key.user_id == "1234567"
    # Facebook retrying the same request gets the same code and no second event.
    again = await hook.client.post(url, data={"signed_request": signed})
    assert again.json()["confirmation_code"] == code
    assert len(await bus.messages("events.conversation.>")) == 1

    status_url = f"{hook.url}/webhook/data-deletion/status"
    assert (await hook.client.get(status_url, params={"code": code})).json()["status"] == "pending"
    await bus.publish(Subjects.update("user_deleted", "messenger", "1234567"),
                      make_update(pb.UPDATE_USER_DELETED, "messenger", "1234567", {}))
    assert (await hook.client.get(status_url, params={"code": code})).json() == {"confirmation_code": code, "status": "completed"}
    assert (await hook.client.get(status_url, params={"code": "0" * 20})).status_code == 404
    assert (await hook.client.get(status_url, params={"code": "<script>"})).status_code == 404


async def test_bad_deletion_requests(start_webhook, bus) -> None:
    hook = start_webhook(**NO_WORKERS)
    url = f"{hook.url}/webhook/data-deletion"
    forged = sign_request({"algorithm": "HMAC-SHA256", "user_id": "1"}, "not-the-app-secret")
    no_user = sign_request({"algorithm": "HMAC-SHA256"}, "test-app-secret")
    weak = sign_request({"algorithm": "none", "user_id": "1"}, "test-app-secret")
    assert (await hook.client.post(url, data={"signed_request": forged})).status_code == 403
    assert (await hook.client.post(url, data={"signed_request": weak})).status_code == 403
    assert (await hook.client.post(url, data={"signed_request": "a.b.c"})).status_code == 403
    assert (await hook.client.post(url, data={"signed_request": "!!!.???"})).status_code == 403
    assert (await hook.client.post(url, data={"signed_request": no_user})).status_code == 400
    assert (await hook.client.post(url, data={})).status_code == 400
    assert (await hook.client.post(url, content=b"x" * 20000)).status_code == 413
    assert await bus.messages("events.>") == []
