"""What staff teach the bot, over REST, stored in the real NATS key-value bucket the agent follows."""

from __future__ import annotations

import json
import unicodedata
import uuid

import pytest

from admin_support import ADMIN, VIEWER
from pentagon.common.bus import knowledge_bucket

# "Durian cake?" typed on a phone keyboard that sends the decomposed form of the vowel signs.
BURMESE_NFD = unicodedata.normalize("NFD", "ဒူးရင်းကိတ် ရလား")


def new_id() -> str:
    return f"q-{uuid.uuid4().hex[:12]}"


async def test_admin_teaches_edits_and_deletes_viewers_read(admin, tracking) -> None:
    faq_id = new_id()
    body = {"question_en": " Do you sell durian cake? ", "answer_en": "Only in June.", "question_mm": BURMESE_NFD,
            "answer_mm": "ဇွန်လမှာပဲ ရပါတယ်။", "tags": ["durian", " ဒူးရင်း ", "durian"], "category": "menu"}
    created = await admin.client.put(f"/admin/knowledge/faq/{faq_id}", headers=ADMIN, json=body)
    assert created.status_code == 200, created.text
    row = created.json()["faq"]
    assert (row["id"], row["question_en"], row["updated_by"]) == (faq_id, "Do you sell durian cake?", "alice:admin")
    assert row["question_mm"] == unicodedata.normalize("NFC", BURMESE_NFD)
    assert row["tags"] == ["durian", "ဒူးရင်း"]
    # What the agent reads: the same row in the bucket, under the same key.
    kv = await knowledge_bucket(admin.runtime.js)
    stored = json.loads((await kv.get(faq_id)).value)
    assert stored["answer_mm"] == "ဇွန်လမှာပဲ ရပါတယ်။" and stored["id"] == faq_id

    only_burmese = await admin.client.put(f"/admin/knowledge/faq/{faq_id}", headers=ADMIN,
                                          json={"question_mm": "ဒူးရင်းကိတ် ရလား", "answer_mm": "နေ့တိုင်း ရပါတယ်။"})
    assert only_burmese.status_code == 200 and only_burmese.json()["faq"]["question_en"] == ""

    listed = (await admin.client.get("/admin/knowledge/faq", headers=VIEWER)).json()
    assert [r["answer_mm"] for r in listed["faq"] if r["id"] == faq_id] == ["နေ့တိုင်း ရပါတယ်။"]
    assert listed["count"] == len(listed["faq"])
    refused = await admin.client.put(f"/admin/knowledge/faq/{new_id()}", headers=VIEWER, json=body)
    assert refused.status_code == 403
    assert (await admin.client.delete(f"/admin/knowledge/faq/{faq_id}", headers=VIEWER)).status_code == 403

    assert (await admin.client.delete(f"/admin/knowledge/faq/{faq_id}", headers=ADMIN)).json()["deleted"] is True
    assert (await admin.client.delete(f"/admin/knowledge/faq/{faq_id}", headers=ADMIN)).status_code == 404
    listed = (await admin.client.get("/admin/knowledge/faq", headers=ADMIN)).json()["faq"]
    assert faq_id not in {r["id"] for r in listed}

    # Who taught the bot what, and who took it back: the audit log, like every admin action.
    audit = (await admin.client.get("/admin/audit?limit=10", headers=VIEWER)).json()["entries"]
    mine = [(e["action"], e["actor"], e["params"]) for e in audit if e["params"].get("id") == faq_id]
    assert [a for a, _, _ in mine] == ["knowledge_delete", "knowledge_put", "knowledge_put"]
    assert {actor for _, actor, _ in mine} == {"alice:admin"}
    assert mine[1][2] == {"id": faq_id, "question_mm": "ဒူးရင်းကိတ် ရလား", "answer_mm": "နေ့တိုင်း ရပါတယ်။"}
    assert mine[2][2]["answer_en"] == "Only in June."


@pytest.mark.parametrize(("faq_id", "body"), [
    ("ok-id", {}),                                                       # nothing at all
    ("ok-id", {"question_en": "Durian?"}),                               # a question without its answer
    ("ok-id", {"question_en": "Durian?", "answer_en": "No", "question_mm": "ဒူးရင်း"}),  # half a Burmese pair
    ("ok-id", {"question_en": "   ", "answer_en": "   "}),               # blanks only
    ("ok-id", {"question_en": "Durian?\x00", "answer_en": "No"}),         # NUL
    ("ok-id", {"question_en": "x" * 301, "answer_en": "No"}),             # too long
    ("ok-id", {"question_en": "Durian?", "answer_en": "No", "tags": ["t"] * 21}),
    ("ok-id", {"question_en": "Durian?", "answer_en": "No", "tags": ["a,b"]}),
    ("ok-id", {"question_en": "Durian?", "answer_en": "No", "priority": 1}),  # an unknown field
    ("Bad_Id", {"question_en": "Durian?", "answer_en": "No"}),
    ("x" * 41, {"question_en": "Durian?", "answer_en": "No"}),
])
async def test_bad_input_is_422_and_writes_nothing(admin, faq_id: str, body: dict) -> None:
    response = await admin.client.put(f"/admin/knowledge/faq/{faq_id}", headers=ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["success"] is False
    listed = (await admin.client.get("/admin/knowledge/faq", headers=ADMIN)).json()["faq"]
    assert "ok-id" not in {r["id"] for r in listed}
