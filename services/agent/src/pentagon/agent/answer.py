"""The offline answerer: retrieval, escalation rules and composed replies, no model needed.

It is also the safety net of the OpenAI path: whatever happens to the model,
this answer exists first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from pentagon.agent import compose, listing
from pentagon.agent.booking import RESERVATION, BookingRequest, asks_to_book, booking_request
from pentagon.agent.days import asked_day, without_dates
from pentagon.agent.escalation import LOW_CONFIDENCE, escalation_trigger, small_talk
from pentagon.agent.knowledge import DayHours, KnowledgeBase, MenuItem, Reservations
from pentagon.agent.language import asked_as_having, clean, detect_language, reply_language, to_unicode, tokens
from pentagon.agent.named_items import MenuNames
from pentagon.agent.phrases import QUICK_REPLIES, QUICK_REPLIES_ESCALATED, WEEKDAY_NAMES, phrase
from pentagon.agent.retriever import Entry, Hit, KnowledgeIndex, KnowledgeRetriever
from pentagon.common.closed_days import ClosedDay

OFFLINE_MODEL = "offline"
# What a customer asks about a dish just named, with "it", "that", "they": the dish is the subject.
ITEM_QUALITIES = frozenset(tokens("sweet spicy hot cold dairy milk sugar sugary vegan vegetarian gluten nut nuts egg "
                                  "eggs big large small size fresh healthy halal caffeine strong contain ingredient "
                                  "ingredients allergen allergens available availability stock"))
# Burmese drops the "it": a question of these alone ("စပ်လား", spicy?; "ချိုလား", sweet?) is about the dish.
# So is what it is made with ("မြေပဲ ပါလား", any peanuts in it?).
ITEM_QUALITIES_MY = frozenset(tokens("စပ် ချို ပူ အေး သကြား ကြီး ဆိမ့် ခါး ချဉ် ငံ ပြင်း ကြာ မိနစ် မြေပဲ ကြက်ဥ နို့ ဂျုံ "
                                     "နှမ်း သစ်ကြား သက်သတ်လွတ် ဗီဂန်"))
ANY_ITEM_QUALITY = ITEM_QUALITIES | ITEM_QUALITIES_MY
# How Burmese asks it ("ဘယ်နှ မိနစ် ကြာလဲ", how many minutes?): with a quality, still about the dish.
_ASKING_MY = frozenset(tokens("ဘယ် နှ ဘယ်လောက် မ"))
# A question of when or how long and nothing else ("until what time?", "how long is it?", "ဘယ်အချိန်အထိလဲ")
# asks it of what was just talked about: the breakfast set's last hour, the workshop's length.
# စ, ဆုံး / ပြီး: to start, to end; လုပ်, to hold: "ဘယ်နေ့ လုပ်လဲ", which day is it held?
_WHEN = frozenset(tokens("time until till long start end finish begin minute minutes day days date wait ဘယ်အချိန် "
                         "အချိန် အထိ ထိ ကြာ မိနစ် နာရီ ဘယ်တော့ စ စလဲ ဆုံး ပြီး ဘယ်နေ့ စောင့် လုပ်"
                         " monday tuesday wednesday thursday friday saturday sunday weekend weekday "
                         + " ".join(WEEKDAY_NAMES["my"])))  # "စနေ တနင်္ဂနွေ ရလား" (at the weekend too?)
# So is a question of how far or how many and nothing else: "how far?" after delivery (its 3 km), "how many
# people fit?" after private parties (the room's 30), "လူ ဘယ်နှယောက် ဆံ့လဲ".
_HOW_FAR_OR_MANY = frozenset(tokens("far distance km people person guest fit seat hold capacity maximum ahead advance "
                                    "လူ ယောက် ဆံ့ ထိုင်"))
# "Where?" alone asks where the thing just talked about is: in Burmese "ဘယ်နေရာမှာလဲ" (at which place?) after the
# smoking rule is the smoking area, not the address (English "where" is a stopword: such a question has no words).
_WHERE = frozenset(tokens("နေရာ"))
_HOW = re.compile(r"\s*how\b", re.IGNORECASE)
_REFERS_BACK = re.compile(r"\b(it|its|it's|that|this|they|them|those|these|this one|that one|instead)\b",
                          re.IGNORECASE)
# Whether the offer or set just talked about takes in something: "does it include cold brew?" is about the
# happy hour, although cold brew is a dish of its own; "does it apply to takeaway?" about the student
# discount, not the own-cup discount that says "takeaway".
_INCLUDES = re.compile(r"\b(?:include|includes|included|including|apply|applies|valid|use (?:it|this|that|them|one))\b",
                       re.IGNORECASE)
# The same in Burmese after an offer: "ပါဆယ် ရလား" (takeaway too?) after the student discount is whether it
# applies there, not the own-cup discount that names takeaway.
_APPLIES_MY = re.compile(r"^\s*\S+\s*ရ(?:ပါ)?(?:သ)?လား\s*[?？။!]*\s*$")  # one word, then "ok?"
# Something had with what was just talked about: "can I have milk tea with it?" after the breakfast set (the set
# offers one), "can I get it in a latte?" after oat milk; after a dish, "can I get it with soy milk?" asks for
# the option (the milk FAQ), not the dish again.
_WITH_IT = re.compile(r"\b(?:with|in|without|on) (?:it|that|this|them|one)\b"
                      r"|\b(?:get|have|order|make|do) (?:it|that|this|them|one) "
                      r"(?:with|in|without|as|less|more|extra|no)\b"
                      # Burmese drops the "it": "နို့ကော်ဖီ နဲ့ ရလား" (can I have it with milk coffee?).
                      r"|(?:နဲ့|နှင့်)\s*ရ(?:မလား|လား)\s*[?？။!]*\s*$", re.IGNORECASE)
# "Which drinks?", "which ones?", "which cards?" after an offer, a rule or an event pick from what it names (the
# happy hour's iced coffees, the cards we take): its record answers, not a list of the whole menu.
_PICKS = re.compile(r"^\s*(?:and |so |ok,? )?which(?: (?:of them|[a-z]+))?\s*[?？.!]*\s*$", re.IGNORECASE)
# The next turn of the same topic: "and Saturday?", "what about inside?"; in Burmese a trailing ကော / ရော
# ("စနေနေ့ကော", and Saturday?).
_GOES_ON = re.compile(r"^\s*(?:and|also|plus|what about|how about)\b", re.IGNORECASE)
_GOES_ON_MY = re.compile(r"(?:ကော|ရော)\s*[?？။!]*\s*$")
# How a question brings up a new subject ("is there parking?" after the address, although the address says
# "park"); in Burmese "X ရှိလား" (is there X?).
_INTRODUCES = re.compile(r"^\s*(?:is there|are there|do you (?:have|sell|serve|do|make|offer)|have you got|"
                         r"(?:got )?any)\b", re.IGNORECASE)
_INTRODUCES_MY = re.compile(r"ရှိ(?:ပါ)?(?:သ)?(?:လား|လဲ)\s*[?？။!]*\s*$")
# What "is there X?", "do you have X?" asks for: X, up to where a clause of its own starts ("parking for bikes",
# "a printer I can use", "a menu in English").
_ASKED_FOR = re.compile(r"^\s*(?:is there|are there|do you have|have you got|(?:got )?any)\s+(?:an? |any |some )?"
                        r"(.+?)(?=\s+(?:for|in|at|on|to|that|which|who|i|we|you|with|near|here|there|today|now|"
                        r"tonight|please|too|as well|available|still|left)\b|\s*[?!.,]|\s*$)", re.IGNORECASE)
_ASKED_FOR_MY = re.compile(r"^(.+?)\s*ရှိ(?:ပါ)?(?:သ)?လား\s*[?？။!]*\s*$")
# How much of our last answer's words one record must hold to be the record it was composed from: on the
# dialogue set's first turns 241 of 242 answers found their own record first (at 0.21 or more, one other at
# 0.23), and hand-overs and greetings matched nothing above 0.35 ("hi" answered: the Thingyan record, 0.35).
# Asked only when the customer's words point elsewhere, so a weak match leaves their record.
REPLY_MATCH = 0.4
SMALL_TALK_CONFIDENCE = 0.95
# Answers composed from the whole menu or a kind of record (lists, "which dish?"), not one record's match.
LISTING_CONFIDENCE = 0.9
# Dishes answered in one reply when a question names several; more than this is an order, for a person.
MAX_NAMED_ITEMS = 6
INTENT_BY_KIND = {"faq": "faq", "menu": "menu", "hours": "hours", "reservation": "reservation", "event": "events",
                  "promotion": "events", "job": "jobs"}
INTENT_BY_FAQ_CATEGORY = {"payment": "payment"}
INTENT_BY_REASON = {"human_request": "human_request", "complaint": "complaint", "allergy": "allergy",
                    "medical": "medical", "payment_problem": "payment", RESERVATION: "reservation",
                    LOW_CONFIDENCE: "off_topic"}

@dataclass(frozen=True)
class SourceRef:
    kind: str
    id: str
    score: float


@dataclass
class Answer:
    text: str
    intent: str
    language: str
    confidence: float
    requires_human: bool = False
    escalation_reason: str = ""
    sources: list[SourceRef] = field(default_factory=list)
    quick_replies: list[str] = field(default_factory=list)
    model: str = OFFLINE_MODEL
    prompt_tokens: int = 0
    completion_tokens: int = 0
    hits: list[Hit] = field(default_factory=list)
    query: str = ""
    listing: bool = False  # composed from the whole menu (llm.py leaves it as it is)


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


def _leans_back(text: str, words: set[str]) -> bool:
    """A question whose subject is the one asked about before: "how much?", "is it sweet?"."""
    if listing.price_only(words):
        return True
    if words & ITEM_QUALITIES and (_REFERS_BACK.search(text) is not None or words <= ITEM_QUALITIES
                                   and _HOW.match(text) is not None):  # "how spicy?", "how big?"
        return True
    if words & _WHEN and words <= _WHEN | _ASKING_MY:
        return True
    if words & _HOW_FAR_OR_MANY and words <= _HOW_FAR_OR_MANY | _ASKING_MY:
        return True
    if words & _WHERE and words <= _WHERE | _ASKING_MY:
        return True
    return bool(words & ITEM_QUALITIES_MY) and words <= ITEM_QUALITIES_MY | _ASKING_MY


def _follows_on(text: str) -> bool:
    """Said as the next turn of the topic before: it points back ("what time does it start?") or goes on
    from it ("what about inside?", "စနေနေ့ကော")."""
    return bool(_REFERS_BACK.search(text) or _GOES_ON.search(text) or _GOES_ON_MY.search(text))


def _introduces(text: str) -> bool:
    return _INTRODUCES.search(text) is not None or _INTRODUCES_MY.search(text) is not None


class Topic:
    """What the customer's latest turns were about, cleaned as a question is: ``start`` the turn that set it
    ("anything spicy?"), ``text`` that turn with the ones leaning on it since ("anything spicy? are they
    vegan?"; the last three at most); both "" when there is no earlier turn. Found when first asked, once:
    most answers never need it (reading the earlier turns costs a tokenisation each)."""

    def __init__(self, history: Sequence[Turn]) -> None:
        # "ok", "thanks", "hi" between two questions are no topic: "what about inside?" after "can I bring my
        # dog?" and "ok" is still about dogs.
        self._users: list[str] = []
        self.reply = ""  # what we answered the latest of them
        self.record: Hit | None = None  # the record it is about, once OfflineAnswerer._topic_hit has looked
        self.looked = False
        for turn in history:
            if not turn.text or turn.role == "user" and small_talk(turn.text):
                continue
            if turn.role == "user":
                self._users.append(turn.text)
                self.reply = ""
            elif self._users and not self.reply:
                self.reply = turn.text

    def __bool__(self) -> bool:
        return bool(self._users)

    def asked_to_book(self) -> bool:
        """The customer's latest turn asked for a table: the next may give its day and time alone."""
        return bool(self._users) and asks_to_book(self._users[-1])

    @property
    def start(self) -> str:
        return self._found[0]

    @property
    def text(self) -> str:
        return self._found[1]

    @cached_property
    def _found(self) -> tuple[str, str]:
        turns: list[str] = []
        for previous in reversed(self._users[-3:]):
            turns.insert(0, previous)
            if not _leans_back(previous, set(tokens(previous))):
                return _cleaned(previous), _cleaned(" ".join(turns))
        return "", (_cleaned(" ".join(turns)) if turns else "")


# A record's own words, as our answers quote them (the FAQ's answer, the dish's or event's description).
_QUOTED_FIELDS = ("answer_en", "answer_mm", "description_en", "description_mm")


def _said_from(reply: str, entry: Entry) -> bool:
    """Whether our answer quotes the record (its first words are enough: answers quote whole fields)."""
    return any((said := getattr(entry.record, name, "")) and said[:40] in reply for name in _QUOTED_FIELDS)


def _cleaned(text: str) -> str:
    return to_unicode(clean(text))[0]


class OfflineAnswerer:
    def __init__(self, kb: KnowledgeBase, threshold: float = 0.35, history_turns: int = 6,
                 timezone: str = "Asia/Yangon", clock: Callable[[], datetime] | None = None,
                 sold_out: Callable[[str], bool] = lambda _: False,
                 closed_days: Callable[[], dict[str, ClosedDay]] = dict,
                 menu_prices: Callable[[], dict[str, float]] = dict) -> None:
        self.kb = kb
        self.index = KnowledgeIndex(kb)
        self.retriever = KnowledgeRetriever(index=self.index, k=4)
        self._entries = {e.source_id: e for e in self.index.entries}
        self._diets = listing.menu_diets(kb.menu)
        self._names = MenuNames(kb.menu, self.index.corrected)
        self.threshold = threshold
        self.history_turns = history_turns
        self.tz = ZoneInfo(timezone)
        self._clock = clock or (lambda: datetime.now(self.tz))
        # Menu ids staff marked sold out in the panel (sold_out.py): asked at answer time, no rebuild.
        self.sold_out = sold_out
        # Days staff closed the cafe in the panel (closed_days.py), by ISO day: also asked at answer time.
        self.closed_days = closed_days
        # Prices staff changed in the panel (menu_prices.py), by menu id: laid over the file's at answer time.
        self.menu_prices = menu_prices
        self._priced_menu: tuple[dict[str, float], list[MenuItem]] = ({}, kb.menu)

    def recent(self, history: Sequence[Turn]) -> list[Turn]:
        """The latest turns only: the oldest are the first to go when a conversation runs long."""
        return list(history[-self.history_turns:]) if self.history_turns else []

    def answer(self, text: str, history: Sequence[Turn] = (), locale: str = "") -> Answer:
        text, _ = to_unicode(clean(text))
        language = detect_language(text, locale)
        lang = reply_language(language)
        trigger = escalation_trigger(text)
        if trigger is None and (kind := small_talk(text)):
            # Someone saying goodbye gets no buttons to press.
            quick = [] if kind == "goodbye" else QUICK_REPLIES[lang]
            return Answer(phrase(lang, kind), kind, language, SMALL_TALK_CONFIDENCE, quick_replies=quick, query=text)
        # "open on 25 December?" is a question about a day (the hours); "do you serve alcohol?" one about alcohol.
        searched = asked_as_having(without_dates(text))
        words = set(tokens(searched))  # once: every step below reads the question's words
        topic = Topic(self.recent(history))
        query, hits = self._retrieve(searched, words, topic)
        confidence = round(hits[0].coverage, 4) if hits else 0.0
        if trigger is not None:
            return self._escalate(trigger.reason, lang, language, confidence, hits, query, text)
        today = self._clock().astimezone(self.tz).date()
        if (booking := booking_request(text, today, topic.asked_to_book())) is not None:
            return self._book(booking, lang, language, confidence, hits, query)
        if (picked := self._picked(text, words, topic, lang, language)) is not None:
            return picked
        listed = (self._about_the_list(text, words, topic, lang, language, hits)
                  or self._listing(text, words, query, lang, language, hits)
                  or self._kind_list(text, words, query, lang, language, hits))
        if listed is not None:
            return listed
        several = self._several(text, words, query, lang, language)
        if several is None and query != text and _leans_back(text, words):
            # "How much?" after "a shan noodle and a latte?": both dishes it leans on, not the first.
            several = self._several(query, words, query, lang, language)
        if several is not None:
            return several
        if not hits or confidence < self.threshold or self._lacks(searched):
            return self._escalate(LOW_CONFIDENCE, lang, language, confidence, hits, query)
        top = hits[0]
        return Answer(self.compose_hit(top, lang, text, words), self.intent_of(top), language, confidence,
                      sources=[SourceRef(top.entry.kind, top.entry.source_id, round(top.score, 4))],
                      quick_replies=QUICK_REPLIES[lang], hits=hits, query=query)

    def _retrieve(self, text: str, words: set[str], topic: Topic) -> tuple[str, list[Hit]]:
        hits = self._search(text)
        # "How much (is it)?" names no subject: whatever record says "price" is no answer to it,
        # the dish asked about just before is. So is "is it sweet?", "does it have dairy?" (the
        # desserts, the milk FAQ on their own).
        adds = _INCLUDES.search(text) is not None
        if topic and _APPLIES_MY.search(text) and (before := self._topic_hit(topic)) is not None:
            adds = adds or before.entry.kind == "promotion"
        if topic and _WITH_IT.search(text) and (before := self._topic_hit(topic)) is not None:
            if before.entry.kind != "menu":
                adds = True  # the set, the offer, the option: what it is had with is its own question
            elif hits and hits[0].entry.kind == "faq" and hits[0].coverage >= self.threshold:
                return text, hits  # a dish with an option of ours: that option's answer
        bare = bool(topic) and (_leans_back(text, words) or adds)
        follows = _follows_on(text)
        new_subject = not follows and _introduces(text)
        # A next turn needs no "it" when it names no dish and brings up nothing new ("how do I join?" after the
        # loyalty card was the kitchen job's "join our team"): whether the topic answers it, _same_topic says.
        named = self._names.named_one(text) if topic else None
        goes_on = follows or (bool(topic) and not new_subject and named is None)
        if (bare or goes_on) and not self._another_dish(named, topic) \
                and (kept := self._same_topic(text, words, hits, topic, bare)) is not None:
            return kept
        if hits and hits[0].coverage >= self.threshold and not bare:
            return text, hits
        # A short follow-up ("and how much is it?") borrows the topic of the user's latest earlier turns; a
        # question bringing up something new does not ("do you have decaf?" after the espresso).
        if topic and not new_subject:
            combined = f"{topic.text} {text}"
            retry = self._search(combined)
            if retry and ((bare and retry[0].coverage >= self.threshold
                           and (retry[0].entry.kind == "menu" or not words & ANY_ITEM_QUALITY))
                          or not hits or retry[0].coverage > hits[0].coverage):
                return combined, retry
        return text, hits

    def _same_topic(self, text: str, words: set[str], hits: list[Hit], topic: Topic,
                    leaning: bool) -> tuple[str, list[Hit]] | None:
        """A follow-on stays on the record the conversation is about when that record answers it at least as
        well as any other: after "can I bring my dog?", "what about inside?" is still about dogs (not the
        smoking rule, which also says "inside"); after "and do you have wifi?" the latte is left behind.
        A question that names no subject (``leaning``: "how much?", "does it contain nuts?") is about that
        record whatever else matches its words (the brownie has nuts; the cheesecake was asked about), unless
        it asks a dish's quality of something that is not a dish."""
        previous = topic.text
        if not previous or (found := self._topic_hit(topic)) is None:
            return None
        topic_id = found.entry.source_id
        if leaning:
            adds = _INCLUDES.search(text) is not None or _WITH_IT.search(text) is not None
            if found.entry.kind != "menu" and words & ANY_ITEM_QUALITY and not adds:
                return None
        else:
            # Rounded as the retriever's documents round it: a tie with the best record is the topic's.
            here = round(self.index.joint_coverage(text, [topic_id]), 4)
            if here == 0 or (hits and hits[0].entry.source_id != topic_id and here < hits[0].coverage):
                return None
        combined = f"{previous} {text}"
        retry = self._search(combined)
        first = next((h for h in retry if h.entry.source_id == topic_id), None)
        if first is None:
            # Pushed out of the few records searched by what the question adds: "can I have milk tea with it?"
            # after the breakfast set ranks every milk tea and coffee above the set that offers one.
            first = Hit(found.entry, found.score, self.index.joint_coverage(combined, [topic_id]))
        rest = [h for h in retry if h is not first]
        if leaning:
            # Its subject is the one found before, as surely as it was then: "does it contain nuts?" of the
            # cheesecake is answered (its allergens say no) although no word of it is in the cheesecake's record.
            first = Hit(first.entry, first.score, max(first.coverage, found.coverage))
        else:
            # At least as sure as the record answers the question alone: the turns before may add only words it
            # lacks ("what amounts?" before "can I buy one online?" of the gift cards).
            first = Hit(first.entry, first.score, max(first.coverage, here))
        return combined, [first, *rest]

    def _another_dish(self, named: MenuItem | None, topic: Topic) -> bool:
        """ "And an espresso?" after the americano names a dish of its own: the americano's record says
        "espresso" too, and a tie went to the topic."""
        if named is None:
            return False
        found = self._topic_hit(topic)
        return found is not None and found.entry.kind == "menu" and found.entry.source_id != f"menu:{named.id}"

    def _picked(self, text: str, words: set[str], topic: Topic, lang: str, language: str) -> Answer | None:
        """ "Which ones?" of the record just talked about, when that was no dish and no list (after "what
        events do you have?" the list itself is the answer's subject, below)."""
        if not topic or _PICKS.match(text) is None or not topic.start:
            return None
        before = set(tokens(topic.start))
        if listing.kind_wanted(topic.start, before) is not None or listing.named_category(before):
            return None
        found = self._topic_hit(topic)
        if found is None or found.entry.kind == "menu":
            return None
        return Answer(self.compose_hit(found, lang, text, words), self.intent_of(found), language,
                      round(found.coverage, 4), sources=[SourceRef(found.entry.kind, found.entry.source_id,
                                                                   round(found.score, 4))],
                      quick_replies=QUICK_REPLIES[lang], hits=[found], query=f"{topic.text} {text}")

    def _topic_hit(self, topic: Topic) -> Hit | None:
        """The record the conversation is about: the one we answered the latest turn with, when our answer is
        one record's ("do I need a card?" after the student discount was answered by the discount, although the
        words alone are the gift cards'); else the one answering the topic's turns clearly. Lookups in the index
        itself (the retriever's ranking without LangChain's per-call set-up), once per answer: most turns of a
        conversation ask, some twice."""
        if not topic.looked:
            topic.record, topic.looked = self._find_topic(topic), True
        return topic.record

    def _find_topic(self, topic: Topic) -> Hit | None:
        before = self.index.search(topic.text, self.retriever.k) if topic.text else []
        found = before[0] if before and before[0].coverage >= self.threshold else None
        if not topic.reply or found is not None and _said_from(topic.reply, found.entry):
            return found  # the usual case, told without reading our answer's words (a tokenisation)
        if (ours := self.index.search(topic.reply, 1)) and ours[0].coverage >= REPLY_MATCH:
            if found is None or ours[0].entry.source_id != found.entry.source_id:
                shared = self.index.joint_coverage(topic.text, [ours[0].entry.source_id])
                # Against the customer's own record, ours must share their words: "Yes, 4,500 MMK." (a staff
                # draft, a model's wording) matches the delivery fee's "1,500 MMK" and nothing they asked.
                if found is None or shared > 0:
                    return Hit(ours[0].entry, ours[0].score, max(shared, self.threshold))
        return found

    def _search(self, query: str) -> list[Hit]:
        docs = self.retriever.invoke(query)
        return [Hit(self._entries[d.metadata["id"]], d.metadata["score"], d.metadata["confidence"]) for d in docs]

    def intent_of(self, hit: Hit) -> str:
        if hit.entry.kind == "faq":
            return INTENT_BY_FAQ_CATEGORY.get(hit.entry.record.category, "faq")
        return INTENT_BY_KIND.get(hit.entry.kind, hit.entry.kind)

    def compose_hit(self, hit: Hit, lang: str, question: str = "", words: set[str] | None = None) -> str:
        record, kind = hit.entry.record, hit.entry.kind
        if kind == "menu":
            return compose.menu_item(lang, self._priced(record), self.sold_out(str(record.id)),
                                     compose.asked_details(question, words))
        if kind == "hours":
            now = self._clock().astimezone(self.tz)
            res, closed = self._hours_of(record)
            notes = {day: c.note(lang) for day, c in closed.items()}
            return compose.hours(lang, res, now, asked_day(question, now.date()), notes)
        if kind == "reservation":
            return compose.reservation(lang, record)
        return {"faq": compose.faq, "event": compose.event, "promotion": compose.promotion,
                "job": compose.job}[kind](lang, record)

    def _escalate(self, reason: str, lang: str, language: str, confidence: float, hits: list[Hit],
                  query: str, question: str = "") -> Answer:
        text = self._hand_over(lang, reason)
        sources: list[SourceRef] = []
        facts = self._safety_facts(reason, lang, hits, question) if reason in ("allergy", "medical") else None
        if facts is not None:
            text, sources = f"{facts[0]}\n\n{text}", facts[1]
        return Answer(text, INTENT_BY_REASON[reason], language, confidence, True, reason, sources,
                      QUICK_REPLIES_ESCALATED[lang], hits=hits, query=query)

    def _lacks(self, text: str) -> bool:
        """ "Is there a prayer room?" was answered by the private-party record (its upstairs room): what is asked
        for names something no record mentions ("prayer"), so we do not have it, or do not say, and a person
        answers. Only of what "is there / do you have" asks for: elsewhere such a word is often incidental
        ("instead of cow milk"). In Burmese, of "X ရှိလား"."""
        asked = _ASKED_FOR.match(text) or _ASKED_FOR_MY.match(text)
        return asked is not None and self.index.unknown_words(asked.group(1))

    def hand_over(self, answer: Answer) -> Answer:
        """``answer`` passed to a person instead, as an unsure one is (the model found no record answering it)."""
        return self._escalate(LOW_CONFIDENCE, reply_language(answer.language), answer.language, answer.confidence,
                              answer.hits, answer.query)

    def _book(self, booking: BookingRequest, lang: str, language: str, confidence: float, hits: list[Hit],
              query: str) -> Answer:
        """A table asked for with its day or time: staff confirm it (the bot cannot see the tables); a day the
        cafe is closed, or a party larger than its tables, is said at once."""
        answer = self._escalate(RESERVATION, lang, language, confidence, hits, query)
        res, days = self._hours_of(self.kb.reservations)
        said: list[str] = []
        if booking.day is not None:
            panel_day = days.get(booking.day.isoformat())
            today = self._clock().astimezone(self.tz).date()
            closed = compose.closed_on(lang, res, booking.day, today, panel_day.note(lang) if panel_day else None)
            if closed is not None:
                said.append(closed)
        if booking.party and res is not None and res.max_party_size and booking.party > res.max_party_size:
            said.append(compose.max_party(lang, res.max_party_size))
        return replace(answer, text=" ".join([*said, answer.text])) if said else answer

    def _safety_facts(self, reason: str, lang: str, hits: list[Hit],
                      question: str) -> tuple[str, list[SourceRef]] | None:
        """What the menu says, given now while a person is asked to confirm it: the dish the question is
        about; or, for an allergy naming no dish ("I'm allergic to nuts"), the dishes made without it."""
        named = self._names.named_one(question)
        if reason == "allergy" and named is None:
            found = listing.allergen_scope(self._menu(), question, set(tokens(question)))
            if found is not None:
                refs = [SourceRef("menu", f"menu:{m.id}", 1.0) for m in found.listed[:5]]
                return compose.allergens(lang, found, self.sold_out), refs
        top = hits[0] if hits else None
        if named is None and top is not None and top.entry.kind == "menu" and top.coverage >= self.threshold:
            named = top.entry.record
        if named is None:
            return None
        item = self._priced(named)
        return compose.menu_item(lang, item, self.sold_out(str(item.id))), [SourceRef("menu", f"menu:{item.id}", 1.0)]

    def _hand_over(self, lang: str, reason: str) -> str:
        """The reason's hand-over notice; while the cafe is closed, one that says when a person will answer."""
        now = self._clock().astimezone(self.tz)
        opens = compose.reopening(self._hours_of(self.kb.reservations)[0], now)
        if opens is None:
            return phrase(lang, reason)
        return phrase(lang, f"{reason}_closed", when=compose.reopening_text(lang, now, opens))

    def _priced(self, item: MenuItem) -> MenuItem:
        """The item at the price staff set in the panel, if they did."""
        price = self.menu_prices().get(str(item.id))
        return item if price is None else item.model_copy(update={"price": price})

    def _menu(self) -> list[MenuItem]:
        """The menu at the prices staff set: lists show them and "cheapest" sorts by them. Asked on every
        answer, so the priced copy is kept until the prices change."""
        prices = self.menu_prices()
        if not prices:
            return self.kb.menu
        if self._priced_menu[0] != prices:
            self._priced_menu = (prices, [m if (p := prices.get(str(m.id))) is None
                                          else m.model_copy(update={"price": p}) for m in self.kb.menu])
        return self._priced_menu[1]

    def _hours_of(self, res: Reservations | None) -> tuple[Reservations | None, dict[str, ClosedDay]]:
        """The cafe's hours with the days staff set in the panel over the file's: closed all day, or open
        other hours (a panel day replaces the file's word on that day)."""
        days = self.closed_days()
        if res is None or not days:
            return res, days
        closed = [d for d, c in days.items() if c.hours is None]
        special = {d: DayHours(open=c.hours[0], close=c.hours[1]) for d, c in days.items() if c.hours is not None}
        return res.model_copy(update={
            "closed_dates": [*(d for d in res.closed_dates if d not in special), *closed],
            "special_hours": {**res.special_hours, **special}}), days

    def _several(self, text: str, words: set[str], query: str, lang: str, language: str) -> Answer | None:
        """Each dish, when the question names two or more ("a cappuccino and a croissant?"), which
        retrieval, ranking records for the question as a whole, would answer one of."""
        items = self._names.named(text)
        if not 2 <= len(items) <= MAX_NAMED_ITEMS:
            return None
        confidence = round(self.index.joint_coverage(text, [f"menu:{m.id}" for m in items]), 4)
        if confidence < self.threshold:  # the dishes are the lesser part of what is asked
            return None
        return self._dishes(items, text, words, query, lang, language, confidence)

    def _dishes(self, items: list[MenuItem], text: str, words: set[str], query: str, lang: str, language: str,
                confidence: float, listing: bool = False) -> Answer:
        """Each dish on its own line, with what the question asks of it (its time, its heat)."""
        ids = [f"menu:{m.id}" for m in items]
        asked = compose.asked_details(text, words)
        body = "\n".join(compose.menu_item(lang, self._priced(m), self.sold_out(str(m.id)), asked) for m in items)
        return Answer(body, "menu", language, confidence, sources=[SourceRef("menu", i, 1.0) for i in ids],
                      quick_replies=QUICK_REPLIES[lang], hits=[Hit(self._entries[i], 1.0, confidence) for i in ids],
                      query=query, listing=listing)

    def _about_the_list(self, text: str, words: set[str], topic: Topic, lang: str, language: str,
                        hits: list[Hit]) -> Answer | None:
        """A question naming no subject right after a list asks it of what was listed: "do they have nuts?"
        after the desserts is each dessert (it was the first dessert alone: the brownie has nuts), "what
        time?" after the events each event's when. "How much?" is left to the list itself, which has prices.
        With nothing asked before, "how long?" is asked of the whole menu (every dish matches "long" alike,
        so the first of them was answered)."""
        if not _leans_back(text, words) or listing.price_only(words):
            return None
        if not topic:
            items = self._menu() if words & compose.TIME_WORDS else []
        elif topic.start:
            before = set(tokens(topic.start))
            if listing.kind_wanted(topic.start, before) is not None:
                return self._kind_list(topic.start, before, text, lang, language, hits)
            menu = self._menu()
            found = (listing.category_listing(menu, before, topic.start)
                     or listing.diet_listing(menu, self._diets, topic.start, before))
            items = found.items if found is not None else []
        else:
            items = []
        if not items:
            return None
        if len(items) <= MAX_NAMED_ITEMS:
            return self._dishes(items, text, words, text, lang, language, LISTING_CONFIDENCE, listing=True)
        if words & compose.TIME_WORDS and (which := compose.which_dish(lang, items)) is not None:
            return Answer(which, "menu", language, LISTING_CONFIDENCE, quick_replies=QUICK_REPLIES[lang], hits=hits,
                          query=text, listing=True)
        return None

    def _kind_list(self, text: str, words: set[str], query: str, lang: str, language: str,
                   hits: list[Hit]) -> Answer | None:
        """Every event, promotion or job, when that kind is all the question names ("any events?")."""
        kind = listing.kind_wanted(text, words)
        records = {"event": self.kb.events, "promotion": self.kb.promotions, "job": self.kb.jobs}.get(kind or "", [])
        if not records:
            return None
        sources = [SourceRef(kind, f"{kind}:{r.id}", 1.0) for r in records[:5]]
        return Answer(compose.kind_list(lang, kind, records), INTENT_BY_KIND[kind], language, LISTING_CONFIDENCE,
                      sources=sources, quick_replies=QUICK_REPLIES[lang], hits=hits, query=query, listing=True)

    def _listing(self, text: str, words: set[str], query: str, lang: str, language: str,
                 hits: list[Hit]) -> Answer | None:
        """The menu, a category of it or what fits a diet, when a list is what the question asks for."""
        menu = self._menu()
        # A list asked for in so many words is that list whatever came before ("what drinks do you have?" after
        # the latte's price); read with the earlier turn when it leans on it ("how much?", "what drinks come
        # with it?" after the breakfast set) or asks none alone.
        leaning = query != text and _leans_back(text, words)
        refers = leaning or (query != text and _REFERS_BACK.search(text) is not None)
        found = None if refers else listing.category_listing(menu, words, text)
        if found is None and query != text:
            found = listing.category_listing(menu, set(tokens(query)), text)
        if found is None:
            # "And is it spicy?" is read with the turn it leans on: about that dish, not a list of spicy ones.
            # Only then: "vegan cake?" after a coffee question is not about coffee.
            asked = (query, set(tokens(query))) if leaning else (text, words)
            found = listing.diet_listing(menu, self._diets, *asked)
            top = hits[0] if hits else None
            # A FAQ the cafe wrote for the question ("any vegan options?") says more than a list would.
            if found is None or (not listing.named_category(words) and top is not None
                                 and top.entry.kind == "faq" and top.coverage >= self.threshold):
                return None
        sources = [SourceRef("menu", f"menu:{m.id}", 1.0) for m in found.items[:5]]
        return Answer(compose.menu_list(lang, found, self.sold_out), "menu", language, LISTING_CONFIDENCE,
                      sources=sources, quick_replies=QUICK_REPLIES[lang], hits=hits, query=query, listing=True)
