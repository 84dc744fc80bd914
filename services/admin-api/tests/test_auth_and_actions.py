"""Authentication, roles, human replies and the command path when tracking is absent."""

from __future__ import annotations

import json
import logging
import time

import jwt
import pytest

from admin_support import (ADMIN, ADMIN_TOKEN, JWT_SECRET, VIEWER, VIEWER_TOKEN, add_conversation, add_message, later,
                           supabase_token)
from pentagon.admin.auth import Authenticator
from pentagon.common.bus import EVENTS_STREAM, user_token
from pentagon.common.proto import events_pb2 as pb



async def test_missing_and_wrong_tokens_are_401(admin):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {ADMIN_TOKEN}"},
                    {"Authorization": f"Bearer {ADMIN_TOKEN}x"}, {"Authorization": "Bearer"}):
        r = await admin.client.get("/admin/conversations", headers=headers)
        assert r.status_code == 401, headers
        assert r.json() == {"success": False, "error": {"code": "unauthorized", "message": r.json()["error"]["message"]}}
        assert r.headers["www-authenticate"] == "Bearer"


async def test_me_reports_identity(admin):
    assert (await admin.client.get("/admin/me", headers=ADMIN)).json()["user"] == {"name": "alice", "role": "admin"}
    assert (await admin.client.get("/admin/me", headers=VIEWER)).json()["user"] == {"name": "victor", "role": "viewer"}


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/admin/conversations/{id}/close", None),
    ("POST", "/admin/conversations/{id}/reopen", None),
    ("POST", "/admin/conversations/{id}/takeover", None),
    ("POST", "/admin/conversations/{id}/handback", None),
    ("POST", "/admin/conversations/{id}/assign", {"assigned_to": "victor"}),
    ("POST", "/admin/conversations/{id}/priority", {"priority": 5}),
    ("POST", "/admin/conversations/{id}/reply", {"text": "hello"}),
    ("POST", "/admin/messages/{id}/mark-human", None),
    ("POST", "/admin/messages/{id}/mark-replied", None),
    ("DELETE", "/admin/users/messenger/psid-1", None),
])
async def test_viewer_cannot_act(admin, pg, method, path, body):
    conv = await add_conversation(pg, "psid-1")
    r = await admin.client.request(method, path.format(id=conv), headers=VIEWER, json=body)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    info = await admin.js.stream_info(EVENTS_STREAM)
    assert info.state.messages == 0  # nothing published for a refused reply


@pytest.mark.parametrize("admin", [{"admin_tokens": ""}], indirect=True)
async def test_without_admin_tokens_everything_is_401(admin, caplog):
    r = await admin.client.get("/admin/stats", headers=ADMIN)
    assert r.status_code == 401
    assert (await admin.client.get("/healthz")).status_code == 200


def test_no_tokens_configured_logs_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        Authenticator("")
    assert any("every admin request will be refused" in r.getMessage() for r in caplog.records)


async def test_malformed_token_entries_are_skipped_without_logging_the_token(caplog):
    with caplog.at_level(logging.WARNING):
        auth = Authenticator("bob:superuser:tok-secret-1,:admin:tok-secret-2,carol:admin:good-token")
    assert (await auth.identify("good-token")).name == "carol"
    text = " ".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "tok-secret" not in text


async def test_tokens_never_reach_the_logs(admin, pg, caplog):
    conv = await add_conversation(pg, "psid-9")
    with caplog.at_level(logging.DEBUG):
        await admin.client.get("/admin/conversations", headers=ADMIN)
        await admin.client.get("/admin/conversations", headers={"Authorization": "Bearer wrong-token-zzz"})
        await admin.client.post(f"/admin/conversations/{conv}/reply", headers=ADMIN, json={"text": "secret text"})
    text = " ".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert ADMIN_TOKEN not in text and VIEWER_TOKEN not in text and "wrong-token-zzz" not in text
    assert "secret text" not in text


@pytest.mark.parametrize("admin", [{"supabase_jwt_secret": JWT_SECRET}], indirect=True)
async def test_supabase_jwts(admin):
    async def me(token: str):
        return await admin.client.get("/admin/me", headers={"Authorization": f"Bearer {token}"})

    r = await me(supabase_token({"app_metadata": {"role": "admin"}}))
    assert r.status_code == 200 and r.json()["user"] == {"name": "staff@cafe.example", "role": "admin"}
    assert (await me(supabase_token({"user_role": "viewer"}))).json()["user"]["role"] == "viewer"
    assert (await me(supabase_token({}))).status_code == 403  # valid account, no panel role
    assert (await me(supabase_token({"app_metadata": {"role": "admin"}, "exp": int(time.time()) - 5}))).status_code == 401
    assert (await me(supabase_token({"app_metadata": {"role": "admin"}}, secret="x" * 40))).status_code == 401
    assert (await me(supabase_token({"app_metadata": {"role": "admin"}, "aud": "other"}))).status_code == 401
    unsigned = jwt.encode({"sub": "x", "exp": int(time.time()) + 60, "app_metadata": {"role": "admin"},
                           "aud": "authenticated"}, None, algorithm="none")
    assert (await me(unsigned)).status_code == 401
    no_exp = jwt.encode({"sub": "x", "aud": "authenticated", "app_metadata": {"role": "admin"}}, JWT_SECRET)
    assert (await me(no_exp)).status_code == 401
    # A viewer JWT cannot act.
    viewer = supabase_token({"user_role": "viewer"})
    r = await admin.client.post("/admin/conversations/1/close", headers={"Authorization": f"Bearer {viewer}"})
    assert r.status_code == 403
    # Static tokens keep working next to JWTs.
    assert (await me(ADMIN_TOKEN)).status_code == 200


async def next_event(js, subject: str) -> pb.MessageEvent:
    sub = await js.pull_subscribe(subject, stream=EVENTS_STREAM)
    msgs = await sub.fetch(1, timeout=5)
    event = pb.MessageEvent()
    event.ParseFromString(msgs[0].data)
    return event


async def test_reply_publishes_a_human_message_for_delivery(admin, pg):
    conv = await add_conversation(pg, "psid-42", status="human")
    await add_message(pg, conv, "hello?", at=later(1))
    await add_message(pg, conv, "bot says hi", "bot", at=later(2))
    r = await admin.client.post(f"/admin/conversations/{conv}/reply", headers=ADMIN,
                                json={"text": "  မင်္ဂလာပါ 👋 how can I help?  "})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["success"] is True and body["event_id"]
    event = await next_event(admin.js, f"events.out.messenger.*.{user_token('psid-42')}")
    assert event.event_id == body["event_id"]
    assert event.sender == pb.SENDER_HUMAN and event.needs_delivery
    assert event.content == "မင်္ဂလာပါ 👋 how can I help?"
    assert event.actor == "alice:admin"
    assert event.key.platform == "messenger" and event.key.user_id == "psid-42"
    assert json.loads(event.metadata_json)["last_user_message_at"] == "2026-01-15T10:01:00.000000Z"


async def test_reply_with_idempotency_key_is_published_once(admin, pg):
    conv = await add_conversation(pg, "web-user-1", platform="web")
    headers = {**ADMIN, "Idempotency-Key": "retry-1"}
    first = await admin.client.post(f"/admin/conversations/{conv}/reply", headers=headers, json={"text": "hi"})
    second = await admin.client.post(f"/admin/conversations/{conv}/reply", headers=headers, json={"text": "hi"})
    assert first.json()["event_id"] == second.json()["event_id"]
    assert (await admin.js.stream_info(EVENTS_STREAM)).state.messages == 1


@pytest.mark.parametrize("body", [
    {"text": ""}, {"text": "   \n "}, {"text": "x" * 2001}, {"text": "a\x00b"}, {"text": 5}, {}, {"txt": "hi"},
    {"text": "hi", "extra": 1}, [], "hello",
])
async def test_reply_rejects_bad_text(admin, pg, body):
    conv = await add_conversation(pg, "psid-1")
    r = await admin.client.post(f"/admin/conversations/{conv}/reply", headers=ADMIN, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    assert (await admin.js.stream_info(EVENTS_STREAM)).state.messages == 0


async def test_reply_malformed_json_is_422(admin, pg):
    conv = await add_conversation(pg, "psid-1")
    r = await admin.client.post(f"/admin/conversations/{conv}/reply", headers={**ADMIN, "Content-Type": "application/json"},
                                content=b"{not json")
    assert r.status_code == 422


async def test_oversized_bodies_are_413_before_they_are_read(admin, pg):
    conv = await add_conversation(pg, "psid-1")
    path = f"/admin/conversations/{conv}/reply"
    # Declared: refused at once, signed in or not (FastAPI would read a body before checking the token).
    for headers in ({}, ADMIN):
        r = await admin.client.post(path, headers={**headers, "Content-Type": "application/json"},
                                    content=b'{"text": "' + b"x" * 10_000_000 + b'"}')
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
        assert r.headers["x-content-type-options"] == "nosniff"

    async def chunks():  # no Content-Length: counted as it streams
        yield b'{"text": "'
        for _ in range(40):
            yield b"y" * 8192
        yield b'"}'

    r = await admin.client.post(path, headers={**ADMIN, "Content-Type": "application/json"}, content=chunks())
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    assert (await admin.js.stream_info(EVENTS_STREAM)).state.messages == 0
    # The longest real body, a 2,000-character Burmese reply (12 KB as JSON escapes), still goes through.
    r = await admin.client.post(path, headers=ADMIN, json={"text": "က" * 2000})
    assert r.status_code == 202, r.text


async def test_reply_to_closed_or_unknown_conversation(admin, pg):
    conv = await add_conversation(pg, "psid-1", status="closed")
    r = await admin.client.post(f"/admin/conversations/{conv}/reply", headers=ADMIN, json={"text": "hi"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    r = await admin.client.post("/admin/conversations/987654/reply", headers=ADMIN, json={"text": "hi"})
    assert r.status_code == 404
    assert (await admin.js.stream_info(EVENTS_STREAM)).state.messages == 0


@pytest.mark.parametrize("admin", [{"admin_command_timeout": 0.5}], indirect=True)
async def test_commands_without_tracking_are_503(admin, pg):
    # Nobody answers tracking.cmd.*: the caller gets a retryable 503, never a hang or a 500.
    r = await admin.client.post("/admin/conversations/1/close", headers=ADMIN)
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
    r = await admin.client.delete("/admin/users/messenger/psid-1", headers=ADMIN)
    assert r.status_code == 503


@pytest.mark.parametrize("path,body", [
    ("/admin/conversations/1/assign", {"assigned_to": ""}),
    ("/admin/conversations/1/assign", {}),
    ("/admin/conversations/1/assign", {"assigned_to": "a\x00"}),
    ("/admin/conversations/1/priority", {"priority": 0}),
    ("/admin/conversations/1/priority", {"priority": 6}),
    ("/admin/conversations/1/priority", {"priority": "5"}),
    ("/admin/conversations/1/priority", {"priority": 2.5}),
    ("/admin/conversations/0/close", None),
    ("/admin/messages/abc/mark-human", None),
])
async def test_bad_action_parameters_are_422(admin, path, body):
    r = await admin.client.post(path, headers=ADMIN, json=body)
    assert r.status_code == 422, r.text


async def test_panel_page_static_files_and_security_headers(admin):
    r = await admin.client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    static = await admin.client.get("/static/app.css")
    assert static.status_code == 200 and "content-security-policy" in static.headers
    assert (await admin.client.get("/static/../settings.py")).status_code == 404
    # The service worker sits at the root (it controls only pages below its own path), always revalidated.
    worker = await admin.client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache" and "notificationclick" in worker.text
    assert "addEventListener('fetch'" not in worker.text  # caches nothing: never a stale panel


async def test_openapi_docs_and_ops_routes(admin):
    spec = (await admin.client.get("/admin/openapi.json")).json()
    assert "/admin/conversations/{conversation_id}/reply" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert (await admin.client.get("/admin/docs")).status_code == 200
    assert (await admin.client.get("/healthz")).json() == {"status": "ok"}
    assert (await admin.client.get("/readyz")).status_code == 200
    assert "admin_ws_clients" in (await admin.client.get("/metrics")).text


@pytest.mark.parametrize("admin", [{"cors_origins": "https://panel.example, https://other.example"}], indirect=True)
async def test_cors_only_for_configured_origins(admin):
    ok = await admin.client.options("/admin/stats", headers={"Origin": "https://panel.example",
                                                             "Access-Control-Request-Method": "GET"})
    assert ok.headers.get("access-control-allow-origin") == "https://panel.example"
    bad = await admin.client.get("/admin/stats", headers={**ADMIN, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in bad.headers


async def test_cors_off_by_default(admin):
    r = await admin.client.get("/admin/stats", headers={**ADMIN, "Origin": "https://panel.example"})
    assert "access-control-allow-origin" not in r.headers


async def test_readyz_reports_a_lost_database(admin, postgres_server):
    assert (await admin.client.get("/readyz")).status_code == 200
    await admin.runtime.pool.close()
    r = await admin.client.get("/readyz")
    assert r.status_code == 503
    r = await admin.client.get("/admin/stats", headers=ADMIN)
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
