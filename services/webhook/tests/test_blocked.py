"""Customers an admin blocked (pentagon.common.blocklist; admin-api routes/customers.py): a web
visitor's messages are refused and never stored, a Messenger customer's are recorded (Messenger
was answered 200) but never answered; everyone else is served as before, and an unblock lifts it."""

from __future__ import annotations

import json

import pytest
from nats.js.errors import KeyNotFoundError

from pentagon.common.blocklist import Blocklist
from pentagon.common.bus import Subjects, blocked_users_bucket, mode_key

SPAMMER = "wspam0000000000000000001"


async def _block(bus, platform: str, user_id: str) -> None:  # type: ignore[no-untyped-def]
    kv = await blocked_users_bucket(bus.js)
    await kv.put(mode_key(platform, user_id), json.dumps({"platform": platform, "user_id": user_id,
                                                         "blocked_by": "alice:admin", "blocked_at": "x"}).encode())


async def test_a_blocked_web_visitor_is_refused_and_nothing_is_stored(start_webhook, graph, bus, wait_for) -> None:
    await _block(bus, "web", SPAMMER)  # before the webhook starts: it loads the list before serving
    hook = start_webhook(graph)
    spammer = await hook.chat_session(user_id=SPAMMER)
    refused = await hook.chat(spammer["session_token"], "buy followers at www.example.test")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "blocked", refused.text
    assert await bus.messages(Subjects.incoming("web", SPAMMER)) == []
    other = await hook.chat_session()
    assert (await hook.chat(other["session_token"], "Do you have wifi?")).status_code == 200

    kv = await blocked_users_bucket(bus.js)
    await kv.delete(mode_key("web", SPAMMER))  # an admin unblocks: the webhook's watch hears it

    async def served() -> bool:
        return (await hook.chat(spammer["session_token"], "sorry, a real question")).status_code == 200

    await wait_for(served)
    assert len(await bus.messages(Subjects.incoming("web", SPAMMER))) == 1


async def test_a_blocked_messenger_customer_is_recorded_but_never_answered(start_webhook, graph, bus, messenger,
                                                                          wait_for) -> None:
    await _block(bus, "messenger", "901")
    hook = start_webhook(graph)
    page = messenger.page(messenger.text("901", "m_b1", "spam spam"), messenger.text("902", "m_b2", "Are you open?"))
    assert (await hook.post_signed(page)).status_code == 200  # Messenger is always answered 200

    async def others_answered():
        return await bus.events(Subjects.outgoing("messenger", "902"))

    await wait_for(others_answered)
    await bus.wait_idle("reply-worker")
    assert len(await bus.messages(Subjects.incoming("messenger", "901"))) == 1  # recorded
    assert await bus.events(Subjects.outgoing("messenger", "901")) == []  # never answered
    assert "901" not in {r["body"]["recipient"]["id"] for r in await graph.requests()}


async def test_the_list_follows_the_bucket(bus) -> None:  # type: ignore[no-untyped-def]
    kv = await blocked_users_bucket(bus.js)
    await kv.put(mode_key("web", "w-hand"), b"written by hand, not ours")
    blocklist = Blocklist(kv)
    await blocklist.start()
    try:
        entry = await blocklist.block("messenger", "903", "alice:admin", "2026-11-26T18:00:00Z")
        assert blocklist.is_blocked("messenger", "903") and blocklist.entries() == [entry]
        assert not blocklist.is_blocked("web", "w-hand")
        assert await blocklist.unblock("messenger", "903") and not blocklist.is_blocked("messenger", "903")
        assert not await blocklist.unblock("messenger", "903")
    finally:
        await blocklist.stop()
    # Blocked by another replica a moment ago, before this copy heard of it: the unblock still works.
    await _block(bus, "messenger", "904")
    assert not blocklist.is_blocked("messenger", "904")  # its watch is stopped: it never hears
    assert await blocklist.unblock("messenger", "904")
    with pytest.raises(KeyNotFoundError):
        await kv.get(mode_key("messenger", "904"))
