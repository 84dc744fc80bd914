"""Webhook acknowledgement latency and throughput, directly and through the Caddy gateway.

    .venv/bin/python bench/webhook_bench.py [--requests 2000] [--concurrency 16]

Starts its own nats-server (JetStream), ``python -m pentagon.webhook --no-reply-worker
--no-sender`` (the HTTP-only process of the two-process layout: this measures the
POST -> JetStream ack -> 200 path only, through the raw ASGI fast path) and Caddy with
deploy/gateway/Caddyfile, all on free loopback ports. Each request is a signed
Messenger POST with one text message (unique mid). Prints p50/p99 latency and
requests/s for both paths and the gateway/direct ratios measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from pentagon.devtools.embedded import Caddy, ManagedProcess, NatsServer, free_port
from pentagon.devtools.pytest_plugin import wait_ready
from pentagon.webhook.signature import sign_body

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-app-secret"


def _body(run: str, i: int) -> bytes:
    event = {"sender": {"id": f"{1000 + i % 500}"}, "recipient": {"id": "PAGE"}, "timestamp": int(time.time() * 1000),
             "message": {"mid": f"m_{run}_{i}", "text": f"bench message {i}"}}
    return json.dumps({"object": "page", "entry": [{"id": "PAGE", "time": 0, "messaging": [event]}]}).encode()


async def _run(url: str, run: str, total: int, concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    failures = 0
    counter = iter(range(total))

    async def worker(client: aiohttp.ClientSession) -> None:
        nonlocal failures
        for i in counter:
            body = _body(run, i)
            started = time.perf_counter()
            async with client.post(url, data=body, headers={"X-Hub-Signature-256": sign_body(body, SECRET),
                                                            "Content-Type": "application/json"}) as response:
                await response.read()
            latencies.append(time.perf_counter() - started)
            failures += response.status != 200

    # aiohttp, not httpx: the client shares the 2 cores and httpx costs several times more per request.
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, total / elapsed, failures


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else values[0] * 1000


def _report(name: str, latencies: list[float], rps: float, failures: int) -> dict[str, float]:
    p50, p99 = _pct(latencies, 50), _pct(latencies, 99)
    print(f"{name:<8} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   {rps:8.1f} req/s   non-200: {failures}")
    return {"p50": p50, "p99": p99, "rps": rps}


def _start(tmp: Path) -> tuple[list, str, str]:
    nats = NatsServer(tmp / "nats", tmp / "logs" / "nats.log").start()
    port, gw_port = free_port(), free_port()
    env = {**os.environ, "NATS_URL": nats.url, "WEBHOOK_ADDR": f"127.0.0.1:{port}", "MESSENGER_APP_SECRET": SECRET,
           "REPLY_WORKER_ENABLED": "false", "SENDER_ENABLED": "false", "LOG_LEVEL": "WARNING"}
    hook = ManagedProcess("webhook", [sys.executable, "-m", "pentagon.webhook", "--no-reply-worker", "--no-sender"],
                          tmp / "logs" / "webhook.log", env=env).start()
    wait_ready(f"http://127.0.0.1:{port}/readyz", hook, timeout=60)
    caddy = Caddy(ROOT / "deploy" / "gateway" / "Caddyfile", tmp / "logs" / "gateway.log",
                  {"GATEWAY_SITE": f"http://127.0.0.1:{gw_port}", "WEBHOOK_UPSTREAM": f"127.0.0.1:{port}"}).start(gw_port)
    return [caddy, hook, nats], f"http://127.0.0.1:{port}/webhook", f"http://127.0.0.1:{gw_port}/webhook"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    procs, direct_url, gateway_url = _start(tmp)
    try:
        await _run(direct_url, "warm", 200, args.concurrency)
        await _run(gateway_url, "warmgw", 200, args.concurrency)
        print(f"{args.requests} signed POSTs per path, concurrency {args.concurrency} (2 shared cores: noisy)")
        direct = _report("direct", *await _run(direct_url, "direct", args.requests, args.concurrency))
        gateway = _report("gateway", *await _run(gateway_url, "gateway", args.requests, args.concurrency))
        print(f"ratio gateway/direct: p50 x{gateway['p50'] / direct['p50']:.2f}  p99 x{gateway['p99'] / direct['p99']:.2f}"
              f"  throughput x{gateway['rps'] / direct['rps']:.2f}")
    finally:
        for proc in procs:
            proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
