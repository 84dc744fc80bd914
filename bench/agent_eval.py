"""Offline evaluation of the agent over the labelled question set.

Prints accuracy@1 of the top source per language and escalation
precision/recall, plus every miss. Run:
    .venv/bin/python bench/agent_eval.py [--questions bench/data/agent_questions.jsonl] [--check]
``--check`` exits 1 when a figure is under its target (0.9). A question with ``before`` (the
customer's earlier messages, oldest first) is asked after them, each answered in turn, as in a
conversation (bench/data/agent_dialogues.jsonl).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from pentagon.agent.answer import OfflineAnswerer, Turn
from pentagon.agent.knowledge import load_knowledge
from pentagon.agent.settings import Settings

TARGET = 0.9
DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "data" / "agent_questions.jsonl"


def load_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def conversation(answerer: OfflineAnswerer, before: list[str]) -> list[Turn]:
    """The history the question is asked in: each earlier message with the answer it got."""
    history: list[Turn] = []
    for text in before:
        history += [Turn("user", text), Turn("bot", answerer.answer(text, history).text)]
    return history


def evaluate(answerer: OfflineAnswerer, questions: list[dict]) -> tuple[dict[str, float], list[str]]:
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tp = fp = fn = 0
    misses = []
    for q in questions:
        answer = answerer.answer(q["text"], conversation(answerer, q.get("before", [])))
        top = answer.sources[0].id if answer.sources else None
        if q.get("source"):
            hits[q["lang"]][1] += 1
            # "also": a question naming several dishes is right only if every one is answered, in order.
            want = [q["source"], *q.get("also", [])]
            if [s.id for s in answer.sources[:len(want)]] == want and not answer.requires_human:
                hits[q["lang"]][0] += 1
            else:
                misses.append(f"source  {q['lang']} {q['text']!r}: want {' + '.join(want)}, got {top} "
                              f"(conf {answer.confidence:.2f}, {answer.intent}, human={answer.requires_human})")
        if q.get("intent") and answer.intent != q["intent"]:
            misses.append(f"intent  {q['lang']} {q['text']!r}: want {q['intent']}, got {answer.intent}")
        tp += q["escalate"] and answer.requires_human
        fp += (not q["escalate"]) and answer.requires_human
        fn += q["escalate"] and not answer.requires_human
        if q["escalate"] != answer.requires_human:
            misses.append(f"escal.  {q['lang']} {q['text']!r}: want {q['escalate']}, got {answer.requires_human} "
                          f"({answer.escalation_reason or '-'}, conf {answer.confidence:.2f})")
    figures = {f"accuracy@1[{lang}]": ratio(*hits[lang]) for lang in sorted(hits)}
    figures["escalation_precision"] = ratio(tp, tp + fp)
    figures["escalation_recall"] = ratio(tp, tp + fn)
    return figures, misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    answerer = OfflineAnswerer(load_knowledge(settings.knowledge_dir), settings.agent_escalation_threshold,
                               settings.agent_history_turns, settings.agent_timezone)
    questions = load_questions(args.questions)
    figures, misses = evaluate(answerer, questions)
    for miss in misses:
        print("MISS", miss)
    counts = defaultdict(int)
    for q in questions:
        counts[q["lang"]] += 1
    print(f"questions: {len(questions)} ({', '.join(f'{k}={v}' for k, v in sorted(counts.items()))})")
    for name, value in figures.items():
        print(f"{name}: {value:.3f} (target >= {TARGET})")
    return 1 if args.check and any(v < TARGET for v in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
