"""A customer's data erased through the gateway, every service on the bus as its own NATS user.

Both doors: an admin's `DELETE /admin/users/...` and Messenger's data deletion callback.
Afterwards no row is left, nothing of the customer is left on the bus (EVENTS, the DLQ,
UPDATES but the deletion marker), and the agent's history copy is gone. The erasure
spans tracking (rows, stream purges, its erasure bucket) and the webhook (the history
copy, the status page), so it is also the proof that deploy/nats/users.conf lets them
do it: any refusal in nats-server's log fails this module (tests/system/conftest.py).
"""

from __future__ import annotations

import time
import uuid

import httpx
import nats
from nats.js.errors import KeyNotFoundError
from syskit import dbcheck, messenger
from syskit.stack import SystemStack

from pentagon.common.bus import DLQ_STREAM, EVENTS_STREAM, UPDATES_STREAM, mode_key
from pentagon.webhook.signature import sign_request


async def _talked_to_the_bot(client: httpx.AsyncClient, stack: SystemStack, db, psid: str) -> None:
    body, headers = messenger.signed(stack.secrets.app_secret, messenger.page_body(
        messenger.text_event(psid, "What time do you open?")))
    assert (await client.post("/webhook", content=body, headers=headers)).status_code == 200
    await dbcheck.eventually(lambda: db.fetchval(
        "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.user_id = $1 AND m.sender_type = 'bot'", psid), timeout=90)


async def _left_on_the_bus(stack: SystemStack, psid: str) -> dict[str, object]:
    """What the bus still holds of the customer (the operator's view)."""
    nc = await nats.connect(stack.nats.url)
    try:
        js = nc.jetstream()
        left: dict[str, object] = {}
        for stream, subjects in ((EVENTS_STREAM, f"events.*.messenger.*.{psid}"),
                                 (UPDATES_STREAM, f"updates.*.messenger.{psid}"),
                                 (DLQ_STREAM, f"dlq.events.*.messenger.*.{psid}")):
            info = await js.stream_info(stream, subjects_filter=subjects)
            left[stream] = sorted(s for s in (info.state.subjects or {}) if not s.startswith("updates.user_deleted."))
        try:
            left["history"] = bool((await (await js.key_value("chat_history")).get(mode_key("messenger", psid))).value)
        except KeyNotFoundError:
            left["history"] = False
        return left
    finally:
        await nc.close()


def _nothing(left: dict[str, object]) -> bool:
    return left == {EVENTS_STREAM: [], UPDATES_STREAM: [], DLQ_STREAM: [], "history": False}


async def test_an_admin_erases_a_customer_everywhere(healthy_stack: SystemStack, db) -> None:
    psid = f"er{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(base_url=healthy_stack.gateway_url, timeout=30) as client:
        await _talked_to_the_bot(client, healthy_stack, db, psid)
        assert not _nothing(await _left_on_the_bus(healthy_stack, psid))
        deleted = await client.delete(f"/admin/users/messenger/{psid}", headers=healthy_stack.admin_headers())
        assert deleted.status_code == 200, deleted.text
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE user_id = $1", psid) == 0
    await dbcheck.eventually(lambda: _nothing_left(healthy_stack, psid), timeout=60)


async def test_messengers_deletion_callback_erases_and_reports_completed(healthy_stack: SystemStack, db) -> None:
    psid = f"cb{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(base_url=healthy_stack.gateway_url, timeout=30) as client:
        await _talked_to_the_bot(client, healthy_stack, db, psid)
        signed = sign_request({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": psid},
                              healthy_stack.secrets.app_secret)
        answer = await client.post("/webhook/data-deletion", data={"signed_request": signed})
        assert answer.status_code == 200, answer.text
        status_path = "/webhook/data-deletion/status?code=" + answer.json()["confirmation_code"]

        async def completed() -> bool:
            return (await client.get(status_path)).json()["status"] == "completed"

        await dbcheck.eventually(completed, timeout=60)
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE user_id = $1", psid) == 0
    await dbcheck.eventually(lambda: _nothing_left(healthy_stack, psid), timeout=60)


async def _nothing_left(stack: SystemStack, psid: str) -> bool:
    return _nothing(await _left_on_the_bus(stack, psid))
