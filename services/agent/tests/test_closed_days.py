"""Days staff close the cafe in the panel: the bot says so for that day, with their note, and
promises a person only for when the cafe really opens again."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc

from pentagon.agent.answer import OfflineAnswerer
from pentagon.agent.closed_days import ClosedDays
from pentagon.agent.knowledge import load_knowledge
from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR
from pentagon.common.bus import closed_days_bucket
from pentagon.common.proto import agent_pb2, agent_pb2_grpc
from pentagon.devtools.embedded import NatsServer

from agent_support import agent_env, write_bucket
from test_staff_knowledge import ask, eventually

YANGON = ZoneInfo("Asia/Yangon")
THURSDAY = datetime(2026, 11, 26, 12, 0, tzinfo=YANGON)


def row(day: str, note_en: str = "", note_mm: str = "", hours: tuple[str, str] | None = None) -> bytes:
    opens, closes = hours or (None, None)
    return json.dumps({"date": day, "open": opens, "close": closes, "note_en": note_en, "note_mm": note_mm,
                       "by": "alice:admin"}).encode()


def bot(closed: ClosedDays, now: datetime = THURSDAY) -> OfflineAnswerer:
    return OfflineAnswerer(load_knowledge(PACKAGED_KNOWLEDGE_DIR), clock=lambda: now, closed_days=closed.rows)


def test_a_day_closed_in_the_panel_is_closed_with_the_staffs_note() -> None:
    closed = ClosedDays()
    assert bot(closed).answer("Are you open today?").text.startswith("Today (Thursday) we are open from 07:00")

    closed.apply("2026-11-26", row("2026-11-26", "Power cut, sorry", "မီးပျက်နေလို့ပါ"))
    english = bot(closed).answer("Are you open today?")
    assert english.intent == "hours"
    assert english.text.startswith("We are closed today (Thursday). Power cut, sorry. We open again tomorrow at 07:00.")
    burmese = bot(closed).answer("ဒီနေ့ ဆိုင်ဖွင့်လား").text
    assert burmese.startswith("ဒီနေ့ (ကြာသပတေးနေ့) ဆိုင်ပိတ်ပါတယ်။ မီးပျက်နေလို့ပါ။")
    # Someone asking for a person is promised one when the cafe opens, not "shortly".
    hand_over = bot(closed).answer("I want to talk to a person")
    assert hand_over.requires_human and "when we open tomorrow at 07:00" in hand_over.text

    closed.apply("2026-11-26", None)  # staff opened as usual after all
    assert bot(closed).answer("Are you open today?").text.startswith("Today (Thursday) we are open")
    assert "shortly" in bot(closed).answer("I want to talk to a person").text


def test_a_closure_this_week_is_told_to_whoever_asks_for_the_hours() -> None:
    closed = ClosedDays()
    closed.apply("2026-11-28", row("2026-11-28", "Staff holiday"))
    closed.apply("2026-12-05", row("2026-12-05", "Next week: not this week's news"))
    hours = bot(closed).answer("What are your opening hours?").text
    assert hours.startswith("Today (Thursday) we are open from 07:00 to 21:00. We are closed on Saturday. Staff holiday.")
    assert "Next week" not in hours
    saturday = bot(closed).answer("Are you open on Saturday?").text
    assert saturday.startswith("We are closed on Saturday. Staff holiday. Opening hours:")
    # Friday evening after closing: Saturday closed, so a person answers on Sunday.
    friday_night = bot(closed, datetime(2026, 11, 27, 23, 0, tzinfo=YANGON))
    assert "when we open on Sunday at 08:00" in friday_night.answer("I was charged twice for my order").text
    assert friday_night.answer("open tomorrow?").text.startswith("We are closed tomorrow (Saturday). Staff holiday.")


def test_a_day_open_other_hours_is_told_with_its_hours_and_why() -> None:
    closed = ClosedDays()
    closed.apply("2026-11-26", row("2026-11-26", "Closing early for a private party", hours=("07:00", "15:00")))
    closed.apply("2026-11-28", row("2026-11-28", "Late night jazz", hours=("08:00", "01:00")))
    noon = bot(closed).answer("What are your opening hours?").text
    assert noon.startswith("Today (Thursday) we are open from 07:00 to 15:00. Closing early for a private party. "
                           "On Saturday we are open from 08:00 to 01:00. Late night jazz. Opening hours:")
    after = bot(closed, datetime(2026, 11, 26, 16, 0, tzinfo=YANGON))
    assert after.answer("Are you open now?").text.startswith(
        "We are closed now; we open again tomorrow at 07:00. Closing early for a private party.")
    assert "when we open tomorrow at 07:00" in after.answer("I want to talk to a person").text
    # Past Saturday midnight the jazz night is still on: a person answers shortly, not "at 08:00".
    late = bot(closed, datetime(2026, 11, 29, 0, 30, tzinfo=YANGON)).answer("I want to talk to a person").text
    assert "shortly" in late
    assert bot(closed).answer("open on saturday?").text.startswith("On Saturday we are open from 08:00 to 01:00.")


def test_a_date_weeks_ahead_is_answered_by_its_date() -> None:
    """'Open on 25 December?' gets that day (closed, or its hours) by date, not "On Friday"."""
    closed = ClosedDays()
    closed.apply("2026-12-25", row("2026-12-25", "Merry Christmas!", "ခရစ္စမတ်"))
    closed.apply("2026-12-24", row("2026-12-24", "Christmas Eve party", hours=("08:00", "00:30")))
    christmas = bot(closed).answer("Are you open on 25 December?")
    assert christmas.intent == "hours"
    assert christmas.text.startswith("We are closed on Friday 25 December. Merry Christmas! Opening hours:")
    assert bot(closed).answer("what time do you open on 24/12?").text.startswith(
        "On Thursday 24 December we are open from 08:00 to 00:30. Christmas Eve party.")
    assert bot(closed).answer("ဒီဇင်ဘာ ၂၅ ရက် ဆိုင်ဖွင့်လား").text.startswith(
        "ဒီဇင်ဘာ ၂၅ ရက် သောကြာနေ့ ဆိုင်ပိတ်ပါတယ်။ ခရစ္စမတ်။")
    assert bot(closed).answer("open 1 jan?").text.startswith("On Friday 1 January we are open from 07:00 to 22:00.")
    assert bot(closed).answer("Can I reserve a table for 4 on 24/12?").intent == "reservation"


def test_an_unreadable_row_closes_nothing() -> None:
    closed = ClosedDays()
    closed.apply("2026-11-26", row("2026-11-26"))
    for bad in (b"not json", b"[]", row("2026-11-27"), row("2026-02-30"),
                json.dumps({"date": "2026-11-26", "note_en": 7}).encode(),
                json.dumps({"date": "2026-11-26", "open": "10:00"}).encode(), row("2026-11-26", hours=("10:00", "25:00")),
                row("2026-11-26", hours=("10:00", "10:00"))):
        closed.apply("2026-11-26", bad)
        assert closed.rows() == {}, bad
    closed.apply("26-11-2026", row("26-11-2026"))
    assert closed.rows() == {}
    assert bot(closed).answer("Are you open today?").text.startswith("Today (Thursday) we are open")


def test_the_agent_follows_the_days_closed_in_the_panel(services, nats_server: NatsServer, nats_url: str) -> None:
    log_start = nats_server.log_size()
    env, grpc_port, http_port = agent_env()
    env |= nats_server.env_for("agent")  # read-only: the buckets staff fill in the panel
    services.start("pentagon.agent", env, ready_url=f"http://127.0.0.1:{http_port}/readyz")
    today = datetime.now(YANGON).date().isoformat()  # the agent's default time zone
    # Whatever the hour ("open from", or "closed now" after closing time), today is not a closed day.
    assert "We are closed today" not in ask(grpc_port, "Are you open today?").text
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        hours = agent_pb2_grpc.AgentServiceStub(channel).ListHours(agent_pb2.ListHoursRequest(), timeout=10)
    assert hours.timezone == "Asia/Yangon" and [(d.date, d.open, d.close) for d in hours.days] == [("2026-04-17", "", "")]

    asyncio.run(write_bucket(nats_url, closed_days_bucket, today, row(today, "Thingyan holiday")))
    assert eventually(lambda: "We are closed today" in ask(grpc_port, "Are you open today?").text), \
        "the panel's closed day was not used"
    assert "Thingyan holiday." in ask(grpc_port, "Are you open today?").text
    asyncio.run(write_bucket(nats_url, closed_days_bucket, today, None))
    assert eventually(lambda: "We are closed today" not in ask(grpc_port, "Are you open today?").text), \
        "the day did not reopen"
    assert not nats_server.refusals(log_start), "the agent's NATS user lacks a permission (deploy/nats/users.conf)"
