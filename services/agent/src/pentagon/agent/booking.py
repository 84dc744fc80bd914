"""A table asked for with its day or time ("a table for 6 on Saturday at 7pm", "မနက်ဖြန် ည ၇ နာရီ
စားပွဲ ကြိုတင်မှာချင်တယ်"): a booking for staff to confirm, since the bot cannot see which tables
are free.

The cafe's policy asks customers to message the date, time and number of guests; answering that
message with the policy again sent them round in a circle. A question about booking that names no
day or time ("can I book a table for six?", "how far ahead can I book?") is still answered with the
policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pentagon.agent.days import asked_day
from pentagon.agent.language import ascii_digits

RESERVATION = "reservation"

# "Seats for 10 tonight?", "space for 6 people": a table by another name.
_BOOK_EN = re.compile(r"\b(?:book|booking|reserve|reserving|reservation|(?:table|seats?|space|room)\s+for)\b",
                      re.IGNORECASE)
# Matched with spaces removed: "to order ahead", "book" (a loanword, two spellings), "table".
_BOOK_MY = ("ကြိုတင်မှာ", "ဘိုကင်", "ဘွတ်ကင်", "စားပွဲ")
_TIME_EN = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm)\b|\b\d{1,2}:\d{2}\b|\b(?:noon|lunch|dinner|breakfast)\b",
                      re.IGNORECASE)
_TIME_MY = re.compile(r"\d{1,2}နာရီ|\d{1,2}:\d{2}|မနက်စာ|နေ့လယ်စာ|ညစာ")


# "I booked a table for 7pm but I'm late": a booking made, for a person, but no new one to confirm.
_BOOKED = re.compile(r"\b(?:booked|reserved|my\s+(?:booking|reservation))\b", re.IGNORECASE)


def asks_to_book(text: str) -> bool:
    if _BOOKED.search(text):
        return False
    compact = re.sub(r"\s+", "", text)
    return bool(_BOOK_EN.search(text)) or any(word in compact for word in _BOOK_MY)


_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30}
_COUNT = r"(\d{1,3}|" + "|".join(_NUMBERS) + r")"
# "for 6", "6 people", "party of 12"; not "for 7pm", "for 7:30", "for 24 December".
_PARTY_EN = re.compile(rf"\b(?:for|party\s+of)\s+{_COUNT}\b(?!\s*(?:am|pm|:|\.\d|o'?clock|st|nd|rd|th|"
                       r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
                       rf"|\b{_COUNT}\s+(?:people|persons|pax|guests|adults|of\s+us)\b", re.IGNORECASE)
_PARTY_MY = re.compile(r"(\d{1,3})ယောက်")


@dataclass(frozen=True)
class BookingRequest:
    day: date | None  # the day it names; None when it names only a time
    party: int | None = None  # how many people, when it says


def _party(text: str) -> int | None:
    match = _PARTY_EN.search(text) or _PARTY_MY.search(ascii_digits(re.sub(r"\s+", "", text)))
    if match is None:
        return None
    word = next(g for g in match.groups() if g).lower()
    return int(word) if word.isdigit() else _NUMBERS[word]


def booking_request(text: str, today: date, asked_before: bool = False) -> BookingRequest | None:
    """``asked_before``: the customer's turn before asked to book ("I want to book a table"), so this one
    may give the details alone ("for 4 people tomorrow at 7pm"), if it gives a time or a number of
    people: "what time do you close tomorrow?" is still a question about the hours."""
    asks = asks_to_book(text)
    if not asks and not asked_before:
        return None
    party, timed = _party(text), _timed(text)
    if not asks and not timed and party is None:
        return None
    day = asked_day(text, today)
    if day is not None:
        return BookingRequest(day, party)
    return BookingRequest(None, party) if timed else None


def _timed(text: str) -> bool:
    return bool(_TIME_EN.search(text) or _TIME_MY.search(ascii_digits(re.sub(r"\s+", "", text))))
