"""Webhook with the real tracking (Postgres) and the real agent processes, and the Graph stub."""

from __future__ import annotations

import time

import asyncpg

from pentagon.common.bus import Subjects
from pentagon.webhook.signature import sign_request


async def _rows(database_url: str, sql: str, *args):  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_messenger_round_trip_is_tracked_exactly_once(stack, graph, bus, database_url, messenger, wait_for) -> None:
    hook = stack()
    question = messenger.text("1001", "m_wifi", "Do you have wifi?")
    assert (await hook.post_signed(messenger.page(question))).status_code == 200
    assert (await hook.post_signed(messenger.page(question))).status_code == 200  # Messenger retry

    async def bot_sent():
        rows = await _rows(database_url, "SELECT sender_type, content, confidence_score, platform_message_id, delivery_status,"
                                         " reply_to_event_id, event_id FROM messages ORDER BY id")
        return len(rows) == 2 and rows[1]["delivery_status"] == "sent" and rows

    rows = await wait_for(bot_sent, timeout=30)
    user, bot = rows
    assert (user["sender_type"], user["content"], user["event_id"]) == ("user", "Do you have wifi?", "m:m_wifi")
    assert bot["sender_type"] == "bot" and bot["reply_to_event_id"] == "m:m_wifi" and bot["confidence_score"] is not None
    (sent,) = await graph.requests("message")
    assert sent["body"]["message"]["text"] == bot["content"]
    mid = bot["platform_message_id"]
    assert mid.startswith("m_stub_")

    # Messenger echoes our send back (app id), then reports delivery and read.
    now = int(time.time() * 1000)
    echo = {"sender": {"id": "PAGE"}, "recipient": {"id": "1001"}, "timestamp": now,
            "message": {"mid": mid, "text": bot["content"], "is_echo": True, "app_id": 4242}}
    delivery = {"sender": {"id": "1001"}, "recipient": {"id": "PAGE"}, "timestamp": now,
                "delivery": {"mids": [mid], "watermark": now}}
    assert (await hook.post_signed(messenger.page(echo, delivery))).status_code == 200

    async def delivered():
        rows = await _rows(database_url, "SELECT delivery_status FROM messages WHERE platform_message_id = $1", mid)
        return rows and rows[0]["delivery_status"] == "delivered"

    await wait_for(delivered)
    assert len(await _rows(database_url, "SELECT id FROM messages")) == 2


async def test_staff_echo_takes_over_and_the_bot_goes_silent(stack, graph, bus, database_url, messenger, wait_for) -> None:
    hook = stack()
    now = int(time.time() * 1000)
    staff = {"sender": {"id": "PAGE"}, "recipient": {"id": "1002"}, "timestamp": now,
             "message": {"mid": "m_staff_1", "text": "Hi, this is Mya from the cafe", "is_echo": True, "app_id": 1}}
    assert (await hook.post_signed(messenger.page(messenger.text("1002", "m_first", "hello"), staff))).status_code == 200

    async def human_mode():
        rows = await _rows(database_url, "SELECT status FROM conversations WHERE user_id = '1002'")
        return rows and rows[0]["status"] == "human"

    await wait_for(human_mode, timeout=30)
    await bus.wait_idle("reply-worker")
    await bus.wait_idle("sender")
    before = len(await graph.requests("message"))
    assert (await hook.post_signed(messenger.page(messenger.text("1002", "m_second", "are you there?")))).status_code == 200

    async def stored():
        return len(await _rows(database_url, "SELECT id FROM messages WHERE event_id = 'm:m_second'")) == 1

    await wait_for(stored)
    await bus.wait_idle("reply-worker")
    replies = [e.event_id for e in await bus.events(Subjects.outgoing("messenger", "1002"))]
    assert "r:m:m_second" not in replies
    assert len(await graph.requests("message")) == before
    senders = [r["sender_type"] for r in await _rows(database_url, "SELECT sender_type FROM messages ORDER BY id")]
    assert senders.count("human") == 1


async def test_web_chat_with_tracking_returns_ids_and_the_agent_answer(stack, database_url) -> None:
    hook = stack(CHAT_UPDATE_WAIT_MS="10000")
    session = await hook.chat_session(name="Su")
    data = (await hook.chat(session["session_token"], "What time do you open?")).json()
    assert isinstance(data["conversation_id"], int) and isinstance(data["user_message_id"], int)
    assert data["mode"] == "bot" and data["reply"]["text"] and 0 <= data["reply"]["confidence"] <= 1
    (row,) = await _rows(database_url, "SELECT id, event_id, conversation_id FROM messages WHERE sender_type = 'user'")
    assert (row["id"], row["event_id"], row["conversation_id"]) == (data["user_message_id"], data["event_id"], data["conversation_id"])


async def test_a_follow_on_in_the_web_chat_is_answered_in_its_conversation(stack) -> None:
    """The reply worker keeps the turns (chat_history) and the agent reads them: "is it free?" after the
    parking question is about parking; asked first, it is the green tea."""
    hook = stack(CHAT_UPDATE_WAIT_MS="10000")
    session = (await hook.chat_session(name="Aye"))["session_token"]
    first = (await hook.chat(session, "is there parking?")).json()["reply"]["text"]
    follow_on = (await hook.chat(session, "is it free?")).json()["reply"]["text"]
    alone = (await hook.chat((await hook.chat_session(name="Ko"))["session_token"], "is it free?")).json()
    assert "free parking" in first and follow_on == first
    assert "green tea" in alone["reply"]["text"]


async def test_data_deletion_erases_through_tracking(stack, database_url, messenger, wait_for) -> None:
    hook = stack()
    assert (await hook.post_signed(messenger.page(messenger.text("1004", "m_del", "forget me")))).status_code == 200

    async def has_rows():
        return await _rows(database_url, "SELECT id FROM conversations WHERE user_id = '1004'")

    await wait_for(has_rows, timeout=30)
    signed = sign_request({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": "1004"}, "test-app-secret")
    body = (await hook.client.post(f"{hook.url}/webhook/data-deletion", data={"signed_request": signed})).json()

    async def completed():
        status = await hook.client.get(f"{hook.url}/webhook/data-deletion/status", params={"code": body["confirmation_code"]})
        return status.json()["status"] == "completed"

    await wait_for(completed, timeout=30)
    assert await has_rows() == []
    assert await _rows(database_url, "SELECT id FROM messages") == []


async def test_an_admin_deletion_also_empties_the_agents_history(stack, nats_url, wait_for) -> None:
    """The agent's context copy of a deleted user's turns goes too, not only the database rows."""
    import json

    import nats
    from nats.js.errors import KeyNotFoundError

    from pentagon.common.bus import mode_key
    from pentagon.common.proto import tracking_pb2 as tpb

    hook = stack(CHAT_UPDATE_WAIT_MS="10000")
    session = await hook.chat_session(name="Su")
    other = await hook.chat_session(name="Thu")
    for token in (session["session_token"], other["session_token"]):
        assert (await hook.chat(token, "What time do you open?")).status_code == 200
    nc = await nats.connect(nats_url)
    try:
        history = await nc.jetstream().key_value("chat_history")

        async def turns(user_id: str) -> bool:
            try:
                return bool((await history.get(mode_key("web", user_id))).value)
            except KeyNotFoundError:
                return False

        await wait_for(lambda: turns(session["user_id"]), timeout=30)
        await wait_for(lambda: turns(other["user_id"]), timeout=30)
        command = tpb.Command(command_id="erase-su", action="delete_user", actor="alice:admin",
                              params_json=json.dumps({"platform": "web", "user_id": session["user_id"]}))
        reply = tpb.CommandReply()
        reply.ParseFromString((await nc.request("tracking.cmd.delete_user", command.SerializeToString(), timeout=10)).data)
        assert reply.ok

        async def forgotten() -> bool:
            return not await turns(session["user_id"])

        await wait_for(forgotten, timeout=30)
        assert await turns(other["user_id"])  # nobody else's
    finally:
        await nc.close()
