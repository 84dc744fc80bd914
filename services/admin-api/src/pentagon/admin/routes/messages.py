"""Per-message flags (the original mark-human / mark-replied endpoints)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pentagon.admin.auth import Identity, require_admin
from pentagon.admin.commands import command_id_for
from pentagon.admin.deps import MessageId, idempotency_key, runtime
from pentagon.admin.errors import available
from pentagon.admin.models import ACTION_ERRORS, MessageResult, ok
from pentagon.admin.runtime import Runtime

router = APIRouter(prefix="/admin/messages", tags=["messages"])


async def _flag(rt: Runtime, action: str, message_id: int, identity: Identity, key: str | None) -> Any:
    row = await available(rt.commands).send(action, identity.actor, message_id=message_id,
                                 command_id=command_id_for(identity.actor, key and f"{action}:{message_id}:{key}"))
    return ok(message=row)


@router.post("/{message_id}/mark-human", response_model=MessageResult, responses=ACTION_ERRORS)
async def mark_human(message_id: MessageId, identity: Identity = Depends(require_admin),
                     key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    return await _flag(rt, "mark_human", message_id, identity, key)


@router.post("/{message_id}/mark-replied", response_model=MessageResult, responses=ACTION_ERRORS)
async def mark_replied(message_id: MessageId, identity: Identity = Depends(require_admin),
                       key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    return await _flag(rt, "mark_replied", message_id, identity, key)
