"""The menu items a question names, when it names several ("how much is a cappuccino and a croissant?").

Retrieval ranks records for the question as a whole, so it answers one dish of two. Here the
question is cut where customers join dishes ("and", "or", commas; နဲ့, နှင့်, ၊) and each part is
matched against the dishes' names, not their descriptions: a part names a dish when it holds the
whole of one of its names, or a word of its name no other dish uses anywhere ("croissant",
"ခရိုဆွန့်"). Where several dishes fit a part, the one with more of its name there wins ("iced
latte" is the Iced Latte, not the Latte); a tie names none ("smoothie" alone).

English is matched on retrieval tokens (stemmed, so "croissants" names the croissant; misspelt words
corrected as retrieval corrects them, so "croisant" does too); Burmese,
written without spaces between words, on the name's text with spaces removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pentagon.agent.knowledge import MenuItem
from pentagon.agent.language import english_tokens, syllables

# Where a question joins one dish to the next.
_JOINS = re.compile(r",|&|\+|/|\b(?:and|or|plus)\b|\u104a|နဲ့|နှင့်", re.IGNORECASE)
_ALIAS = re.compile(r"\(([^)]*)\)")
_SPACES = re.compile(r"\s+")
# A Burmese part of a name shorter than this many syllables is too likely to turn up inside another word.
MIN_KEY_SYLLABLES = 2
# More parts than this is an order or a pasted page, not a question about a few dishes.
MAX_PARTS = 12


def _en(text: str) -> frozenset[str]:
    return frozenset(english_tokens(text))


def _bare(text: str) -> str:
    return _SPACES.sub("", text)


@dataclass(frozen=True)
class _Names:
    item: MenuItem
    english: tuple[frozenset[str], ...]  # the name and its alias in brackets, each as tokens
    words: frozenset[str]  # every word of those
    burmese: str  # the Burmese name, spaces removed
    burmese_parts: tuple[str, ...]
    en_keys: frozenset[str]  # name words no other dish uses anywhere
    my_keys: tuple[str, ...]


def _english_names(item: MenuItem) -> tuple[frozenset[str], ...]:
    aliases = _ALIAS.findall(item.english_name)
    names = [_en(_ALIAS.sub(" ", item.english_name)), *(_en(a) for a in aliases)]
    return tuple(n for n in names if n)


def _all_text(item: MenuItem) -> tuple[frozenset[str], str]:
    english = " ".join([item.english_name, item.description_en, *item.ingredients])
    return _en(english), _bare(" ".join([item.myanmar_name, item.description_mm]))


class MenuNames:
    """Built once per knowledge base; ``named`` is what a question joining several parts names, in order."""

    def __init__(self, menu: list[MenuItem], corrected: Callable[[Iterable[str]], list[str]] = list) -> None:
        self._corrected = corrected  # misspelt words as the known ones ("croisant"): KnowledgeIndex.corrected
        texts = [_all_text(item) for item in menu]
        self._names: list[_Names] = []
        for i, item in enumerate(menu):
            others = [t for j, t in enumerate(texts) if j != i]
            english = _english_names(item)
            words = frozenset().union(*english)
            parts = tuple(_bare(p) for p in item.myanmar_name.split() if p)
            self._names.append(_Names(
                item, english, words, _bare(item.myanmar_name), parts,
                frozenset(w for w in words if not any(w in en for en, _ in others)),
                tuple(p for p in parts if len(syllables(p)) >= MIN_KEY_SYLLABLES
                      and not any(p in my for _, my in others))))

    def named(self, text: str) -> list[MenuItem]:
        parts = _JOINS.split(text)
        if not 2 <= len(parts) <= MAX_PARTS:  # one part names one dish at most: retrieval's job (most questions)
            return []
        found: list[MenuItem] = []
        for part in parts:
            item = self._named_in(part)
            if item is not None and all(item.id != f.id for f in found):
                found.append(item)
        return found

    def named_one(self, text: str) -> MenuItem | None:
        """The one dish a question names by name, if it does."""
        return self._named_in(text)

    def _named_in(self, part: str) -> MenuItem | None:
        words, bare = frozenset(self._corrected(english_tokens(part))), _bare(part)
        if not words and not bare:
            return None
        strengths: dict[int, int] = {}
        for i, n in enumerate(self._names):
            whole = any(name <= words for name in n.english) or bool(n.burmese and n.burmese in bare)
            if whole or n.en_keys & words or any(k in bare for k in n.my_keys):
                strengths[i] = len(n.words & words) + sum(p in bare for p in n.burmese_parts)
        if not strengths:
            return None
        best = max(strengths.values())
        winners = [i for i, s in strengths.items() if s == best]
        return self._names[winners[0]].item if len(winners) == 1 else None
