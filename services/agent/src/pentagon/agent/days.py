"""Which day a customer asks about: 'open on Sunday?', 'tomorrow', 'တနင်္ဂနွေနေ့', 'မနက်ဖြန်'.

Only full weekday names count in English ("sun" and "sat" are ordinary words);
Burmese is matched with spaces removed, as the escalation rules do.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_EN = re.compile(r"\b(today|tonight|tomorrow|tmrw?|monday|tuesday|tues|wednesday|weds|thursday|thurs|friday|"
                 r"saturday|sunday)s?\b", re.IGNORECASE)
_EN_DAY = {"monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "weds": 2, "thursday": 3, "thurs": 3,
           "friday": 4, "saturday": 5, "sunday": 6}
_EN_OFFSET = {"today": 0, "tonight": 0, "tomorrow": 1, "tmr": 1, "tmrw": 1}

# Longer names first: "တနင်္ဂနွေ" and "တနင်္လာ" share their first syllable.
_MY = re.compile(r"(မနက်ဖြန်|နက်ဖြန်|ဒီနေ့|ယနေ့|ဒီည|တနင်္ဂနွေ|တနင်္လာ|အင်္ဂါ|ဗုဒ္ဓဟူး|ကြာသပတေး|သောကြာ|စနေ)")
_MY_DAY = {"တနင်္လာ": 0, "အင်္ဂါ": 1, "ဗုဒ္ဓဟူး": 2, "ကြာသပတေး": 3, "သောကြာ": 4, "စနေ": 5, "တနင်္ဂနွေ": 6}
_MY_OFFSET = {"မနက်ဖြန်": 1, "နက်ဖြန်": 1, "ဒီနေ့": 0, "ယနေ့": 0, "ဒီည": 0}


def asked_day(text: str, today: date) -> date | None:
    """The date of the first day the text names (a weekday is its next occurrence, today included)."""
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
