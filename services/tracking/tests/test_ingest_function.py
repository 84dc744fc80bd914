"""The pentagon_ingest SQL function, on real Postgres, through the asyncpg store."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from pentagon.tracking.store import PostgresStore, StoreRejected

from tracking_support import at, conv_event, delivery, msg


def messages_of(result: dict) -> list[dict]:
    return [m for part in result["parts"] for m in part.get("messages", [])]


def conversations_of(result: dict) -> list[dict]:
    return [c for part in result["parts"] for c in part.get("conversations", [])]


async def test_first_message_creates_conversation_with_counters(store: PostgresStore, db: asyncpg.Connection) -> None:
    result = await store.ingest([msg("e1", content="မင်္ဂလာပါ 😀"), msg("e2", sender="bot", content="hello", t=1,
                                                                       reply_to="e1", confidence=0.9)])
    assert result["parts"][0]["inserted"] == 2
    conv = await db.fetchrow("SELECT * FROM conversations")
    assert (conv["status"], conv["message_count"], conv["user_message_count"], conv["bot_message_count"]) == ("active", 2, 1, 1)
    assert conv["last_message_at"].isoformat() == at(1)
    rows = await db.fetch("SELECT content, sender_type, conversation_id FROM messages ORDER BY id")
    assert [r["content"] for r in rows] == ["မင်္ဂလာပါ 😀", "hello"]
    assert {r["conversation_id"] for r in rows} == {conv["id"]}
    [c] = conversations_of(result)
    assert c["mode_changed"] is True


async def test_replay_and_duplicates_change_nothing(store: PostgresStore, db: asyncpg.Connection) -> None:
    batch = [msg("e1"), msg("e1"), msg("e2", pmid="mid.2"), msg("e3", pmid="mid.2")]
    first = await store.ingest(batch)
    assert first["parts"][0]["inserted"] == 2
    again = await store.ingest(batch)
    assert again["parts"][0]["inserted"] == 0
    assert len(messages_of(again)) == 2  # replay reports the stored rows so updates can be republished
    assert await db.fetchval("SELECT count(*) FROM messages") == 2
    assert await db.fetchval("SELECT message_count FROM conversations") == 2


async def test_escalation_flags_user_message_and_human_reply_clears(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("u1m"), msg("b1", sender="bot", reply_to="u1m", requires_human=True, esc_reason="refund", t=1)])
    conv = await db.fetchrow("SELECT * FROM conversations")
    assert (conv["status"], conv["bot_paused"], conv["escalation_reason"], conv["pending_human_count"]) == ("human", True, "refund", 1)
    flagged = await db.fetchrow("SELECT requires_human, human_replied FROM messages WHERE event_id = 'u1m'")
    assert tuple(flagged) == (True, False)
    bot = await db.fetchrow("SELECT requires_human FROM messages WHERE event_id = 'b1'")
    assert bot["requires_human"] is False
    await store.ingest([msg("h1", sender="human", actor="ann:admin", t=2)])
    assert await db.fetchval("SELECT human_replied FROM messages WHERE event_id = 'u1m'") is True
    assert await db.fetchval("SELECT pending_human_count FROM conversations") == 0
    assert await db.fetchval("SELECT waiting_since FROM conversations") is None  # nobody waits any more


async def test_waiting_since_is_the_oldest_unanswered_request(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("u1"), msg("b1", sender="bot", reply_to="u1", requires_human=True, t=1)])
    assert (await db.fetchval("SELECT waiting_since FROM conversations")).isoformat() == at(0)
    # A second request while the first is unanswered: the customer has waited since the first.
    await store.ingest([msg("u2", t=5), msg("b2", sender="bot", reply_to="u2", requires_human=True, t=6)])
    conv = await db.fetchrow("SELECT pending_human_count, waiting_since FROM conversations")
    assert (conv["pending_human_count"], conv["waiting_since"].isoformat()) == (2, at(0))
    await store.ingest([msg("h1", sender="human", actor="ann:admin", t=7)])
    await store.ingest([msg("u3", t=9), msg("b3", sender="bot", reply_to="u3", requires_human=True, t=10)])
    assert (await db.fetchval("SELECT waiting_since FROM conversations")).isoformat() == at(9)  # waiting anew


async def test_human_reply_before_flag_in_same_batch_leaves_it_pending(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("u"), msg("h", sender="human", t=1),
                        msg("u2", t=2), msg("b", sender="bot", reply_to="u2", requires_human=True, t=3)])
    rows = dict(await db.fetch("SELECT event_id, human_replied FROM messages WHERE requires_human"))
    assert rows == {"u2": False}
    assert await db.fetchval("SELECT pending_human_count FROM conversations") == 1


async def test_human_message_moves_active_to_human(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("u"), msg("h", sender="human")])
    assert await db.fetchval("SELECT status FROM conversations") == "human"


async def test_message_after_close_opens_new_conversation(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("a")])
    conv_id = await db.fetchval("SELECT id FROM conversations")
    reply = await store.command({"command_id": "c1", "action": "close", "conversation_id": conv_id, "actor": "ann:admin"})
    assert reply["ok"] and reply["row"]["status"] == "closed"
    await store.ingest([msg("b", t=5), msg("late", sender="bot", reply_to="a", t=6)])
    rows = await db.fetch("SELECT id, status, message_count FROM conversations ORDER BY id")
    assert [(r["status"], r["message_count"]) for r in rows] == [("closed", 2), ("active", 1)]


async def test_delivery_states_never_regress(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("u"), msg("b", sender="bot", reply_to="u", t=1)])
    await store.ingest([delivery("d1", "sent", msg_event_id="b", pmid="mid.b", t=2)])
    assert tuple(await db.fetchrow("SELECT delivery_status, platform_message_id FROM messages WHERE event_id='b'")) == ("sent", "mid.b")
    await store.ingest([delivery("d2", "read", watermark=at(5), t=6)])
    await store.ingest([delivery("d3", "delivered", pmids=["mid.b"], t=7), delivery("d4", "sent", msg_event_id="b", t=8)])
    row = await db.fetchrow("SELECT delivery_status, read_at, delivered_at FROM messages WHERE event_id='b'")
    assert row["delivery_status"] == "read" and row["read_at"] is not None and row["delivered_at"] is not None


async def test_failed_delivery_and_receipt_parked_until_its_message(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("u"), msg("b", sender="bot", reply_to="u")])
    result = await store.ingest([delivery("f", "failed", msg_event_id="b", reason="(#551) unavailable"),
                                 delivery("x", "sent", msg_event_id="not-yet", pmid="m.x", t=3)])
    assert result["parts"][0]["parked"] == 1
    assert tuple(await db.fetchrow("SELECT delivery_status, delivery_error FROM messages WHERE event_id='b'")) == ("failed", "(#551) unavailable")
    assert await db.fetchval("SELECT count(*) FROM pending_deliveries") == 1
    again = await store.ingest([delivery("x", "sent", msg_event_id="not-yet", pmid="m.x", t=3)])  # a replay parks once
    assert again["parts"][0]["parked"] == 0
    later = await store.ingest([msg("not-yet", sender="bot", reply_to="u", t=2)])
    row = await db.fetchrow("SELECT delivery_status, platform_message_id FROM messages WHERE event_id='not-yet'")
    assert tuple(row) == ("sent", "m.x")
    assert await db.fetchval("SELECT count(*) FROM pending_deliveries") == 0
    [update] = [d for part in later["parts"] for d in part["deliveries"]]
    assert (update["cause"], json.loads(update["row_json"])["delivery_status"]) == ("x", "sent")


async def test_watermark_applies_to_message_stored_after_it(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("u")])
    await store.ingest([delivery("rd", "read", watermark=at(10), t=11), delivery("dl", "delivered", watermark=at(20), t=21)])
    await store.ingest([msg("b1", sender="bot", reply_to="u", t=5), msg("b2", sender="bot", t=15),
                        msg("b3", sender="bot", t=25)])
    rows = dict(await db.fetch("SELECT event_id, delivery_status FROM messages WHERE sender_type = 'bot'"))
    assert rows == {"b1": "read", "b2": "delivered", "b3": None}


async def test_sweep_applies_receipt_parked_while_its_message_was_committed(store: PostgresStore, db: asyncpg.Connection) -> None:
    """The race of two workers: the message is committed after the receipt looked for it."""
    await store.ingest([msg("u")])
    await store.ingest([delivery("s", "sent", msg_event_id="b", pmid="mid.b")])
    conv = await db.fetchval("SELECT id FROM conversations")
    await db.execute("INSERT INTO messages (conversation_id, sender_type, \"timestamp\", event_id) VALUES ($1, 'bot', now(), 'b')", conv)
    swept = await store.sweep()
    assert [d["cause"] for part in swept["parts"] for d in part["deliveries"]] == ["s"]
    assert await db.fetchval("SELECT delivery_status FROM messages WHERE event_id = 'b'") == "sent"
    assert (await store.sweep())["parts"] == []


async def test_outbox_row_per_batch_replayed_from_current_rows(store: PostgresStore, db: asyncpg.Connection) -> None:
    first = await store.ingest([msg("u"), msg("b", sender="bot", reply_to="u", requires_human=True, t=1)])
    second = await store.ingest([msg("h", sender="human", t=2), delivery("s", "sent", msg_event_id="b", t=3)])
    assert first["outbox"] and second["outbox"] and await db.fetchval("SELECT count(*) FROM update_outbox") == 2
    await store.outbox_done([first["outbox"]])
    [row] = await store.outbox_replay(0, 10)
    assert row["outbox"] == second["outbox"]
    [part] = row["parts"]
    assert [m["cause"] for m in part["changed_messages"]] == ["h"]  # the flag answered by the human
    assert [d["cause"] for d in part["deliveries"]] == ["s"]
    assert {m["id"] for m in part["messages"]} == {m["id"] for m in second["parts"][0]["messages"]}
    assert [c["mode_changed"] for c in part["conversations"]] == [True]
    assert await store.outbox_replay(3600, 10) == []
    await store.outbox_done([second["outbox"]])
    assert await db.fetchval("SELECT count(*) FROM update_outbox") == 0


async def test_escalate_event_and_replay(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("u"), conv_event("esc1", "escalate", reason="angry")])
    assert tuple(await db.fetchrow("SELECT status, escalation_reason FROM conversations")) == ("human", "angry")
    conv_id = await db.fetchval("SELECT id FROM conversations")
    await store.command({"command_id": "hb", "action": "handback", "conversation_id": conv_id})
    await store.ingest([conv_event("esc1", "escalate", reason="angry")])
    assert await db.fetchval("SELECT status FROM conversations") == "active"


async def test_delete_user_in_the_middle_of_a_batch(store: PostgresStore, db: asyncpg.Connection) -> None:
    result = await store.ingest([msg("a"), msg("b", user="u2"), conv_event("del", "delete_user"), msg("c", t=3)])
    kinds = [next(iter(k for k in p if k in ("deleted", "inserted"))) for p in result["parts"]]
    assert kinds == ["inserted", "deleted", "inserted"]
    rows = await db.fetch("SELECT m.event_id, c.user_id FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id")
    assert [(r["event_id"], r["user_id"]) for r in rows] == [("b", "u2"), ("c", "u1")]
    again = await store.ingest([conv_event("del", "delete_user")])
    assert await db.fetchval("SELECT count(*) FROM messages") == 2
    assert all("deleted" not in p for p in again["parts"])


async def test_metadata_merged_into_conversation(store: PostgresStore, db: asyncpg.Connection) -> None:
    await store.ingest([msg("a", metadata={"conversation": {"locale": "my", "name": "A"}}, conv_meta={"locale": "my", "name": "A"})])
    await store.ingest([msg("b", conv_meta={"name": "B"})])
    assert await db.fetchval("SELECT (metadata->>'locale') || (metadata->>'name') FROM conversations") == "myB"


async def test_hostile_strings_stored_verbatim(store: PostgresStore, db: asyncpg.Connection) -> None:
    evil = "'; DROP TABLE messages; -- \\u0000 $1 %s {{}} <script>"
    await store.ingest([msg("e'1", content=evil, user="x'); DELETE FROM conversations; --")])
    assert await db.fetchval("SELECT content FROM messages") == evil


async def test_bad_data_is_rejected_not_retried(store: PostgresStore) -> None:
    with pytest.raises(StoreRejected):
        await store.ingest([msg("a", ts="not a time")])


async def test_concurrent_batches_on_same_conversation_keep_exact_counters(store: PostgresStore, db: asyncpg.Connection) -> None:
    batches = [[msg(f"e{b}-{i}", user=f"u{i % 7}", t=i) for i in range(200)] for b in range(6)]
    overlap = [m for batch in batches[:3] for m in batch[:50]]  # the same events from two "replicas"
    await asyncio.gather(*(store.ingest(b) for b in batches), store.ingest(overlap), return_exceptions=False)
    assert await db.fetchval("SELECT count(*) FROM messages") == 1200
    bad = await db.fetchval("SELECT count(*) FROM conversations c WHERE message_count <> "
                            "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)")
    assert bad == 0
    assert await db.fetchval("SELECT count(*) FROM conversations") == 7


async def test_a_rating_joins_the_closed_conversation_it_answers_and_rates_no_one_elses(
        store: PostgresStore, db: asyncpg.Connection) -> None:
    """Staff closed it, the question went out (system, after the close), the customer taps a score:
    filed under the closed conversation with the thank-you in the same batch, no new conversation opened.
    A payload naming someone else's question opens the tapper's own conversation and rates nothing."""
    await store.ingest([msg("a"), msg("h", sender="human", actor="ann:admin", t=1)])
    conv_id = await db.fetchval("SELECT id FROM conversations")
    reply = await store.command({"command_id": "c1", "action": "close", "conversation_id": conv_id, "actor": "ann:admin"})
    assert reply["ok"]
    question = f"rate:{conv_id}"
    await store.ingest([msg(question, sender="system", content="How did we do?", reply_to="h", t=2)])
    rated = {"rating": 4, "conversation": {"rating": {"score": 4, "rated_at": at(3)}}}
    result = await store.ingest([
        msg("tap", content="🙂 Good", kind="rating", reply_to=question, t=3, metadata=rated,
            conv_meta=rated["conversation"]),
        msg("thanks", sender="bot", content="Thank you", reply_to="tap", t=4)])
    assert result["parts"][0]["inserted"] == 2
    rows = await db.fetch("SELECT id, status, message_count, user_message_count, metadata FROM conversations")
    assert len(rows) == 1 and rows[0]["status"] == "closed"
    assert (rows[0]["message_count"], rows[0]["user_message_count"]) == (5, 2)
    assert json.loads(rows[0]["metadata"])["rating"] == {"score": 4, "rated_at": at(3)}
    assert {r["conversation_id"] for r in await db.fetch("SELECT conversation_id FROM messages")} == {conv_id}

    # Another customer replays the payload: it stays theirs, in a conversation of their own.
    forged = {"rating": 1, "conversation": {"rating": {"score": 1, "rated_at": at(5)}}}
    await store.ingest([msg("forged", user="mallory", kind="rating", reply_to=question, t=5, metadata=forged,
                            conv_meta=forged["conversation"])])
    ann = json.loads(await db.fetchval("SELECT metadata FROM conversations WHERE id = $1", conv_id))
    assert ann["rating"]["score"] == 4
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE user_id = 'mallory' AND status = 'active'") == 1
