"""Postgres CPU of one small batch: what tracking pays per commit at a cafe's rate.

    .venv/bin/python bench/tracking_batch_cost.py [--batches 2000] [--extra-sql FILE]

Starts its own Postgres, applies tracking's migrations and functions, then calls
`pentagon_ingest` with one-event batches (a user message, 50 users in turn) on one
connection and prints the backend's CPU and the wall time per batch. Under
live traffic batches are small, so this fixed cost, not the per-event cost that
`tracking_bench.py` measures with 2,000-event batches, is most of Postgres's share of a
message (docs/benchmarks.md, "Scratch tables emptied, not truncated"). `--extra-sql` runs a
file after the migrations (a changed function, say) to compare before it is committed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import asyncpg

from pentagon.devtools.embedded import Postgres
from pentagon.tracking.migrate import migrate
from pentagon.tracking.store import encode_events
from tracking_bench import apply_extra_sql, cpu_seconds, run_in_workdir

WARMUP = 300


def one_event(i: int) -> list[dict]:
    return [{"t": "m", "seq": i, "event_id": f"e{i}", "platform": "messenger", "user_id": f"u{i % 50}",
             "sender": "user", "content": "Do you have iced latte?", "ts": "2026-01-15T10:30:00Z",
             "kind": "text", "channel": "messaging"}]


async def run(args: argparse.Namespace, workdir: Path) -> None:
    pg = Postgres(workdir / "pg", workdir / "postgres.log").start()
    try:
        url = pg.create_database("cost")
        await migrate(url)
        if args.extra_sql:
            await apply_extra_sql(url, args.extra_sql)
            print("applied --extra-sql")
        conn = await asyncpg.connect(url)
        try:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            for i in range(WARMUP):  # plans cached, scratch tables created
                await conn.fetchval("SELECT pentagon_ingest($1::jsonb)", encode_events(one_event(i)))
            started, cpu_start = time.perf_counter(), cpu_seconds([pid])
            for i in range(WARMUP, WARMUP + args.batches):
                await conn.fetchval("SELECT pentagon_ingest($1::jsonb)", encode_events(one_event(i)))
            cpu = (cpu_seconds([pid]) - cpu_start) / args.batches * 1e3
            wall = (time.perf_counter() - started) / args.batches * 1e3
            print(f"one-event batches: {args.batches}; Postgres backend CPU {cpu:.2f} ms per batch, "
                  f"wall {wall:.2f} ms per batch (round trip included)")
        finally:
            await conn.close()
    finally:
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--extra-sql", metavar="FILE", help="SQL run after the migrations")
    args = parser.parse_args()
    run_in_workdir(lambda workdir: run(args, workdir), "pentagon-batch-cost-")


if __name__ == "__main__":
    main()
