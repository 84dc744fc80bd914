"""The log of admin actions, newest first, as tracking recorded them."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query

from pentagon.admin import queries
from pentagon.admin.auth import Identity, current_identity
from pentagon.admin.deps import BIGINT_MAX, CursorStr, SafeStr, db
from pentagon.admin.models import READ_ERRORS, AuditList, ok

router = APIRouter(prefix="/admin/audit", tags=["audit"])


@router.get("", response_model=AuditList, responses=READ_ERRORS)
async def audit(
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: CursorStr | None = None,
    actor: SafeStr | None = None,
    action: SafeStr | None = None,
    conversation_id: Annotated[int | None, Query(ge=1, le=BIGINT_MAX)] = None,
    _: Identity = Depends(current_identity),
    conn: asyncpg.Connection = Depends(db),
) -> Any:
    entries, next_cursor = await queries.audit_log(conn, limit, cursor, actor, action, conversation_id)
    return ok(entries=entries, count=len(entries), next_cursor=next_cursor)
