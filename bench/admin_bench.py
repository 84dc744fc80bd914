"""admin-api benchmark: query latency on 100k conversations / 1M messages, and WebSocket fan-out latency.

    .venv/bin/python bench/admin_bench.py [--conversations 100000] [--messages 1000000]
                                          [--clients 1000] [--rate 100] [--seconds 10] [--requests 200]
                                          [--ws-modes plain,batch] [--extra-sql FILE]
    # quick run (~1 min): --conversations 2000 --messages 20000 --requests 20 --clients 200
    # queries only: --clients 0

Starts its own Postgres, nats-server and a real `python -m pentagon.admin` process on free ports, loads the
data with generate_series (no per-row round trips), then prints p50/p95 per query and the p99 push latency
(publish to the UPDATES stream -> receipt of the WebSocket message carrying it, for every update on each
connected client). Nothing is served from a cache: ADMIN_STATS_CACHE_SECONDS=0 and every detailed-stats
request asks for a different window (the last 24 h, 7 days or 30 days, as the panel offers them). The WebSocket run is done twice by default: "plain" (one message
per frame, what clients that do not ask for batches get) and "batch" (?batch=1, as the panel connects).
Figures are noisy on a shared machine; targets: p95 < 20 ms per query, p99 push < 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import nats
import orjson

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


LABELS = ["order", "reservation", "ဘောက်ချာ"]

def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def load(url: str, conversations: int, messages: int, extra_sql: str | None = None) -> None:
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
        # Staff label some conversations (1 in 20, 1 in 50, 1 in 33 in Burmese), as a busy cafe might.
        await conn.execute(
            "UPDATE conversations SET labels = ARRAY_REMOVE(ARRAY[CASE WHEN id % 20 = 0 THEN 'order' END, "
            "CASE WHEN id % 50 = 0 THEN 'reservation' END, CASE WHEN id % 33 = 0 THEN 'ဘောက်ချာ' END], NULL) "
            "WHERE id % 20 = 0 OR id % 50 = 0 OR id % 33 = 0")
        # Customers rated 1 in 4 closed conversations ("How did we do?"), scores 1-5 evenly.
        await conn.execute(
            "UPDATE conversations SET metadata = jsonb_build_object('rating', jsonb_build_object('score', 1 + id % 5, "
            "'rated_at', to_char(last_message_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))) "
            "WHERE status = 'closed' AND id % 4 = 0")
        words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS + BURMESE) + "]"
        per = max(1, messages // conversations)
        await conn.execute(
            "INSERT INTO messages (conversation_id, sender_type, content, timestamp, confidence_score, requires_human, "
            "human_replied, escalation_reason, event_id, actor) "
            "SELECT 1 + (g / $2), (ARRAY['user','bot','user','bot','human'])[1 + g % 5], "
            f"'message ' || g || ' about ' || ({words})[1 + g % {len(WORDS + BURMESE)}] || ' ' || "
            f"({words})[1 + (g / 7) % {len(WORDS + BURMESE)}], "
            "now() - make_interval(secs => (($1 - g) * 2.6)), CASE WHEN g % 5 IN (1, 3) THEN 0.5 + (g % 50) / 100.0 END, "
            "g % 97 = 0, g % 194 = 0, CASE WHEN g % 97 = 0 AND g % 5 IN (0, 2) THEN 'low_confidence' END, "
            "'e' || g, CASE WHEN g % 5 = 4 THEN 'staff' || (g % 4) || ':admin' END "
            "FROM generate_series(0, $1 - 1) g", messages, per)
        # What staff did to them, as the audit log records it: a takeover of every conversation a
        # person holds, a close of every closed one (1 in 3 by the clock), a note on 1 in 25.
        await conn.execute(
            "INSERT INTO admin_actions (actor, action, conversation_id, created_at) "
            "SELECT CASE WHEN a = 'close' AND id % 3 = 0 THEN 'system:auto-close' ELSE 'staff' || (id % 4) || ':admin' END, "
            "a, id, last_message_at FROM conversations CROSS JOIN LATERAL (VALUES (CASE status WHEN 'human' THEN "
            "'takeover' WHEN 'closed' THEN 'close' END), (CASE WHEN id % 25 = 0 THEN 'note' END)) v(a) WHERE a IS NOT NULL")
        await conn.execute(
            "UPDATE conversations c SET message_count = s.n, user_message_count = s.u, bot_message_count = s.b, "
            "human_message_count = s.h FROM (SELECT conversation_id, count(*) n, count(*) FILTER (WHERE sender_type='user') u, "
            "count(*) FILTER (WHERE sender_type='bot') b, count(*) FILTER (WHERE sender_type='human') h "
            "FROM messages GROUP BY 1) s WHERE s.conversation_id = c.id")
        for definition in index_defs.values():
            await conn.execute(definition)
        if extra_sql:
            await conn.execute(extra_sql)
            print("applied --extra-sql (not a migration: this run's schema is tracking's migrations plus it)")
        await conn.execute("VACUUM ANALYZE conversations")
        await conn.execute("VACUUM ANALYZE messages")
        await conn.execute("VACUUM ANALYZE admin_actions")
        print(f"loaded {conversations} conversations, {messages} messages in {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()


def detailed_stats_path(rng: random.Random, hours: int) -> str:
    """The last ``hours`` as the panel asks for them, ending at a random moment of the last hour.

    No two requests ask for the same window (admin-api caches none of them). Windows far in the past
    are not what staff look at, and "conversations active in the range" (last_message_at >= since)
    then matches every later conversation too.
    """
    until = time.time() - rng.uniform(0, 3600)
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1e6) % 1_000_000:06d}Z"  # noqa: E731
    return f"/admin/stats/detailed?since={iso(until - hours * 3600)}&until={iso(until)}"


async def query_latencies(base: str, conversations: int, requests: int) -> dict[str, tuple[list[float], bool]]:
    """name -> (timings in ms, subject to the 20 ms target)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    rng = random.Random(7)
    cases = {
        "list": lambda: "/admin/conversations?limit=50",
        "list_filtered": lambda: "/admin/conversations?limit=50&platform=web&needs_human=true",
        "detail": lambda: f"/admin/conversations/{rng.randint(1, conversations)}",
        "messages": lambda: f"/admin/conversations/{rng.randint(1, conversations)}/messages?limit=50",
        "list_label": lambda: f"/admin/conversations?limit=50&status=all&label={rng.choice(LABELS)}",
        "labels_in_use": lambda: "/admin/labels",
        # The customers who rated 1-2, to follow up (1 in 4 closed conversations rated, 2 in 5 of those).
        "list_unhappy": lambda: "/admin/conversations?limit=50&status=all&max_rating=2",
        "search_en": lambda: f"/admin/conversations?limit=50&status=all&q={rng.choice(WORDS)}",
        "search_my": lambda: f"/admin/conversations?limit=50&status=all&q={rng.choice(BURMESE)}",
        "stats": lambda: "/admin/stats",  # ADMIN_STATS_CACHE_SECONDS=0: every request runs the query
        "stats_detailed": lambda: detailed_stats_path(rng, 24),  # the panel's default range
        # The statistics view's "questions the bot could not answer", over its widest range.
        "unanswered_30d": lambda: detailed_stats_path(rng, 24 * 30).replace("/detailed?", "/unanswered?"),
        "staff_24h": lambda: detailed_stats_path(rng, 24).replace("/detailed?", "/staff?"),  # the Team table
    }
    # The panel's other two ranges, measured too (fewer samples: they read 7 and 30 times more rows).
    extra = {
        "stats_det_7d": lambda: detailed_stats_path(rng, 24 * 7),
        "stats_det_30d": lambda: detailed_stats_path(rng, 24 * 30),
        "staff_7d": lambda: detailed_stats_path(rng, 24 * 7).replace("/detailed?", "/staff?"),
        "staff_30d": lambda: detailed_stats_path(rng, 24 * 30).replace("/detailed?", "/staff?"),
    }
    results: dict[str, tuple[list[float], bool]] = {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for name, path in [*cases.items(), *extra.items()]:
            for _ in range(5):  # warm caches and the connection pool
                await client.get(path())
            timings = []
            for _ in range(requests if name in cases else max(5, requests // 10)):
                started = time.perf_counter()
                r = await client.get(path())
                timings.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, (name, r.status_code, r.text[:200])
            results[name] = (timings, name in cases)
    return results


@dataclass
class WsResult:
    mode: str
    latencies: array         # ms (doubles), one per update frame per client
    updates: int             # update frames received (inside batches or alone)
    messages: int            # WebSocket messages carrying them
    cut_off: int             # clients closed by the server before the end
    server_cpu_s: float
    client_cpu_s: float
    seconds: float


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WsClient(asyncio.Protocol):
    """A minimal RFC 6455 client: one asyncio.Protocol per socket, no task or future per message.

    1,000 sockets share one Python process with the publisher, on the same 2 cores as the server.
    With a task-per-socket client (websockets, aiohttp) a message was timestamped only when its task
    got scheduled, behind up to 1,000 others: that queue in the bench process was a large part of
    the measured latency (plain run, same server: p99 643 ms with aiohttp, 215 ms with this). Here a
    message is timestamped when its last byte reaches the process, as in a browser tab, and costs
    ~6 us of CPU instead of 7.5-9 us. Handles what the server sends: text frames (fragmented or not),
    ping (answered with a masked pong), close.
    """

    def __init__(self, host: str, path: str, on_text: Callable[[bytes, float], None]) -> None:
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                        f"Authorization: Bearer {TOKEN}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        self.on_text = on_text
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        received_ms = time.time() * 1000
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
            del self.buffer[:end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                self.transport.close()
                return
            self.upgraded = True
            self.opened.set_result(None)
        self.parse(received_ms)

    def parse(self, received_ms: float) -> None:
        buf = self.buffer
        at = 0
        while len(buf) - at >= 2:
            head, size = buf[at], buf[at + 1] & 0x7F
            start = at + 2
            if size == 126:
                if len(buf) - at < 4:
                    break
                size, start = int.from_bytes(buf[at + 2:at + 4], "big"), at + 4
            elif size == 127:
                if len(buf) - at < 10:
                    break
                size, start = int.from_bytes(buf[at + 2:at + 10], "big"), at + 10
            if len(buf) - start < size:
                break
            payload = bytes(buf[start:start + size])
            at = start + size
            self.frame(head & 0x80, head & 0x0F, payload, received_ms)
        del buf[:at]

    def frame(self, fin: int, opcode: int, payload: bytes, received_ms: float) -> None:
        if opcode in (0x1, 0x0):
            self.fragments.append(payload)
            if fin:
                message = b"".join(self.fragments)
                self.fragments = []
                self.on_text(message, received_ms)
        elif opcode == 0x9:
            self.send(0xA, payload)
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            if not self.closed.done():
                self.closed.set_result(code)
            self.send(0x8, payload[:2])
            self.transport.close()

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.send(0x8, (1000).to_bytes(2, "big"))
            self.transport.close()


async def ws_latency(base: str, nats_url: str, clients: int, rate: int, seconds: int, batch: bool,
                     server_pid: int) -> WsResult:
    """Latency of an update = receipt of the WebSocket message that carries it - its publish time."""
    latencies = array("d")  # not a list of floats: the collector would walk a million entries
    expected = rate * seconds
    counts = {"updates": 0, "messages": 0, "finished": 0}
    finished = asyncio.Event()
    host, port = base.rsplit(":", 1)
    path = "/admin/ws" + ("?batch=1" if batch else "")

    def on_text(message: bytes, received_ms: float) -> None:
        counts["messages"] += 1
        frame = orjson.loads(message)
        for inner in frame["frames"] if frame.get("type") == "batch" else (frame,):
            if inner.get("type") != "message.created":
                continue
            data = inner["data"]
            latencies.append(received_ms - data["sent_ms"])
            counts["updates"] += 1
            if data["n"] == expected - 1:
                counts["finished"] += 1
                if counts["finished"] == clients:
                    finished.set()

    loop = asyncio.get_running_loop()
    sockets: list[WsClient] = []
    for i in range(clients):
        _, proto = await loop.create_connection(lambda: WsClient(base, path, on_text), host, int(port))
        sockets.append(proto)
        if i % 50 == 49:
            await asyncio.gather(*(s.opened for s in sockets[-50:]))
    await asyncio.gather(*(s.opened for s in sockets))
    # The client's own garbage-collector pauses would show up as push latency: set up objects are
    # frozen and young collections made rarer, as a server process does (pentagon.admin.__main__).
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(20_000, 20, 10)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    interval = 1 / rate
    cpu_server, cpu_client = cpu_seconds(server_pid), time.process_time()
    run = uuid.uuid4().hex[:8]  # event ids are deduplicated by the stream: unique per run
    started = time.perf_counter()
    for n in range(expected):
        row = {"id": n, "n": n, "sent_ms": time.time() * 1000, "content": "bench"}
        event = pb.UpdateEvent(event_id=f"b{run}-{n}", occurred_at=timestamp(), kind=pb.UPDATE_MESSAGE_CREATED,
                               conversation_id=1, key=pb.ConversationKey(platform="web", user_id="u1"),
                               row_json=json.dumps(row))
        await publish(js, Subjects.update("message", "web", "u1"), event, event.event_id)
        delay = started + (n + 1) * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    try:
        await asyncio.wait_for(finished.wait(), timeout=60)
    except asyncio.TimeoutError:
        pass
    elapsed = time.perf_counter() - started
    result = WsResult("batch" if batch else "plain", latencies, counts["updates"], counts["messages"],
                      sum(1 for s in sockets if s.closed.done()), cpu_seconds(server_pid) - cpu_server,
                      time.process_time() - cpu_client, elapsed)
    for s in sockets:
        s.close()
    await nc.close()
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    return result


def print_ws(r: WsResult, clients: int, rate: int, seconds: int) -> None:
    expected = clients * rate * seconds
    if not r.latencies:
        print(f"\nwebsocket ({r.mode}): no update frame received")
        return
    p99 = pct(r.latencies, 99)
    print(f"\nwebsocket ({r.mode}{', ?batch=1' if r.mode == 'batch' else ''}): {clients} clients, {rate} updates/s "
          f"for {seconds} s: {r.updates}/{expected} update frames received in {r.messages} WebSocket messages "
          f"({r.updates / max(1, r.messages):.1f} per message), {r.cut_off} clients cut off")
    print(f"  latency p50 {pct(r.latencies, 50):.0f} ms, p99 {p99:.0f} ms, max {max(r.latencies):.0f} ms "
          f"(target p99 < 250 ms: {'ok' if p99 < 250 and r.updates == expected else 'MISSED'}); "
          f"CPU over {r.seconds:.1f} s: admin-api {r.server_cpu_s / r.seconds:.0%} of a core, "
          f"bench client {r.client_cpu_s / r.seconds:.0%}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--ws-modes", default="plain,batch",
                        help="WebSocket runs, in order: plain (one message per frame, what clients get "
                             "without ?batch=1) and/or batch (?batch=1, what the panel asks for)")
    parser.add_argument("--extra-sql", metavar="FILE",
                        help="SQL run after loading, before measuring: try an index before it is a migration")
    args = parser.parse_args()
    if not set(args.ws_modes.split(",")) <= {"plain", "batch"}:
        parser.error("--ws-modes takes plain, batch or plain,batch")

    work = Path(tempfile.mkdtemp(prefix="admin-bench-"))
    work.chmod(0o755)
    pg = Postgres(work / "pg", work / "postgres.log").start()
    ns = NatsServer(work / "nats", work / "nats.log").start()
    admin = agent = None
    try:
        await load(pg.url, args.conversations, args.messages,
                   Path(args.extra_sql).read_text() if args.extra_sql else None)
        nc = await nats.connect(ns.url)
        await ensure_streams(nc.jetstream())
        await nc.close()
        # The real agent: the unanswered questions ask it which it answers now (one Reply each).
        gport, aport = free_port(), free_port()
        agent = ManagedProcess("agent", [sys.executable, "-m", "pentagon.agent"], work / "agent.log", env={
            **os.environ, "NATS_URL": ns.url, "AGENT_ADDR": f"127.0.0.1:{gport}", "AGENT_HTTP_ADDR": f"127.0.0.1:{aport}",
            "OPENAI_API_KEY": "", "LOG_LEVEL": "WARNING"}).start()
        wait_ready(f"http://127.0.0.1:{aport}/readyz", agent)
        port = free_port()
        env = {**os.environ, "NATS_URL": ns.url, "DATABASE_URL": pg.url, "ADMIN_TOKENS": f"bench:admin:{TOKEN}",
               "ADMIN_API_ADDR": f"127.0.0.1:{port}", "ADMIN_WS_QUEUE_SIZE": "1024", "LOG_LEVEL": "WARNING",
               "AGENT_ADDR": f"127.0.0.1:{gport}",
               "ADMIN_STATS_CACHE_SECONDS": "0"}  # measure the statistics queries, not the cache
        admin = ManagedProcess("admin", [sys.executable, "-m", "pentagon.admin"], work / "admin.log", env=env).start()
        wait_ready(f"http://127.0.0.1:{port}/readyz", admin)
        results = await query_latencies(f"http://127.0.0.1:{port}", args.conversations, args.requests)
        print(f"\n{'query':<16}{'p50 ms':>10}{'p95 ms':>10}  target p95 < 20 ms")
        for name, (values, targeted) in results.items():
            p95 = pct(values, 95)
            verdict = ("ok" if p95 < 20 else "MISSED") if targeted else f"(no target, {len(values)} requests)"
            print(f"{name:<16}{statistics.median(values):>10.1f}{p95:>10.1f}  {verdict}")
        for mode in args.ws_modes.split(",") if args.clients > 0 else []:  # --clients 0: queries only
            result = await ws_latency(f"127.0.0.1:{port}", ns.url, args.clients, args.rate, args.seconds,
                                      mode == "batch", admin.pid)
            print_ws(result, args.clients, args.rate, args.seconds)
        print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        for process in (admin, agent):
            if process is not None:
                process.stop()
        ns.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        import uvloop  # the client shares the 2 cores with the server: the cheaper event loop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
