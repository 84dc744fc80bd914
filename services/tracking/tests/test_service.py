"""The real tracking process on real NATS and Postgres: consumption, updates, mode KV, DLQ, commands."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import asyncpg
import nats

from pentagon.common.bus import DLQ_STREAM, MODE_BUCKET, UPDATES_STREAM, mode_key
from pentagon.common.proto import events_pb2 as pb
from pentagon.common.proto import tracking_pb2 as tpb

from tracking_support import BASE, count, count_is, message_event, publish_all, wait_for


async def stream_messages(js: Any, stream: str, subject: str = ">") -> list[Any]:
    info = await js.stream_info(stream)
    if info.state.messages == 0:
        return []
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
    out = []
    try:
        for _ in range(info.state.messages):
            out.append(await sub.next_msg(timeout=5))
    finally:
        await sub.unsubscribe()
    return out


async def updates(js: Any) -> list[tuple[str, pb.UpdateEvent]]:
    out = []
    for msg in await stream_messages(js, UPDATES_STREAM):
        event = pb.UpdateEvent()
        event.ParseFromString(msg.data)
        out.append((msg.subject, event))
    return out


async def mode(js: Any, platform: str, user: str) -> str | None:
    kv = await js.key_value(MODE_BUCKET)
    try:
        return (await kv.get(mode_key(platform, user))).value.decode().split(";")[0]
    except Exception:  # noqa: BLE001 - no key
        return None


async def test_messages_persisted_with_updates_and_mode(start_tracking, js, migrated_url: str) -> None:
    start_tracking()
    await publish_all(js, [message_event("m:1", content="ကော်ဖီ ☕", metadata={"attachments": [{"type": "image"}]}),
                           message_event("r:m:1", sender="bot", content="Hello!", reply_to_event_id="m:1",
                                         confidence=0.93, t=1)])
    await wait_for(lambda: count(migrated_url, "SELECT count(*) FROM messages WHERE event_id = 'r:m:1'"))
    got = await wait_for(lambda: _updates_with(js, 3))
    kinds = [(s.split(".")[1], e.kind) for s, e in got]
    assert ("message", pb.UPDATE_MESSAGE_CREATED) in kinds and ("conversation", pb.UPDATE_CONVERSATION_CHANGED) in kinds
    user_msg = next(json.loads(e.row_json) for s, e in got if e.kind == pb.UPDATE_MESSAGE_CREATED and e.message_id
                    and json.loads(e.row_json)["event_id"] == "m:1")
    conn = await asyncpg.connect(migrated_url)
    try:
        from pentagon.common.jsonrow import row_to_dict

        stored = row_to_dict(await conn.fetchrow("SELECT * FROM messages WHERE event_id = 'm:1'"))
    finally:
        await conn.close()
    assert user_msg == stored  # row_json is exactly what the REST API shows
    assert user_msg["timestamp"] == "2026-01-15T10:30:00.000000Z"
    assert await mode(js, "messenger", "u1") == "bot"

    await publish_all(js, [message_event("m:2", t=2), message_event("r:m:2", sender="bot", reply_to_event_id="m:2",
                                                                       requires_human=True, escalation_reason="complaint", t=3)])
    assert await wait_for(lambda: _mode_is(js, "human"))
    assert await count(migrated_url, "SELECT pending_human_count FROM conversations") == 1


async def _updates_with(js: Any, n: int) -> list[Any] | None:
    got = await updates(js)
    return got if len(got) >= n else None


async def _mode_is(js: Any, expected: str) -> bool:
    return await mode(js, "messenger", "u1") == expected


async def test_duplicates_and_replays_give_one_row(start_tracking, js, migrated_url: str) -> None:
    start_tracking()
    items = [message_event(f"m:{i}", platform_message_id=f"mid.{i}", t=i) for i in range(50)]
    await publish_all(js, items)
    # The same events again under new Nats-Msg-Ids (past the stream's duplicate window), and an echo of one mid.
    await publish_all(js, items, msg_ids=[f"replay-{i}" for i in range(50)])
    await publish_all(js, [message_event("echo-of-3", sender="human", platform_message_id="mid.3")])
    await publish_all(js, [message_event("m:last", t=100)])
    await wait_for(lambda: count(migrated_url, "SELECT count(*) FROM messages WHERE event_id = 'm:last'"))
    assert await count(migrated_url, "SELECT count(*) FROM messages") == 51
    assert await count(migrated_url, "SELECT message_count FROM conversations") == 51
    # Republished message updates carry the same Nats-Msg-Id: the stream kept one per row.
    message_updates = [e for _, e in await updates(js) if e.kind == pb.UPDATE_MESSAGE_CREATED]
    assert len({e.message_id for e in message_updates}) == len(message_updates) == 51


async def test_poison_events_go_to_dlq_and_the_rest_is_stored(start_tracking, js, migrated_url: str) -> None:
    start_tracking()
    bad_sender = pb.MessageEvent(event_id="x1", key=pb.ConversationKey(platform="messenger", user_id="u1"),
                                 sender=pb.SENDER_BOT).SerializeToString()
    no_state = pb.DeliveryEvent(event_id="x2", key=pb.ConversationKey(platform="messenger", user_id="u1")).SerializeToString()
    nul_user = pb.MessageEvent(event_id="x3", key=pb.ConversationKey(platform="messenger", user_id="u\x001"),
                               sender=pb.SENDER_USER).SerializeToString()
    good = [message_event(f"ok{i}", user=f"u{i % 3}", t=i) for i in range(100)]
    poison = [
        ("events.in.messenger.u1", b"\xff\xfe not protobuf"),
        ("events.in.messenger.u1", bad_sender),                       # bot on the incoming subject
        ("events.delivery.messenger.u1", no_state),
        ("events.in.messenger.h_0000", nul_user),
        ("events.in.messenger.someone_else", message_event("x4")[1]),  # subject/key mismatch
        ("events.weird.messenger.u1", b""),
        message_event("x5", metadata=None, kind="DROP TABLE"),
        ("events.in.messenger.u1", pb.MessageEvent(
            event_id="x6", key=pb.ConversationKey(platform="messenger", user_id="u1"), sender=pb.SENDER_USER,
            metadata_json="[1,2]").SerializeToString()),
    ]
    mixed = good[:50] + poison + good[50:]
    await publish_all(js, mixed)
    await wait_for(lambda: count(migrated_url, "SELECT count(*) FROM messages WHERE event_id = 'ok99'"))
    assert await count(migrated_url, "SELECT count(*) FROM messages") == 100
    dead = await wait_for(lambda: _dlq_with(js, len(poison)))
    assert len(dead) == len(poison)
    assert all(m.headers.get("Pentagon-Reason") and m.headers.get("Pentagon-Source-Seq") for m in dead)
    # The stream inserts the partition token into every event subject (pentagon.common.bus.partition_transform).
    unpartitioned = {".".join(m.subject.split(".")[:4] + m.subject.split(".")[5:]) for m in dead}
    assert unpartitioned >= {"dlq.events.in.messenger.u1", "dlq.events.weird.messenger.u1"}
    assert all(m.subject.split(".")[4].isdigit() for m in dead)


async def _dlq_with(js: Any, n: int) -> list[Any] | None:
    got = await stream_messages(js, DLQ_STREAM)
    return got if len(got) >= n else None


async def test_event_the_database_refuses_is_isolated(start_tracking, js, migrated_url: str) -> None:
    """A value that passes decoding but fails in Postgres: the batch is split until it is alone."""
    start_tracking(TRACKING_BATCH_WAIT_MS="500")
    far_future = pb.MessageEvent(event_id="y1", key=pb.ConversationKey(platform="messenger", user_id="u1"),
                                 sender=pb.SENDER_USER, content="x")
    far_future.occurred_at.seconds = 253402300799  # 9999-12-31: fine for protobuf, and for Postgres too
    items = [message_event(f"ok{i}", t=i) for i in range(20)] + [("events.in.messenger.u1", far_future.SerializeToString())]
    await publish_all(js, items)
    await wait_for(lambda: count(migrated_url, "SELECT count(*) FROM messages WHERE event_id = 'y1'"))
    assert await count(migrated_url, "SELECT count(*) FROM messages") == 21


async def command(nc: Any, action: str, command_id: str, **fields: Any) -> tpb.CommandReply:
    params = fields.pop("params", {})
    cmd = tpb.Command(command_id=command_id, action=action, actor="ann:admin", params_json=json.dumps(params), **fields)
    msg = await nc.request(f"tracking.cmd.{action}", cmd.SerializeToString(), timeout=10)
    reply = tpb.CommandReply()
    reply.ParseFromString(msg.data)
    return reply


async def test_commands_and_transitions(start_tracking, js, nats_url: str, migrated_url: str) -> None:
    start_tracking()
    await publish_all(js, [message_event("m:1"), message_event("m:2", user="u2")])
    await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM conversations WHERE message_count = 1", 2))
    conv = await count(migrated_url, "SELECT id FROM conversations WHERE user_id = 'u1'")
    conv2 = await count(migrated_url, "SELECT id FROM conversations WHERE user_id = 'u2'")
    msg_id = await count(migrated_url, "SELECT id FROM messages WHERE event_id = 'm:1'")
    nc = await nats.connect(nats_url)
    try:
        takeover = await command(nc, "takeover", "c1", conversation_id=conv)
        assert takeover.ok and json.loads(takeover.result_json)["status"] == "human"
        assert json.loads(takeover.result_json)["bot_paused"] is True
        assert await wait_for(lambda: _mode_is(js, "human"))
        again = await command(nc, "takeover", "c1", conversation_id=conv)  # same command id: same answer, once
        assert again.ok and json.loads(again.result_json) == json.loads(takeover.result_json)
        illegal = await command(nc, "takeover", "c2", conversation_id=conv)
        assert (illegal.ok, illegal.error_code) == (False, "illegal_transition")
        assert (await command(nc, "handback", "c3", conversation_id=conv)).ok
        assert await wait_for(lambda: _mode_is(js, "bot"))
        missing = await command(nc, "close", "c4", conversation_id=999999)
        assert (missing.ok, missing.error_code) == (False, "not_found")
        bad = await command(nc, "priority", "c5", conversation_id=conv, params={"priority": 9})
        assert (bad.ok, bad.error_code) == (False, "invalid")
        prio = await command(nc, "priority", "c6", conversation_id=conv, params={"priority": 5})
        assert json.loads(prio.result_json)["priority"] == 5
        assigned = await command(nc, "assign", "c7", conversation_id=conv, params={"assigned_to": "ann 🙂"})
        assert json.loads(assigned.result_json)["assigned_to"] == "ann 🙂"
        marked = await command(nc, "mark_human", "c8", message_id=msg_id, params={"reason": "asked for staff"})
        assert json.loads(marked.result_json)["requires_human"] is True
        assert await count(migrated_url, f"SELECT pending_human_count FROM conversations WHERE id = {conv}") == 1
        replied = await command(nc, "mark_replied", "c9", message_id=msg_id)
        assert json.loads(replied.result_json)["human_replied"] is True
        assert await count(migrated_url, f"SELECT pending_human_count FROM conversations WHERE id = {conv}") == 0
        closed = await command(nc, "close", "c10", conversation_id=conv)
        assert json.loads(closed.result_json)["status"] == "closed"
        assert await wait_for(lambda: _mode_is(js, "closed"))
        await publish_all(js, [message_event("m:3", t=5)])  # a new conversation after close
        await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM conversations WHERE user_id = 'u1'", 2))
        assert await wait_for(lambda: _mode_is(js, "bot"))
        reopen = await command(nc, "reopen", "c11", conversation_id=conv)  # the user has another open one
        assert (reopen.ok, reopen.error_code) == (False, "illegal_transition")
        garbage = await nc.request("tracking.cmd.close", b"\xff\x00garbage", timeout=10)
        reply = tpb.CommandReply()
        reply.ParseFromString(garbage.data)
        assert (reply.ok, reply.error_code) == (False, "invalid")
        unknown = await nc.request("tracking.cmd.explode", tpb.Command(command_id="z").SerializeToString(), timeout=10)
        reply.ParseFromString(unknown.data)
        assert reply.error_code == "invalid"
        deleted = await command(nc, "delete_user", "c12", params={"platform": "messenger", "user_id": "u2"})
        assert deleted.ok and json.loads(deleted.result_json)["conversation_ids"] == [conv2]
        assert await count(migrated_url, "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.user_id = 'u2'") == 0
    finally:
        await nc.close()
    assert await count(migrated_url, "SELECT count(*) FROM admin_actions") == 8  # the successful ones, c1 once
    kinds = {s.split(".")[1] for s, _ in await updates(js)}
    assert kinds == {"message", "conversation", "user_deleted"}


async def test_old_closed_conversations_are_deleted_by_the_retention_rule(start_tracking, js, nats_url: str,
                                                                         migrated_url: str) -> None:
    start_tracking(TRACKING_RETENTION_DAYS="30", TRACKING_SWEEP_INTERVAL_S="0.2")
    await publish_all(js, [
        message_event("o:1", user="old", content="ကော်ဖီ"), message_event("r:o:1", user="old", sender="bot",
                                                                         reply_to_event_id="o:1", t=1),
        message_event("c:1", user="closed-lately"), message_event("a:1", user="still-open"),
    ])
    await wait_for(lambda: count_is(migrated_url, "SELECT sum(message_count) FROM conversations", 4))
    ids = {user: await count(migrated_url, f"SELECT id FROM conversations WHERE user_id = '{user}'")
           for user in ("old", "closed-lately", "still-open")}
    nc = await nats.connect(nats_url)
    try:
        assert (await command(nc, "note", "n1", conversation_id=ids["old"], params={"text": "regular, oat milk"})).ok
        assert (await command(nc, "close", "x1", conversation_id=ids["old"])).ok
        assert (await command(nc, "close", "x2", conversation_id=ids["closed-lately"])).ok
    finally:
        await nc.close()
    # Closed 31 days ago, last message in January: due. The one closed just now is not.
    conn = await asyncpg.connect(migrated_url)
    try:
        await conn.execute("UPDATE conversations SET closed_at = now() - interval '31 days' WHERE id = $1", ids["old"])
        assert await wait_for(lambda: count_is(migrated_url, f"SELECT count(*) FROM conversations WHERE id = {ids['old']}", 0))
        assert await conn.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", ids["old"]) == 0
        assert await conn.fetchval("SELECT pentagon_retention_candidates(30, 10)::text") == "[]"
        # By user: conversations opened in one batch by concurrent lanes need not get ids in stream order.
        remaining = await conn.fetch("SELECT user_id, status FROM conversations ORDER BY user_id")
        assert [tuple(r) for r in remaining] == [("closed-lately", "closed"), ("still-open", "active")]
        audit = {r["action"]: r for r in await conn.fetch(
            "SELECT action, actor, params::text, \"before\"::text, \"after\"::text FROM admin_actions "
            "WHERE conversation_id = $1", ids["old"])}
        assert audit["purge"]["actor"] == "system:retention"
        assert set(json.loads(audit["purge"]["after"])) == {"id", "platform", "messages", "closed_at"}  # no customer id
        assert json.loads(audit["purge"]["after"])["messages"] == 2
        # What the rows held goes with them: the note's text, the close's before/after.
        assert json.loads(audit["note"]["params"]) == {} and audit["close"]["after"] is None
        # Picked, then not due any more (a cut-off before its close): the database refuses.
        early = json.loads(await conn.fetchval("SELECT pentagon_command($1::jsonb)::text", json.dumps(
            {"command_id": "early", "action": "purge", "conversation_id": ids["closed-lately"], "actor": "system:retention",
             "params": {"closed_before": "2026-01-01T00:00:00Z"}})))
        assert (early["ok"], early["code"]) == (False, "illegal_transition")
        # An open conversation is never deleted, whatever the cut-off.
        active = json.loads(await conn.fetchval("SELECT pentagon_command($1::jsonb)::text", json.dumps(
            {"command_id": "open", "action": "purge", "conversation_id": ids["still-open"], "actor": "system:retention",
             "params": {"closed_before": "2099-01-01T00:00:00Z"}})))
        assert (active["ok"], active["code"]) == (False, "illegal_transition")
    finally:
        await conn.close()
    gone = [e for s, e in await updates(js) if e.kind == pb.UPDATE_CONVERSATION_DELETED]
    assert [(e.conversation_id, e.key.user_id) for e in gone] == [(ids["old"], "old")]


async def test_retention_shorter_than_the_bus_keeps_events_is_refused() -> None:
    from pydantic import ValidationError

    from pentagon.tracking.settings import Settings

    assert Settings(tracking_retention_days=8).tracking_retention_days == 8
    try:
        Settings(tracking_retention_days=3)
    except ValidationError as exc:
        assert "at least 8" in str(exc)
    else:
        raise AssertionError("a 3-day retention was accepted")


async def test_sessions_drop_a_dead_peer_instead_of_holding_locks(database_url: str) -> None:
    """A killed replica's backend must not keep its row locks for the kernel's 15-minute TCP timeout."""
    from pentagon.tracking.store import PostgresStore

    store = PostgresStore(database_url)
    await store.start()
    try:
        async with store._pool.acquire() as conn:  # noqa: SLF001 - checking the session the pool hands out
            settings = {name: await conn.fetchval(f"SHOW {name}") for name in
                        ("tcp_user_timeout", "idle_in_transaction_session_timeout")}
    finally:
        await store.close()
    assert settings == {"tcp_user_timeout": "10000", "idle_in_transaction_session_timeout": "1min"}


async def test_quiet_conversations_are_closed_unless_someone_waits(start_tracking, js, migrated_url: str) -> None:
    start_tracking(TRACKING_AUTO_CLOSE_HOURS="1", TRACKING_SWEEP_INTERVAL_S="0.2")
    now = (datetime.now(timezone.utc) - BASE).total_seconds()
    await publish_all(js, [
        message_event("q:1", user="quiet"), message_event("r:q:1", user="quiet", sender="bot", reply_to_event_id="q:1", t=1),
        message_event("w:1", user="waiting"),  # as long ago, but the bot handed over: a person must answer
        message_event("r:w:1", user="waiting", sender="bot", reply_to_event_id="w:1", requires_human=True,
                      escalation_reason="human_request", t=1),
        message_event("n:1", user="recent", t=now),
    ])
    status = "SELECT status FROM conversations WHERE user_id = '{}' ORDER BY id DESC LIMIT 1"
    assert await wait_for(lambda: count_is(migrated_url, status.format("quiet"), "closed"))
    assert await mode(js, "messenger", "quiet") == "closed"
    conn = await asyncpg.connect(migrated_url)
    try:
        audit = await conn.fetchrow("SELECT actor, params FROM admin_actions WHERE action = 'close'")
        assert audit["actor"] == "system:auto-close" and "idle_since" in json.loads(audit["params"])
        assert await conn.fetchval(status.format("waiting")) == "human"
        assert await conn.fetchval(status.format("recent")) == "active"
        # Picked as idle, then written in before the close: the database refuses the close.
        recent = await conn.fetchval("SELECT id FROM conversations WHERE user_id = 'recent'")
        late = json.loads(await conn.fetchval("SELECT pentagon_command($1::jsonb)::text", json.dumps(
            {"command_id": "late", "action": "close", "conversation_id": recent, "actor": "system:auto-close",
             "params": {"idle_since": "2026-01-15T10:30:00Z"}})))
        assert late == {"ok": False, "code": "illegal_transition", "message": "the conversation is no longer idle"}
    finally:
        await conn.close()
    # The customer's next message opens a new conversation, which stays open.
    await publish_all(js, [message_event("q:2", user="quiet", t=now)])
    assert await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM conversations WHERE user_id = 'quiet' "
                                                         "AND status = 'active'", 1))
    assert await count(migrated_url, "SELECT count(*) FROM admin_actions WHERE action = 'close'") == 1
