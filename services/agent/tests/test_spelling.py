"""Dish names typed as heard: a misspelt known word is read as that word, nothing else is."""

from __future__ import annotations

import pytest

from pentagon.agent.answer import OfflineAnswerer
from pentagon.agent.spelling import MAX_LENGTH, Speller, distance


def test_distance_counts_each_slip_once() -> None:
    assert distance("croisant", "croissant") == 1  # a letter missing
    assert distance("capucino", "cappuccino") == 2
    assert distance("latet", "latte") == 1  # two letters swapped
    assert distance("mocha", "mocha") == 0


@pytest.mark.parametrize(("typed", "read"), [
    ("capucino", "cappuccino"), ("croisant", "croissant"), ("machiato", "macchiato"), ("samoosa", "samosa"),
    ("mohingar", "mohinga"),
    ("capital", "capital"),  # nothing near: stays unknown
    ("paris", "paris"),  # too short to guess at
    ("mochi", "mochi"),  # another dessert, one letter from the mocha: five letters are too few to tell
    ("printer", "printer"),  # another form of a word ("printed"), not a slip of it
])
def test_menu_words(answerer: OfflineAnswerer, typed: str, read: str) -> None:
    assert answerer.index.corrected([typed]) == [read]


def test_two_words_as_near_leave_it_unknown() -> None:
    speller = Speller(["butter", "batter", "latte"])
    assert speller.correct("bitter") == "bitter"
    assert speller.correct("buttter") == "butter"


def test_a_long_junk_word_is_left_alone_at_once() -> None:
    speller = Speller(["cappuccino"])
    junk = "cappuccino" * 500
    assert speller.correct(junk) == junk and speller.correct("x" * (MAX_LENGTH + 1)) == "x" * (MAX_LENGTH + 1)


@pytest.mark.parametrize(("question", "sources"), [
    ("capucino price", ["menu:4"]),
    ("croisant?", ["menu:24"]),
    ("do you have cheescake", ["menu:28"]),
    ("capucino and croisant", ["menu:4", "menu:24"]),  # several dishes, each misspelt
])
def test_misspelt_dishes_are_answered(answerer: OfflineAnswerer, question: str, sources: list[str]) -> None:
    answer = answerer.answer(question)
    assert [s.id for s in answer.sources] == sources and not answer.requires_human


def test_off_topic_stays_off_topic(answerer: OfflineAnswerer) -> None:
    for question in ("what is the capital of paris", "football results", "weather tomorrow"):
        assert answerer.answer(question).escalation_reason == "low_confidence", question


def test_a_pasted_page_costs_a_bounded_number_of_lookups(answerer: OfflineAnswerer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from pentagon.agent.retriever import MAX_CORRECTED

    looked_up: list[str] = []
    speller = answerer.index._speller
    monkeypatch.setattr(speller, "correct", lambda word: looked_up.append(word) or word)
    page = " ".join(f"unknownword{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300))
    answerer.index.search(page)
    assert 0 < len(looked_up) <= MAX_CORRECTED


def test_a_long_list_is_no_question_about_a_few_dishes(answerer: OfflineAnswerer) -> None:
    from pentagon.agent.named_items import MAX_PARTS

    order = ", ".join(["latte", "samosa"] * MAX_PARTS)
    assert answerer._names.named(order) == []
    assert [m.english_name for m in answerer._names.named("latte, samosa")] == ["Latte", "Samosa"]


def test_an_allergy_question_pasted_long_costs_a_bounded_number_of_lookups(answerer: OfflineAnswerer,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The dish an allergy question names is looked for with the same bound (named_items.py)."""
    from pentagon.agent.retriever import MAX_CORRECTED

    looked_up: list[str] = []
    monkeypatch.setattr(answerer.index._speller, "correct", lambda word: looked_up.append(word) or word)
    page = "I'm allergic to nuts " + " ".join(f"unknownword{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300))
    assert answerer.answer(page).escalation_reason == "allergy"
    # retrieval, the dish named, maybe a second retrieval with the history: each bounded
    assert 0 < len(looked_up) <= 3 * MAX_CORRECTED
