"""Retrieval over the knowledge records: a precomputed BM25 index on segmented tokens.

Every record becomes one LangChain ``Document`` whose id is the source id the
API reports (``faq:7``, ``menu:3``). The index is built once at start-up, so a
query costs a tokenisation and a walk over a few posting lists.

Confidence is the share of the query's information (IDF-weighted tokens, words
the knowledge never uses counting as rare) that the best record covers: a
question about our Wi-Fi is covered almost entirely, a question about the
weather in Paris hardly at all. That calibration is what the escalation
threshold is compared with.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from pentagon.agent.knowledge import KnowledgeBase, WEEKDAYS
from pentagon.agent.language import GENERIC_EN, PRAISE_EN, syllables, tokens
from pentagon.agent.spelling import Speller

K1, B = 1.2, 0.75
TITLE, TAGS, BODY = 3, 2, 1
# A Burmese word also yields its syllables (language.burmese_tokens), so it would outweigh an
# English word three to one in a mixed question ("Do you have oat milk? ကော်ဖီ" went to a
# coffee instead of the oat-milk answer). Syllables are partial evidence: half a word each.
SYLLABLE_WEIGHT = 0.5
MAX_CORRECTED = 16

MENU_CATEGORY_MM = {"coffee": "ကော်ဖီ", "tea": "လက်ဖက်ရည်", "drinks": "အချိုရည် ဖျော်ရည်", "food": "အစားအစာ",
                    "dessert": "အချိုပွဲ မုန့်"}
# Words people use for a kind of record without naming a record: they steer
# the query to the right kind and count towards its coverage.
KIND_HINTS = {
    "menu": "price menu food drink cup spicy spice chili long minute ဈေး ဈေးနှုန်း ဘယ်လောက် ကျပ် မီနူး စားစရာ ခွက် "
            "တစ်ခွက် စပ် ကြာ မိနစ်",
    "hours": "open hours time today when what time day week weekend until till start "
             + " ".join(WEEKDAYS) + " ဖွင့်ချိန် ဆိုင်ဖွင့် ဖွင့် ပိတ် ဘယ်အချိန် ဘယ်နှစ်နာရီ နာရီ ဒီနေ့ ပိတ်ရက် အချိန် "
             "တနင်္လာ အင်္ဂါ ဗုဒ္ဓဟူး ကြာသပတေး သောကြာ စနေ တနင်္ဂနွေ ရုံးပိတ်ရက်",
    "reservation": "reserve reservation book booking table seat seats party people person persons pax guests advance "
                   "2 3 4 5 6 7 8 two three four five six seven eight ကြိုတင် စားပွဲ ဘိုကင် နေရာ ယောက် လူဦးရေ မှာထား",
    "event": "event events happening activity activities upcoming week weekly month monthly time start "
             "ပွဲ အစီအစဉ် ပွဲတွေ",
    "promotion": "promotion special save percent ပရိုမိုးရှင်း လျှော့ဈေး လျှော့ ဈေးလျှော့",
    "job": "job apply work staff employee join team အလုပ် အလုပ်ခေါ် လျှောက် အလုပ်လျှောက် ဝန်ထမ်းခေါ် လစာ",
}


@dataclass(frozen=True)
class Entry:
    source_id: str
    kind: str
    record: Any
    text: str
    weighted: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float
    coverage: float

    def to_document(self) -> Document:
        return Document(id=self.entry.source_id, page_content=self.entry.text,
                        metadata={"kind": self.entry.kind, "id": self.entry.source_id,
                                  "score": round(self.score, 4), "confidence": round(self.coverage, 4)})


def _join(*parts: Any) -> str:
    return " ".join(" ".join(p) if isinstance(p, list) else str(p) for p in parts if p)


def _faq_entries(kb: KnowledgeBase) -> list[Entry]:
    return [Entry(f"faq:{f.id}", "faq", f, _join(f.question_en, f.answer_en, f.question_mm, f.answer_mm),
                  ((_join(f.question_en, f.question_mm), TITLE), (_join(f.tags, f.category), TAGS),
                   (_join(f.answer_en, f.answer_mm), BODY)))
            for f in kb.faqs]


def _menu_entries(kb: KnowledgeBase) -> list[Entry]:
    out = []
    for m in kb.menu:
        names = _join(m.english_name, m.myanmar_name)
        category = _join(m.category, MENU_CATEGORY_MM.get(m.category.lower(), ""))
        out.append(Entry(f"menu:{m.id}", "menu", m, _join(names, m.description_en, m.description_mm),
                         ((names, TITLE), (category, TAGS), (KIND_HINTS["menu"], BODY),
                          (_join(m.ingredients, m.allergens, m.dietary_info, m.description_en, m.description_mm),
                           BODY))))
    return out


def _titled_entries(kind: str, records: list[Any], *body_fields: str) -> list[Entry]:
    out = []
    for r in records:
        body = _join(*(getattr(r, name) for name in body_fields))
        out.append(Entry(f"{kind}:{r.id}", kind, r, _join(r.title_en, r.title_mm, body),
                         ((_join(r.title_en, r.title_mm), TITLE), (_join(r.tags), TAGS),
                          (KIND_HINTS[kind], TAGS), (body, BODY))))
    return out


def _reservation_entries(kb: KnowledgeBase) -> list[Entry]:
    res = kb.reservations
    if res is None:
        return []
    hours_text = _join(res.hours_note_en, res.hours_note_mm)
    policy = _join(res.reservation_policy_en, res.reservation_policy_mm)
    out = [Entry("hours:opening", "hours", res, hours_text,
                 ((KIND_HINTS["hours"], TITLE), (hours_text, BODY)))]
    if policy:
        out.append(Entry("reservation:policy", "reservation", res, policy,
                         ((KIND_HINTS["reservation"], TITLE), (policy, BODY))))
    return out


def build_entries(kb: KnowledgeBase) -> list[Entry]:
    return [*_faq_entries(kb), *_menu_entries(kb),
            *_titled_entries("event", kb.events, "description_en", "description_mm", "schedule_en", "schedule_mm"),
            *_titled_entries("promotion", kb.promotions, "description_en", "description_mm", "valid_en", "valid_mm"),
            # A job's pay is in its record: "how much per hour?" after the part-time job is answered by it.
            *_titled_entries("job", kb.jobs, "type_en", "type_mm", "description_en", "description_mm",
                             "salary_en", "salary_mm"),
            *_reservation_entries(kb)]


def _one_syllable(word: str) -> bool:
    return not word.isascii() and len(syllables(word)) == 1


class KnowledgeIndex:
    """BM25 over weighted, segmented tokens of every record; immutable after construction."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.entries = build_entries(kb)
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._token_sets: list[frozenset[str]] = []
        lengths = []
        for doc_id, entry in enumerate(self.entries):
            counts: Counter[str] = Counter()
            for text, weight in entry.weighted:
                for token in tokens(text):
                    counts[token] += weight
            self._token_sets.append(frozenset(counts))
            lengths.append(sum(counts.values()))
            for token, tf in counts.items():
                self._postings[token].append((doc_id, tf))
        n = max(len(self.entries), 1)
        self._avg_len = (sum(lengths) / n) or 1.0
        self._norm = [K1 * (1 - B + B * length / self._avg_len) for length in lengths]
        self._idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self._postings.items()}
        # A word no record uses is as informative as the rarest word we know; an everyday one
        # (language.GENERIC_EN) as the most common word we know.
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        self._common_idf = min(self._idf.values(), default=self._unknown_idf)
        self._speller = Speller(self._idf)

    def corrected(self, words: Iterable[str]) -> list[str]:
        """The distinct words in order, misspelt known words as the word ("capucino" is "cappuccino"): only
        the first MAX_CORRECTED unknown ones, since a customer's question has a few and a pasted page must
        not cost a spelling lookup per word."""
        out: list[str] = []
        tried = 0
        for word in dict.fromkeys(words):
            if word not in self._idf and tried < MAX_CORRECTED:
                tried += 1
                word = self._speller.correct(word)
            out.append(word)
        return out

    def query_tokens(self, text: str) -> set[str]:
        return set(self.corrected(tokens(text)))

    def _weight(self, token: str) -> float:
        idf = self._idf.get(token)
        if token in PRAISE_EN:
            # Praise says nothing about what is asked, even where one record happens to use the word:
            # "good coffee here?" went to the job ad saying "Good for students".
            return self._common_idf if idf is None else min(idf, self._common_idf)
        if idf is not None:
            return idf
        return self._common_idf if token in GENERIC_EN else self._unknown_idf

    def search(self, text: str, k: int = 4) -> list[Hit]:
        query = self.query_tokens(text)
        if not query or not self.entries:
            return []
        scores: dict[int, float] = defaultdict(float)
        for token in query:
            if token not in self._idf:
                continue
            idf = self._weight(token)
            if token.startswith("~"):
                idf *= SYLLABLE_WEIGHT
            for doc_id, tf in self._postings[token]:
                scores[doc_id] += idf * tf * (K1 + 1) / (tf + self._norm[doc_id])
        total = sum(self._weight(t) for t in query)
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [Hit(self.entries[d], s, self._coverage(query, d, total)) for d, s in best]

    def _coverage(self, query: set[str], doc_id: int, total: float) -> float:
        matched = sum(self._weight(t) for t in query & self._token_sets[doc_id])
        return matched / total if total else 0.0

    def unknown_words(self, text: str) -> bool:
        """Whether ``text`` has a word no record uses (misspellings read as the word; everyday words known; a
        Burmese word's syllables are no words of their own, and a Burmese word of one syllable left unknown is
        too short to name a thing: the ခန်း, room, of ဆေးလိပ်သောက်ခန်း, smoking room)."""
        return any(w not in self._idf and w not in GENERIC_EN and not w.startswith("~") and not _one_syllable(w)
                   for w in self.query_tokens(text))

    def joint_coverage(self, text: str, source_ids: Collection[str]) -> float:
        """The share of the question's information these records cover together (a question naming two dishes)."""
        query = self.query_tokens(text)
        covered = frozenset().union(*(s for s, e in zip(self._token_sets, self.entries) if e.source_id in source_ids))
        total = sum(self._weight(t) for t in query)
        return sum(self._weight(t) for t in query & covered) / total if total else 0.0


class KnowledgeRetriever(BaseRetriever):
    """LangChain retriever over the index: documents carry kind, id, score and confidence."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    index: KnowledgeIndex
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit.to_document() for hit in self.index.search(query, self.k)]
