"""Turning one knowledge record into a reply in the user's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta

from pentagon.agent.knowledge import WEEKDAYS, DayHours, Event, Faq, Job, MenuItem, Promotion, Reservations
from pentagon.agent.language import burmese_digits, tokens
from pentagon.agent.listing import Allergens, Listing, spice_of
from pentagon.agent.phrases import ALLERGENS_MM, CATEGORY_NAMES, DIET_NAMES, MONTH_NAMES, WEEKDAY_NAMES, phrase


# Words that ask how long a dish takes (tokens, as language.tokens makes them).
TIME_WORDS = frozenset(tokens("long minute minutes quick quickly fast ready ကြာ မိနစ်"))


def _pick(lang: str, english: str, burmese: str) -> str:
    """The Burmese field when asked in Burmese and the cafe wrote one; English otherwise."""
    return burmese if lang == "my" and burmese else english


def _num(lang: str, text: str) -> str:
    return burmese_digits(text) if lang == "my" else text


def which_dish(lang: str, menu: list[MenuItem]) -> str | None:
    """"How long?" naming no dish: the range of our preparation times, and a request for the name."""
    times = [m.preparation_time for m in menu if m.preparation_time]
    if not times:
        return None
    return phrase(lang, "which_dish", low=_num(lang, str(min(times))), high=_num(lang, str(max(times))))


def price_text(lang: str, price: float) -> str:
    return _num(lang, f"{price:,.0f}")


def asked_details(question: str, words: set[str] | None = None) -> frozenset[str]:
    """What a question about a dish asks beyond its price: how spicy ("spice"), how long it takes ("time").
    `words`: the question's tokens when the caller has them already."""
    words = set(tokens(question)) if words is None else words
    asked = {"spice"} if spice_of(question, words) else set()
    return frozenset(asked | ({"time"} if words & TIME_WORDS else set()))


def menu_item(lang: str, item: MenuItem, sold_out: bool = False, asked: frozenset[str] = frozenset()) -> str:
    name = _pick(lang, item.english_name, item.myanmar_name)
    if sold_out:
        return phrase(lang, "sold_out", name=name)
    parts = [phrase(lang, "price", name=name, price=price_text(lang, item.price))]
    description = _pick(lang, item.description_en, item.description_mm)
    if description:
        parts.append(description)
    # Said of every dish with some heat; "not spicy" only to whoever asked.
    if item.spice_level > 0 or "spice" in asked:
        parts.append(phrase(lang, f"spice_{min(item.spice_level, 3)}"))
    if "time" in asked and item.preparation_time:
        parts.append(phrase(lang, "ready_in", minutes=_num(lang, str(item.preparation_time))))
    if item.dietary_info:
        diets = [DIET_NAMES[lang].get(d.lower(), d) for d in item.dietary_info]
        parts.append(phrase(lang, "diets", items=("၊ " if lang == "my" else ", ").join(diets)))
    if item.allergens:
        names = [ALLERGENS_MM.get(a.lower(), a) if lang == "my" else a for a in item.allergens]
        parts.append(phrase(lang, "allergens", items=("၊ " if lang == "my" else ", ").join(names)))
    else:
        parts.append(phrase(lang, "no_allergens"))
    return " ".join(parts)


def menu_list(lang: str, found: Listing, sold_out: Callable[[str], bool] = lambda _: False) -> str:
    category = CATEGORY_NAMES[lang].get(found.category, found.category) if found.category else None
    diet = DIET_NAMES[lang].get(found.diet, found.diet) if found.diet else None
    if found.missing:
        lines = [phrase(lang, "diet_missing", diet=diet, category=category), phrase(lang, "diet_intro", diet=diet)]
    elif diet and category:
        lines = [phrase(lang, "diet_category_intro", diet=diet, category=category)]
    elif diet:
        lines = [phrase(lang, "diet_intro", diet=diet)]
    elif category:
        intro = "category_cheapest_intro" if found.cheapest_first else "category_intro"
        lines = [phrase(lang, intro, category=category)]
    else:
        lines = [phrase(lang, "menu_cheapest_intro" if found.cheapest_first else "menu_intro")]
    return "\n".join([*lines, *_item_lines(lang, found.items, sold_out)])


def _item_lines(lang: str, items: list[MenuItem], sold_out: Callable[[str], bool]) -> list[str]:
    lines = []
    for item in items:
        line = f"• {_pick(lang, item.english_name, item.myanmar_name)} - {price_text(lang, item.price)}"
        lines.append(f"{line} ({phrase(lang, 'sold_out_mark')})" if sold_out(str(item.id)) else line)
    return lines


def allergens(lang: str, found: Allergens, sold_out: Callable[[str], bool] = lambda _: False) -> str:
    """The shorter true statement: which dishes are made with the allergens (the rest without), or the
    list of those made without, with prices."""
    names = [ALLERGENS_MM.get(a, a) if lang == "my" else a for a in found.allergens]
    values = {"allergens": "၊ ".join(names) if lang == "my" else " or ".join(names),
              "category": CATEGORY_NAMES[lang].get(found.category, found.category) if found.category else None}
    scoped = "_category" if found.category else ""
    if not found.made_with:
        return phrase(lang, "allergen_none", **values)
    if not found.made_without:
        return phrase(lang, "allergen_missing" + scoped, **values)
    if found.names_made_with:
        dishes = ("၊ " if lang == "my" else ", ").join(_pick(lang, m.english_name, m.myanmar_name) for m in found.listed)
        return phrase(lang, "allergen_with" + scoped, items=dishes, **values)
    return "\n".join([phrase(lang, "allergen_without" + scoped, **values), *_item_lines(lang, found.listed, sold_out)])


def faq(lang: str, record: Faq) -> str:
    return _pick(lang, record.answer_en, record.answer_mm)


def event(lang: str, record: Event) -> str:
    text = f"{_pick(lang, record.title_en, record.title_mm)}: {_pick(lang, record.description_en, record.description_mm)}"
    schedule = _pick(lang, record.schedule_en, record.schedule_mm)
    return f"{text} ({schedule})" if schedule else text


def promotion(lang: str, record: Promotion) -> str:
    text = f"{_pick(lang, record.title_en, record.title_mm)}: {_pick(lang, record.description_en, record.description_mm)}"
    valid = _pick(lang, record.valid_en, record.valid_mm)
    return f"{text} ({valid})" if valid else text


# What each line of a kind's list says after the title: when, how long, which hours.
KIND_DETAIL = {"event": ("schedule_en", "schedule_mm"), "promotion": ("valid_en", "valid_mm"),
               "job": ("type_en", "type_mm")}


def kind_list(lang: str, kind: str, records: list[Event] | list[Promotion] | list[Job]) -> str:
    """Every event (with when), promotion (with how long) or job (with its hours), one line each."""
    english, burmese = KIND_DETAIL[kind]
    lines = [phrase(lang, f"{kind}_list_intro")]
    for r in records:
        detail = _pick(lang, getattr(r, english), getattr(r, burmese))
        title = _pick(lang, r.title_en, r.title_mm)
        lines.append(f"• {title} ({detail})" if detail else f"• {title}")
    lines.append(phrase(lang, "ask_about_one"))
    return "\n".join(lines)


def job(lang: str, record: Job) -> str:
    parts = [f"{_pick(lang, record.title_en, record.title_mm)} ({_pick(lang, record.type_en, record.type_mm)}):",
             _pick(lang, record.description_en, record.description_mm)]
    salary = _pick(lang, record.salary_en, record.salary_mm)
    if salary:
        parts.append(phrase(lang, "salary", salary=salary))
    parts.append(_pick(lang, record.how_to_apply_en, record.how_to_apply_mm))
    return " ".join(p for p in parts if p)


def _week(lang: str, res: Reservations) -> str:
    """Consecutive days with the same hours collapse to one range ('Monday–Thursday 07:00–21:00')."""
    groups: list[tuple[int, int, str]] = []
    for index, day in enumerate(WEEKDAYS):
        hours = res.opening_hours.get(day)
        span = f"{hours.open}–{hours.close}" if hours else phrase(lang, "closed")
        if day not in res.opening_hours:
            continue
        if groups and groups[-1][2] == span and groups[-1][1] == index - 1:
            groups[-1] = (groups[-1][0], index, span)
        else:
            groups.append((index, index, span))
    names = WEEKDAY_NAMES[lang]
    parts = [f"{names[a]}{'' if a == b else '–' + names[b]} {span}" for a, b, span in groups]
    return _num(lang, ("၊ " if lang == "my" else "; ").join(parts))


def hours(lang: str, res: Reservations, now: datetime, asked: date | None = None,
          notes: Mapping[str, str] | None = None) -> str:
    """Today's hours (or when it opens again), then the coming week's closed days and changed hours,
    then the week; a question about another day ('open on Sunday?', 'tomorrow?') gets that day's
    hours first. `notes`: why a day is closed or open other hours, by ISO day, in `lang` (the days
    staff set in the panel)."""
    notes = notes or {}
    other = _other_day(lang, res, now, asked)
    parts = [other] if other else _today(lang, res, now)
    covered = asked if other and asked else now.date()
    if notes.get(covered.isoformat()) and _unusual(res, covered):
        parts.insert(1, _sentence(lang, notes[covered.isoformat()]))  # why, right after the day's hours
    parts.extend(_changes_ahead(lang, res, now.date(), covered, notes))
    if res.opening_hours:
        parts.append(phrase(lang, "week", hours=_week(lang, res)))
    note = _pick(lang, res.hours_note_en, res.hours_note_mm)
    if note:
        parts.append(note)
    return " ".join(parts)


def _hours_on(res: Reservations, day: date) -> DayHours | None:
    """The day's hours: none on a closed date, its special hours if it has some, else its weekday's."""
    iso = day.isoformat()
    if iso in res.closed_dates:
        return None
    return res.special_hours.get(iso) or res.opening_hours.get(WEEKDAYS[day.weekday()])


def _unusual(res: Reservations, day: date) -> bool:
    """Closed, or open other hours, than its weekday says."""
    return _hours_on(res, day) != res.opening_hours.get(WEEKDAYS[day.weekday()])


def _other_day(lang: str, res: Reservations, now: datetime, asked: date | None) -> str | None:
    if asked is None or asked == now.date() or (WEEKDAYS[asked.weekday()] not in res.opening_hours
                                                and asked.isoformat() not in res.special_hours):
        return None
    day = _day_label(lang, asked, now.date())
    when = "tomorrow" if (asked - now.date()).days == 1 else "day"
    hours = _hours_on(res, asked)
    if hours is None:
        return phrase(lang, f"{when}_closed", day=day)
    return phrase(lang, f"{when}_open", day=day, open=_num(lang, hours.open), close=_num(lang, hours.close))


def _day_label(lang: str, day: date, today: date) -> str:
    """The weekday within the coming week; beyond it the date too ('Friday 25 December'): a customer
    asking about Christmas must not read "On Friday" as this Friday."""
    name = WEEKDAY_NAMES[lang][day.weekday()]
    if 0 <= (day - today).days <= 6:
        return name
    if lang == "my":
        return f"{MONTH_NAMES['my'][day.month - 1]} {burmese_digits(str(day.day))} ရက် {name}"
    return f"{name} {day.day} {MONTH_NAMES['en'][day.month - 1]}"


def _changes_ahead(lang: str, res: Reservations, today: date, covered: date, notes: Mapping[str, str]) -> list[str]:
    """The days of the coming week closed, or open other hours, than their weekday says: whoever
    asks for the hours on Thursday may be planning Saturday. Within six days a weekday name is
    unambiguous."""
    parts = []
    for offset in range(1, 7):
        day = today + timedelta(days=offset)
        usual = res.opening_hours.get(WEEKDAYS[day.weekday()])
        hours = _hours_on(res, day)
        if day == covered or hours == usual:
            continue
        when = "tomorrow" if offset == 1 else "day"
        name = WEEKDAY_NAMES[lang][day.weekday()]
        parts.append(phrase(lang, f"{when}_closed", day=name) if hours is None else
                     phrase(lang, f"{when}_open", day=name, open=_num(lang, hours.open), close=_num(lang, hours.close)))
        if notes.get(day.isoformat()):
            parts.append(_sentence(lang, notes[day.isoformat()]))
    return parts


def _sentence(lang: str, note: str) -> str:
    """Staff's note as a sentence of its own ("Power cut" -> "Power cut."), so the next one starts clean."""
    note = note.strip()
    return note if note.endswith((".", "!", "?", "။", "…")) else note + ("။" if lang == "my" else ".")


def _today(lang: str, res: Reservations, now: datetime) -> list[str]:
    day_name = WEEKDAY_NAMES[lang][now.weekday()]
    today = _hours_on(res, now.date())
    opens = reopening(res, now)
    if today is None:
        parts = [phrase(lang, "today_closed", day=day_name)]
        if opens is not None:
            parts.append(phrase(lang, "reopens", when=reopening_text(lang, now, opens)))
    elif opens is not None and opens.date() != now.date():
        # Past today's closing time: "open from 07:00 to 21:00" at 22:00 would send them to a shut door.
        parts = [phrase(lang, "closed_now", when=reopening_text(lang, now, opens))]
    else:
        parts = [phrase(lang, "today_open", day=day_name, open=_num(lang, today.open), close=_num(lang, today.close))]
    return parts


def _spans(res: Reservations, day: datetime) -> tuple[datetime, datetime] | None:
    """The opening span that starts on `day`'s date; one closing at or before it opens ends after midnight."""
    hours = _hours_on(res, day.date())
    if hours is None:
        return None
    opens = datetime.combine(day.date(), time.fromisoformat(hours.open), day.tzinfo)
    closes = datetime.combine(day.date(), time.fromisoformat(hours.close), day.tzinfo)
    return opens, closes if closes > opens else closes + timedelta(days=1)


def reopening(res: Reservations | None, now: datetime) -> datetime | None:
    """When the cafe opens next if it is closed at `now` (local time); None while it is open or when
    its hours are unknown (no promise is better than a wrong one)."""
    if res is None or not any(res.opening_hours.values()):
        return None
    for offset in range(-1, 9):
        span = _spans(res, now + timedelta(days=offset))
        if span is None:
            continue
        if span[0] <= now < span[1]:
            return None
        if span[0] > now:
            return span[0]
    return None


def reopening_text(lang: str, now: datetime, opens: datetime) -> str:
    """'today at 07:00', 'tomorrow at 07:00', 'on Saturday at 08:00' (in Burmese when asked so)."""
    days = (opens.date() - now.date()).days
    day = "today" if days == 0 else "tomorrow" if days == 1 else "weekday"
    return _num(lang, phrase(lang, f"reopen_{day}", day=WEEKDAY_NAMES[lang][opens.weekday()],
                             time=opens.strftime("%H:%M")))


def closed_on(lang: str, res: Reservations | None, day: date, today: date, note: str | None = None) -> str | None:
    """"We are closed on Saturday." (and why, when staff said) for a day the cafe is closed; else None."""
    if res is None or _hours_on(res, day) is not None:
        return None
    said = phrase(lang, "day_closed", day=_day_label(lang, day, today))
    return f"{said} {_sentence(lang, note)}" if note else said


def max_party(lang: str, size: int) -> str:
    return phrase(lang, "max_party", n=_num(lang, str(size)))


def reservation(lang: str, res: Reservations) -> str:
    parts = [_pick(lang, res.reservation_policy_en, res.reservation_policy_mm)]
    if res.max_party_size:
        parts.append(max_party(lang, res.max_party_size))
    return " ".join(p for p in parts if p)
