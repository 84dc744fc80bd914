"""Where the CPU goes under load: per process, per SQL statement and (optionally) per Python function.

    .venv/bin/python bench/stack_profile.py
    PROFILE_RATE=300 PROFILE_S=20 PROFILE_SPY=reply-worker,tracking .venv/bin/python bench/stack_profile.py

Starts the whole stack (embedded NATS and Postgres with pg_stat_statements, every service,
the Caddy gateway), warms it up, then posts signed Messenger messages through the gateway at
PROFILE_RATE msg/s for PROFILE_S seconds and prints:
  - CPU per message of every process (Postgres: all its backends), the figure e2e_bench.py
    prints per step, here for one steady rate;
  - the PROFILE_TOP statements by total execution time (pg_stat_statements with track = all,
    so the statements inside the SQL functions are listed too and a function's time includes
    theirs);
  - with PROFILE_SPY (process names as below), a py-spy profile of each named process during
    the load: the functions of our packages with the largest share of samples.
This is how the per-batch costs fixed by tracking's migration 0008 were found
(docs/benchmarks.md, "Tracking's Postgres cost per batch").
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "system"))
sys.path.insert(0, str(ROOT / "bench"))

from e2e_bench import cpu_seconds, stack_pids  # noqa: E402
from syskit.load import SteadyLoad  # noqa: E402
from syskit.stack import SystemStack, embedded_stack  # noqa: E402

RATE = float(os.environ.get("PROFILE_RATE", "250"))
SECONDS = float(os.environ.get("PROFILE_S", "20"))
WARM_UP = int(os.environ.get("PROFILE_WARM", "800"))
TOP = int(os.environ.get("PROFILE_TOP", "20"))
SPY = [name for name in os.environ.get("PROFILE_SPY", "").split(",") if name]

# py-spy names a frame's file by its last two path parts: "Consumer._worker (tracking/consumer.py:213)".
OUR_PACKAGES = ("webhook", "agent", "tracking", "admin", "common")
PG_SETTINGS = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all"}
TOP_SQL = """
SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms, rows,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
  FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1
"""


async def post(stack: SystemStack, rate: float, count: int, prefix: str) -> int:
    load = SteadyLoad(stack.gateway_url, stack.secrets.app_secret, rate=rate, users=2000, user_prefix=prefix,
                      max_in_flight=1024)
    load.start(count=count)
    await load.wait_done()
    await load.client.close()
    return len(load.acked())


def start_spies(pids: dict[str, int], out_dir: Path) -> dict[str, subprocess.Popen]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if SPY and not Path(spy).exists():
        print("py-spy not installed: no Python profiles", flush=True)
        return {}
    return {name: subprocess.Popen([spy, "record", "--pid", str(pids[name]), "--duration", str(int(SECONDS)),
                                    "--rate", "100", "--nonblocking", "--format", "raw",
                                    "--output", str(out_dir / f"{name}.txt")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name in SPY if name in pids}


def print_spy(name: str, path: Path) -> None:
    """Inclusive share of samples of each function of ours, then where the samples end, whoever's code it is
    (one raw line: frames;...;frames count)."""
    total, inclusive, leaves = 0, collections.Counter(), collections.Counter()
    for line in path.read_text().splitlines() if path.exists() else []:
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frames = stack.split(";")
        leaves[frames[-1].strip()] += int(count)
        for frame in set(frames):
            if any(f"({package}/" in frame for package in OUR_PACKAGES):
                inclusive[frame.strip()] += int(count)
    total = total or 1
    print(f"\npy-spy {name}: {total} samples; our functions by share of samples (inclusive)")
    for frame, count in inclusive.most_common(15):
        print(f"  {100 * count / total:5.1f} %  {frame[:120]}")
    print(f"py-spy {name}: innermost frames (self time, any library)")
    for frame, count in leaves.most_common(15):
        print(f"  {100 * count / total:5.1f} %  {frame[:120]}")


async def main() -> int:
    env = {"LOG_LEVEL": "WARNING", "ADMIN_WS_QUEUE_SIZE": "4096", "TRACKING_SWEEP_INTERVAL_S": "0.5"}
    async with embedded_stack("profile", env, pg_settings=PG_SETTINGS) as stack:
        conn = await asyncpg.connect(stack.database_url)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await post(stack, 100.0, WARM_UP, "warm-")
            await asyncio.sleep(3)
            await conn.execute("SELECT pg_stat_statements_reset()")
            pids = stack_pids(stack)
            before = cpu_seconds(pids)
            with tempfile.TemporaryDirectory() as spy_dir:
                spies = start_spies(pids, Path(spy_dir))
                acked = await post(stack, RATE, int(RATE * SECONDS), "p-")
                await asyncio.sleep(4)  # the pipeline's tail: replies, receipts and their tracking
                after = cpu_seconds(pids)
                for proc in spies.values():
                    proc.wait(timeout=60)
                print(f"\n{acked} messages at {RATE:.0f}/s; CPU per message (ms), all of each process:")
                used = {name: after[name] - before.get(name, 0.0) for name in after}
                for name, secs in sorted(used.items(), key=lambda kv: -kv[1]):
                    print(f"  {name:<16} {1000 * secs / max(acked, 1):6.3f}")
                print(f"  {'total':<16} {1000 * sum(used.values()) / max(acked, 1):6.3f}")
                print(f"\ntop {TOP} statements by total time (nested statements included):")
                print(f"  {'calls':>7} {'total ms':>10} {'mean ms':>8} {'rows':>8}  query")
                for row in await conn.fetch(TOP_SQL, TOP):
                    print(f"  {row['calls']:>7} {row['total_ms']:>10} {row['mean_ms']:>8} {row['rows']:>8}  {row['query']}")
                for name in spies:
                    print_spy(name, Path(spy_dir) / f"{name}.txt")
        finally:
            await conn.close()
    return 0


if __name__ == "__main__":
    # Settings come from the environment (docstring): --help shows them, anything else is refused
    # instead of starting a full run.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    sys.exit(asyncio.run(main()))
