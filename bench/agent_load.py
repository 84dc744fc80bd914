"""Load run of the real agent process at the gRPC boundary.

Starts ``python -m pentagon.agent`` on free loopback ports (offline answerer),
sends bounded Reply calls from the labelled question set in two phases:
one call at a time (latency p50/p99 without queueing) and with a fixed
concurrency (replies/s, with its own latency figures), on the same process.
    .venv/bin/python bench/agent_load.py [--requests 4000] [--concurrency 8]
Targets (offline, 2-core machine): p50 < 5 ms, >= 500 replies/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx

from pentagon.common.proto import agent_pb2, agent_pb2_grpc
from pentagon.devtools.embedded import free_port

QUESTIONS = Path(__file__).resolve().parent / "data" / "agent_questions.jsonl"


def start_agent() -> tuple[subprocess.Popen, int]:
    grpc_port, http_port = free_port(), free_port()
    env = {**os.environ, "AGENT_ADDR": f"127.0.0.1:{grpc_port}", "AGENT_HTTP_ADDR": f"127.0.0.1:{http_port}",
           "OPENAI_API_KEY": "", "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "pentagon.agent"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("agent exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=1).status_code == 200:
                return proc, grpc_port
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError("agent not ready")


async def worker(stub: agent_pb2_grpc.AgentServiceStub, texts: list[str], queue: asyncio.Queue[int],
                 latencies: list[float], server_ms: list[float]) -> None:
    while True:
        try:
            i = queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        request = agent_pb2.ReplyRequest(conversation_id=i, platform="web", user_id=f"u{i % 50}",
                                         text=texts[i % len(texts)])
        started = time.perf_counter()
        reply = await stub.Reply(request, timeout=10)
        latencies.append(time.perf_counter() - started)
        server_ms.append(reply.latency_ms)


async def run(port: int, texts: list[str], total: int, concurrency: int) -> tuple[list[float], list[float], float]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        for text in texts[:50]:  # warm-up: connections, caches
            await stub.Reply(agent_pb2.ReplyRequest(text=text), timeout=10)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(total):
            queue.put_nowait(i)
        latencies: list[float] = []
        server_ms: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*(worker(stub, texts, queue, latencies, server_ms) for _ in range(concurrency)))
        return latencies, server_ms, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    proc, port = start_agent()
    try:
        serial = asyncio.run(run(port, texts, args.requests // 4, 1))
        loaded = asyncio.run(run(port, texts, args.requests, args.concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    for name, (latencies, server_ms, elapsed) in (("serial", serial), (f"concurrency {args.concurrency}", loaded)):
        print(f"[{name}] requests: {len(latencies)} wall: {elapsed:.2f} s")
        print(f"[{name}] reply latency p50: {percentile(latencies, 0.5) * 1000:.2f} ms "
              f"p99: {percentile(latencies, 0.99) * 1000:.2f} ms (server-side p50 {statistics.median(server_ms):.3f} ms)")
        print(f"[{name}] replies/s: {len(latencies) / elapsed:.0f}")
    print(f"Reply p50 (serial): {percentile(serial[0], 0.5) * 1000:.2f} ms (target < 5 ms); "
          f"replies/s (concurrency {args.concurrency}): {len(loaded[0]) / loaded[2]:.0f} (target >= 500)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
