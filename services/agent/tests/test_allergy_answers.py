"""An allergy question gets what the menu says now, and a person to confirm it (never the menu alone)."""

from __future__ import annotations

import pytest

from pentagon.agent.answer import OfflineAnswerer
from pentagon.agent.knowledge import KnowledgeBase
from pentagon.agent.language import tokens
from pentagon.agent.listing import allergen_scope


def _handed_over(answer, text: str = "staff member will confirm") -> bool:  # type: ignore[no-untyped-def]
    return answer.requires_human and answer.escalation_reason == "allergy" and text in answer.text


def test_the_few_dishes_made_with_it_are_named(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("I have a peanut allergy")
    assert answer.text.startswith("Made with peanuts: Shan Noodles, Tea Leaf Salad (Lahpet Thoke). "
                                  "Everything else on our menu is made without.\n\n")
    assert _handed_over(answer) and [s.id for s in answer.sources] == ["menu:19", "menu:21"]
    burmese = answerer.answer("မြေပဲ ဓာတ်မတည့်ပါဘူး")
    assert burmese.text.startswith("မြေပဲ ပါတာ - ရှမ်းခေါက်ဆွဲ၊ လက်ဖက်သုပ်။") and _handed_over(burmese, "ဝန်ထမ်းတစ်ဦး")


def test_nuts_are_peanuts_and_tree_nuts_in_the_kind_asked(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("I'm allergic to nuts, what can I eat?")
    assert answer.text.startswith("Our food made with peanuts or tree nuts: Shan Noodles, Tea Leaf Salad "
                                  "(Lahpet Thoke), Chocolate Brownie. The others are made without.")
    assert _handed_over(answer)


def test_when_most_are_made_with_it_the_others_are_listed_with_prices(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("allergic to milk, any coffee?")
    lines = answer.text.split("\n")
    assert lines[:4] == ["Our coffee made without milk (prices in MMK):", "• Espresso - 2,500", "• Americano - 3,000",
                         "• Cold Brew - 4,500"]
    assert _handed_over(answer) and [s.id for s in answer.sources] == ["menu:1", "menu:2", "menu:9"]


def test_none_and_all(answerer: OfflineAnswerer) -> None:
    assert answerer.answer("do you have gluten free cake?").text.startswith("All our desserts are made with gluten.")
    assert answerer.answer("allergic to sesame, any safe drinks?").text.startswith(
        "None of our drinks is made with sesame.")


def test_a_dish_named_gets_its_own_facts(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("my son has a nut allergy, is the brownie ok")
    assert answer.text.startswith("Chocolate Brownie: 3,500 MMK.") and "tree nuts" in answer.text
    assert _handed_over(answer) and [s.id for s in answer.sources] == ["menu:27"]


def test_no_allergen_named_no_list(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("I'm allergic, what can I have?")
    assert answer.text.startswith("Your safety matters to us") and _handed_over(answer) and not answer.sources


@pytest.mark.parametrize("question", ["nuts", "peanut", "gluten", "milk", "lactose", "egg", "fish", "sesame", "soy",
                                      "မြေပဲ", "ဂျုံ", "နို့", "ကြက်ဥ", "ငါး", "နှမ်း", "shellfish"])
def test_with_and_without_split_the_menu_truly(kb: KnowledgeBase, question: str) -> None:
    found = allergen_scope(kb.menu, question, set(tokens(question)))
    if question == "shellfish":  # on no dish of this menu: nothing can be said about it
        assert found is None
        return
    assert found is not None and found.allergens and found.made_with
    assert sorted(str(m.id) for m in found.made_with + found.made_without) == sorted(str(m.id) for m in kb.menu)
    for item in found.made_with:
        assert set(found.allergens) & {a.lower() for a in item.allergens}
    for item in found.made_without:
        assert not set(found.allergens) & {a.lower() for a in item.allergens}
