"""Hostile and malformed events are refused per event with a clear reason, never a crash."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from pentagon.common.proto import events_pb2 as pb
from pentagon.tracking.decode import InvalidEvent, Limits, decode

from tracking_support import message_event

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def run(subject: str, data: bytes) -> dict:
    return decode(subject, data, 7, NOW, Limits(max_content_chars=1000, max_metadata_bytes=2000))


def test_valid_message_is_normalised() -> None:
    subject, data = message_event("m:1", content="ကော်ဖီ\x00☕", metadata={"conversation": {"locale": "my"}, "x": "\\u0000"},
                                  confidence=float("nan"))
    event = run(subject, data)
    assert event["content"] == "ကော်ဖီ☕" and event["seq"] == 7
    assert event["conv_meta"] == {"locale": "my"} and "confidence" not in event
    assert event["ts"] == "2026-01-15T10:30:00+00:00"


def test_missing_timestamp_uses_the_stream_time() -> None:
    event = pb.MessageEvent(event_id="a", key=pb.ConversationKey(platform="web", user_id="w1"), sender=pb.SENDER_USER)
    assert run("events.in.web.w1", event.SerializeToString())["ts"] == NOW.isoformat()


@pytest.mark.parametrize("subject,data,reason", [
    ("events.in.messenger.u1", b"\x0a\xff\xff", "undecodable"),
    ("events.in.messenger.u1", pb.MessageEvent(event_id="a", key=pb.ConversationKey(platform="messenger", user_id="u1"),
                                               sender=pb.SENDER_BOT).SerializeToString(), "direction"),
    ("events.in.messenger.u1", pb.MessageEvent(key=pb.ConversationKey(platform="messenger", user_id="u1"),
                                               sender=pb.SENDER_USER).SerializeToString(), "event_id is required"),
    ("events.in.messenger.u2", message_event("a")[1], "subject does not match"),
    ("events.in.MESSENGER.u1", pb.MessageEvent(event_id="a", key=pb.ConversationKey(platform="MESSENGER", user_id="u1"),
                                               sender=pb.SENDER_USER).SerializeToString(), "invalid platform"),
    ("events.in.messenger.u1", message_event("a", content="x" * 1001)[1], "content too long"),
    ("events.in.messenger.u1", message_event("a", kind="'; DROP")[1], "invalid kind"),
    ("events.in.messenger.u1", pb.MessageEvent(event_id="a", key=pb.ConversationKey(platform="messenger", user_id="u1"),
                                               sender=pb.SENDER_USER, metadata_json="{bad").SerializeToString(), "not valid JSON"),
    ("events.in.messenger.u1", pb.MessageEvent(event_id="a", key=pb.ConversationKey(platform="messenger", user_id="u1"),
                                               sender=pb.SENDER_USER, metadata_json=json.dumps({"a": "x" * 3000})).SerializeToString(), "too large"),
    ("events.in.messenger.u1", pb.MessageEvent(event_id="a", key=pb.ConversationKey(platform="messenger", user_id="u1"),
                                               sender=pb.SENDER_USER, metadata_json='{"n": NaN}').SerializeToString(), "not valid JSON"),
    ("events.delivery.messenger.u1", pb.DeliveryEvent(event_id="d", key=pb.ConversationKey(platform="messenger", user_id="u1"),
                                                      state=pb.DELIVERY_READ).SerializeToString(), "without watermark"),
    ("events.conversation.messenger.u1", pb.ConversationEvent(event_id="c", key=pb.ConversationKey(platform="messenger", user_id="u1"))
     .SerializeToString(), "unknown conversation action"),
    ("events.in.messenger", b"", "unknown subject"),
])
def test_invalid_events_are_refused_with_a_reason(subject: str, data: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        run(subject, data)


def test_lone_surrogates_in_metadata_are_replaced() -> None:
    event = pb.MessageEvent(event_id="a", key=pb.ConversationKey(platform="web", user_id="w1"), sender=pb.SENDER_USER,
                            metadata_json='{"k": "\\ud800x", "ok": "\\ud83d\\ude00"}')
    out = run("events.in.web.w1", event.SerializeToString())["metadata"]
    json.dumps(out).encode("utf-8")
    assert out["ok"] == "😀" and out["k"].endswith("x")


def test_delivery_info_matches_nats_metadata() -> None:
    from nats.aio.msg import Msg

    from pentagon.tracking.consumer import delivery_info, pending_after

    for reply in ("$JS.ACK.EVENTS.tracking.3.42.40.1768473000123456789.7",
                  "$JS.ACK.hub.ACCHASH.EVENTS.tracking.3.42.40.1768473000123456789.7.rand0m"):
        msg = Msg(_client=None, subject="events.in.messenger.u1", reply=reply)
        seq, when = delivery_info(msg)
        assert seq == msg.metadata.sequence.stream == 42
        assert when() == msg.metadata.timestamp
        assert pending_after(msg) == msg.metadata.num_pending == 7
    assert pending_after(Msg(_client=None, subject="events.in.messenger.u1", reply="_INBOX.x")) is None


def test_metadata_big_integers_keep_their_precision() -> None:
    from pentagon.tracking.decode import _metadata

    assert _metadata('{"n": 123456789012345678901234567890, "ok": 1}', 1000) == {"n": 123456789012345678901234567890, "ok": 1}
    assert _metadata('{"s": "\\ud800x"}', 1000) == {"s": "?x"}
    with pytest.raises(InvalidEvent):
        _metadata('{"a": NaN}', 1000)


def test_the_partition_token_the_stream_inserts_is_accepted() -> None:
    subject, data = message_event("a")
    family, platform, token = subject.split(".")[1:]
    assert run(f"events.{family}.{platform}.17.{token}", data)["event_id"] == "a"
    with pytest.raises(InvalidEvent, match="unknown subject"):
        run(f"events.{family}.{platform}.x.{token}", data)
