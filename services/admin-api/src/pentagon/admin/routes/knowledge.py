"""What staff teach the bot (knowledge.py): everyone signed in reads it, admins write it.

The change takes effect first (the bucket every agent replica follows), then tracking records it
in the audit log like every admin action (`knowledge_put`, `knowledge_delete`). If tracking
cannot answer, the caller gets 503 and the change stays made: a retry (same Idempotency-Key)
records it once.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.commands import delete_recorded, record_bucket_change
from pentagon.admin.deps import idempotency_key, runtime
from pentagon.admin.errors import available, invalid
from pentagon.admin.knowledge import StaffKnowledge
from pentagon.admin.kvrecords import ID_PATTERN
from pentagon.admin.models import (ACTION_ERRORS, READ_ERRORS, Deleted, KnowledgeBody, KnowledgeList,
                                   KnowledgeResult, ok)
from pentagon.admin.runtime import Runtime

router = APIRouter(prefix="/admin/knowledge/faq", tags=["knowledge"])
FaqId = Annotated[str, Path(pattern=ID_PATTERN, description="lowercase letters, digits and dashes, at most 40")]
# What the audit row keeps of each text: enough to tell what the bot was taught, under the command size limit.
AUDIT_TEXT_CHARS = 500


def _store(rt: Runtime) -> StaffKnowledge:
    return available(rt.knowledge)


def _fields(body: KnowledgeBody) -> dict[str, Any]:
    """NFC text (Burmese typed on phones arrives in either form), one pair at least, tags deduplicated."""
    fields = {k: unicodedata.normalize("NFC", v) for k, v in body.model_dump(exclude={"tags"}).items()}
    if not any(fields[f"question_{lang}"] and fields[f"answer_{lang}"] for lang in ("en", "mm")):
        raise invalid("a question and its answer are required, in English or Burmese")
    for lang in ("en", "mm"):
        if bool(fields[f"question_{lang}"]) != bool(fields[f"answer_{lang}"]):
            raise invalid(f"question_{lang} and answer_{lang} go together")
    tags = [unicodedata.normalize("NFC", t).strip() for t in body.tags]
    fields["tags"] = list(dict.fromkeys(t for t in tags if t))
    return fields


@router.get("", response_model=KnowledgeList, responses=READ_ERRORS)
async def list_knowledge(_: Identity = Depends(current_identity), rt: Runtime = Depends(runtime)) -> Any:
    rows = await _store(rt).all()
    return ok(faq=rows, count=len(rows))


@router.put("/{faq_id}", response_model=KnowledgeResult, responses=ACTION_ERRORS)
async def put_knowledge(faq_id: FaqId, body: KnowledgeBody, identity: Identity = Depends(require_admin),
                        key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    fields = _fields(body)
    row = await _store(rt).put(faq_id, fields, identity.actor)
    texts = {k: v[:AUDIT_TEXT_CHARS] for k, v in fields.items() if k.startswith(("question_", "answer_")) and v}
    await record_bucket_change(rt.commands, "knowledge_put", faq_id, identity.actor, key, texts)
    return ok(faq=row)


@router.delete("/{faq_id}", response_model=Deleted, responses=ACTION_ERRORS)
async def delete_knowledge(faq_id: FaqId, identity: Identity = Depends(require_admin),
                           key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    await delete_recorded(rt.commands, _store(rt), faq_id, what="question", action="knowledge_delete",
                          actor=identity.actor, idempotency_key=key)
    return ok(deleted=True)
