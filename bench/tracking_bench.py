"""Tracking throughput: events/s persisted by the real tracking process vs a seed-style baseline.

    .venv/bin/python bench/tracking_bench.py [--events 50000] [--users 1000] [--extra-sql FILE]

Starts its own nats-server and Postgres (pentagon.devtools.embedded), preloads N
message events into JetStream, starts `python -m pentagon.tracking` and measures
how fast rows land in Postgres (first row to last row). Then, on the same
Postgres, the baseline does what the original integration did per message: find
the conversation, create it if missing, insert the message, update the
conversation, each its own round trip. Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import httpx
import nats
import psutil

from pentagon.common.bus import Subjects, ensure_streams
from pentagon.common.events import timestamp
from pentagon.common.proto import events_pb2 as pb
from pentagon.devtools.embedded import NatsServer, Postgres, free_port
from pentagon.devtools.metrics import sample_sum
from pentagon.tracking.migrate import migrate

BASE = datetime(2026, 1, 15, tzinfo=timezone.utc)


def events(n: int, users: int) -> list[tuple[str, bytes, str]]:
    """A user message then the bot's reply, round-robin over users: (subject, bytes, event id)."""
    out = []
    for i in range(n):
        user = f"user{(i // 2) % users}"
        key = pb.ConversationKey(platform="messenger", user_id=user)
        when = timestamp(BASE + timedelta(milliseconds=i))
        if i % 2 == 0:
            event = pb.MessageEvent(event_id=f"m:{i}", occurred_at=when, key=key, sender=pb.SENDER_USER,
                                    content=f"Do you have iced latte? {i} မင်္ဂလာပါ", platform_message_id=f"mid.{i}",
                                    kind="text")
            subject = Subjects.incoming("messenger", user)
        else:
            event = pb.MessageEvent(event_id=f"r:m:{i - 1}", occurred_at=when, key=key, sender=pb.SENDER_BOT,
                                    content="Yes! Iced latte is 4,500 Ks.", confidence=0.92, reply_to_event_id=f"m:{i - 1}",
                                    metadata_json='{"intent":"menu","model":"gpt-4o-mini","latency_ms":420}', kind="text")
            subject = Subjects.outgoing("messenger", user)
        out.append((subject, event.SerializeToString(), event.event_id))
    return out


async def preload(url: str, items: list[tuple[str, bytes, str]]) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=10_000)
    await ensure_streams(js)
    started = time.perf_counter()
    pending = []
    for subject, data, event_id in items:
        pending.append(await js.publish_async(subject, data, headers={"Nats-Msg-Id": event_id}))
        if len(pending) >= 5000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - started
    await nc.close()
    return elapsed


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their children (Postgres backends are the postmaster's)."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for p in [root, *root.children(recursive=True)]:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
    return total


def run_in_workdir(run: Callable[[Path], Awaitable[None]], prefix: str) -> None:
    """asyncio.run(run(workdir)) in a fresh temporary directory, removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    workdir.chmod(0o755)
    try:
        asyncio.run(run(workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def apply_extra_sql(url: str, file: str) -> None:
    """--extra-sql: a schema or function change tried on the bench database before it is committed."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(Path(file).read_text())
    finally:
        await conn.close()


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


async def persisted(client: httpx.AsyncClient) -> int:
    """tracking_events_persisted_total, 0 while tracking is not listening yet."""
    try:
        text = (await client.get("/metrics")).text
    except httpx.TransportError:
        return 0
    return int(sample_sum(text, "tracking_events_persisted_total") or 0)


async def measure_tracking(db_url: str, nats_url: str, n: int, args: argparse.Namespace, log: Path,
                           infra_pids: dict[str, int] | None = None) -> float:
    port = free_port()
    env = {**os.environ, "NATS_URL": nats_url, "DATABASE_URL": db_url, "TRACKING_ADDR": f"127.0.0.1:{port}",
           "TRACKING_BATCH_SIZE": str(args.batch_size), "TRACKING_WORKERS": str(args.workers), "LOG_LEVEL": "WARNING"}
    with open(log, "ab") as out:
        # BENCH_PROFILE=<file> runs tracking under cProfile, to see where its time goes.
        profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
        proc = subprocess.Popen([sys.executable, *profile, "-m", "pentagon.tracking"], env=env, stdout=out, stderr=subprocess.STDOUT)
    conn = await asyncpg.connect(db_url)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
    try:
        first_count, first_t = 0, None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            # Progress from tracking's own counter (incremented after each commit): a count(*)
            # over the growing table 20 times a second cost Postgres more than the inserts did.
            stored = await persisted(client)
            now = time.perf_counter()
            if first_t is None and stored > 0:
                first_count, first_t = stored, now
                cpu_start = {name: cpu_seconds([pid]) for name, pid in {"tracking": proc.pid, **(infra_pids or {})}.items()}
            if stored >= n:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"tracking exited; see {log}")
            await asyncio.sleep(0.05)
        else:
            raise TimeoutError("tracking did not persist everything")
        assert first_t is not None
        rate = (n - first_count) / (now - first_t)
        # The machine is shared: CPU per event is the figure that other load does not distort.
        cpu = {name: cpu_seconds([pid]) - cpu_start[name] for name, pid in {"tracking": proc.pid, **(infra_pids or {})}.items()}
        per_event = {name: secs / (n - first_count) * 1e6 for name, secs in cpu.items()}
        total_us = sum(per_event.values())
        print("  cpu per event: " + ", ".join(f"{name} {us:.0f} us" for name, us in per_event.items())
              + f"; total {total_us:.0f} us -> {2e6 / total_us:,.0f} events/s if 2 cores were ours alone")
        assert await conn.fetchval("SELECT count(*) FROM messages") == n
        metrics = (await client.get("/metrics")).text
        batches = sample_sum(metrics, "tracking_batches_total")
        print(f"  tracking: batches committed {batches if batches is None else int(batches)}")
        return rate
    finally:
        await client.aclose()
        await conn.close()
        proc.send_signal(signal.SIGINT if os.environ.get("BENCH_PROFILE") else signal.SIGTERM)
        proc.wait(60)


async def baseline(db_url: str, items: list[tuple[str, bytes, str]]) -> float:
    """Per message, as the original integration did: 3-4 statements, each its own round trip and commit."""
    conn = await asyncpg.connect(db_url)
    try:
        started = time.perf_counter()
        for subject, data, _ in items:
            event = pb.MessageEvent()
            event.ParseFromString(data)
            conv = await conn.fetchval(
                "SELECT id FROM conversations WHERE platform = $1 AND user_id = $2 AND status <> 'closed'",
                event.key.platform, event.key.user_id)
            if conv is None:
                conv = await conn.fetchval("INSERT INTO conversations (platform, user_id) VALUES ($1, $2) RETURNING id",
                                           event.key.platform, event.key.user_id)
            sender = "user" if event.sender == pb.SENDER_USER else "bot"
            await conn.execute(
                "INSERT INTO messages (conversation_id, sender_type, content, \"timestamp\", confidence_score, metadata,"
                " event_id, platform_message_id) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)",
                conv, sender, event.content, event.occurred_at.ToDatetime(tzinfo=timezone.utc),
                event.confidence if event.HasField("confidence") else None, event.metadata_json or "{}",
                event.event_id, event.platform_message_id or None)
            await conn.execute("UPDATE conversations SET last_message_at = now(), updated_at = now(),"
                               " message_count = message_count + 1 WHERE id = $1", conv)
        return len(items) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def run(args: argparse.Namespace, workdir: Path) -> None:
    nats_server = NatsServer(workdir / "nats", workdir / "logs" / "nats.log").start()
    pg = Postgres(workdir / "pg", workdir / "logs" / "postgres.log").start()
    try:
        db_url = pg.create_database("bench")
        base_url = pg.create_database("baseline")
        await migrate(db_url)
        await migrate(base_url)
        if args.extra_sql:
            for url in (db_url, base_url):
                await apply_extra_sql(url, args.extra_sql)
            print("applied --extra-sql to both databases (not a migration: try a schema change before it is one)")
        items = events(args.events, args.users)
        publish_s = await preload(nats_server.url, items)
        print(f"preloaded {args.events} events into JetStream in {publish_s:.1f}s")
        infra = {"postgres": postmaster_pid(workdir / "pg"), "nats": nats_server.process.pid}
        rate = await measure_tracking(db_url, nats_server.url, args.events, args, workdir / "logs" / "tracking.log", infra)
        print(f"tracking:  {rate:,.0f} events/s persisted (batch {args.batch_size}, workers {args.workers}, "
              f"{args.users} users, updates published, synchronous_commit on)")
        base_rate = await baseline(base_url, events(args.baseline_events, args.users))
        print(f"baseline:  {base_rate:,.0f} events/s (seed-style, one round trip per statement, {args.baseline_events} events)")
        print(f"ratio:     {rate / base_rate:.1f}x  (targets: >= 20,000 events/s and >= 25x)")
    finally:
        pg.stop()
        nats_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--baseline-events", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=int(os.environ.get("TRACKING_BATCH_SIZE", 2000)))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("TRACKING_WORKERS", 2)))
    parser.add_argument("--extra-sql", metavar="FILE", help="SQL run on both databases after the migrations")
    args = parser.parse_args()
    run_in_workdir(lambda workdir: run(args, workdir), "pentagon-bench-")


if __name__ == "__main__":
    main()
