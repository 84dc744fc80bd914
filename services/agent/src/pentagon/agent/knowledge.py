"""The cafe's knowledge files: loading and validating them into typed records.

The formats are the original bot's, so a cafe can bring its existing data.
A missing file is absent knowledge; a malformed one stops start-up with an
error naming the file and the record, because answering from half-read data is
worse than not starting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pentagon.common.closed_days import parse_day

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class KnowledgeError(ValueError):
    """A knowledge file that cannot be used; the message names file and record."""


class _Record(BaseModel):
    # Extra fields of the original files are kept out of our way, not rejected.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Faq(_Record):
    id: int | str
    category: str = ""
    question_en: str = Field(min_length=1)
    answer_en: str = Field(min_length=1)
    question_mm: str = ""
    answer_mm: str = ""
    tags: list[str] = []
    priority: int = 3


class MenuItem(_Record):
    id: int | str
    category: str = ""
    english_name: str = Field(min_length=1)
    myanmar_name: str = ""
    price: float = Field(ge=0)
    currency: str = "MMK"
    ingredients: list[str] = []
    allergens: list[str] = []
    dietary_info: list[str] = []
    description_en: str = ""
    description_mm: str = ""
    spice_level: int = 0
    preparation_time: int | None = None


class Event(_Record):
    id: int | str
    title_en: str = Field(min_length=1)
    title_mm: str = ""
    description_en: str = ""
    description_mm: str = ""
    schedule_en: str = ""
    schedule_mm: str = ""
    tags: list[str] = []


class Promotion(_Record):
    id: int | str
    title_en: str = Field(min_length=1)
    title_mm: str = ""
    description_en: str = ""
    description_mm: str = ""
    valid_en: str = ""
    valid_mm: str = ""
    tags: list[str] = []


class Job(_Record):
    id: int | str
    title_en: str = Field(min_length=1)
    title_mm: str = ""
    type_en: str = ""
    type_mm: str = ""
    description_en: str = ""
    description_mm: str = ""
    salary_en: str = ""
    salary_mm: str = ""
    how_to_apply_en: str = ""
    how_to_apply_mm: str = ""
    tags: list[str] = []


class DayHours(_Record):
    open: str
    close: str

    @field_validator("open", "close")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("expected HH:MM (24h)")
        return value


class Reservations(_Record):
    timezone: str = "Asia/Yangon"
    opening_hours: dict[str, DayHours | None] = {}
    closed_dates: list[str] = []
    # Days open other hours than their weekday's, by YYYY-MM-DD ("2026-12-24": open until midnight).
    special_hours: dict[str, DayHours] = {}
    hours_note_en: str = ""
    hours_note_mm: str = ""
    max_party_size: int | None = None
    advance_booking_days: int | None = None
    reservation_policy_en: str = ""
    reservation_policy_mm: str = ""

    @field_validator("opening_hours")
    @classmethod
    def _weekdays(cls, value: dict[str, DayHours | None]) -> dict[str, DayHours | None]:
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday(s) {unknown}")
        return value

    @field_validator("closed_dates")
    @classmethod
    def _dates(cls, value: list[str]) -> list[str]:
        for day in value:
            parse_day(day)
        return value

    @field_validator("special_hours")
    @classmethod
    def _special_dates(cls, value: dict[str, DayHours]) -> dict[str, DayHours]:
        for day in value:
            parse_day(day)
        return value


@dataclass(frozen=True)
class KnowledgeBase:
    faqs: list[Faq] = field(default_factory=list)
    menu: list[MenuItem] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    promotions: list[Promotion] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    reservations: Reservations | None = None

    @property
    def size(self) -> int:
        return len(self.faqs) + len(self.menu) + len(self.events) + len(self.promotions) + len(self.jobs) + (
            1 if self.reservations else 0)


M = TypeVar("M", bound=_Record)


def _read_json(path: Path) -> Any | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: not valid UTF-8 JSON: {exc}") from exc


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}" for err in exc.errors())


def _records(path: Path, where: str, items: Any, model: type[M]) -> list[M]:
    if not isinstance(items, list):
        raise KnowledgeError(f"{path.name}: {where} must be a list of records")
    out: list[M] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        label = f"{path.name}: {where}[{index}]"
        if isinstance(item, dict) and "id" in item:
            label += f" (id={item['id']!r})"
        try:
            record = model.model_validate(item)
        except ValidationError as exc:
            raise KnowledgeError(f"{label}: {_describe(exc)}") from exc
        if str(record.id) in seen:  # type: ignore[attr-defined]
            raise KnowledgeError(f"{label}: duplicate id")
        seen.add(str(record.id))  # type: ignore[attr-defined]
        out.append(record)
    return out


def _section(path: Path, data: Any, key: str) -> Any:
    if data is None:
        return []
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path.name}: expected an object with a '{key}' list")
    return data.get(key, [])


def _load_reservations(path: Path) -> Reservations | None:
    data = _read_json(path)
    if data is None:
        return None
    try:
        return Reservations.model_validate(data)
    except ValidationError as exc:
        raise KnowledgeError(f"{path.name}: {_describe(exc)}") from exc


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Read every known file of ``directory``; raises KnowledgeError on the first bad record."""
    if not directory.is_dir():
        raise KnowledgeError(f"knowledge directory {directory} does not exist")
    faq_path, menu_path = directory / "FAQ_QA.json", directory / "Menu.json"
    events_path, jobs_path = directory / "events_promotions.json", directory / "jobs_positions.json"
    events_data = _read_json(events_path)
    return KnowledgeBase(
        faqs=_records(faq_path, "faq", _read_json(faq_path) or [], Faq),
        menu=_records(menu_path, "menu", _read_json(menu_path) or [], MenuItem),
        events=_records(events_path, "events", _section(events_path, events_data, "events"), Event),
        promotions=_records(events_path, "promotions", _section(events_path, events_data, "promotions"), Promotion),
        jobs=_records(jobs_path, "positions", _section(jobs_path, _read_json(jobs_path), "positions"), Job),
        reservations=_load_reservations(directory / "reservations_config.json"),
    )
