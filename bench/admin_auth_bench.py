"""What counting failed sign-ins costs an authenticated admin request.

One command:  .venv/bin/python bench/admin_auth_bench.py  [AUTH_BENCH_REQUESTS=1000] [AUTH_BENCH_ROUNDS=6]

Starts its own nats-server and Postgres (embedded, loopback), one admin-api runtime in this
process, and times `GET /admin/me` with a valid static token through the ASGI app (no socket:
the figure is the service's own cost), alternating rounds with the sign-in throttle on (its
counts read from a local copy of the `rate_limits` KV bucket, pentagon.admin.throttle) and off. Prints
p50/p99 of both and their ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx

from pentagon.admin.app import create_app
from pentagon.admin.runtime import Runtime
from pentagon.admin.settings import Settings
from pentagon.devtools.embedded import NatsServer, Postgres
from pentagon.tracking.migrate import migrate

REQUESTS = int(os.environ.get("AUTH_BENCH_REQUESTS", "1000"))
ROUNDS = int(os.environ.get("AUTH_BENCH_ROUNDS", "6"))
TOKEN = "bench-admin-token"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(client: httpx.AsyncClient, n: int) -> list[float]:
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get("/admin/me")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return timings


async def run(nats_url: str, database_url: str) -> None:
    await migrate(database_url)
    runtime = Runtime(Settings(_env_file=None, database_url=database_url, nats_url=nats_url,
                               admin_tokens=f"bench:admin:{TOKEN}"))
    await runtime.start()
    throttle = runtime.throttle
    results: dict[str, list[float]] = {"throttle on": [], "throttle off": []}
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://admin",
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            for _ in range(ROUNDS):
                for mode in results:
                    runtime.throttle = throttle if mode == "throttle on" else None
                    await timed(client, 50)  # warm up after the switch
                    results[mode] += await timed(client, REQUESTS)
    finally:
        runtime.throttle = throttle
        await runtime.stop()
    print(f"GET /admin/me, {ROUNDS} alternating rounds of {REQUESTS} requests each way")
    for mode, timings in results.items():
        print(f"  {mode:13s} p50 {pct(timings, 0.5):.3f} ms   p99 {pct(timings, 0.99):.3f} ms")
    on, off = results["throttle on"], results["throttle off"]
    print(f"  ratio on/off  p50 x{pct(on, 0.5) / pct(off, 0.5):.2f}   "
          f"added p50 {pct(on, 0.5) - pct(off, 0.5):.3f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pentagon-auth-bench-") as tmp:
        root = Path(tmp)
        nats = NatsServer(root / "nats", root / "nats.log").start()
        postgres = Postgres(root / "pg", root / "pg.log").start()
        try:
            asyncio.run(run(nats.url, postgres.url))
        finally:
            nats.stop()
            postgres.stop()


if __name__ == "__main__":
    # Settings come from the environment (docstring): --help shows them, anything else is refused
    # instead of starting a full run.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
