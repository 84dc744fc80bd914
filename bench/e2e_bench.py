"""End-to-end benchmark of the whole stack against the original design (issue 9).

    .venv/bin/python bench/e2e_bench.py

Starts its own nats-server, Postgres, tracking, agent (offline answerer),
webhook, admin-api, the loopback Graph API recorder and the Caddy gateway on
free ports, then posts signed Messenger events through the gateway at
increasing rates until the stack saturates. For each step it measures:
  - messages/s fully processed: user message tracked, answered by the agent,
    reply sent to the Graph API recorder and its delivery state tracked, bot
    reply tracked; from the first request of the step to the moment all of it
    is in the database;
  - webhook acknowledgement latency p50/p99 (client side, through the gateway);
  - webhook-request-to-admin-WebSocket-frame latency p50/p99 (message.created
    frame of the user message, received by a client connected through the gateway).
At the end every acknowledged message is checked in the database: zero lost,
zero doubled, one bot reply each, counters equal rows.

In the same run the same signed load goes, through a second Caddy with the
same Caddyfile, to bench/baseline_original.py (the original integration's
synchronous design) on the same Postgres and the same agent; the ratio of the
sustained rates is printed. Figures go to bench/results/e2e.json.

Environment: E2E_RATES (comma list, msg/s), E2E_STEP_S (seconds per step),
BASELINE_RATES, E2E_USERS (distinct senders), E2E_ONLY (pentagon|baseline),
E2E_SPLIT_WORKERS (default 1: webhook HTTP and workers as two processes), E2E_DRAIN_MAX_S
(default 2: a step whose last message is done later than this after the last request
is saturated), E2E_TRACKING_SWEEP_S (default 0.5), E2E_KEEP (keep the work dir).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "system"))

from syskit import dbcheck  # noqa: E402
from syskit.load import SteadyLoad  # noqa: E402
from syskit.stack import CADDYFILE, SystemStack, embedded_stack  # noqa: E402

from pentagon.devtools.embedded import Caddy, ManagedProcess, Postgres, free_port  # noqa: E402
from pentagon.devtools.pytest_plugin import ServiceRunner, wait_ready  # noqa: E402

RATES = [float(r) for r in os.environ.get("E2E_RATES", "100,200,300,400,500,700,1000,1500,2000").split(",")]
BASELINE_RATES = [float(r) for r in os.environ.get("BASELINE_RATES", "50,100,200,400,800").split(",")]
STEP_S = float(os.environ.get("E2E_STEP_S", "8"))
DRAIN_MAX_S = float(os.environ.get("E2E_DRAIN_MAX_S", "2.0"))
USERS = int(os.environ.get("E2E_USERS", "2000"))
SPLIT = os.environ.get("E2E_SPLIT_WORKERS", "1") != "0"  # 0: HTTP and workers in one webhook process
ONLY = os.environ.get("E2E_ONLY", "")  # "pentagon" or "baseline" to run one side only
RESULTS = ROOT / "bench" / "results" / "e2e.json"
TAIL = 50  # messages checked every 100 ms for the end of a step (see _wait_processed)

PROCESSED_SQL = """
SELECT count(*) FILTER (WHERE b.id IS NOT NULL AND b.delivery_status IN ('sent', 'delivered', 'read')) AS done,
       count(*) FILTER (WHERE b.id IS NOT NULL) AS answered,
       count(*) AS stored
FROM unnest($1::text[]) AS u(event_id)
JOIN messages um ON um.event_id = u.event_id
LEFT JOIN messages b ON b.reply_to_event_id = u.event_id AND b.sender_type = 'bot'
"""


@dataclass
class RawFrame:
    raw: str
    received: float

    @property
    def data(self) -> dict:
        return json.loads(self.raw)


class LeanFeed:
    """Admin WebSocket reader that only timestamps frames; parsing waits until the step is over.

    The load generator shares the 2 cores with the stack: parsing thousands of frames per
    second while sending would slow the reader until the admin-api cut it off as too slow.
    """

    def __init__(self, ws_base: str, token: str) -> None:
        self.url = f"{ws_base}/admin/ws"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.frames: list[RawFrame] = []
        self._ws = None
        self._task: asyncio.Task | None = None

    async def open(self) -> "LeanFeed":
        from websockets.asyncio.client import connect

        self._ws = await connect(self.url, additional_headers=self.headers, max_size=None, open_timeout=15, ping_interval=None,
                                 max_queue=None, compression=None)
        await asyncio.wait_for(self._ws.recv(), 15)  # hello
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        frames, clock = self.frames, time.time
        async for raw in self._ws:
            frames.append(RawFrame(raw, clock()))

    @property
    def closed(self) -> bool:
        return self._task is None or self._task.done()

    def created_at(self, wanted: dict[str, float]) -> list[float]:
        """Push latencies of message.created frames for the event ids in ``wanted`` (id -> request start)."""
        out = []
        for frame in list(self.frames):
            if '"message.created"' not in frame.raw:
                continue
            event_id = (frame.data.get("data") or {}).get("event_id")
            if event_id in wanted:
                out.append(frame.received - wanted[event_id])
        return out

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class GraphCount:
    """Messages the Graph recorder received since ``start`` (one small GET on a kept-alive connection)."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.client = httpx.AsyncClient(base_url=base_url, timeout=10)
        self.base = 0

    async def _messages(self) -> int:
        return int((await self.client.get("/_stub/count")).json().get("messages", 0))

    async def start(self) -> None:
        self.base = await self._messages()

    async def since_start(self) -> int:
        return await self._messages() - self.base


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


async def _wait_processed(conn: asyncpg.Connection, ids: list[str], deadline: float,
                          timeline: list[tuple[float, int, int, int, int]], t0: float,
                          graph: GraphCount) -> tuple[int, int, float]:
    """(fully processed, answered, time.time() when last observed); stops at the deadline.

    ``timeline`` gets (seconds since t0, user rows stored, bot replies stored, replies sent and
    tracked, Graph messages received by the recorder since the step began) about once a second:
    the stage that falls behind is the one that saturates first (the last column is the
    webhook workers' output, the others need tracking too).

    Every 100 ms only the last TAIL messages sent are checked; the whole step is counted once a
    second and when the tail is done. Counting all ids every 100 ms cost Postgres ~0.2 ms of
    CPU per message at 300 msg/s, charged to the stack and taken from its two cores.
    """
    tail = ids[-TAIL:]
    done = answered = 0
    last_mark = 0.0
    while True:
        now = time.time()
        tail_done = (await conn.fetchrow(PROCESSED_SQL, tail))["done"] >= len(tail)
        if tail_done or now - last_mark >= 1.0 or now > deadline:
            row = await conn.fetchrow(PROCESSED_SQL, ids)
            done, answered = row["done"], row["answered"]
            now = time.time()
            timeline.append((round(now - t0, 1), row["stored"], answered, done, await graph.since_start()))
            last_mark = now
            if done >= len(ids) or now > deadline:
                return done, answered, now
        await asyncio.sleep(0.1)


def stack_pids(stack: SystemStack) -> dict[str, int]:
    pids = {name: proc.pid for name, proc in stack.procs.items() if proc.running()}
    pids["nats"] = stack.nats.process.pid
    pids["postgres"] = stack.postgres.process.pid
    if stack.gateway is not None:
        pids["caddy"] = stack.gateway.process.pid
    pids["load generator"] = os.getpid()
    return pids


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU of each process and its children (Postgres backends are the postmaster's)."""
    import psutil

    out = {}
    for name, pid in pids.items():
        try:
            proc = psutil.Process(pid)
            procs = [proc] + (proc.children(recursive=True) if name == "postgres" else [])
            out[name] = sum(sum(p.cpu_times()[:2]) for p in procs if p.is_running())
        except psutil.Error:
            out[name] = 0.0
    return out


async def ours_step(stack: SystemStack, conn: asyncpg.Connection, feed: LeanFeed, rate: float) -> dict:
    load = SteadyLoad(stack.gateway_url, stack.secrets.app_secret, rate=rate, users=USERS,
                      user_prefix=f"r{int(rate)}-", max_in_flight=1024)
    graph = GraphCount(stack.url("graph-stub"))
    await graph.start()
    pids = stack_pids(stack)
    cpu_before = cpu_seconds(pids)
    t0 = time.time()
    load.start(count=int(rate * STEP_S))
    await load.wait_done()
    t_sent = time.time()
    await load.client.close()
    acked = load.acked()
    ids = [f"m:{s.mid}" for s in acked]
    timeline: list[tuple[float, int, int, int, int]] = []
    done, answered, t_done = await _wait_processed(conn, ids, t_sent + max(60.0, 6 * STEP_S), timeline, t0, graph)
    cpu = {name: secs - cpu_before.get(name, 0.0) for name, secs in cpu_seconds(pids).items()}
    await graph.client.aclose()
    started = {f"m:{s.mid}": s.started for s in acked}
    ws = feed.created_at(started)
    processed_rate = done / (t_done - t0) if t_done > t0 else 0.0
    return {
        "offered_per_s": rate,
        "sent": len(load.sent), "acked": len(acked), "statuses": load.statuses(), "skipped": load.skipped,
        "send_rate_per_s": round(len(load.sent) / (t_sent - t0), 1),
        "fully_processed": done, "answered": answered,
        "processed_per_s": round(processed_rate, 1),
        "drain_s_after_last_send": round(t_done - t_sent, 2),
        "ack_p50_ms": ms(pct([s.latency for s in acked], 0.5)), "ack_p99_ms": ms(pct([s.latency for s in acked], 0.99)),
        "ws_frames": len(ws), "ws_p50_ms": ms(pct(ws, 0.5)), "ws_p99_ms": ms(pct(ws, 0.99)),
        # No frames usually means the admin-api cut this client off (4408: queue overflow).
        "ws_feed_open": not feed.closed, "ws_close_code": getattr(feed._ws, "close_code", None),
        # Saturated = a backlog built up: not everything done by the deadline, or the last messages
        # took more than DRAIN_MAX_S after the last request (or the load could not be sent). Judging by
        # processed/s < 90 % of offered instead marked even 100/s saturated: a fixed ~1 s tail of the
        # asynchronous pipeline is 11 % of an 8 s step.
        "saturated": (done < len(ids) or t_done - t_sent > DRAIN_MAX_S or len(acked) < 0.99 * int(rate * STEP_S)
                      or len(load.sent) / (t_sent - t0) < 0.9 * rate),
        "stage_timeline_s_stored_answered_sent_graph": timeline,
        # CPU per fully processed message, per process: the figure other load on a shared machine distorts least.
        "cpu_ms_per_message": {name: round(secs / done * 1000, 3) for name, secs in sorted(cpu.items())} if done else {},
        "_ids": ids,
    }


async def baseline_step(gateway_url: str, secret: str, conn: asyncpg.Connection, rate: float) -> dict:
    load = SteadyLoad(gateway_url, secret, rate=rate, users=USERS, user_prefix=f"b{int(rate)}-", max_in_flight=1024)
    before = await conn.fetchval("SELECT count(*) FROM messages WHERE sender_type = 'bot'")
    t0 = time.time()
    load.start(count=int(rate * STEP_S))
    await load.wait_done()
    await load.client.close()
    acked = load.acked()
    t_last = max((s.started + s.latency for s in acked), default=t0)
    after = await conn.fetchval("SELECT count(*) FROM messages WHERE sender_type = 'bot'")
    rate_done = len(acked) / (t_last - t0) if acked else 0.0
    return {
        "offered_per_s": rate, "sent": len(load.sent), "acked": len(acked), "statuses": load.statuses(),
        "bot_replies_stored": after - before,
        "processed_per_s": round(rate_done, 1),
        "ack_p50_ms": ms(pct([s.latency for s in acked], 0.5)), "ack_p99_ms": ms(pct([s.latency for s in acked], 0.99)),
        "saturated": rate_done < 0.9 * rate or len(acked) < 0.99 * int(rate * STEP_S),
    }


def _print_step(kind: str, step: dict) -> None:
    print(f"  {kind:<8} offered {step['offered_per_s']:>6.0f}/s  sent {step.get('send_rate_per_s', '-'):>7}/s  "
          f"acked {step['acked']:>6}  processed {step['processed_per_s']:>7.1f}/s  ack p50/p99 "
          f"{step['ack_p50_ms']}/{step['ack_p99_ms']} ms  ws p50/p99 {step.get('ws_p50_ms', '-')}/{step.get('ws_p99_ms', '-')} ms"
          f"{'  SATURATED' if step['saturated'] else ''}", flush=True)
    if step.get("cpu_ms_per_message"):
        cpu = step["cpu_ms_per_message"]
        print(f"           cpu ms/msg: total {sum(cpu.values()):.2f} = "
              + ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(cpu.items(), key=lambda kv: -kv[1])), flush=True)


async def run_ours(stack: SystemStack) -> tuple[list[dict], dict]:
    conn = await asyncpg.connect(stack.database_url)
    feed = await LeanFeed(stack.gateway_ws, stack.secrets.admin_token).open()
    steps: list[dict] = []
    try:
        warm = await ours_step(stack, conn, feed, 100.0)  # JIT-free Python, but caches, pools and consumers warm up
        all_ids = list(warm.pop("_ids"))
        for rate in RATES:
            step = await ours_step(stack, conn, feed, rate)
            all_ids += step.pop("_ids")
            steps.append(step)
            _print_step("pentagon", step)
            if step["saturated"]:
                break
        await asyncio.sleep(2)
        report = await dbcheck.verify(conn, all_ids)
        graph = await stack.graph.counts()
        bots = await conn.fetchval("SELECT count(*) FROM messages WHERE sender_type = 'bot'")
        check = {"acked_total": len(all_ids), "lost": len(report.missing), "doubled": len(report.doubled),
                 "unanswered": len(report.unanswered), "double_replies": len(report.double_replies),
                 "counter_mismatches": len(report.bad_counters), "open_twice": len(report.open_twice),
                 "bot_replies_tracked": bots, "graph_messages_received": graph.get("messages"),
                 "graph_sender_actions": graph.get("actions"), "ok": report.ok}
        return steps, check
    finally:
        await feed.close()
        await conn.close()


async def run_baseline(stack: SystemStack, pg: Postgres, work: Path, runner: ServiceRunner) -> list[dict]:
    addr = f"127.0.0.1:{free_port()}"
    env = {**os.environ, **stack.env, "DATABASE_URL": pg.create_database("baseline"), "BASELINE_ADDR": addr}
    proc = ManagedProcess("baseline", [sys.executable, str(ROOT / "bench" / "baseline_original.py")],
                          work / "logs" / "baseline.log", env=env).start()
    runner.processes.append(proc)
    port = free_port()
    gateway = Caddy(CADDYFILE, work / "caddy-baseline" / "logs" / "gateway.log",
                    {"GATEWAY_SITE": f"http://127.0.0.1:{port}", "WEBHOOK_UPSTREAM": addr,
                     "ADMIN_UPSTREAM": addr, "CHAT_UI_UPSTREAM": addr})
    steps: list[dict] = []
    conn = None
    try:
        await asyncio.to_thread(wait_ready, f"http://{addr}/healthz", proc, 60)
        await asyncio.to_thread(gateway.start, port)
        conn = await asyncpg.connect(env["DATABASE_URL"])
        await baseline_step(f"http://127.0.0.1:{port}", stack.secrets.app_secret, conn, 20.0)  # warm-up
        for rate in BASELINE_RATES:
            step = await baseline_step(f"http://127.0.0.1:{port}", stack.secrets.app_secret, conn, rate)
            steps.append(step)
            _print_step("baseline", step)
            if step["saturated"]:
                break
    finally:
        if conn is not None:
            await conn.close()
        await asyncio.to_thread(gateway.stop)
        await asyncio.to_thread(proc.stop)
    return steps


def summarise(ours: list[dict], check: dict, baseline: list[dict]) -> dict:
    best = max((s["processed_per_s"] for s in ours), default=0.0)
    below = [s for s in ours if not s["saturated"]]
    calm = below[-1] if below else None
    base_best = max((s["processed_per_s"] for s in baseline), default=0.0)
    return {
        "sustained_processed_per_s": best,
        "highest_unsaturated_step_per_s": calm["offered_per_s"] if calm else None,
        "ack_p50_ms_below_saturation": calm["ack_p50_ms"] if calm else None,
        "ack_p99_ms_below_saturation": calm["ack_p99_ms"] if calm else None,
        "ws_p50_ms_below_saturation": calm["ws_p50_ms"] if calm else None,
        "ws_p99_ms_below_saturation": calm["ws_p99_ms"] if calm else None,
        "baseline_sustained_per_s": base_best,
        "ratio_vs_baseline": round(best / base_best, 2) if base_best else None,
        "zero_lost_zero_doubled": check["ok"],
        "targets": {"processed_per_s>=1500": best >= 1500,
                    "ack_p99<20ms": bool(calm and calm["ack_p99_ms"] is not None and calm["ack_p99_ms"] < 20),
                    "ws_p50<50ms": bool(calm and calm["ws_p50_ms"] is not None and calm["ws_p50_ms"] < 50),
                    "ratio>=10": bool(base_best and best / base_best >= 10)},
    }


async def main() -> int:
    # The webhook runs as two processes, as deployed: HTTP only, and workers only (--workers-only).
    env = {"LOG_LEVEL": "WARNING", "ADMIN_WS_QUEUE_SIZE": "4096",
           # Receipts that overtake their message are parked and applied by
           # tracking's sweep: every 5 s by default, which alone adds seconds.
           "TRACKING_SWEEP_INTERVAL_S": os.environ.get("E2E_TRACKING_SWEEP_S", "0.5")}
    async with embedded_stack("e2e", env, split_workers=SPLIT, keep=bool(os.environ.get("E2E_KEEP"))) as stack:
        ours, check = ([], {"ok": None, "skipped": True}) if ONLY == "baseline" else await run_ours(stack)
        print(f"  database check: {check}", flush=True)
        baseline = [] if ONLY == "pentagon" else await run_baseline(stack, stack.postgres, stack.work_dir,
                                                                    stack.runner)
        summary = summarise(ours, check, baseline)
        result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
                  "python": platform.python_version(), "step_s": STEP_S, "users": USERS,
                  "summary": summary, "pentagon": ours, "check": check, "baseline": baseline}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2))
        print(json.dumps(summary, indent=2))
        print(f"written to {RESULTS.relative_to(ROOT)}")
        return 0 if check["ok"] is not False else 1


if __name__ == "__main__":
    # Settings come from the environment (docstring): --help shows them, anything else is refused
    # instead of starting a full run.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    try:
        import uvloop  # the load generator shares the 2 cores: the cheaper event loop
    except ImportError:
        uvloop = None
    sys.exit(uvloop.run(main()) if uvloop else asyncio.run(main()))
