"""What the answers staff teach the bot cost the agent: index build time and answer latency.

    .venv/bin/python bench/agent_index.py [--rows 0,100,500] [--answers 500]

Builds the agent's index (the sample knowledge files plus N panel rows, as agent
staff_knowledge.py does on each change, in a worker thread) and times it, then answers the
labelled questions of bench/data/agent_questions.jsonl against it. Prints per N: the build
time (the delay before a new answer is used, on top of NATS), the answer latency p50/p95,
and the ratios to N = 0, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

from pentagon.agent.answer import OfflineAnswerer
from pentagon.agent.knowledge import Faq, load_knowledge
from pentagon.agent.settings import Settings

QUESTIONS = Path(__file__).resolve().parent / "data" / "agent_questions.jsonl"
DISHES = ["durian cake", "coconut jelly", "tea leaf salad bowl", "mango sticky rice", "banana fritters"]


def staff_rows(n: int) -> list[Faq]:
    """Rows as staff write them: a question in both languages, a short answer, a few other words."""
    return [Faq(id=f"staff-q{i}", question_en=f"Do you sell {DISHES[i % len(DISHES)]} number {i}?",
                answer_en="Only at weekends.", question_mm=f"{DISHES[i % len(DISHES)]} {i} ရောင်းလား",
                answer_mm="စနေ တနင်္ဂနွေ မှာပဲ ရပါတယ်။", tags=[f"dish{i}", "weekend"]) for i in range(n)]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="0,100,500", help="panel rows to add, comma-separated")
    parser.add_argument("--answers", type=int, default=500)
    args = parser.parse_args()
    settings = Settings()
    files = load_knowledge(settings.knowledge_dir)
    texts = [json.loads(line)["text"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    base: tuple[float, float] | None = None
    print(f"knowledge files: {files.size} records; {len(texts)} questions answered in turn")
    print(f"{'panel rows':>10} {'build ms':>9} {'answer p50 ms':>14} {'p95 ms':>7} {'build x':>8} {'p50 x':>6}")
    for n in (int(x) for x in args.rows.split(",")):
        kb = replace(files, faqs=[*files.faqs, *staff_rows(n)])
        builds = []
        for _ in range(5):
            started = time.perf_counter()
            answerer = OfflineAnswerer(kb, settings.agent_escalation_threshold, settings.agent_history_turns,
                                       settings.agent_timezone)
            builds.append((time.perf_counter() - started) * 1000)
        timings = []
        for i in range(args.answers):
            started = time.perf_counter()
            answerer.answer(texts[i % len(texts)])
            timings.append((time.perf_counter() - started) * 1000)
        build, p50 = statistics.median(builds), pct(timings, 50)
        base = base or (build, p50)
        print(f"{n:>10} {build:>9.1f} {p50:>14.3f} {pct(timings, 95):>7.3f} {build / base[0]:>8.2f} {p50 / base[1]:>6.2f}")


if __name__ == "__main__":
    main()
