import asyncio
import stat
import sys
from pathlib import Path

import asyncpg
import nats

from pentagon.devtools.embedded import NatsServer, Postgres, free_port


async def test_postgres_survives_kill_and_keeps_committed_data(postgres_server: Postgres, database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    await conn.execute("CREATE TABLE t (v int)")
    await conn.execute("INSERT INTO t VALUES (1)")
    await conn.close()
    await asyncio.to_thread(postgres_server.kill)
    await asyncio.to_thread(postgres_server.start)
    conn = await asyncpg.connect(database_url)
    assert await conn.fetchval("SELECT count(*) FROM t") == 1
    await conn.close()


async def test_jetstream_keeps_messages_across_restart(nats_server: NatsServer, nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="T", subjects=["t.>"])
    await js.publish("t.a", b"1")
    await nc.close()
    await asyncio.to_thread(nats_server.restart)
    nc = await nats.connect(nats_url)
    assert (await nc.jetstream().stream_info("T")).state.messages == 1
    await nc.close()


async def test_postgres_takes_server_settings(tmp_path) -> None:
    """bench/stack_profile.py preloads pg_stat_statements this way (a setting only the server start takes)."""
    pg = Postgres(tmp_path / "pg", tmp_path / "pg.log", settings={"shared_preload_libraries": "pg_stat_statements"})
    await asyncio.to_thread(pg.start)
    try:
        conn = await asyncpg.connect(pg.url)
        await conn.execute("CREATE EXTENSION pg_stat_statements")
        assert await conn.fetchval("SHOW shared_preload_libraries") == "pg_stat_statements"
        assert await conn.fetchval("SELECT count(*) >= 0 FROM pg_stat_statements")
        await conn.close()
    finally:
        await asyncio.to_thread(pg.stop)


async def test_postgres_runs_from_a_virtualenv_in_a_private_folder(tmp_path) -> None:
    """CI may clone into `mktemp -d` (0700): as root, Postgres runs as another user, who must reach the binaries."""
    checkout = Path(sys.prefix).parent  # the folder holding .venv
    mode = stat.S_IMODE(checkout.stat().st_mode)
    checkout.chmod(0o700)
    try:
        pg = Postgres(tmp_path / "pg", tmp_path / "pg.log")
        await asyncio.to_thread(pg.start)
        try:
            conn = await asyncpg.connect(pg.url)
            assert await conn.fetchval("SELECT 1") == 1
            await conn.close()
        finally:
            await asyncio.to_thread(pg.stop)
    finally:
        checkout.chmod(mode)


def test_free_port_never_hands_out_a_port_twice() -> None:
    """A stack takes all its addresses before it starts anything: two services given one port
    means one cannot bind (bind(0) on loopback repeats ports well within a few thousand calls)."""
    ports = [free_port() for _ in range(3000)]
    assert len(set(ports)) == len(ports)
