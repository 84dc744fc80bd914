"""Web chat API: sessions, messages, long-poll updates and rate limits (real JetStream; agent down)."""

from __future__ import annotations

import json

from pentagon.common.bus import Subjects
from pentagon.common.proto import events_pb2 as pb
from pentagon.devtools.embedded import free_port
from pentagon.webhook.chat_sessions import SessionSigner
from pentagon.webhook.history import History, Thread
from pentagon.webhook.replies import APOLOGY
from pentagon.webhook.runtime import HISTORY

NO_WORKERS = {"REPLY_WORKER_ENABLED": "false", "SENDER_ENABLED": "false"}


async def test_session_rules(start_webhook) -> None:
    hook = start_webhook(**NO_WORKERS)
    first = await hook.chat_session(name="Aung")
    assert first["user_id"] and first["session_token"] and first["expires_at"].endswith("Z")
    second = await hook.chat_session()
    assert second["user_id"] != first["user_id"]
    # Claiming someone else's user id is refused; a fresh id can be claimed once.
    refused = await hook.client.post(f"{hook.url}/api/chat/session", json={"user_id": first["user_id"]})
    assert refused.status_code == 403
    claimed = await hook.chat_session(user_id="my-own-id_1")
    assert claimed["user_id"] == "my-own-id_1"
    again = await hook.client.post(f"{hook.url}/api/chat/session", json={"user_id": "my-own-id_1"})
    assert again.status_code == 403
    # ...unless the caller proves it is that session (renewal).
    renewed = await hook.client.post(f"{hook.url}/api/chat/session", json={"user_id": "my-own-id_1"},
                                     headers={"Authorization": f"Bearer {claimed['session_token']}"})
    assert renewed.status_code == 200 and renewed.json()["user_id"] == "my-own-id_1"
    for bad in ({"user_id": "no spaces allowed"}, {"user_id": "x" * 65}, {"user_id": 5}, {"name": "n" * 101}, {"name": 3}):
        assert (await hook.client.post(f"{hook.url}/api/chat/session", json=bad)).status_code == 422, bad
    assert (await hook.client.post(f"{hook.url}/api/chat/session", content=b"{oops")).status_code == 400


async def test_message_requires_a_valid_unexpired_token(start_webhook) -> None:
    hook = start_webhook(**NO_WORKERS)
    session = await hook.chat_session()
    token = session["session_token"]
    payload, signature = token.split(".")
    forged_payload = SessionSigner("another-secret", 3600).issue("victim")[0]
    expired = SessionSigner("test-chat-secret", -10).issue(session["user_id"])[0]
    for bad in ("garbage", f"{payload}.{signature[:-2]}xx", forged_payload, expired, f"{payload}x.{signature}"):
        response = await hook.client.post(f"{hook.url}/api/chat/messages", json={"text": "hi"},
                                          headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
    assert (await hook.client.post(f"{hook.url}/api/chat/messages", json={"text": "hi"})).status_code == 401
    assert (await hook.client.get(f"{hook.url}/api/chat/updates", params={"wait": 0})).status_code == 401


async def test_bot_mode_answers_inline_and_publishes_both_messages(start_webhook, bus) -> None:
    hook = start_webhook(**NO_WORKERS)
    session = await hook.chat_session(name="Su")
    response = await hook.chat(session["session_token"], "  Do you have oat milk? ☕ \x00", quick_reply_payload="MILK")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["mode"] == "bot" and data["conversation_id"] is None  # no tracking running here
    reply = data["reply"]
    assert reply["text"] == APOLOGY and reply["requires_human"] is True
    assert reply["escalation_reason"] == "agent_unavailable" and reply["event_id"] == f"r:{data['event_id']}"
    user = session["user_id"]
    (stored,) = await bus.events(Subjects.incoming("web", user))
    assert stored.event_id == data["event_id"] and stored.content == "Do you have oat milk? ☕"
    assert stored.kind == "quick_reply" and stored.key.platform == "web"
    (bot,) = await bus.events(Subjects.outgoing("web", user))
    assert bot.event_id == reply["event_id"] and not bot.needs_delivery and bot.reply_to_event_id == stored.event_id


async def test_a_rating_tap_is_thanked_inline_though_the_conversation_is_closed(start_webhook, bus) -> None:
    hook = start_webhook(**NO_WORKERS)
    session = await hook.chat_session(name="Su")
    user = session["user_id"]
    await bus.set_mode("web", user, "closed")  # staff closed it and asked "How did we do?"
    response = await hook.chat(session["session_token"], "😍 Excellent", quick_reply_payload="RATE:5:rate:31")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["mode"] == "closed" and data["reply"]["text"] == "Thank you for your rating! 🙏"
    (stored,) = await bus.events(Subjects.incoming("web", user))
    assert (stored.kind, stored.reply_to_event_id) == ("rating", "rate:31")
    assert json.loads(stored.metadata_json)["conversation"]["rating"]["score"] == 5
    assert json.loads(stored.metadata_json)["conversation"]["user_name"] == "Su"
    (thanks,) = await bus.events(Subjects.outgoing("web", user))
    assert (thanks.reply_to_event_id, thanks.needs_delivery) == (stored.event_id, False)


async def test_a_retried_message_with_the_same_idempotency_key_is_one_message(services, nats_url, start_webhook,
                                                                        bus) -> None:
    """The client lost the answer (timeout, dropped connection) and posts again: one message, one reply,
    history once, and the retry still gets an answer (the real agent: an apology would escalate)."""
    gport, hport = free_port(), free_port()
    services.start("pentagon.agent", {"NATS_URL": nats_url, "AGENT_ADDR": f"127.0.0.1:{gport}",
                                      "AGENT_HTTP_ADDR": f"127.0.0.1:{hport}", "OPENAI_API_KEY": ""},
                   ready_url=f"http://127.0.0.1:{hport}/readyz", name="agent")
    hook = start_webhook(AGENT_ADDR=f"127.0.0.1:{gport}", AGENT_TIMEOUT_MS="5000", **NO_WORKERS)
    session = await hook.chat_session()
    token, user = session["session_token"], session["user_id"]
    first = (await hook.chat(token, "Are you open today?", idempotency_key="c-1")).json()
    again = (await hook.chat(token, "Are you open today?", idempotency_key="c-1")).json()
    other = (await hook.chat(token, "Are you open today?", idempotency_key="c-2")).json()
    assert first["event_id"] == again["event_id"] != other["event_id"]
    assert not first["reply"]["requires_human"]
    assert again["reply"]["event_id"] == first["reply"]["event_id"] and again["reply"]["text"] == first["reply"]["text"]
    assert [e.event_id for e in await bus.events(Subjects.incoming("web", user))] == [first["event_id"], other["event_id"]]
    assert len(await bus.events(Subjects.outgoing("web", user))) == 2
    turns = (await _history_of(bus, user)).turns
    assert [t.role for t in turns] == ["user", "bot", "user", "bot"]
    # Another user's identical client id is another message.
    stranger = await hook.chat_session()
    theirs = (await hook.chat(stranger["session_token"], "Are you open today?", idempotency_key="c-1")).json()
    assert theirs["event_id"] != first["event_id"]


async def _history_of(bus, user: str) -> Thread:  # type: ignore[no-untyped-def]
    return await History(await bus.js.key_value(HISTORY), max_turns=20).read("web", user)


async def test_human_mode_gets_no_bot_answer(start_webhook, bus) -> None:
    hook = start_webhook(**NO_WORKERS)
    session = await hook.chat_session()
    await bus.set_mode("web", session["user_id"], "human")
    data = (await hook.chat(session["session_token"], "I want a person")).json()
    assert data["mode"] == "human" and data["reply"] is None
    assert await bus.messages("events.out.>") == []
    assert len(await bus.events(Subjects.incoming("web", session["user_id"]))) == 1


async def test_tracking_update_gives_ids_and_mode(start_webhook, bus, make_update) -> None:
    """With tracking's update for the message, its ids and mode are returned (tracking simulated by publishing the frame)."""
    hook = start_webhook(**NO_WORKERS, CHAT_UPDATE_WAIT_MS="5000")
    session = await hook.chat_session()
    user = session["user_id"]
    sub = await bus.nc.subscribe(Subjects.incoming("web", user))

    async def play_tracking():
        msg = await sub.next_msg(timeout=10)
        event = pb.MessageEvent.FromString(msg.data)
        row = {"id": 77, "conversation_id": 12, "event_id": event.event_id, "sender_type": "user"}
        await bus.publish(Subjects.update("message", "web", user),
                          make_update(pb.UPDATE_MESSAGE_CREATED, "web", user, row, mode="human",
                                      event_id="upd-1", conversation_id=12, message_id=77))

    import asyncio

    tracker = asyncio.create_task(play_tracking())
    data = (await hook.chat(session["session_token"], "hello")).json()
    await tracker
    assert data["conversation_id"] == 12 and data["user_message_id"] == 77
    assert data["mode"] == "human" and data["reply"] is None


async def test_long_poll_returns_only_own_staff_replies_and_mode_changes(start_webhook, bus, make_update) -> None:
    hook = start_webhook(**NO_WORKERS)
    mine, other = await hook.chat_session(), await hook.chat_session()
    auth = {"Authorization": f"Bearer {mine['session_token']}"}
    url = f"{hook.url}/api/chat/updates"
    empty = await hook.client.get(url, params={"after": 0, "wait": 0.3}, headers=auth)
    assert empty.status_code == 200 and empty.json() == {"updates": [], "last_seq": 0}

    me, them = mine["user_id"], other["user_id"]
    staff_row = {"id": 5, "conversation_id": 3, "sender_type": "human", "content": "Hi, Mya here"}
    await bus.publish(Subjects.update("message", "web", me), make_update(pb.UPDATE_MESSAGE_CREATED, "web", me,
                                                                          {"id": 4, "sender_type": "user", "content": "x"}))
    await bus.publish(Subjects.update("message", "web", them), make_update(pb.UPDATE_MESSAGE_CREATED, "web", them,
                                                                            {**staff_row, "content": "secret"}))
    await bus.publish(Subjects.update("message", "web", me), make_update(pb.UPDATE_MESSAGE_CREATED, "web", me, staff_row))
    await bus.publish(Subjects.update("conversation", "web", me),
                      make_update(pb.UPDATE_CONVERSATION_CHANGED, "web", me, {"id": 3, "status": "human"}, mode="human"))
    data = (await hook.client.get(url, params={"after": 0, "wait": 5}, headers=auth)).json()
    assert [u["type"] for u in data["updates"]] == ["message", "mode"]
    assert data["updates"][0]["data"]["content"] == "Hi, Mya here"
    assert data["updates"][1]["data"] == {"conversation_id": 1, "mode": "human", "status": "human"}
    assert data["last_seq"] == 4 and "secret" not in str(data)

    # A waiting poll is woken by the next staff reply.
    import asyncio

    waiting = asyncio.create_task(hook.client.get(url, params={"after": data["last_seq"], "wait": 20}, headers=auth))
    await asyncio.sleep(0.3)
    await bus.publish(Subjects.update("message", "web", me),
                      make_update(pb.UPDATE_MESSAGE_CREATED, "web", me, {**staff_row, "id": 6, "content": "Still there?"}))
    woke = (await waiting).json()
    assert [u["data"]["content"] for u in woke["updates"]] == ["Still there?"] and woke["last_seq"] == 5

    # A staff member typing in the panel wakes the poll too, for this user only; nothing is stored.
    typing = pb.StaffTyping(key=pb.ConversationKey(platform="web", user_id=them), conversation_id=3).SerializeToString()
    waiting = asyncio.create_task(hook.client.get(url, params={"after": 5, "wait": 20}, headers=auth))
    await asyncio.sleep(0.3)
    await bus.nc.publish(Subjects.staff_typing("web", them), typing)  # someone else's conversation
    await bus.nc.publish(Subjects.staff_typing("web", me), typing)
    typed = (await waiting).json()
    assert typed == {"updates": [{"type": "typing", "data": {"ttl_s": 6}}], "last_seq": 5}
    for params in ({"after": "x"}, {"after": -1}, {"wait": "nan"}):
        assert (await hook.client.get(url, params=params, headers=auth)).status_code == 422


async def test_bad_message_bodies(start_webhook) -> None:
    hook = start_webhook(RATE_LIMIT_SESSION_BURST="30", **NO_WORKERS)
    token = (await hook.chat_session())["session_token"]
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{hook.url}/api/chat/messages"
    for body in ({"text": ""}, {"text": "   \x00 "}, {"text": "x" * 2001}, {"text": 5}, {}, {"text": "a", "quick_reply_payload": 3}):
        assert (await hook.client.post(url, json=body, headers=auth)).status_code == 422, body
    for key in ("", "k" * 201):
        response = await hook.client.post(url, json={"text": "a"}, headers={**auth, "Idempotency-Key": key})
        assert response.status_code == 422, key
    assert (await hook.client.post(url, content=b"[1]", headers=auth)).status_code == 422
    assert (await hook.client.post(url, content=b"{", headers=auth)).status_code == 400
    assert (await hook.client.post(url, content=b"x" * 20000, headers=auth)).status_code == 413


async def test_rate_limits_per_session_and_per_address(start_webhook) -> None:
    hook = start_webhook(**NO_WORKERS, RATE_LIMIT_SESSION_BURST="3", RATE_LIMIT_SESSION_PER_MIN="1",
                         RATE_LIMIT_IP_BURST="6", RATE_LIMIT_IP_PER_MIN="1")
    a = (await hook.chat_session())["session_token"]  # ip token 1
    codes = [(await hook.chat(a, f"m{i}")).status_code for i in range(4)]  # ip tokens 2..5
    assert codes == [200, 200, 200, 429]
    limited = await hook.chat(a, "again")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # Same address, new session: the address bucket (6) is exhausted now.
    assert (await hook.client.post(f"{hook.url}/api/chat/session", json={})).status_code == 429
    # Through the trusted gateway, the forwarded address counts: another client is not limited.
    other = await hook.client.post(f"{hook.url}/api/chat/session", json={}, headers={"X-Forwarded-For": "203.0.113.9"})
    assert other.status_code == 200


async def test_replicas_share_the_limits(start_webhook) -> None:
    """Two replicas behind the gateway allow the configured rate together, not twice it."""
    limits = {"RATE_LIMIT_SESSION_BURST": "3", "RATE_LIMIT_SESSION_PER_MIN": "1",
              "RATE_LIMIT_IP_BURST": "6", "RATE_LIMIT_IP_PER_MIN": "1"}
    first, second = start_webhook(**NO_WORKERS, **limits), start_webhook(**NO_WORKERS, **limits)
    token = (await first.chat_session())["session_token"]  # address token 1
    codes = [(await hook.chat(token, f"m{i}")).status_code for i, hook in enumerate([second, first, second, first])]
    assert codes == [200, 200, 200, 429]  # session bucket of 3, taken on both replicas
    # Address bucket of 6: the session and the four messages (the address is checked first) leave one.
    assert (await second.client.post(f"{second.url}/api/chat/session", json={})).status_code == 200
    refused = await first.client.post(f"{first.url}/api/chat/session", json={})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


async def test_forwarded_for_is_ignored_from_untrusted_peers(start_webhook) -> None:
    hook = start_webhook(**NO_WORKERS, TRUSTED_PROXIES="", RATE_LIMIT_IP_BURST="2", RATE_LIMIT_IP_PER_MIN="1")
    codes = []
    for i in range(3):
        response = await hook.client.post(f"{hook.url}/api/chat/session", json={}, headers={"X-Forwarded-For": f"198.51.100.{i}"})
        codes.append(response.status_code)
    assert codes == [200, 200, 429]
