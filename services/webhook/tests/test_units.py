"""Pure functions: text splitting, quick replies, the 24 h window, signatures, tokens."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pentagon.webhook.chat_sessions import SessionSigner
from pentagon.webhook.messenger_parser import parse_webhook
from pentagon.webhook.send_api import quick_replies, split_text
from pentagon.webhook.sender import outside_window
from pentagon.webhook.signature import parse_signed_request, sign_body, sign_request, verify_body


def test_split_keeps_every_word_and_respects_the_limit() -> None:
    text = "ကော်ဖီ " * 600 + "https://example.com/" + "x" * 2500
    chunks = split_text(text)
    assert all(0 < len(c) <= 2000 for c in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")
    assert split_text("short") == ["short"] and split_text("   ") == []


def test_quick_replies_are_capped() -> None:
    built = quick_replies(["a" * 30, "", 5, *[str(i) for i in range(20)]])
    assert len(built) == 13 and built[0]["title"] == "a" * 20 and built[0]["payload"] == "a" * 30
    assert quick_replies("nope") == []


def test_quick_replies_with_their_own_payloads() -> None:
    built = quick_replies([{"title": "🙂 Good", "payload": "RATE:4:rate:7"}, {"title": "x"}, {"payload": "y"}, "Menu"])
    assert built == [{"content_type": "text", "title": "🙂 Good", "payload": "RATE:4:rate:7"},
                     {"content_type": "text", "title": "Menu", "payload": "Menu"}]


def test_window() -> None:
    now = datetime(2026, 1, 15, tzinfo=timezone.utc)
    assert outside_window({"last_user_message_at": (now - timedelta(hours=25)).isoformat()}, now)
    assert not outside_window({"last_user_message_at": "2026-01-14T12:00:00Z"}, now)
    assert not outside_window({}, now) and not outside_window({"last_user_message_at": "garbage"}, now)


def test_signatures() -> None:
    assert verify_body(b"{}", sign_body(b"{}", "s"), "s")
    assert not verify_body(b"{}", sign_body(b"{}", "s"), "")
    assert not verify_body(b"{}", None, "s")
    payload = {"algorithm": "HMAC-SHA256", "user_id": "1"}
    assert parse_signed_request(sign_request(payload, "s"), "s") == payload
    assert parse_signed_request(sign_request(payload, "s"), "t") is None


def test_session_tokens() -> None:
    signer = SessionSigner("k", 60)
    token, _ = signer.issue("u1", "Su")
    session = signer.verify(token)
    assert session is not None and session.user_id == "u1" and session.name == "Su"
    assert SessionSigner("other", 60).verify(token) is None
    assert SessionSigner("k", -5).verify(SessionSigner("k", -5).issue("u1")[0]) is None


def test_parser_skips_unknown_kinds_and_counts_them() -> None:
    result = parse_webhook({"entry": [{"messaging": [{"sender": {"id": "1"}, "optin": {}}, {"sender": {"id": "1"}}]}]})
    assert result.events == [] and result.skipped == {"unknown_kind": 2}


def test_agent_target_resolves_every_replica_behind_a_name() -> None:
    from pentagon.common.agent_client import _target

    assert _target("agent:50051") == "dns:///agent:50051"
    assert _target("127.0.0.1:50051") == "dns:///127.0.0.1:50051"
    assert _target("dns:///agent:50051") == "dns:///agent:50051"
    assert _target("unix:/run/agent.sock") == "unix:/run/agent.sock"
