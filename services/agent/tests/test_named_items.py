"""Questions naming several dishes: each is answered, in the customer's language, in the order asked."""

from __future__ import annotations

import pytest

from pentagon.agent.answer import MAX_NAMED_ITEMS, OfflineAnswerer
from pentagon.agent.knowledge import KnowledgeBase
from pentagon.agent.named_items import MenuNames


@pytest.fixture(scope="module")
def names(kb: KnowledgeBase) -> MenuNames:
    return MenuNames(kb.menu)


@pytest.mark.parametrize(("question", "named"), [
    ("how much is a cappuccino and a croissant?", ["Cappuccino", "Butter Croissant"]),
    ("latte and mohinga price", ["Latte", "Mohinga"]),  # the whole name "latte", not every latte
    ("cappuccino or americano, which is cheaper?", ["Cappuccino", "Americano"]),
    ("2 brownies and 3 croissants", ["Chocolate Brownie", "Butter Croissant"]),  # plurals
    ("lahpet thoke and laphet yay", ["Tea Leaf Salad (Lahpet Thoke)", "Myanmar Milk Tea (Laphet Yay)"]),  # aliases
    ("mango smoothie, avocado toast & a samosa", ["Mango Smoothie", "Avocado Toast", "Samosa"]),
    ("ကပ်ပူချီနို နဲ့ ခရိုဆွန့် ဘယ်လောက်လဲ", ["Cappuccino", "Butter Croissant"]),
    ("ရှမ်းခေါက်ဆွဲ၊ စမူဆာ ရှိလား", ["Shan Noodles", "Samosa"]),
    ("hot or iced latte", ["Iced Latte"]),  # "hot" is said of many drinks: it names none
    ("iced latte and latte", ["Iced Latte", "Latte"]),  # the longer name where both fit
    ("smoothies and juice", ["Fresh Orange Juice"]),  # two smoothies: "smoothies" names neither
    ("lemon soda and a samosa", ["Samosa"]),  # the lemon tea or the lime soda? as sure of one as of the other
    ("coffee and cake", []),  # kinds of things, not dishes
    ("salt and pepper?", []),
])
def test_what_a_question_names(names: MenuNames, question: str, named: list[str]) -> None:
    assert [item.english_name for item in names.named(question)] == named


def test_two_dishes_asked_together_are_both_answered(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("How much is a cappuccino and a croissant?")
    assert [s.id for s in answer.sources] == ["menu:4", "menu:24"]
    lines = answer.text.split("\n")
    assert lines[0].startswith("Cappuccino: 4,000 MMK") and lines[1].startswith("Butter Croissant: 2,500 MMK")
    assert answer.intent == "menu" and not answer.requires_human
    assert answer.confidence >= answerer.threshold and not answer.listing
    assert [h.entry.source_id for h in answer.hits] == ["menu:4", "menu:24"]  # what a model would be shown


def test_in_burmese_too(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("မုန့်ဟင်းခါး နဲ့ လက်ဖက်ရည် ဘယ်လောက်လဲ")
    assert [s.id for s in answer.sources] == ["menu:18", "menu:10"]
    assert answer.text.startswith("မုန့်ဟင်းခါး - ၄,၀၀၀ ကျပ်") and "လက်ဖက်ရည် - " in answer.text


def test_one_dish_and_something_else_is_answered_as_before(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("is the brownie vegan and gluten free?")
    assert answer.sources[0].id == "menu:27" and len(answer.sources) == 1


def test_dishes_that_are_the_lesser_part_of_the_question_are_not_the_answer(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("cappuccino and croissant, do you deliver to Bahan and can I pay by card "
                             "and is there parking and a toilet?")
    assert [s.id for s in answer.sources] != ["menu:4", "menu:24"]


def test_a_long_order_is_not_a_price_list(answerer: OfflineAnswerer) -> None:
    dishes = "espresso, americano, latte, cappuccino, mocha, samosa, mohinga"
    assert dishes.count(",") + 1 > MAX_NAMED_ITEMS
    assert len(answerer.answer(f"how much are {dishes}?").sources) < MAX_NAMED_ITEMS


def test_sold_out_and_panel_prices_hold_for_each_dish(kb: KnowledgeBase) -> None:
    bot = OfflineAnswerer(kb, sold_out=lambda item: item == "15", menu_prices=lambda: {"25": 1800.0})
    text = bot.answer("a mango smoothie and a samosa please").text
    mango, samosa = text.split("\n")
    assert "sold out" in mango and "4,500" not in mango
    assert samosa.startswith("Samosa: 1,800 MMK")
