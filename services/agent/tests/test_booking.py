"""A table asked for with its day or time goes to staff to confirm; a question about booking gets the
policy; a day the cafe is closed is said at once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pentagon.agent.answer import OfflineAnswerer, Turn
from pentagon.agent.booking import booking_request
from pentagon.agent.closed_days import ClosedDays
from pentagon.agent.knowledge import KnowledgeBase

from test_closed_days import row

THURSDAY = datetime(2026, 11, 26, 12, 0, tzinfo=ZoneInfo("Asia/Yangon"))  # open 07:00-21:00


@pytest.mark.parametrize("text", [
    "I want to book a table for 6 on Saturday at 7pm",
    "table for 4 tomorrow at 19:00 please",
    "can I reserve for tonight?",
    "table for 2 at 7pm",  # a time alone
    "can we book for 24 December",
    "မနက်ဖြန် ည ၇ နာရီ ၄ ယောက် စားပွဲ ကြိုတင်မှာချင်တယ်",
    "စနေနေ့ ညစာ အတွက် ဘိုကင် လုပ်ချင်ပါတယ်",
    "ည ၇ နာရီ ၂ ယောက် စားပွဲ ကြိုတင်မှာချင်တယ်",  # a time alone, in Burmese digits
    "Hi, do you have seats for 6 people tonight?",  # a table by another name: was the policy
])
def test_a_request_with_its_day_or_time_goes_to_staff(answerer: OfflineAnswerer, text: str) -> None:
    answer = answerer.answer(text)
    assert answer.requires_human and answer.escalation_reason == "reservation" and answer.intent == "reservation"
    assert "booking request" in answer.text or "ကြိုတင်မှာတာ" in answer.text


@pytest.mark.parametrize(("before", "details"), [("I want to book a table", "for 4 people tomorrow at 7pm"),
                                                 ("can I reserve a table?", "saturday 7pm"),
                                                 ("စားပွဲ ကြိုတင်မှာချင်တယ်", "မနက်ဖြန် ည ၇ နာရီ လူ ၄ ယောက်")])
def test_the_details_after_asking_to_book_go_to_staff(answerer: OfflineAnswerer, before: str, details: str) -> None:
    """The policy asks for the date, time and guests; given alone in the next message they were answered
    with the policy again."""
    history = [Turn("user", before), Turn("bot", answerer.answer(before).text)]
    answer = answerer.answer(details, history)
    assert answer.requires_human and answer.escalation_reason == "reservation", answer
    # A question about the hours after asking to book is still about the hours.
    hours = answerer.answer("what time do you close tomorrow?", history)
    assert not hours.requires_human and hours.sources[0].id == "hours:opening"


@pytest.mark.parametrize("text", ["Can I book a table for six?", "how far ahead can I book?", "do you take reservations?",
                                  "စားပွဲ ကြိုတင်မှာလို့ရလား"])
def test_a_question_about_booking_gets_the_policy(answerer: OfflineAnswerer, text: str) -> None:
    answer = answerer.answer(text)
    assert answer.sources[0].id == "reservation:policy" and not answer.requires_human


def test_a_booking_made_is_not_a_new_one(answerer: OfflineAnswerer) -> None:
    assert answerer.answer("I booked a table for 7pm but I'm late").escalation_reason != "reservation"


def test_while_open_staff_confirm_shortly(kb: KnowledgeBase) -> None:
    bot = OfflineAnswerer(kb, clock=lambda: THURSDAY)
    answer = bot.answer("table for 4 on Saturday at 7pm")
    assert answer.text == ("Thank you! I've passed your booking request to our staff, who will confirm your table "
                           "here shortly.")


def test_a_day_the_cafe_is_closed_is_said_with_the_staffs_note(kb: KnowledgeBase) -> None:
    closed = ClosedDays()
    closed.apply("2026-11-28", row("2026-11-28", "Staff holiday", "ဝန်ထမ်း အားလပ်ရက်"))
    bot = OfflineAnswerer(kb, clock=lambda: THURSDAY, closed_days=closed.rows)
    answer = bot.answer("table for 4 on Saturday at 7pm")
    assert answer.text.startswith("We are closed on Saturday. Staff holiday. Thank you! I've passed your booking")
    assert answer.requires_human  # a person still answers: another day, perhaps
    burmese = bot.answer("စနေနေ့ ညစာ အတွက် ဘိုကင် လုပ်ချင်ပါတယ်")
    assert "ဝန်ထမ်း အားလပ်ရက်" in burmese.text and burmese.escalation_reason == "reservation"
    assert not bot.answer("table for 4 on Friday at 7pm").text.startswith("We are closed")


def test_a_party_larger_than_the_tables_is_told_their_size(kb: KnowledgeBase) -> None:
    bot = OfflineAnswerer(kb, clock=lambda: THURSDAY)
    answer = bot.answer("table for 12 on Saturday at 7pm")
    assert answer.text.startswith("Tables seat up to 8 people. Thank you! I've passed your booking request")
    burmese = bot.answer("မနက်ဖြန် ည ၇ နာရီ ၁၀ ယောက် စားပွဲ ကြိုတင်မှာချင်တယ်")
    assert burmese.text.startswith("စားပွဲတစ်ခုမှာ လူ ၈ ယောက်အထိ") and burmese.escalation_reason == "reservation"
    assert bot.answer("table for 8 on Saturday at 7pm").text.startswith("Thank you!")


@pytest.mark.parametrize(("text", "party"), [
    ("table for 12 on Saturday at 7pm", 12), ("book a table for 6 people on sunday", 6),
    ("table for two at 7:30", 2), ("book for 7 pm tomorrow", None),  # a time is no party
    ("can we book for 24 December for 10 people", 10),  # a date is no party either
    ("မနက်ဖြန် ည ၇ နာရီ ၁၀ ယောက် စားပွဲ ကြိုတင်မှာချင်တယ်", 10),
])
def test_the_party_is_read_from_the_request(text: str, party: int | None) -> None:
    request = booking_request(text, THURSDAY.date())
    assert request is not None and request.party == party


def test_the_day_is_read_from_the_request() -> None:
    today = THURSDAY.date()
    request = booking_request("table for 4 on Saturday at 7pm", today)
    assert request is not None and request.day is not None and request.day.isoformat() == "2026-11-28"
    timed = booking_request("table for 2 at 7pm", today)
    assert timed is not None and timed.day is None
    assert booking_request("Saturday at 7pm is live music?", today) is None  # no booking word
