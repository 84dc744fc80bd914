from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pentagon.agent.knowledge import KnowledgeError, load_knowledge
from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(PACKAGED_KNOWLEDGE_DIR, target)
    return target


def test_sample_knowledge_is_bilingual_and_complete(kdir: Path) -> None:
    kb = load_knowledge(kdir)
    assert len(kb.faqs) >= 20 and len(kb.menu) >= 25 and kb.events and kb.promotions and kb.jobs
    assert kb.reservations is not None and len(kb.reservations.opening_hours) == 7
    assert all(f.answer_mm and f.question_mm for f in kb.faqs)
    assert all(m.myanmar_name and m.description_mm and m.currency == "MMK" for m in kb.menu)
    assert {m.category for m in kb.menu} >= {"coffee", "tea", "drinks", "food", "dessert"}


def test_missing_files_are_absent_knowledge(kdir: Path) -> None:
    (kdir / "Menu.json").unlink()
    (kdir / "jobs_positions.json").unlink()
    kb = load_knowledge(kdir)
    assert kb.menu == [] and kb.jobs == [] and kb.faqs


def test_empty_directory_is_an_empty_knowledge_base(tmp_path: Path) -> None:
    assert load_knowledge(tmp_path).size == 0


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        load_knowledge(tmp_path / "nope")


def test_invalid_json_names_the_file(kdir: Path) -> None:
    (kdir / "FAQ_QA.json").write_text('[{"id": 1, "question_en": ', encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"^FAQ_QA\.json: not valid UTF-8 JSON"):
        load_knowledge(kdir)


def test_bad_record_names_file_and_record(kdir: Path) -> None:
    menu = json.loads((kdir / "Menu.json").read_text(encoding="utf-8"))
    menu[3]["price"] = "four thousand"
    (kdir / "Menu.json").write_text(json.dumps(menu, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"Menu\.json: menu\[3\] \(id=4\): price"):
        load_knowledge(kdir)


def test_missing_required_field_and_duplicate_id(kdir: Path) -> None:
    path = kdir / "jobs_positions.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["positions"][1]["title_en"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"jobs_positions\.json: positions\[1\] \(id=2\): title_en"):
        load_knowledge(kdir)
    data["positions"][1]["title_en"] = "Cook"
    data["positions"][1]["id"] = 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="duplicate id"):
        load_knowledge(kdir)


def test_bad_opening_hours(kdir: Path) -> None:
    path = kdir / "reservations_config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["opening_hours"]["monday"]["open"] = "7am"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"reservations_config\.json: opening_hours\.monday\.open"):
        load_knowledge(kdir)


@pytest.mark.parametrize(("field", "value", "where"), [
    ("closed_dates", ["17 April"], r"closed_dates"),
    ("special_hours", {"2026-12-24": {"open": "08:00", "close": "midnight"}}, r"special_hours\.2026-12-24\.close"),
    ("special_hours", {"Christmas Eve": {"open": "08:00", "close": "23:00"}}, r"special_hours"),
])
def test_a_day_that_is_not_a_calendar_day_is_an_error(kdir: Path, field: str, value: object, where: str) -> None:
    """A mistyped closed date would otherwise be an open day nobody notices."""
    path = kdir / "reservations_config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data[field] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=rf"reservations_config\.json: {where}"):
        load_knowledge(kdir)


def test_wrong_shape_is_an_error(kdir: Path) -> None:
    (kdir / "events_promotions.json").write_text('["not", "an", "object"]', encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"events_promotions\.json"):
        load_knowledge(kdir)
    (kdir / "events_promotions.json").write_text('{"events": {"id": 1}}', encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"events_promotions\.json: events must be a list"):
        load_knowledge(kdir)


def test_original_extra_fields_are_accepted(kdir: Path) -> None:
    path = kdir / "FAQ_QA.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data[0]["created_by"] = "original bot"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert load_knowledge(kdir).faqs[0].id == 1
