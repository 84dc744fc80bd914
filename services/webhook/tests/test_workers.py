"""Reply worker and sender worker with real JetStream and the Graph stub (agent down here: no agent process)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from nats.js.errors import KeyNotFoundError

from pentagon.common.bus import Subjects
from pentagon.common.events import timestamp
from pentagon.common.proto import events_pb2 as pb
from pentagon.devtools.embedded import free_port
from pentagon.webhook.replies import APOLOGY
from pentagon.webhook.runtime import key_hash


def _outgoing(user: str, event_id: str, text: str, sender: int = pb.SENDER_HUMAN, **metadata) -> pb.MessageEvent:
    return pb.MessageEvent(event_id=event_id, occurred_at=timestamp(), key=pb.ConversationKey(platform="messenger", user_id=user),
                           sender=sender, content=text, kind="text", channel=pb.CHANNEL_MESSAGING, needs_delivery=True,
                           actor="mya:admin", metadata_json=json.dumps(metadata))


async def _deliveries(bus, user: str) -> list[pb.DeliveryEvent]:
    return await bus.events(Subjects.delivery("messenger", user), pb.DeliveryEvent)


async def test_agent_down_gives_one_apology_sent_with_response_type(start_webhook, graph, bus, messenger, wait_for) -> None:
    hook = start_webhook(graph, TYPING_DELAY_MS="0")  # indicators at once: this test checks they are sent
    assert (await hook.post_signed(messenger.page(messenger.text("501", "m_q1", "Are you open?")))).status_code == 200

    async def replied():
        return await bus.events(Subjects.outgoing("messenger", "501"))

    (reply,) = await wait_for(replied)
    assert reply.event_id == "r:m:m_q1" and reply.reply_to_event_id == "m:m_q1"
    assert reply.sender == pb.SENDER_BOT and reply.needs_delivery
    assert reply.requires_human and reply.escalation_reason == "agent_unavailable"
    assert reply.content == APOLOGY and "တောင်းပန်" in reply.content

    async def sent():
        return [d for d in await _deliveries(bus, "501") if d.state == pb.DELIVERY_SENT]

    (delivery,) = await wait_for(sent)
    messages = await graph.requests("message")
    assert len(messages) == 1
    body = messages[0]["body"]
    assert messages[0]["access_token"] == "test-page-token" and messages[0]["version"] == "v21.0"
    assert body["recipient"] == {"id": "501"} and body["messaging_type"] == "RESPONSE" and "tag" not in body
    assert body["message"]["text"] == APOLOGY
    assert delivery.message_event_id == "r:m:m_q1" and delivery.platform_message_id.startswith("m_stub_")
    actions = [r["body"]["sender_action"] for r in await graph.requests("sender_action")]
    assert actions == ["mark_seen", "typing_on"]
    # Messenger redelivers the same POST: no second reply, no second send.
    assert (await hook.post_signed(messenger.page(messenger.text("501", "m_q1", "Are you open?")))).status_code == 200
    await bus.wait_idle("reply-worker")
    await bus.wait_idle("sender")
    assert len(await replied()) == 1 and len(await graph.requests("message")) == 1


async def test_bot_is_silent_in_human_and_closed_mode_and_for_non_answerable_kinds(start_webhook, graph, bus, messenger) -> None:
    hook = start_webhook(graph)
    await bus.set_mode("messenger", "601", "human")
    await bus.set_mode("messenger", "602", "closed")
    events = [
        messenger.text("601", "m_h", "hello staff"),
        messenger.text("602", "m_c", "hello closed"),
        {"sender": {"id": "603"}, "timestamp": 1, "reaction": {"action": "react", "emoji": "x", "mid": "m"}},
        {"sender": {"id": "603"}, "timestamp": 1, "read": {"watermark": 5}},
        {"sender": {"id": "603"}, "timestamp": 1, "message": {"mid": "m_img", "attachments": [{"type": "image", "payload": {"url": "u"}}]}},
    ]
    standby = [messenger.text("604", "m_sb", "other app owns me")]
    assert (await hook.post_signed(messenger.page(*events, standby=standby))).status_code == 200
    await bus.wait_idle("reply-worker")
    assert await bus.messages("events.out.>") == []
    assert await graph.requests() == []
    assert len(await bus.messages("events.in.>")) == 5


async def test_a_rating_is_thanked_in_its_language_though_the_conversation_is_closed(start_webhook, graph, bus, messenger,
                                                                                    wait_for) -> None:
    hook = start_webhook(graph)
    await bus.set_mode("messenger", "606", "closed")  # staff closed it, then asked "How did we do?"
    tap = messenger.text("606", "m_rate", "😍 အရမ်းကောင်း")
    tap["message"]["quick_reply"] = {"payload": "RATE:5:rate:12"}
    assert (await hook.post_signed(messenger.page(tap))).status_code == 200

    (thanks,) = await wait_for(lambda: bus.events(Subjects.outgoing("messenger", "606")))
    assert (thanks.event_id, thanks.reply_to_event_id, thanks.sender) == ("r:m:m_rate", "m:m_rate", pb.SENDER_BOT)
    assert "ကျေးဇူးတင်ပါတယ်" in thanks.content and thanks.needs_delivery and not thanks.requires_human
    sent = await wait_for(lambda: graph.requests("message"))
    assert sent[0]["body"]["message"]["text"] == thanks.content


async def test_closed_conversation_reopened_by_tracking_gets_an_answer(start_webhook, graph, bus, messenger, wait_for) -> None:
    hook = start_webhook(graph, MODE_CLOSED_WAIT_MS="20000")
    await bus.set_mode("messenger", "605", "closed")
    assert (await hook.post_signed(messenger.page(messenger.text("605", "m_back", "I'm back")))).status_code == 200
    await bus.set_mode("messenger", "605", "bot")  # what tracking does when the message opens a new conversation
    await wait_for(lambda: bus.events(Subjects.outgoing("messenger", "605")))


async def test_human_reply_uses_human_agent_tag_outside_window(start_webhook, graph, bus, wait_for) -> None:
    start_webhook(graph, REPLY_WORKER_ENABLED="false")
    old = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    recent = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    await bus.publish(Subjects.outgoing("messenger", "701"), _outgoing("701", "h1", "Late answer", last_user_message_at=old))
    await bus.publish(Subjects.outgoing("messenger", "702"), _outgoing("702", "h2", "Quick answer", last_user_message_at=recent))
    await bus.publish(Subjects.outgoing("messenger", "703"), _outgoing("703", "h3", "No metadata"))
    # Page-inbox echoes and web messages are never sent by us.
    echo = _outgoing("704", "m:echo", "typed in inbox")
    echo.needs_delivery = False
    await bus.publish(Subjects.outgoing("messenger", "704"), echo)

    async def three_sent():
        return len(await graph.requests("message")) >= 3 and await graph.requests("message")

    sent = {r["body"]["recipient"]["id"]: r["body"] for r in await wait_for(three_sent)}
    assert sent["701"]["messaging_type"] == "MESSAGE_TAG" and sent["701"]["tag"] == "HUMAN_AGENT"
    assert sent["702"]["messaging_type"] == "RESPONSE" and "tag" not in sent["702"]
    assert sent["703"]["messaging_type"] == "RESPONSE"
    assert all(b["message"]["metadata"].startswith("pentagon:") for b in sent.values())
    await bus.wait_idle("sender")
    assert "704" not in {r["body"]["recipient"]["id"] for r in await graph.requests()}


async def test_outside_window_error_is_retried_with_the_tag(start_webhook, graph, bus, wait_for) -> None:
    start_webhook(graph, REPLY_WORKER_ENABLED="false")
    await graph.fail(status=400, code=10, error_subcode=2018278, messaging_type="RESPONSE",
                     message="This message is sent outside of allowed window.")
    await bus.publish(Subjects.outgoing("messenger", "711"), _outgoing("711", "h11", "Sorry for the wait"))
    await wait_for(lambda: _sent(bus, "711"))
    bodies = [r["body"] for r in await graph.requests("message")]
    assert [b["messaging_type"] for b in bodies] == ["RESPONSE", "MESSAGE_TAG"] and bodies[1]["tag"] == "HUMAN_AGENT"


async def _sent(bus, user: str) -> list[pb.DeliveryEvent]:
    return [d for d in await _deliveries(bus, user) if d.state == pb.DELIVERY_SENT]


async def test_long_text_is_split_on_word_boundaries_with_quick_replies_last(start_webhook, graph, bus, wait_for) -> None:
    start_webhook(graph, REPLY_WORKER_ENABLED="false")
    words = [f"word{i:04d}" for i in range(500)] + ["မင်္ဂလာပါ", "😀"]
    text = " ".join(words)
    titles = ["Menu", "Opening hours", "A very long quick reply title", *[f"q{i}" for i in range(20)]]
    event = _outgoing("801", "r:m:long", text, sender=pb.SENDER_BOT, quick_replies=titles)
    await bus.publish(Subjects.outgoing("messenger", "801"), event)
    (delivery,) = await wait_for(lambda: _sent(bus, "801"))
    bodies = [r["body"]["message"] for r in await graph.requests("message")]
    assert len(bodies) == 3 and all(len(b["text"]) <= 2000 for b in bodies)
    assert " ".join(b["text"] for b in bodies).split(" ") == words
    assert all("quick_replies" not in b for b in bodies[:-1])
    quick = bodies[-1]["quick_replies"]
    assert len(quick) == 13 and all(len(q["title"]) <= 20 for q in quick)
    assert quick[0] == {"content_type": "text", "title": "Menu", "payload": "Menu"}
    assert len(delivery.platform_message_ids) == 3 and delivery.platform_message_id == delivery.platform_message_ids[0]


async def test_permanent_graph_error_marks_the_message_failed(start_webhook, graph, bus, wait_for) -> None:
    start_webhook(graph, REPLY_WORKER_ENABLED="false")
    await graph.fail(status=400, code=551, message="This person isn't available right now.", times=-1, recipient="901")
    await bus.publish(Subjects.outgoing("messenger", "901"), _outgoing("901", "h901", "hello"))

    async def failed():
        return [d for d in await _deliveries(bus, "901") if d.state == pb.DELIVERY_FAILED]

    (failure,) = await wait_for(failed)
    assert failure.message_event_id == "h901" and "551" in failure.reason and failure.event_id == "f:h901"
    assert len(await graph.requests("message")) == 1  # no retry of a permanent error


async def test_transient_errors_and_rate_limits_are_retried(start_webhook, graph, bus, wait_for) -> None:
    start_webhook(graph, REPLY_WORKER_ENABLED="false")
    await graph.fail(status=500, recipient="911")
    await graph.fail(status=400, code=613, message="Calls to this api have exceeded the rate limit.", recipient="911")
    await graph.fail(status=400, code=4, message="Application request limit reached", recipient="911")
    await bus.publish(Subjects.outgoing("messenger", "911"), _outgoing("911", "h911", "persist"))
    (delivery,) = await wait_for(lambda: _sent(bus, "911"))
    statuses = [r["status"] for r in await graph.requests("message")]
    assert statuses == [500, 400, 400, 200]
    assert delivery.platform_message_id.startswith("m_stub_")
    assert [d.state for d in await _deliveries(bus, "911")] == [pb.DELIVERY_SENT]


async def test_sent_mids_are_recorded_for_echo_detection_only_without_an_app_id(start_webhook, graph, bus,
                                                                               wait_for) -> None:
    first = start_webhook(graph, REPLY_WORKER_ENABLED="false", MESSENGER_APP_ID="")
    await bus.publish(Subjects.outgoing("messenger", "951"), _outgoing("951", "h951", "no app id"))
    (without,) = await wait_for(lambda: _sent(bus, "951"))
    kv = await bus.js.key_value("sent_mids")
    assert (await kv.get(key_hash(without.platform_message_id))).value == b"h951"
    first.proc.stop()

    start_webhook(graph, REPLY_WORKER_ENABLED="false")  # with MESSENGER_APP_ID: echoes carry it
    await bus.publish(Subjects.outgoing("messenger", "952"), _outgoing("952", "h952", "app id set"))
    sent = await wait_for(lambda: _sent(bus, "952"))
    with pytest.raises(KeyNotFoundError):
        await kv.get(key_hash(sent[0].platform_message_id))


async def test_redelivered_outgoing_event_is_not_sent_twice(start_webhook, graph, bus, wait_for) -> None:
    start_webhook(graph, REPLY_WORKER_ENABLED="false")
    event = _outgoing("921", "h921", "only once")
    await bus.publish(Subjects.outgoing("messenger", "921"), event)
    await wait_for(lambda: _sent(bus, "921"))
    # The same event delivered again (a copy under another Nats-Msg-Id, as after a crash before the ack).
    await bus.publish(Subjects.outgoing("messenger", "921"), event, msg_id="copy-of-h921")
    await bus.wait_idle("sender")
    assert len(await graph.requests("message")) == 1
    assert len(await _sent(bus, "921")) == 1  # deterministic s:<id>: the repeat SENT event is deduplicated


async def test_redelivered_user_event_gets_one_reply(start_webhook, graph, bus, messenger, wait_for) -> None:
    hook = start_webhook(graph, SENDER_ENABLED="false")
    user_event = pb.MessageEvent(event_id="m:m_dup", occurred_at=timestamp(), key=pb.ConversationKey(platform="messenger", user_id="931"),
                                 sender=pb.SENDER_USER, content="hi", kind="text", channel=pb.CHANNEL_MESSAGING)
    await bus.publish(Subjects.incoming("messenger", "931"), user_event)
    await wait_for(lambda: bus.events(Subjects.outgoing("messenger", "931")))
    await bus.publish(Subjects.incoming("messenger", "931"), user_event, msg_id="copy-of-m_dup")
    await bus.wait_idle("reply-worker")
    assert len(await bus.events(Subjects.outgoing("messenger", "931"))) == 1
    assert hook.proc.running()


async def test_a_user_event_answered_by_one_replica_is_not_answered_again_by_the_next(start_webhook, graph, bus,
                                                                                       wait_for) -> None:
    """The answered list in the conversation's history, not a process's memory, recognises the repeat."""
    first = start_webhook(graph, SENDER_ENABLED="false")
    user_event = pb.MessageEvent(event_id="m:m_twice", occurred_at=timestamp(), sender=pb.SENDER_USER,
                                 key=pb.ConversationKey(platform="messenger", user_id="932"), content="hello",
                                 kind="text", channel=pb.CHANNEL_MESSAGING)
    await bus.publish(Subjects.incoming("messenger", "932"), user_event)
    await wait_for(lambda: bus.events(Subjects.outgoing("messenger", "932")))
    await bus.wait_idle("reply-worker")
    first.proc.stop()

    second = start_webhook(graph, SENDER_ENABLED="false")
    await bus.publish(Subjects.incoming("messenger", "932"), user_event, msg_id="copy-of-m_twice")
    await bus.wait_idle("reply-worker")
    metrics = (await second.client.get(f"{second.url}/metrics")).text
    assert 'webhook_replies_total{outcome="duplicate"} 1.0' in metrics
    assert 'outcome="escalated"' not in metrics  # the agent (down here: an apology) was not asked again
    assert len(await bus.events(Subjects.outgoing("messenger", "932"))) == 1



async def test_undecodable_events_are_dropped_without_blocking_the_user_behind_them(start_webhook, graph, bus,
                                                                                     wait_for) -> None:
    """Garbage on a user's subjects (a bad publisher, a corrupted copy) is acked and skipped: with one
    message in flight per partition, a handler failing on it forever would silence that user for good."""
    hook = start_webhook(graph)
    junk = b"\xff\x00 not a protobuf"
    incoming, outgoing = Subjects.incoming("messenger", "941"), Subjects.outgoing("messenger", "941")
    await bus.js.publish(incoming, junk, headers={"Nats-Msg-Id": "junk-in"})
    await bus.js.publish(outgoing, junk, headers={"Nats-Msg-Id": "junk-out"})
    user_event = pb.MessageEvent(event_id="m:m_after_junk", occurred_at=timestamp(), sender=pb.SENDER_USER,
                                 key=pb.ConversationKey(platform="messenger", user_id="941"), content="hi",
                                 kind="text", channel=pb.CHANNEL_MESSAGING)
    await bus.publish(incoming, user_event)

    async def replies() -> list[pb.MessageEvent]:
        return [pb.MessageEvent.FromString(m.data) for m in await bus.messages(outgoing) if m.data != junk]

    (reply,) = await wait_for(replies)
    assert reply.reply_to_event_id == "m:m_after_junk"
    await wait_for(lambda: _sent(bus, "941"))
    await bus.wait_idle("reply-worker")
    await bus.wait_idle("sender")
    assert len(await graph.requests("message")) == 1 and hook.proc.running()


async def test_takeover_after_an_answer_silences_the_bot(services, nats_url, start_webhook, graph, bus, messenger,
                                                         wait_for) -> None:
    # The worker keeps a local copy of the modes (KV watch): a change after it already
    # answered this user must still reach it. The real agent answers (no escalation).
    gport, hport = free_port(), free_port()
    services.start("pentagon.agent", {"NATS_URL": nats_url, "AGENT_ADDR": f"127.0.0.1:{gport}",
                                      "AGENT_HTTP_ADDR": f"127.0.0.1:{hport}", "OPENAI_API_KEY": ""},
                   ready_url=f"http://127.0.0.1:{hport}/readyz", name="agent")
    hook = start_webhook(graph, AGENT_ADDR=f"127.0.0.1:{gport}", AGENT_TIMEOUT_MS="5000")
    for n, mid in enumerate(["m_t1", "m_t2"], start=1):  # the second one is read with the watch running
        assert (await hook.post_signed(messenger.page(messenger.text("611", mid, "Do you have wifi?")))).status_code == 200
        await wait_for(lambda n=n: _replies_at_least(bus, "611", n))
    replies = await bus.events(Subjects.outgoing("messenger", "611"))
    assert not any(r.requires_human for r in replies)
    await bus.set_mode("messenger", "611", "human")
    await asyncio.sleep(0.5)  # the watch is pushed by the server; give it a moment on a busy host
    assert (await hook.post_signed(messenger.page(messenger.text("611", "m_t3", "still there?")))).status_code == 200
    await bus.wait_idle("reply-worker")
    assert len(await bus.events(Subjects.outgoing("messenger", "611"))) == 2


async def _replies_at_least(bus, user: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await bus.events(Subjects.outgoing("messenger", user))) >= n


async def test_staff_typing_in_the_panel_shows_the_customer_the_typing_indicator(start_webhook, graph, bus,
                                                                                 wait_for) -> None:
    start_webhook(graph)

    def typing(platform: str, user: str) -> bytes:
        return pb.StaffTyping(key=pb.ConversationKey(platform=platform, user_id=user), conversation_id=7,
                              occurred_at=timestamp()).SerializeToString()

    for _ in range(3):  # an admin typing on: shown once, Messenger keeps it up by itself
        await bus.nc.publish(Subjects.staff_typing("messenger", "778"), typing("messenger", "778"))
    await bus.nc.publish(Subjects.staff_typing("web", "w-1"), typing("web", "w-1"))  # the web chat's own way
    await bus.nc.publish(Subjects.staff_typing("messenger", "780"), b"\xff not a protobuf")
    await bus.nc.publish(Subjects.staff_typing("messenger", "779"), typing("messenger", "779"))

    async def shown():
        actions = await graph.requests("sender_action")
        return len(actions) >= 2 and actions

    actions = await wait_for(shown)
    await asyncio.sleep(0.5)  # anything extra would have arrived by now
    actions = await graph.requests("sender_action")
    assert sorted((a["body"]["recipient"]["id"], a["body"]["sender_action"]) for a in actions) == [
        ("778", "typing_on"), ("779", "typing_on")]
