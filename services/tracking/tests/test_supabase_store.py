"""The Supabase REST store: the real supabase client against a PostgREST-speaking loopback, real Postgres behind."""

from __future__ import annotations

import json

import pytest

from pentagon.devtools.embedded import free_port
from pentagon.tracking.store import StoreRejected, StoreUnavailable
from pentagon.tracking.supabase_store import SupabaseStore

from postgrest_loopback import LoopbackPostgrest
from tracking_support import count, count_is, delivery, message_event, msg, publish_all, wait_for

# Shaped like a Supabase service-role JWT; signs nothing here.
KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"


@pytest.fixture
def postgrest(migrated_url: str):
    with LoopbackPostgrest(migrated_url, KEY, free_port()) as server:
        yield server


async def test_ingest_and_command_through_rpc(postgrest: LoopbackPostgrest, migrated_url: str) -> None:
    store = SupabaseStore(postgrest.url, KEY)
    try:
        batch = [msg("s1", content="မင်္ဂလာပါ"), msg("s2", sender="bot", reply_to="s1", t=1)]
        result = await store.ingest(batch)
        assert result["parts"][0]["inserted"] == 2
        assert (await store.ingest(batch))["parts"][0]["inserted"] == 0
        conv = await count(migrated_url, "SELECT id FROM conversations")
        reply = await store.command({"command_id": "k1", "action": "takeover", "conversation_id": conv, "actor": "a"})
        assert reply["ok"] and reply["row"]["status"] == "human"
        assert await store.ping()
    finally:
        await store.close()
    assert await count(migrated_url, "SELECT count(*) FROM messages") == 2
    assert postgrest.calls >= 4


async def test_sweep_and_outbox_through_rpc(postgrest: LoopbackPostgrest, migrated_url: str) -> None:
    store = SupabaseStore(postgrest.url, KEY)
    try:
        first = await store.ingest([delivery("d1", "sent", msg_event_id="later", pmid="mid.later")])
        assert first["parts"][0]["parked"] == 1
        second = await store.ingest([msg("u"), msg("later", sender="bot", reply_to="u", t=1)])
        assert [d["cause"] for d in second["parts"][0]["deliveries"]] == ["d1"]
        assert (await store.sweep())["parts"] == []
        replay = await store.outbox_replay(0, 10)
        assert [row["outbox"] for row in replay] == [first["outbox"], second["outbox"]]
        await store.outbox_done([row["outbox"] for row in replay])
        assert await store.outbox_replay(0, 10) == []
        assert await store.prune(8) == 0  # the hourly processed_events pruning, same function as on asyncpg
    finally:
        await store.close()
    assert await count(migrated_url, "SELECT count(*) FROM update_outbox") == 0


async def test_errors_are_classified(postgrest: LoopbackPostgrest) -> None:
    store = SupabaseStore(postgrest.url, KEY)
    wrong_key = SupabaseStore(postgrest.url, KEY + "x")
    nobody = SupabaseStore(f"http://127.0.0.1:{free_port()}", KEY)
    try:
        with pytest.raises(StoreRejected):
            await store.ingest([msg("bad", ts="yesterday-ish")])
        with pytest.raises(StoreUnavailable):
            await wrong_key.ingest([msg("a")])
        with pytest.raises(StoreUnavailable):
            await nobody.ingest([msg("a")])
        assert not await nobody.ping()
    finally:
        for s in (store, wrong_key, nobody):
            await s.close()


@pytest.mark.slow
async def test_tracking_process_on_the_supabase_store(postgrest: LoopbackPostgrest, start_tracking, js, migrated_url: str) -> None:
    proc, _ = start_tracking(DATABASE_URL="", TRACKING_STORE="supabase", SUPABASE_URL=postgrest.url, SUPABASE_SERVICE_ROLE_KEY=KEY)
    await publish_all(js, [message_event(f"w{i}", user=f"web{i % 4}", platform="web", t=i) for i in range(300)])
    await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM messages", 300))
    assert await count(migrated_url, "SELECT sum(message_count) FROM conversations WHERE platform = 'web'") == 300
    log = proc.log_path.read_text()
    assert KEY not in log and "web0" not in log  # no secrets, no user ids in the logs
    assert all(json.loads(line) for line in log.splitlines() if line.strip())
