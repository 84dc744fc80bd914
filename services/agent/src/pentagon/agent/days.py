"""Which day a customer asks about: 'open on Sunday?', 'tomorrow', '25 December', '24/12',
'တနင်္ဂနွေနေ့', 'မနက်ဖြန်', 'ဒီဇင်ဘာ ၂၅'.

Only full weekday names count in English ("sun" and "sat" are ordinary words); month names may
be short ("Dec 24"). Numeric dates are day/month, as written in Myanmar ("24/12"), or ISO
("2026-12-24"). A date without a year is its next occurrence, today included. Burmese is matched
with spaces removed, as the escalation rules do, and Burmese digits count as digits.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from pentagon.agent.language import ascii_digits
from pentagon.agent.phrases import MONTH_NAMES

_EN = re.compile(r"\b(today|tonight|tomorrow|tmrw?|monday|tuesday|tues|wednesday|weds|thursday|thurs|friday|"
                 r"saturday|sunday)s?\b", re.IGNORECASE)
_EN_DAY = {"monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "weds": 2, "thursday": 3, "thurs": 3,
           "friday": 4, "saturday": 5, "sunday": 6}
_EN_OFFSET = {"today": 0, "tonight": 0, "tomorrow": 1, "tmr": 1, "tmrw": 1}

# Longer names first: "တနင်္ဂနွေ" and "တနင်္လာ" share their first syllable.
_MY = re.compile(r"(မနက်ဖြန်|နက်ဖြန်|ဒီနေ့|ယနေ့|ဒီည|တနင်္ဂနွေ|တနင်္လာ|အင်္ဂါ|ဗုဒ္ဓဟူး|ကြာသပတေး|သောကြာ|စနေ)")
_MY_DAY = {"တနင်္လာ": 0, "အင်္ဂါ": 1, "ဗုဒ္ဓဟူး": 2, "ကြာသပတေး": 3, "သောကြာ": 4, "စနေ": 5, "တနင်္ဂနွေ": 6}
_MY_OFFSET = {"မနက်ဖြန်": 1, "နက်ဖြန်": 1, "ဒီနေ့": 0, "ယနေ့": 0, "ဒီည": 0}

# English month names, short or long ("Dec", "December", "Sept."); Burmese as written (ဒီဇင်ဘာ), ဩ or သြ.
_MONTH = {name.lower()[:3]: n for n, name in enumerate(MONTH_NAMES["en"], 1)}
_MONTH_WORD = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|" \
              r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
# "May 8 of us come?" and "Dec 24 at 8pm" are about people and times, not the 8th or the 24th at 8.
_DAY_NUM = r"([0-3]?\d)(?:st|nd|rd|th)?(?!\s*(?:people|persons|pax|guests|of\s+(?:us|them)\b|am\b|pm\b|:|\.\d))"
_EN_DATE = re.compile(rf"\b(?:{_DAY_NUM}\s*(?:of\s+)?{_MONTH_WORD}|{_MONTH_WORD}\s*{_DAY_NUM}\b)", re.IGNORECASE)
_NUM_DATE = re.compile(r"\b(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?)\b")
_MY_MONTH = {name: n for n, name in enumerate(MONTH_NAMES["my"], 1)} | {"သြဂုတ်": 8}
_MY_MONTHS = "|".join(_MY_MONTH)
_MY_DATE = re.compile(rf"({_MY_MONTHS})\s*(?:လ)?\s*(\d{{1,2}})(?:\s*ရက်)?|(\d{{1,2}})\s*(?:ရက်)?\s*(?:နေ့)?\s*({_MY_MONTHS})")
_DATES = (_EN_DATE, _MY_DATE, _NUM_DATE)


def asked_day(text: str, today: date) -> date | None:
    """The date of the first day the text names (a weekday is its next occurrence, today included)."""
    dated = _named_date(text, today)
    if dated is not None:
        return dated
    english = _EN.search(text)
    burmese = _MY.search(re.sub(r"\s+", "", text))
    if english:
        word = english.group(1).lower()
        return _resolve(today, _EN_OFFSET.get(word), _EN_DAY.get(word))
    if burmese:
        word = burmese.group(1)
        return _resolve(today, _MY_OFFSET.get(word), _MY_DAY.get(word))
    return None


def _resolve(today: date, offset: int | None, weekday: int | None) -> date:
    if offset is None:
        offset = ((weekday or 0) - today.weekday()) % 7
    return today + timedelta(days=offset)


def _named_date(text: str, today: date) -> date | None:
    """A calendar date the text writes out ('25 Dec', 'December 25th', '25/12', '2026-12-25', 'ဒီဇင်ဘာ ၂၅')."""
    digits = ascii_digits(text)
    if (match := _EN_DATE.search(digits)):
        day, month = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        return _next(today, _MONTH[month.lower()[:3]], int(day))
    if (match := _MY_DATE.search(digits)):
        month, day = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        return _next(today, _MY_MONTH[month], int(day))
    if (match := _NUM_DATE.search(digits)):
        if match.group(1):
            return _valid(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        year = match.group(6)
        if year:
            return _valid(int(year) + (2000 if len(year) == 2 else 0), int(match.group(5)), int(match.group(4)))
        return _next(today, int(match.group(5)), int(match.group(4)))
    return None


def without_dates(text: str) -> str:
    """The text with each written-out date as the word "day": retrieval then sees a question about a
    day ("open on 25 December?" is about the hours), not the unknown words "25" and "december"."""
    text = ascii_digits(text)
    for pattern in _DATES:
        text = pattern.sub(" day ", text)
    return text


def _next(today: date, month: int, day: int) -> date | None:
    """The next `day` `month`, today included; None for a date no calendar has."""
    this_year = _valid(today.year, month, day)
    if this_year is not None and this_year >= today:
        return this_year
    return _valid(today.year + 1, month, day) or _valid(today.year + 4 - today.year % 4, month, day)


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
