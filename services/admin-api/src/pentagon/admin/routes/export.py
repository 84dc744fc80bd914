"""CSV and JSON Lines exports, streamed from a server-side cursor (never the whole table in memory)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from pentagon.admin import queries
from pentagon.admin.auth import Identity, current_identity
from pentagon.admin.deps import MaxRating, PlatformStr, SafeStr, SearchStr, UtcDatetime, check_range, runtime
from pentagon.admin.errors import unavailable
from pentagon.admin.models import READ_ERRORS, Label
from pentagon.admin.runtime import Runtime
from pentagon.common.jsonrow import dumps, row_to_dict

log = logging.getLogger(__name__)
router = APIRouter(prefix="/admin/export", tags=["export"])

BATCH = 500
# Spreadsheet apps run cells starting with these as formulas (CSV injection): prefix them with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_filter(
    status: queries.StatusFilter = "all",
    platform: PlatformStr | None = None,
    needs_human: bool | None = None,
    assigned_to: SafeStr | None = None,
    user_id: Annotated[SafeStr | None, Query(description="one customer's data (with platform): what a data "
                                                         "access request asks for")] = None,
    since: Annotated[UtcDatetime | None, Query(description="conversations: last activity; messages: timestamp")] = None,
    until: UtcDatetime | None = None,
    q: SearchStr | None = None,
    label: Label | None = None,
    max_rating: MaxRating | None = None,
) -> queries.ConversationFilter:
    check_range(since, until)
    return queries.ConversationFilter(status=status, platform=platform, needs_human=needs_human,
                                      assigned_to=assigned_to, user_id=user_id, since=since, until=until, q=q,
                                      label=label, max_rating=max_rating)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        value = dumps(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_lines(columns: tuple[str, ...]) -> Callable[[list[dict[str, Any]], bool], str]:
    def render(rows: list[dict[str, Any]], header: bool) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        if header:
            writer.writerow(columns)
        writer.writerows([[_csv_cell(row[c]) for c in columns] for row in rows])
        return buffer.getvalue()
    return render


def jsonl_lines(rows: list[dict[str, Any]], header: bool) -> str:
    return "".join(dumps(row) + "\n" for row in rows)


async def _stream(rt: Runtime, sql: str, args: list[Any], render: Callable[[list[dict[str, Any]], bool], str],
                  header: bool) -> AsyncIterator[bytes]:
    if header:
        yield render([], True).encode()
    rows_sent = 0
    try:
        async with rt.connection() as conn, conn.transaction(readonly=True):
            batch: list[dict[str, Any]] = []
            async for record in conn.cursor(sql, *args, prefetch=BATCH):
                batch.append(row_to_dict(record))
                if len(batch) >= BATCH:
                    yield render(batch, False).encode()
                    rows_sent += len(batch)
                    batch = []
            if batch:
                yield render(batch, False).encode()
                rows_sent += len(batch)
    except Exception as exc:
        # Headers are gone already: the only signal left is a truncated body, so at least log it.
        log.error("export interrupted", extra={"rows_sent": rows_sent, "error": type(exc).__name__})
        raise


def _response(rt: Runtime, sql_args: tuple[str, list[Any]], fmt: str, columns: tuple[str, ...], name: str
              ) -> StreamingResponse:
    sql, args = sql_args
    if rt.pool is None:  # refuse now, while a status code can still say so
        raise unavailable("the database is not reachable yet")
    if fmt == "csv":
        body = _stream(rt, sql, args, csv_lines(columns), header=True)
        media = "text/csv; charset=utf-8"
    else:
        body = _stream(rt, sql, args, jsonl_lines, header=False)
        media = "application/x-ndjson"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"', "Cache-Control": "no-store"}
    return StreamingResponse(body, media_type=media, headers=headers)


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "application/x-ndjson": {}}, "description": "the rows, streamed"},
    **READ_ERRORS,
}


def _register(kind: str, fmt: str) -> None:
    columns = queries.CONVERSATION_COLUMNS if kind == "conversations" else queries.MESSAGE_COLUMNS
    build_sql = queries.export_conversations_sql if kind == "conversations" else queries.export_messages_sql

    @router.get(f"/{kind}.{fmt}", response_class=StreamingResponse, responses=_FILE_RESPONSES,
                name=f"export_{kind}_{fmt}")
    async def export(f: Annotated[queries.ConversationFilter, Depends(export_filter)],
                     _: Identity = Depends(current_identity), rt: Runtime = Depends(runtime)) -> StreamingResponse:
        return _response(rt, build_sql(f), fmt, columns, kind)


for _kind in ("conversations", "messages"):
    for _fmt in ("csv", "jsonl"):
        _register(_kind, _fmt)
