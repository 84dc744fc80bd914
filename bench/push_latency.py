"""Where the webhook -> admin WebSocket latency goes, at a calm rate (a cafe's real traffic).

One command:  .venv/bin/python bench/push_latency.py  [PUSH_N=60] [PUSH_INTERVAL_S=0.2]

Starts the whole stack (embedded NATS and Postgres, every service, the Caddy gateway) twice:
tracking as configured by default, then with the quiet-gap rule off (TRACKING_BATCH_GAP_MS
= TRACKING_BATCH_WAIT_MS: every batch lingers the full wait). Each run posts PUSH_N signed
Messenger messages one at a time, one new user each, and timestamps every stage on the
same clock: the POST's 200, the event on events.in (core NATS subscription), tracking's
update on updates.message, the message.created frame on an admin WebSocket opened
through the gateway, and the bot's answer arriving at the loopback Send API (what the
customer waits for, minus Messenger's delivery). Prints p50/p90 per stage and the ratio
between the two runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "system"))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import nats  # noqa: E402
from e2e_bench import LeanFeed  # noqa: E402
from syskit import messenger  # noqa: E402
from syskit.stack import SystemStack, embedded_stack  # noqa: E402


N = int(os.environ.get("PUSH_N", "60"))
INTERVAL_S = float(os.environ.get("PUSH_INTERVAL_S", "0.2"))
WARM_UP = 5
STAGES = ("ack", "events.in", "updates.message", "ws frame", "reply at Graph")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def measure(stack: SystemStack) -> dict[str, list[float]]:
    first_seen: dict[tuple[str, str], float] = {}

    async def on_msg(msg) -> None:
        parts = msg.subject.split(".")
        first_seen.setdefault((f"{parts[0]}.{parts[1]}", parts[-1]), time.time())

    nc = await nats.connect(stack.nats.url)
    await nc.subscribe("events.in.>", cb=on_msg)
    await nc.subscribe("updates.message.>", cb=on_msg)
    feed = await LeanFeed(stack.gateway_ws, stack.secrets.admin_token).open()
    sent: list[tuple[str, str, float, float]] = []
    run = f"{os.getpid()}x{int(time.time())}"
    try:
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
            for i in range(N + WARM_UP):
                psid, mid = f"push{i}u{run}", messenger.new_mid()
                body, headers = messenger.signed(stack.secrets.app_secret,
                                                 messenger.page_body(messenger.text_event(psid, "hello coffee", mid)))
                started = time.time()
                response = await client.post("/webhook", content=body, headers=headers)
                assert response.status_code == 200, response.text
                sent.append((psid, messenger.user_event_id(mid), started, time.time()))
                await asyncio.sleep(INTERVAL_S)
        await asyncio.sleep(2)
    finally:
        await feed.close()
        await nc.close()
    # The customer's side: when the bot's answer reached the (loopback) Send API, i.e. what the user
    # waits for minus Messenger's own delivery. Each probe has its own user, so the recipient says which.
    async with httpx.AsyncClient(base_url=stack.url("graph-stub"), timeout=30) as graph:
        requests = (await graph.get("/requests", params={"kind": "message"})).json()["requests"]
    replied: dict[str, float] = {}
    for record in requests:
        recipient = str(((record.get("body") or {}).get("recipient") or {}).get("id", ""))
        replied.setdefault(recipient, record["received_at"])
    frames: dict[str, float] = {}
    for frame in feed.frames:
        if '"message.created"' in frame.raw:
            frames.setdefault((frame.data.get("data") or {}).get("event_id"), frame.received)
    out: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for psid, event_id, started, acked in sent[WARM_UP:]:
        out["ack"].append(acked - started)
        for stage in ("events.in", "updates.message"):
            if (stage, psid) in first_seen:
                out[stage].append(first_seen[(stage, psid)] - started)
        if event_id in frames:
            out["ws frame"].append(frames[event_id] - started)
        if psid in replied:
            out["reply at Graph"].append(replied[psid] - started)
    return out


async def one_run(label: str, env: dict[str, str]) -> dict[str, list[float]]:
    print(f"run: {label}", flush=True)
    async with embedded_stack("push", {"LOG_LEVEL": "WARNING", **env}) as stack:
        return await measure(stack)


async def main() -> int:
    wait_ms = os.environ.get("TRACKING_BATCH_WAIT_MS", "50")
    runs = {
        "default": await one_run("default", {}),
        "gap off": await one_run("gap off", {"TRACKING_BATCH_GAP_MS": wait_ms}),
    }
    print(f"\n{N} messages, one every {INTERVAL_S * 1000:.0f} ms; ms from the POST's start (p50 / p90)")
    print(f"{'stage':<18}" + "".join(f"{label:>22}" for label in runs) + f"{'ratio p50':>12}")
    for stage in STAGES:
        cells = [f"{pct(v[stage], .5)} / {pct(v[stage], .9)}" for v in runs.values()]
        a, b = pct(runs["default"][stage], .5), pct(runs["gap off"][stage], .5)
        ratio = f"{b / a:.2f}x" if a and b else "-"
        print(f"{stage:<18}" + "".join(f"{c:>22}" for c in cells) + f"{ratio:>12}")
    missing = [label for label, v in runs.items() if len(v["ws frame"]) < N or len(v["reply at Graph"]) < N]
    if missing:
        print(f"frames or replies missing in: {missing}")
        return 1
    return 0


if __name__ == "__main__":
    # Settings come from the environment (docstring): --help shows them, anything else is refused
    # instead of starting a full run.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    sys.exit(asyncio.run(main()))
