"""What a conversation costs the offline answerer, in process: one answer with and without a turn of history.

    .venv/bin/python bench/agent_answer.py [--passes 9]

Asks every labelled question of bench/data (the single questions and the dialogues' last
turns, in file order) twice per pass: alone, and after the question before it as the
customer's earlier turn and our answer to it as the bot's, as a conversation does (the topic
check, answer.py's Topic and _same_topic, runs then, and reads our answer for its record).
One answerer, warmed by an untimed pass as a running service is; the token cache (language.py) is emptied before each timed pass, so a pass gains only what one
conversation's turns give the next (a turn searched as a question is the next turn's topic),
not the whole set seen before. Prints the best pass's mean time per answer of each kind and
their ratio, measured in the same run. No gRPC, no network: bench/agent_load.py measures the
service at its boundary. For an A/B, run this file with PYTHONPATH pointing at another
checkout's services/agent/src and libs/common/src.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pentagon.agent import language
from pentagon.agent.answer import OfflineAnswerer, Turn
from pentagon.agent.knowledge import load_knowledge
from pentagon.agent.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
FILES = ["agent_questions", "agent_paraphrases_en", "agent_paraphrases_my", "agent_dialogues"]


def questions() -> list[str]:
    return [json.loads(line)["text"] for name in FILES for line in (DATA / f"{name}.jsonl").open(encoding="utf-8")
            if line.strip()]


def timed(answerer: OfflineAnswerer, asked: list[tuple[str, list[Turn]]]) -> float:
    for cached in (getattr(language, "_tokens", None), getattr(language, "_english_tokens", None)):
        if cached is not None:  # absent in code before the token cache (an A/B)
            cached.cache_clear()
    start = time.perf_counter()
    for text, history in asked:
        answerer.answer(text, history)
    return (time.perf_counter() - start) / len(asked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=9)
    args = parser.parse_args()
    settings = Settings()
    kb = load_knowledge(settings.knowledge_dir)
    texts = questions()
    answerer = OfflineAnswerer(kb, settings.agent_escalation_threshold, settings.agent_history_turns)
    alone = [(text, []) for text in texts[1:]]
    # The bot's turn is what it answered (untimed): the topic is also read from our last answer.
    replies = {before: answerer.answer(before).text for before in texts}
    after = [(text, [Turn("user", before), Turn("bot", replies[before])]) for before, text in zip(texts, texts[1:])]
    timed(answerer, alone + after)  # warm-up
    best = {"alone": float("inf"), "after": float("inf")}
    for _ in range(args.passes):
        for kind, asked in (("alone", alone), ("after", after)):
            best[kind] = min(best[kind], timed(answerer, asked))
    print(f"{len(alone)} questions, best of {args.passes} passes, in process")
    print(f"  alone:                    {best['alone'] * 1e6:8.1f} us per answer")
    print(f"  after an earlier turn:    {best['after'] * 1e6:8.1f} us per answer")
    print(f"  ratio after / alone:      {best['after'] / best['alone']:8.2f}x")


if __name__ == "__main__":
    main()
