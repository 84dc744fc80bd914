"""FastAPI dependencies and parameter types shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Path, Query, Request
from pydantic import AfterValidator, StringConstraints

from pentagon.admin.errors import invalid
from pentagon.admin.runtime import Runtime

BIGINT_MAX = 2**63 - 1
# No NUL bytes anywhere: Postgres text cannot hold them, so they are refused up front.
_NO_NUL = r"^[^\x00]*$"
SafeStr = Annotated[str, StringConstraints(max_length=200, pattern=_NO_NUL)]
SearchStr = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_NUL)]
PlatformStr = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")]
MaxRating = Annotated[int, Query(ge=1, le=5, description="rated by the customer at most this (1..5): 2 lists the "
                                                          "unhappy ones to follow up")]
CursorStr = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_-]+$")]
ConversationId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="conversation id")]
PlatformName = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$", description="messenger, web, ...")]
PlatformUserId = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[^\x00]+$",
                                     description="the user's id on that platform")]
MessageId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="message id")]


def _as_utc(value: datetime) -> datetime:
    try:
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError("date is out of range") from None


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def db(rt: Runtime = Depends(runtime)) -> AsyncIterator[asyncpg.Connection]:
    async with rt.connection() as conn:
        yield conn


def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200, pattern=_NO_NUL)] = None,
) -> str | None:
    return key


def check_range(since: datetime | None, until: datetime | None) -> None:
    if since and until and since >= until:
        raise invalid("since must be before until")
