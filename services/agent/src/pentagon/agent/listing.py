"""Answers that are a list of menu items: the menu, a category ('what coffee do you have?')
or a diet ('anything vegan?', 'vegetarian food', 'I'm vegan, what can I drink?'); and every
event, promotion or job when one of those kinds is all the question names ('any events this week?').

A question that names a dish, or asks anything beyond what to choose from, is left to
retrieval: a list is only the answer when the list is the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pentagon.agent.knowledge import MenuItem
from pentagon.agent.language import GENERIC_EN

# Words that ask for the menu (or a part of it) without naming a dish.
MENU_WORDS = frozenset({"menu", "show", "see", "full", "list", "option", "kind", "type", "price", "serve", "sell",
                        "available", "drink", "food", "မီနူး", "မီ", "နူး", "~မီ", "~နူး", "ကြည့်", "~ကြည့်", "ပြ",
                        "~ပြ", "ရှိ", "~ရှိ", "ဘာ", "~ဘာ", "တွေ", "မျိုး", "~မျိုး", "အမျိုးမျိုး", "~အ", "ဘယ်လောက်", "~ဘယ်",
                        "~လောက်", "ဈေး", "~ဈေး", "ရ", "~ရ", "ရောင်း", "~ရောင်း"})
CATEGORY_WORDS = {"coffee": "coffee", "ကော်ဖီ": "coffee", "tea": "tea", "dessert": "dessert", "sweet": "dessert",
                  "cake": "dessert", "အချိုပွဲ": "dessert", "ကိတ်မုန့်": "dessert", "ကိတ်": "dessert",
                  "smoothie": "drinks", "smoothy": "drinks", "juice": "drinks", "ဖျော်ရည်": "drinks",
                  "အချိုရည်": "drinks", "meal": "food", "noodle": "food", "အစားအစာ": "food"}
CATEGORY_SYLLABLES = {"~ကော်", "~ဖီ", "~ဖျော်", "~ရည်", "~အ", "~ချို", "~ပွဲ", "~စား", "~စာ", "~ကိတ်", "~မုန့်"}

# With a diet, "to drink" and "to eat" name groups of categories.
GROUP_WORDS = {"drink": ("coffee", "tea", "drinks"), "beverage": ("coffee", "tea", "drinks"),
               "သောက်": ("coffee", "tea", "drinks"), "~သောက်": ("coffee", "tea", "drinks"),
               "eat": ("food", "dessert"), "dish": ("food", "dessert"), "snack": ("food", "dessert"),
               "စား": ("food", "dessert"), "သောက်စရာ": ("coffee", "tea", "drinks")}
GROUP_NAMES = {("coffee", "tea", "drinks"): "drinks", ("food", "dessert"): "food"}
# Asked alone ("what drinks do you have?", "what food do you have?"), these words are a list of
# their own: every drink, or the food category (desserts are asked for by name).
_DRINKS = ("coffee", "tea", "drinks")
ALONE_WORDS = {"drink": _DRINKS, "beverage": _DRINKS, "သောက်": _DRINKS, "~သောက်": _DRINKS,
               "food": ("food",), "eat": ("food",), "စားစရာ": ("food",), "အစားအစာ": ("food",)}
# "Something to": သောက်စရာ (to drink) and စားစရာ (to eat) are cut into these.
ALONE_FILLER = frozenset({"စရာ", "~စ", "~ရာ"})
# Burmese diets, matched with spaces removed; English diets come through tokens (synonyms included).
DIETS_MY = (("ဗီဂန်", "vegan"), ("သက်သတ်လွတ်", "vegetarian"), ("အသားမပါ", "vegetarian"))
DIET_FILLER = frozenset({"based", "friendly", "suitable", "ဗီဂန်", "သက်သတ်လွတ်", "ဗီ", "ဂန်", "~ဗီ", "~ဂန်", "~သက်", "~သတ်", "~လွတ်",
                         "အသား", "~သား", "မ", "~မ", "ပါ", "~ပါ", "စရာ", "~စရာ", "စားစရာ"})

# How hot, asked like a diet: "spicy" is a spice level of 1 or more, "mild" none.
SPICE_DIETS = ("spicy", "mild")
SPICE_WORDS = frozenset({"spicy", "spice", "chili", "chilli", "စပ်", "~စပ်"})
SPICE_FILLER = frozenset({"non", "mild", "မ", "~မ", "တာ", "~တာ"})
# English drops "not" from its tokens, so the negation is read from the text.
_NOT_SPICY = re.compile(r"\b(?:not|non|no|without|isn'?t|aren'?t)[\s-]+(?:(?:too|very|so)\s+)?(?:spicy|spice|chill?i)\b"
                        r"|\bmild\b", re.IGNORECASE)


# A question that is only "how much?" ("and the price?", ဘယ်လောက်လဲ, ဈေး ဘယ်လောက်လဲ,
# ဘယ်လောက်ပေးရမလဲ) names no dish of its own: price words, and at most the syllables around them.
PRICE_WORDS = frozenset({"price", "ဘယ်လောက်", "~လောက်", "ဈေး", "~ဈေး", "ဈေးနှုန်း", "~နှုန်း"})
# ကျ: "ဘယ်လောက်ကျလဲ", how much does it come to.
PRICE_FILLER = frozenset({"ဘယ်", "~ဘယ်", "ရ", "~ရ", "မ", "~မ", "ကျ", "~ကျ"})


def price_only(words: set[str]) -> bool:
    return bool(words & PRICE_WORDS) and words <= PRICE_WORDS | PRICE_FILLER


@dataclass(frozen=True)
class Listing:
    items: list[MenuItem]
    category: str | None = None  # a category of the menu, or a group name ("drinks", "food")
    diet: str | None = None
    missing: bool = False  # nothing of the diet in the asked category: `items` are the diet's elsewhere
    cheapest_first: bool = False  # "what's the cheapest coffee?": the list by price, the answer on top


# "cheapest", "cheap" (language.EN_SYNONYMS); ဈေးအသက်သာဆုံး / ဈေးအပေါဆုံး arrive cut into these syllables.
CHEAPEST = "cheapest"
CHEAPEST_MY = ("အသက်သာဆုံး", "အပေါဆုံး", "ဈေးသက်သာ", "ဈေးပေါ")


def category_listing(menu: list[MenuItem], words: set[str], text: str = "") -> Listing | None:
    """'Menu', 'what coffee do you have?': a list of items, not one arbitrary item; 'how much?' with
    nothing asked before: the menu, which is every price; 'the cheapest coffee?': the coffees by price."""
    compact = re.sub(r"\s+", "", text)
    said = [p for p in CHEAPEST_MY if p in compact]
    if CHEAPEST in words or said:
        words = _without(words - {CHEAPEST}, said)
        named = words & (CATEGORY_WORDS.keys() | ALONE_WORDS.keys())
        found = category_listing(menu, words if named else words | {"menu"})  # nothing named: the whole menu
        if found is None:
            return None
        return Listing(sorted(found.items, key=lambda m: m.price), found.category, cheapest_first=True)
    if price_only(words):
        return Listing(menu) if menu else None
    content = words - MENU_WORDS - CATEGORY_SYLLABLES
    categories = {CATEGORY_WORDS[w] for w in content if w in CATEGORY_WORDS}
    rest = {w for w in content if w not in CATEGORY_WORDS}
    if not categories and not words & {"menu", "မီနူး"} and rest - ALONE_FILLER <= ALONE_WORDS.keys():
        return _alone_listing(menu, words)
    if rest or len(categories) > 1 or not words or not (words & {"menu", "မီနူး"} or categories):
        return None
    category = next(iter(categories), None)
    items = [m for m in menu if category is None or m.category.lower() == category]
    return Listing(items, category) if items else None


# "Any events this week?", "what promotions do you have?", "are you hiring?": the kind and nothing else.
KIND_WORDS = {"event": "event", "happen": "event", "activity": "event", "promotion": "promotion", "job": "job"}
KIND_MY = (("ပရိုမိုးရှင်း", "promotion"), ("လျှော့ဈေး", "promotion"), ("အစီအစဉ်", "event"), ("ပွဲ", "event"),
           ("အလုပ်ခေါ်", "job"), ("ဝန်ထမ်းခေါ်", "job"), ("အလုပ်လျှောက်", "job"))
KIND_FILLER = frozenset({"week", "weekend", "month", "today", "tonight", "tomorrow", "now", "upcom", "current",
                         "currently", "coming", "next", "new", "latest", "special", "open", "available", "any",
                         "ဒီ", "~ဒီ", "အပတ်", "~ပတ်", "ဒီည", "ဒီနေ့", "နေ့", "~နေ့", "~ည", "လ", "~လ", "နေ", "~နေ", "တွေ", "~တွေ",
                         "~အ", "ဘာ", "~ဘာ", "ရှိ", "~ရှိ"})


def kind_wanted(text: str, words: set[str]) -> str | None:
    """'event', 'promotion' or 'job' when the question asks for that kind and names nothing else."""
    compact = re.sub(r"\s+", "", text)
    said = [(phrase, kind) for phrase, kind in KIND_MY if phrase in compact]
    kinds = {KIND_WORDS[w] for w in words if w in KIND_WORDS} | {kind for _, kind in said}
    rest = _without(words - KIND_WORDS.keys() - KIND_FILLER, [phrase for phrase, _ in said])
    return kinds.pop() if len(kinds) == 1 and not rest else None


def _without(words: set[str], phrases: list[str]) -> set[str]:
    """The words minus those (and the syllables) of Burmese phrases found in the question, however the
    segmenter cut them."""
    return {w for w in words if not any(w.lstrip("~") in phrase for phrase in phrases)}


def _alone_listing(menu: list[MenuItem], words: set[str]) -> Listing | None:
    wanted = {ALONE_WORDS[w] for w in words if w in ALONE_WORDS}
    if len(wanted) != 1:
        return None
    group = wanted.pop()
    items = [m for m in menu if m.category.lower() in group]
    return Listing(items, GROUP_NAMES.get(group) or group[0]) if items else None


def diet_of(text: str, words: set[str], diets: frozenset[str]) -> str | None:
    """The diet the question names: a dietary tag of the menu ('vegan', 'halal'), in either language;
    else how hot the dishes should be ('spicy', 'mild')."""
    named = sorted(w for w in words if w in diets)
    if named:
        return named[0]
    compact = re.sub(r"\s+", "", text)
    diet = next((diet for pattern, diet in DIETS_MY if pattern in compact and diet in diets), None)
    return diet or spice_of(text, words)


def spice_of(text: str, words: set[str]) -> str | None:
    """'spicy' ("anything spicy?", "စပ်တာ ဘာရှိလဲ") or 'mild' ("something not spicy to eat", "မစပ်တာ"):
    asked like a diet. Not "ချဉ်စပ်" (acidity, said of coffee)."""
    compact = re.sub(r"\s+", "", text)
    if _NOT_SPICY.search(text) or "မစပ်" in compact:
        return "mild"
    return "spicy" if words & SPICE_WORDS and "ချဉ်စပ်" not in compact else None


def menu_diets(menu: list[MenuItem]) -> frozenset[str]:
    """Every dietary tag the menu uses ('vegan', 'vegetarian', a cafe's own 'halal')."""
    return frozenset(t.lower() for m in menu for t in m.dietary_info)


def diet_listing(menu: list[MenuItem], diets: frozenset[str], text: str, words: set[str]) -> Listing | None:
    """Items fit for the diet the question names, in the category it names if any."""
    diet = diet_of(text, words, diets)
    if diet is None:
        return None
    content = words - {diet} - CATEGORY_SYLLABLES - DIET_FILLER - ALONE_FILLER - GENERIC_EN
    if diet in SPICE_DIETS:
        content -= SPICE_WORDS | SPICE_FILLER
    groups = {GROUP_WORDS[w] for w in content if w in GROUP_WORDS}
    categories = {CATEGORY_WORDS[w] for w in content if w in CATEGORY_WORDS}
    if content - MENU_WORDS - GROUP_WORDS.keys() - CATEGORY_WORDS.keys() or len(groups) + len(categories) > 1:
        return None
    fitting = [m for m in menu if _fits(m, diet)]
    if not fitting:
        return None
    wanted, name = _scope(content)
    if not wanted:
        return Listing(fitting, None, diet)
    in_category = [m for m in fitting if m.category.lower() in wanted]
    return Listing(in_category or fitting, name, diet, missing=not in_category)


def _scope(words: set[str]) -> tuple[tuple[str, ...], str | None]:
    """The categories the words narrow the menu to (a group's, "drinks", or those named) and the
    scope's name; ((), None): the whole menu."""
    groups = [GROUP_WORDS[w] for w in sorted(words) if w in GROUP_WORDS]
    wanted = groups[0] if groups else tuple(sorted({CATEGORY_WORDS[w] for w in words if w in CATEGORY_WORDS}))
    return wanted, (GROUP_NAMES.get(wanted) or wanted[0]) if wanted else None


def named_category(words: set[str]) -> bool:
    """Whether the question narrows the menu to a category or group ('vegan cake', 'vegan drinks')."""
    return any(w in CATEGORY_WORDS or w in GROUP_WORDS for w in words)


def _fits(item: MenuItem, diet: str) -> bool:
    if diet in SPICE_DIETS:
        return (item.spice_level > 0) == (diet == "spicy")
    tags = {t.lower() for t in item.dietary_info}
    return diet in tags or (diet == "vegetarian" and "vegan" in tags)


# Allergens a question names, as Menu.json's `allergens` name them. Burmese is matched with spaces removed.
ALLERGEN_WORDS = {"nut": ("peanuts", "tree nuts"), "peanut": ("peanuts",), "walnut": ("tree nuts",),
                  "almond": ("tree nuts",), "cashew": ("tree nuts",), "gluten": ("gluten",), "wheat": ("gluten",),
                  "dairy": ("milk",), "milk": ("milk",), "lactose": ("milk",), "egg": ("egg",), "fish": ("fish",),
                  "seafood": ("fish", "shellfish"), "shellfish": ("shellfish",), "shrimp": ("shellfish",),
                  "prawn": ("shellfish",), "sesame": ("sesame",), "soy": ("soy",), "soya": ("soy",)}
ALLERGENS_MY = (("မြေပဲ", ("peanuts",)), ("သစ်ကြား", ("tree nuts",)), ("အခွံမာ", ("tree nuts",)),
                ("ဂျုံ", ("gluten",)), ("ဂလူတင်", ("gluten",)), ("နို့", ("milk",)), ("ကြက်ဥ", ("egg",)),
                ("ငါး", ("fish",)), ("ပုစွန်", ("shellfish",)), ("နှမ်း", ("sesame",)), ("ပဲပိစပ်", ("soy",)),
                ("ပဲငံပြာ", ("soy",)))


def allergens_named(text: str, words: set[str]) -> frozenset[str]:
    compact = re.sub(r"\s+", "", text)
    named = {a for w in words for a in ALLERGEN_WORDS.get(w, ())}
    return frozenset(named | {a for pattern, allergens in ALLERGENS_MY if pattern in compact for a in allergens})


@dataclass(frozen=True)
class Allergens:
    """An allergy question's dishes: in the category it names (else the whole menu), made with the allergens
    it names and made without them."""
    allergens: tuple[str, ...]
    category: str | None
    made_with: list[MenuItem]
    made_without: list[MenuItem]

    @property
    def names_made_with(self) -> bool:
        """The answer names the dishes made with it, the fewer (ties too: the warning is the point)."""
        return len(self.made_with) <= len(self.made_without)

    @property
    def listed(self) -> list[MenuItem]:
        return self.made_with if self.names_made_with else self.made_without


def allergen_scope(menu: list[MenuItem], text: str, words: set[str]) -> Allergens | None:
    """"I'm allergic to nuts", "gluten free cake?", "မြေပဲ ဓာတ်မတည့်ဘူး"; None when the question names no
    allergen the menu records (then nothing on it can be said to be made without it)."""
    named = allergens_named(text, words) & {a.lower() for m in menu for a in m.allergens}
    if not named:
        return None
    wanted, category = _scope(words)
    scope = [m for m in menu if not wanted or m.category.lower() in wanted]
    made_with = [bool(named & {a.lower() for a in m.allergens}) for m in scope]
    return Allergens(tuple(sorted(named)), category, [m for m, w in zip(scope, made_with) if w],
                     [m for m, w in zip(scope, made_with) if not w])
