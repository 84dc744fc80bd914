"""Saved replies (saved_replies.py): everyone signed in reads them, admins write them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.deps import runtime
from pentagon.admin.errors import available, invalid, not_found
from pentagon.admin.models import (ACTION_ERRORS, READ_ERRORS, Deleted, SavedReplyBody, SavedReplyList,
                                   SavedReplyResult, ok)
from pentagon.admin.replies import reply_text
from pentagon.admin.runtime import Runtime
from pentagon.admin.kvrecords import ID_PATTERN
from pentagon.admin.saved_replies import SavedReplies

router = APIRouter(prefix="/admin/saved-replies", tags=["saved replies"])
ReplyId = Annotated[str, Path(pattern=ID_PATTERN, description="lowercase letters, digits and dashes, at most 40")]


def _store(rt: Runtime) -> SavedReplies:
    return available(rt.saved_replies)


@router.get("", response_model=SavedReplyList, responses=READ_ERRORS)
async def list_saved_replies(_: Identity = Depends(current_identity), rt: Runtime = Depends(runtime)) -> Any:
    rows = await _store(rt).all()
    return ok(saved_replies=rows, count=len(rows))


@router.put("/{reply_id}", response_model=SavedReplyResult, responses=ACTION_ERRORS)
async def put_saved_reply(reply_id: ReplyId, body: SavedReplyBody, identity: Identity = Depends(require_admin),
                          rt: Runtime = Depends(runtime)) -> Any:
    title = body.title.strip()
    if not title:
        raise invalid("title must not be empty")
    text = reply_text(body.text, rt.settings.admin_reply_max_chars)
    row = await _store(rt).put(reply_id, title, text, identity.actor)
    return ok(saved_reply=row)


@router.delete("/{reply_id}", response_model=Deleted, responses=ACTION_ERRORS)
async def delete_saved_reply(reply_id: ReplyId, _: Identity = Depends(require_admin),
                             rt: Runtime = Depends(runtime)) -> Any:
    if not await _store(rt).delete(reply_id):
        raise not_found("saved reply")
    return ok(deleted=True)
