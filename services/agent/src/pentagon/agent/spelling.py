"""Misspelt words read as the known word they are one or two slips from ("capucino", "croisant",
"machiato"): customers type dish names as they hear them.

Only English words of six to twenty letters that the knowledge never uses are corrected, and only
to a single nearest known word: a slip of one letter up to seven letters, of two from eight. Shorter
or ambiguous words stay as they are, so an unknown word still counts as unknown ("paris" is not
"parks") and off-topic questions still go to a person.

Candidates come from deletions (the symmetric-delete idea of SymSpell): every known word is indexed
under itself minus one or two letters, so a lookup costs a few dictionary probes, not a scan of the
vocabulary; each candidate is then checked with the real edit distance (adjacent swaps count one).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations

MIN_LENGTH = 6
LONG = 8  # from this length, two slips are allowed
# No dish or word of a cafe's knowledge is longer; a longer "word" (pasted junk, an attack: deletions
# grow with the square of the length) is left as it is.
MAX_LENGTH = 20


def _max_edits(length: int) -> int:
    return 2 if length >= LONG else 1


def _deletions(word: str, edits: int) -> set[str]:
    out = {word}
    for n in range(1, edits + 1):
        out.update("".join(c for i, c in enumerate(word) if i not in gone)
                   for gone in combinations(range(len(word)), n))
    return out


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[-1]


# Endings of other forms of one stem: "printer" is no slip for "printed" (the Wi-Fi password is printed on
# the receipt), nor "toaster" for "toasted".
_FORM_ENDINGS = frozenset({"er", "ed", "es", "en", "or"})


def _other_form(word: str, known: str) -> bool:
    return (len(word) == len(known) and word[:-2] == known[:-2]
            and word[-2:] in _FORM_ENDINGS and known[-2:] in _FORM_ENDINGS)


def _correctable(word: str) -> bool:
    return MIN_LENGTH - 1 <= len(word) <= MAX_LENGTH and word.isascii() and word.isalpha()


class Speller:
    """Built once per knowledge index from its vocabulary; ``correct(word)`` is a pure function of it."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        # Customers misspell the same dishes the same ways: a bounded memory of answers.
        self.correct = functools.lru_cache(maxsize=4096)(self._correct)
        self._known = frozenset(vocabulary)
        self._by_deletion: dict[str, set[str]] = defaultdict(set)
        for word in self._known:
            if _correctable(word):
                for variant in _deletions(word, _max_edits(len(word))):
                    self._by_deletion[variant].add(word)

    def _correct(self, word: str) -> str:
        if word in self._known or len(word) < MIN_LENGTH or not _correctable(word):
            return word
        allowed = _max_edits(len(word))
        candidates = {c for variant in _deletions(word, allowed) for c in self._by_deletion.get(variant, ())}
        scored = sorted((distance(word, c), c) for c in candidates)
        scored = [(d, c) for d, c in scored if d <= min(allowed, _max_edits(len(c))) and not _other_form(word, c)]
        if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]):
            return word  # nothing near, or two words as near: leave it unknown
        return scored[0][1]
