"""The labels staff put on conversations: what is in use, for suggestions and counts."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query

from pentagon.admin import queries
from pentagon.admin.auth import Identity, current_identity
from pentagon.admin.deps import db
from pentagon.admin.models import READ_ERRORS, LabelList, ok

router = APIRouter(prefix="/admin/labels", tags=["conversations"])


@router.get("", response_model=LabelList, responses=READ_ERRORS)
async def labels(
    days: Annotated[int, Query(ge=1, le=3650, description="on conversations active in the last N days")] = 90,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    _: Identity = Depends(current_identity),
    conn: asyncpg.Connection = Depends(db),
) -> Any:
    rows = await queries.labels_in_use(conn, days, limit)
    return ok(labels=rows, count=len(rows))
