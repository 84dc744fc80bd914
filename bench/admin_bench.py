"""admin-api benchmark: query latency on 100k conversations / 1M messages, and WebSocket fan-out latency.

    .venv/bin/python bench/admin_bench.py [--conversations 100000] [--messages 1000000]
                                          [--clients 1000] [--rate 100] [--seconds 10] [--requests 200]

Starts its own Postgres, nats-server and a real `python -m pentagon.admin` process on free ports, loads the
data with generate_series (no per-row round trips), then prints p50/p95 per query and the p99 push latency
(publish to the UPDATES stream -> frame received by each of the connected clients). Figures are noisy on a
shared machine; targets: p95 < 20 ms per query, p99 push < 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import nats
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services" / "tracking" / "src"))

from pentagon.common.bus import Subjects, ensure_streams  # noqa: E402
from pentagon.common.events import publish, timestamp  # noqa: E402
from pentagon.common.proto import events_pb2 as pb  # noqa: E402
from pentagon.devtools.embedded import ManagedProcess, NatsServer, Postgres, free_port  # noqa: E402
from pentagon.devtools.pytest_plugin import wait_ready  # noqa: E402
from pentagon.tracking.migrate import migrate  # noqa: E402

TOKEN = "bench-" + uuid.uuid4().hex
WORDS = ["coffee", "latte", "croissant", "menu", "open", "hours", "price", "delivery", "cake", "tea", "wifi",
         "parking", "booking", "birthday", "vegan", "refund", "staff", "thanks"]
BURMESE = ["ကော်ဖီ", "ဘယ်လောက်လဲ", "မင်္ဂလာပါ", "ဖွင့်ချိန်", "ကျေးဇူးတင်ပါတယ်", "မီနူး"]
SEARCH_INDEXES = ("messages_content_fts", "messages_content_trgm")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def load(url: str, conversations: int, messages: int) -> None:
    await migrate(url)
    conn = await asyncpg.connect(url)
    try:
        index_defs = {r["indexname"]: r["indexdef"] for r in await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY($1::text[])", list(SEARCH_INDEXES))}
        for name in index_defs:  # building GIN once is much faster than maintaining it row by row
            await conn.execute(f"DROP INDEX {name}")
        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO conversations (user_id, platform, status, priority, bot_paused, assigned_to, created_at, "
            "updated_at, last_message_at, closed_at, pending_human_count) "
            "SELECT 'u' || g, (ARRAY['messenger','web'])[1 + g % 2], "
            "CASE WHEN g % 10 < 6 THEN 'closed' WHEN g % 10 < 8 THEN 'human' ELSE 'active' END, 1 + g % 5, "
            "g % 10 IN (6, 7), CASE WHEN g % 7 = 0 THEN 'staff' || (g % 4) END, "
            "now() - make_interval(secs => (($1 - g) * 26)), now() - make_interval(secs => (($1 - g) * 26)), "
            "now() - make_interval(secs => (($1 - g) * 26)), "
            "CASE WHEN g % 10 < 6 THEN now() - make_interval(secs => (($1 - g) * 26)) END, "
            "CASE WHEN g % 10 IN (6, 7) THEN 1 ELSE 0 END FROM generate_series(1, $1) g", conversations)
        words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS + BURMESE) + "]"
        per = max(1, messages // conversations)
        await conn.execute(
            "INSERT INTO messages (conversation_id, sender_type, content, timestamp, confidence_score, requires_human, "
            "human_replied, event_id) "
            "SELECT 1 + (g / $2), (ARRAY['user','bot','user','bot','human'])[1 + g % 5], "
            f"'message ' || g || ' about ' || ({words})[1 + g % {len(WORDS + BURMESE)}] || ' ' || "
            f"({words})[1 + (g / 7) % {len(WORDS + BURMESE)}], "
            "now() - make_interval(secs => (($1 - g) * 2.6)), CASE WHEN g % 5 IN (1, 3) THEN 0.5 + (g % 50) / 100.0 END, "
            "g % 97 = 0, g % 194 = 0, 'e' || g FROM generate_series(0, $1 - 1) g", messages, per)
        await conn.execute(
            "UPDATE conversations c SET message_count = s.n, user_message_count = s.u, bot_message_count = s.b, "
            "human_message_count = s.h FROM (SELECT conversation_id, count(*) n, count(*) FILTER (WHERE sender_type='user') u, "
            "count(*) FILTER (WHERE sender_type='bot') b, count(*) FILTER (WHERE sender_type='human') h "
            "FROM messages GROUP BY 1) s WHERE s.conversation_id = c.id")
        for definition in index_defs.values():
            await conn.execute(definition)
        await conn.execute("VACUUM ANALYZE conversations")
        await conn.execute("VACUUM ANALYZE messages")
        print(f"loaded {conversations} conversations, {messages} messages in {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()


async def query_latencies(base: str, conversations: int, requests: int) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    rng = random.Random(7)
    cases = {
        "list": lambda: "/admin/conversations?limit=50",
        "list_filtered": lambda: "/admin/conversations?limit=50&platform=web&needs_human=true",
        "detail": lambda: f"/admin/conversations/{rng.randint(1, conversations)}",
        "messages": lambda: f"/admin/conversations/{rng.randint(1, conversations)}/messages?limit=50",
        "search_en": lambda: f"/admin/conversations?limit=50&status=all&q={rng.choice(WORDS)}",
        "search_my": lambda: f"/admin/conversations?limit=50&status=all&q={rng.choice(BURMESE)}",
        "stats": lambda: "/admin/stats",
        "stats_detailed": lambda: "/admin/stats/detailed",
    }
    results: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for name, path in cases.items():
            for _ in range(5):  # warm caches and the connection pool
                await client.get(path())
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                r = await client.get(path())
                timings.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, (name, r.status_code, r.text[:200])
            results[name] = timings
    return results


async def ws_latency(base: str, nats_url: str, clients: int, rate: int, seconds: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    expected = rate * seconds
    done = asyncio.Event()
    received = [0]

    async def client() -> None:
        async with websockets.connect(f"ws://{base}/admin/ws?token={TOKEN}", compression=None,
                                      max_queue=None, open_timeout=60) as ws:
            ready.append(1)
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "message.created":
                    latencies.append(time.time() * 1000 - frame["data"]["sent_ms"])
                    received[0] += 1
                    if frame["data"]["n"] == expected - 1:
                        return

    ready: list[int] = []
    tasks = []
    for i in range(clients):
        tasks.append(asyncio.create_task(client()))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    while len(ready) < clients:
        await asyncio.sleep(0.1)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    interval = 1 / rate
    started = time.perf_counter()
    for n in range(expected):
        row = {"id": n, "n": n, "sent_ms": time.time() * 1000, "content": "bench"}
        event = pb.UpdateEvent(event_id=f"b{n}", occurred_at=timestamp(), kind=pb.UPDATE_MESSAGE_CREATED,
                               conversation_id=1, key=pb.ConversationKey(platform="web", user_id="u1"),
                               row_json=json.dumps(row))
        await publish(js, Subjects.update("message", "web", "u1"), event, f"b{n}")
        delay = started + (n + 1) * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    try:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)
    except asyncio.TimeoutError:
        for t in tasks:
            t.cancel()
    await nc.close()
    return latencies, received[0]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="admin-bench-"))
    work.chmod(0o755)
    pg = Postgres(work / "pg", work / "postgres.log").start()
    ns = NatsServer(work / "nats", work / "nats.log").start()
    admin = None
    try:
        await load(pg.url, args.conversations, args.messages)
        nc = await nats.connect(ns.url)
        await ensure_streams(nc.jetstream())
        await nc.close()
        port = free_port()
        env = {**os.environ, "NATS_URL": ns.url, "DATABASE_URL": pg.url, "ADMIN_TOKENS": f"bench:admin:{TOKEN}",
               "ADMIN_API_ADDR": f"127.0.0.1:{port}", "ADMIN_WS_QUEUE_SIZE": "1024", "LOG_LEVEL": "WARNING"}
        admin = ManagedProcess("admin", [sys.executable, "-m", "pentagon.admin"], work / "admin.log", env=env).start()
        wait_ready(f"http://127.0.0.1:{port}/readyz", admin)
        results = await query_latencies(f"http://127.0.0.1:{port}", args.conversations, args.requests)
        print(f"\n{'query':<16}{'p50 ms':>10}{'p95 ms':>10}  target p95 < 20 ms")
        for name, values in results.items():
            p95 = pct(values, 95)
            print(f"{name:<16}{statistics.median(values):>10.1f}{p95:>10.1f}  {'ok' if p95 < 20 else 'MISSED'}")
        latencies, received = await ws_latency(f"127.0.0.1:{port}", ns.url, args.clients, args.rate, args.seconds)
        expected = args.clients * args.rate * args.seconds
        if latencies:
            print(f"\nwebsocket: {args.clients} clients, {args.rate} updates/s for {args.seconds} s: "
                  f"{received}/{expected} frames received; latency p50 {pct(latencies, 50):.0f} ms, "
                  f"p99 {pct(latencies, 99):.0f} ms (target p99 < 250 ms: "
                  f"{'ok' if pct(latencies, 99) < 250 else 'MISSED'})")
    finally:
        if admin is not None:
            admin.stop()
        ns.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
