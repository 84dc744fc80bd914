"""How spicy a dish is and how long it takes: said when asked, in both languages, and heat asked like a diet."""

from __future__ import annotations

import pytest

from pentagon.agent.answer import OfflineAnswerer, Turn

SPICY = ["Mohinga", "Shan Noodles", "Nan Gyi Thoke", "Tea Leaf Salad (Lahpet Thoke)", "Avocado Toast", "Samosa"]


def test_a_dish_with_heat_says_how_much(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("is the shan noodle spicy?")
    assert answer.sources[0].id == "menu:19" and "Mildly spicy." in answer.text
    assert "Spicy." in answerer.answer("nan gyi thoke").text  # level 2, said unasked
    burmese = answerer.answer("ရှမ်းခေါက်ဆွဲ စပ်လား")
    assert burmese.sources[0].id == "menu:19" and "နည်းနည်း စပ်ပါတယ်။" in burmese.text


def test_not_spicy_only_to_whoever_asked(answerer: OfflineAnswerer) -> None:
    assert "Not spicy." in answerer.answer("is the latte spicy?").text
    assert "spicy" not in answerer.answer("how much is a latte?").text.lower()
    # ချဉ်စပ် is acidity: the Cold Brew's answer says nothing of heat.
    acid = answerer.answer("ကိုးလ်ဘရူး ချဉ်စပ်လား")
    assert acid.sources[0].id == "menu:9" and "မစပ်" not in acid.text


def test_how_long_a_dish_takes(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("how long does mohinga take?")
    assert answer.sources[0].id == "menu:18" and not answer.requires_human
    assert "Ready in about 8 minutes." in answer.text
    assert "minutes" not in answerer.answer("mohinga").text
    burmese = answerer.answer("မုန့်ဟင်းခါး ဘယ်လောက်ကြာမလဲ")
    assert burmese.sources[0].id == "menu:18" and "မိနစ် ၈ လောက်နဲ့ ရပါမယ်။" in burmese.text


@pytest.mark.parametrize("text", ["how long?", "how many minutes?", "ဘယ်လောက်ကြာလဲ"])
def test_how_long_naming_no_dish_asks_which(answerer: OfflineAnswerer, text: str) -> None:
    """Every dish matches "long" alike, so the first of them (the hot chocolate) was answered."""
    answer = answerer.answer(text)
    assert not answer.sources and not answer.requires_human and answer.intent == "menu"
    assert answer.listing  # composed from the whole menu: the model is not asked to reword it
    assert ("2 to 12 minutes" in answer.text) or ("၂ ကနေ ၁၂" in answer.text), answer.text
    assert answerer.answer("until what time?").sources[0].id == "hours:opening"


def test_a_customer_kept_waiting_still_gets_a_person(answerer: OfflineAnswerer) -> None:
    assert answerer.answer("I ordered 30 minutes ago and still waiting").requires_human


def test_anything_spicy_lists_the_dishes_with_heat(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("anything spicy?")
    assert answer.intent == "menu" and answer.text.startswith("Our spicy choices")
    assert [line[2:].rsplit(" - ", 1)[0] for line in answer.text.split("\n")[1:]] == SPICY
    burmese = answerer.answer("စပ်တာ ဘာရှိလဲ")
    assert burmese.text.startswith("စပ်တဲ့ ရွေးစရာများ") and "မုန့်ဟင်းခါး" in burmese.text


def test_something_not_spicy_to_eat(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("something not spicy to eat")
    assert answer.text.startswith("Our non-spicy food")
    assert "Butter Croissant" in answer.text and not any(dish in answer.text for dish in SPICY)
    burmese = answerer.answer("မစပ်တဲ့ အစားအစာ ရှိလား")
    assert burmese.text.startswith("မစပ်တဲ့ အစားအစာ") and "မုန့်ဟင်းခါး" not in burmese.text
    assert answerer.answer("spicy drinks?").text.startswith("We have no spicy drinks at the moment.\nOur spicy")


def test_is_it_spicy_after_a_dish_is_about_that_dish(answerer: OfflineAnswerer) -> None:
    history = [Turn("user", "How much are the Shan noodles?"), Turn("bot", "4,500 MMK")]
    answer = answerer.answer("and is it spicy?", history)
    assert answer.sources[0].id == "menu:19" and "Mildly spicy." in answer.text and not answer.listing


def test_parking_in_burmese_is_parking(answerer: OfflineAnswerer) -> None:
    """ပါကင် was cut into ပါ and ကင် (grilled): the avocado toast, at full confidence."""
    assert answerer.answer("ပါကင် ရှိလား").sources[0].id == "faq:4"
