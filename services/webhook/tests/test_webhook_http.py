"""POST /webhook and GET /webhook against the real service and real JetStream (workers off)."""

from __future__ import annotations

import json


from pentagon.common.bus import Subjects
from pentagon.common.proto import events_pb2 as pb
from pentagon.webhook.runtime import key_hash
from pentagon.webhook.signature import sign_body

NO_WORKERS = {"REPLY_WORKER_ENABLED": "false", "SENDER_ENABLED": "false"}


async def test_subscription_verification(start_webhook) -> None:
    hook = start_webhook(**NO_WORKERS)
    ok = await hook.client.get(f"{hook.url}/webhook", params={
        "hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "12345"})
    assert ok.status_code == 200 and ok.text == "12345"
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
                   {"hub.mode": "subscribe", "hub.verify_token": "tëst-vérify", "hub.challenge": "1"},
                   {}):
        assert (await hook.client.get(f"{hook.url}/webhook", params=params)).status_code == 403


async def test_signature_is_checked_before_anything(start_webhook, bus, messenger) -> None:
    hook = start_webhook(**NO_WORKERS)
    body = json.dumps(messenger.page(messenger.text("U1", "mid.sig", "hello"))).encode()
    url = f"{hook.url}/webhook"
    cases = [
        {},  # missing
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": sign_body(body, "another-secret")},
        {"X-Hub-Signature-256": sign_body(body + b" ", "test-app-secret")},  # signature of another body
        {"X-Hub-Signature-256": "sha1=abc"},
        {"X-Hub-Signature-256": "sha256=ü".encode("latin-1")},
    ]
    for headers in cases:
        response = await hook.client.post(url, content=body, headers=headers)
        assert response.status_code == 403, headers
    # Even garbage that is not JSON is refused as unsigned first (403, not 400).
    assert (await hook.client.post(url, content=b"{not json")).status_code == 403
    assert await bus.messages("events.>") == []
    good = await hook.client.post(url, content=body, headers={"X-Hub-Signature-256": sign_body(body, "test-app-secret")})
    assert good.status_code == 200
    assert len(await bus.messages("events.>")) == 1


async def test_body_limits_malformed_json_and_foreign_objects(start_webhook, bus) -> None:
    hook = start_webhook(WEBHOOK_MAX_BODY_BYTES="2048", **NO_WORKERS)
    big = json.dumps({"object": "page", "entry": [], "pad": "x" * 4000}).encode()
    assert (await hook.post_signed(None, raw=big)).status_code == 413

    async def chunked():
        for _ in range(10):
            yield b"x" * 1000

    headers = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    response = await hook.client.post(f"{hook.url}/webhook", content=chunked(), headers=headers)
    assert response.status_code == 413
    assert (await hook.post_signed(None, raw=b"{nope")).status_code == 400
    assert (await hook.post_signed(None, raw=b"\xff\xfe\x00")).status_code == 400
    assert (await hook.post_signed(None, raw=b'{"object": "page", "entry": [], "x": NaN}')).status_code == 400
    assert (await hook.post_signed(None, raw=b"[" * 1500 + b"]" * 1500)).status_code in (400, 413)
    assert (await hook.post_signed(None, raw=b"[1, 2]")).status_code == 400
    assert (await hook.post_signed({"object": "instagram", "entry": []})).status_code == 404
    assert (await hook.post_signed({"object": "page", "entry": "nope"})).status_code == 400
    assert (await hook.post_signed({"object": "page", "entry": [1]})).status_code == 400
    assert (await hook.post_signed({"object": "page", "entry": [{"messaging": {"a": 1}}]})).status_code == 400
    assert await bus.messages("events.>") == []


def _all_kinds() -> dict:
    ts = 1_700_000_000_000
    user, page_id = "2001", "PAGE"

    def ev(**body):
        return {"sender": {"id": user}, "recipient": {"id": page_id}, "timestamp": ts, **body}

    attachments = [
        {"type": "image", "payload": {"url": "https://cdn.example/i.jpg"}},
        {"type": "video", "payload": {"url": "https://cdn.example/v.mp4"}},
        {"type": "audio", "payload": {"url": "https://cdn.example/a.mp4"}},
        {"type": "file", "payload": {"url": "https://cdn.example/f.pdf"}},
        {"type": "location", "payload": {"coordinates": {"lat": 16.8, "long": 96.15}}, "title": "Pin"},
        {"type": "image", "payload": {"url": "https://cdn.example/s.png", "sticker_id": 369239263222822}},
        {"type": "fallback", "payload": {"url": "https://example.com/x", "title": "Shared link"}},
    ]
    messaging = [
        ev(message={"mid": "m_text", "text": "Do you have wifi?"}),
        ev(message={"mid": "m_qr", "text": "Menu", "quick_reply": {"payload": "MENU_PAYLOAD"}}),
        # The answer to "How did we do?" (pentagon.common.rating), and payloads that only look like one.
        ev(message={"mid": "m_rate", "text": "🙂 Good", "quick_reply": {"payload": "RATE:4:rate:77"}}),
        ev(message={"mid": "m_rate6", "text": "six", "quick_reply": {"payload": "RATE:6:rate:77"}}),
        ev(message={"mid": "m_rate_sql", "text": "x", "quick_reply": {"payload": "RATE:5:rate:77' OR 1=1"}}),
        ev(message={"mid": "m_att", "attachments": attachments, "sticker_id": 369239263222822}),
        ev(postback={"title": "Get Started", "payload": "GET_STARTED", "mid": "m_pb"}),
        ev(postback={"title": "Hours", "payload": "HOURS"}),
        ev(reaction={"reaction": "love", "emoji": "\u2764", "action": "react", "mid": "m_text"}),
        ev(delivery={"mids": ["m_bot_1", "m_bot_2"], "watermark": ts + 5}),
        ev(read={"watermark": ts + 9}),
        # A staff member typing in the Page inbox: echo from another app (or none).
        {"sender": {"id": page_id}, "recipient": {"id": user}, "timestamp": ts,
         "message": {"mid": "m_staff", "text": "Hi, this is Mya", "is_echo": True, "app_id": 263902037430900}},
        # Echoes of our own sends: by app id, and by our metadata marker.
        {"sender": {"id": page_id}, "recipient": {"id": user}, "timestamp": ts,
         "message": {"mid": "m_ours1", "text": "bot text", "is_echo": True, "app_id": 4242}},
        {"sender": {"id": page_id}, "recipient": {"id": user}, "timestamp": ts,
         "message": {"mid": "m_ours2", "text": "bot text", "is_echo": True, "metadata": "pentagon:r:m:x"}},
        ev(optin={"ref": "x"}),  # unknown kind: ignored
    ]
    standby = [ev(message={"mid": "m_standby", "text": "talking to the other app"})]
    return {"object": "page", "entry": [{"id": page_id, "time": ts, "messaging": messaging, "standby": standby}]}


async def test_every_event_kind_becomes_the_right_event(start_webhook, bus) -> None:
    hook = start_webhook(**NO_WORKERS)
    response = await hook.post_signed(_all_kinds())
    assert response.status_code == 200, response.text
    incoming = {e.event_id: e for e in await bus.events(Subjects.incoming("messenger", "2001"))}
    assert incoming["m:m_text"].content == "Do you have wifi?" and incoming["m:m_text"].kind == "text"
    assert incoming["m:m_text"].sender == pb.SENDER_USER and incoming["m:m_text"].platform_message_id == "m_text"
    assert incoming["m:m_text"].occurred_at.ToMilliseconds() == 1_700_000_000_000
    assert incoming["m:m_qr"].kind == "quick_reply"
    assert json.loads(incoming["m:m_qr"].metadata_json)["quick_reply"] == {"payload": "MENU_PAYLOAD"}
    rated = incoming["m:m_rate"]
    assert (rated.kind, rated.reply_to_event_id, rated.content) == ("rating", "rate:77", "🙂 Good")
    assert json.loads(rated.metadata_json)["conversation"] == {"rating": {"score": 4, "rated_at": "2023-11-14T22:13:20Z"}}
    for lookalike in ("m:m_rate6", "m:m_rate_sql"):
        assert (incoming[lookalike].kind, incoming[lookalike].reply_to_event_id) == ("quick_reply", "")
    att = json.loads(incoming["m:m_att"].metadata_json)
    assert incoming["m:m_att"].kind == "attachment"
    assert [a["type"] for a in att["attachments"]] == ["image", "video", "audio", "file", "location", "image", "fallback"]
    assert att["attachments"][4]["coordinates"] == {"lat": 16.8, "long": 96.15}
    assert att["attachments"][5]["sticker_id"] == 369239263222822
    assert att["attachments"][6]["title"] == "Shared link"
    assert incoming["m:m_pb"].kind == "postback" and incoming["m:m_pb"].content == "Get Started"
    assert json.loads(incoming["m:m_pb"].metadata_json)["postback"] == {"title": "Get Started", "payload": "GET_STARTED"}
    no_mid = [e for e in incoming.values() if e.event_id.startswith("mb:")]
    assert {e.kind for e in no_mid} == {"postback", "reaction"}
    reaction = next(e for e in no_mid if e.kind == "reaction")
    assert json.loads(reaction.metadata_json)["reaction"]["emoji"] == "\u2764"
    standby = incoming["m:m_standby"]
    assert standby.channel == pb.CHANNEL_STANDBY and incoming["m:m_text"].channel == pb.CHANNEL_MESSAGING

    outgoing = await bus.events(Subjects.outgoing("messenger", "2001"))
    assert [(e.event_id, e.sender, e.kind, e.needs_delivery) for e in outgoing] == [
        ("m:m_staff", pb.SENDER_HUMAN, "echo", False)]
    assert outgoing[0].content == "Hi, this is Mya"

    receipts = await bus.events(Subjects.delivery("messenger", "2001"), pb.DeliveryEvent)
    states = {r.state: r for r in receipts}
    assert set(states) == {pb.DELIVERY_DELIVERED, pb.DELIVERY_READ}
    assert list(states[pb.DELIVERY_DELIVERED].platform_message_ids) == ["m_bot_1", "m_bot_2"]
    assert states[pb.DELIVERY_READ].watermark.ToMilliseconds() == 1_700_000_000_009
    assert all(r.event_id.startswith("d:") for r in receipts)
    assert len(await bus.messages("events.>")) == 13


async def test_redelivered_post_is_stored_once(start_webhook, bus) -> None:
    hook = start_webhook(**NO_WORKERS)
    for _ in range(3):
        assert (await hook.post_signed(_all_kinds())).status_code == 200
    assert len(await bus.messages("events.>")) == 13


async def test_echo_of_a_mid_we_sent_is_not_recorded(start_webhook, bus) -> None:
    hook = start_webhook(MESSENGER_APP_ID="", **NO_WORKERS)
    kv = await bus.js.key_value("sent_mids")
    await kv.put(key_hash("m_sent_by_us"), b"r:m:abc")
    echo = {"sender": {"id": "PAGE"}, "recipient": {"id": "77"}, "timestamp": 1_700_000_000_000,
            "message": {"mid": "m_sent_by_us", "text": "hello", "is_echo": True, "app_id": 999}}
    staff = {**echo, "message": {**echo["message"], "mid": "m_typed_by_staff"}}
    assert (await hook.post_signed({"object": "page", "entry": [{"messaging": [echo, staff]}]})).status_code == 200
    assert [e.event_id for e in await bus.events("events.out.messenger.77")] == ["m:m_typed_by_staff"]


async def test_with_an_app_id_the_app_id_alone_tells_our_echoes(start_webhook, bus) -> None:
    """No KV lookup per echo: the sender keeps no sent_mids then, and another app's echo is a staff reply."""
    hook = start_webhook(**NO_WORKERS)  # MESSENGER_APP_ID=4242
    kv = await bus.js.key_value("sent_mids")
    await kv.put(key_hash("m_old_entry"), b"r:m:old")  # left by a release that still wrote them
    ours = {"sender": {"id": "PAGE"}, "recipient": {"id": "78"}, "timestamp": 1_700_000_000_000,
            "message": {"mid": "m_ours", "text": "bot text", "is_echo": True, "app_id": 4242}}
    staff = {**ours, "message": {"mid": "m_old_entry", "text": "typed in the inbox", "is_echo": True, "app_id": 999}}
    assert (await hook.post_signed({"object": "page", "entry": [{"messaging": [ours, staff]}]})).status_code == 200
    assert [e.event_id for e in await bus.events("events.out.messenger.78")] == ["m:m_old_entry"]


async def test_hostile_fields_are_cleaned_or_skipped_never_500(start_webhook, bus, messenger) -> None:
    hook = start_webhook(**NO_WORKERS)
    injection = "'; DROP TABLE messages; -- <script>alert(1)</script> {{7*7}} ${jndi:x}"
    events = [
        messenger.text("31", "m_nul", "caf\x00e\x00 ☕ မင်္ဂလာပါ 😀"),
        messenger.text("31", "m_inj", injection),
        messenger.text("31", "m_big", "x" * 20_001),                       # over the limit: skipped
        messenger.text("31", "m_surrogate", "bad \ud800 half"),
        {"sender": {"id": "31"}, "timestamp": "yesterday", "message": {"mid": "m_ts", "text": "odd time"}},
        {"sender": {"id": {"nested": 1}}, "message": {"mid": "m_badsender", "text": "x"}},
        {"sender": "31", "message": {"mid": "m_badsender2", "text": "x"}},
        {"sender": {"id": "31"}, "message": {"mid": 12, "text": "x"}},
        {"sender": {"id": "31"}, "message": {"mid": "m_empty"}},
        {"sender": {"id": "31"}, "message": "text"},
        {"sender": {"id": "31"}, "message": {"mid": "m_att_bad", "attachments": "nope"}},
        {"sender": {"id": "31"}, "delivery": {"watermark": "soon"}},
        {"sender": {"id": "31"}, "postback": ["x"]},
        {"sender": {"id": "31"}, "reaction": {"action": 5}},
        {"sender": {"id": "a b\x00"}, "message": {"mid": "m_space", "text": "x"}},
        "not an object",
        None,
    ]
    response = await hook.post_signed(messenger.page(*events))
    assert response.status_code == 200
    stored = {e.event_id: e for e in await bus.events("events.in.messenger.31")}
    assert set(stored) == {"m:m_nul", "m:m_inj", "m:m_surrogate", "m:m_ts"}
    assert stored["m:m_nul"].content == "cafe ☕ မင်္ဂလာပါ 😀"
    assert stored["m:m_inj"].content == injection
    assert "\ud800" not in stored["m:m_surrogate"].content
    assert len(await bus.messages("events.>")) == 4


async def test_nats_down_means_503_then_recovers(start_webhook, bus, nats_server, messenger, wait_for) -> None:
    hook = start_webhook(**NO_WORKERS)
    await bus.nc.close()
    nats_server.stop()
    try:
        response = await hook.post_signed(messenger.page(messenger.text("41", "m_down", "hello?")))
        assert response.status_code == 503
        assert (await hook.client.get(f"{hook.url}/readyz")).status_code == 503
    finally:
        nats_server.start()

    async def accepted() -> bool:
        r = await hook.post_signed(messenger.page(messenger.text("41", "m_down", "hello?")))
        return r.status_code == 200

    await wait_for(accepted, timeout=30)
