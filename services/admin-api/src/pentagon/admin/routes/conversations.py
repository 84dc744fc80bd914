"""Conversation list/detail/messages, lifecycle actions and staff replies."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Body, Depends, Query

from pentagon.admin import queries, rating_request, replies
from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.commands import command_id_for
from pentagon.admin.deps import (
    ConversationId, CursorStr, MaxRating, PlatformStr, SafeStr, SearchStr, UtcDatetime, check_range, db, idempotency_key,
    runtime,
)
from pentagon.admin.errors import ApiError, available, not_found
from pentagon.admin.models import (
    ACTION_ERRORS, READ_ERRORS, AssignBody, ConversationDetail, ConversationList, ConversationResult, Label, LabelsBody,
    MessageList, NoteBody, PriorityBody, ReplyAccepted, ReplyBody, error_responses, ok,
)
from pentagon.admin.runtime import Runtime

router = APIRouter(prefix="/admin/conversations", tags=["conversations"])

DETAIL_MESSAGES = 200


def conversation_filter(
    status: Annotated[queries.StatusFilter, Query(description="open = active + human")] = "open",
    platform: PlatformStr | None = None,
    needs_human: bool | None = None,
    assigned_to: SafeStr | None = None,
    user_id: Annotated[SafeStr | None, Query(description="one customer's conversations (their platform id; "
                                                         "with platform)")] = None,
    since: Annotated[UtcDatetime | None, Query(description="last activity at or after (ISO 8601)")] = None,
    until: Annotated[UtcDatetime | None, Query(description="last activity before (ISO 8601)")] = None,
    q: Annotated[SearchStr | None, Query(description="full-text search over message content")] = None,
    label: Annotated[Label | None, Query(description="conversations with this label")] = None,
    max_rating: MaxRating | None = None,
) -> queries.ConversationFilter:
    check_range(since, until)
    return queries.ConversationFilter(status=status, platform=platform, needs_human=needs_human,
                                      assigned_to=assigned_to, user_id=user_id, since=since, until=until, q=q,
                                      label=label, max_rating=max_rating)


@router.get("", response_model=ConversationList, responses=READ_ERRORS)
async def list_conversations(
    f: Annotated[queries.ConversationFilter, Depends(conversation_filter)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: CursorStr | None = None,
    _: Identity = Depends(current_identity),
    conn: asyncpg.Connection = Depends(db),
) -> Any:
    page, next_cursor = await queries.list_conversations(conn, f, limit, cursor)
    return ok(conversations=page, count=len(page), next_cursor=next_cursor)


@router.get("/{conversation_id}", response_model=ConversationDetail, responses=error_responses(401, 404, 422, 503))
async def conversation_detail(conversation_id: ConversationId, _: Identity = Depends(current_identity),
                              conn: asyncpg.Connection = Depends(db), rt: Runtime = Depends(runtime)) -> Any:
    conversation = await queries.get_conversation(conn, conversation_id)
    if conversation is None:
        raise not_found("conversation")
    messages = await queries.conversation_messages(conn, conversation_id, DETAIL_MESSAGES)
    blocked = rt.blocklist is not None and rt.blocklist.is_blocked(conversation["platform"], conversation["user_id"])
    return ok(conversation={**conversation, "customer_blocked": blocked}, messages=messages)


@router.get("/{conversation_id}/messages", response_model=MessageList, responses=error_responses(401, 404, 422, 503))
async def conversation_messages(
    conversation_id: ConversationId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    _: Identity = Depends(current_identity),
    conn: asyncpg.Connection = Depends(db),
) -> Any:
    if await queries.get_conversation(conn, conversation_id) is None:
        raise not_found("conversation")
    messages = await queries.conversation_messages(conn, conversation_id, limit, before_id)
    return ok(messages=messages, count=len(messages))


async def _run(rt: Runtime, action: str, identity: Identity, conversation_id: int, key: str | None,
               params: dict[str, Any] | None = None) -> Any:
    """The conversation as tracking left it after the command."""
    return await available(rt.commands).send(action, identity.actor, conversation_id=conversation_id, params=params,
                                             command_id=command_id_for(identity.actor,
                                                                       key and f"{action}:{conversation_id}:{key}"))


async def _command(rt: Runtime, action: str, identity: Identity, conversation_id: int, key: str | None,
                   params: dict[str, Any] | None = None) -> Any:
    return ok(conversation=await _run(rt, action, identity, conversation_id, key, params))


def _lifecycle(action: str, summary: str) -> None:
    @router.post(f"/{{conversation_id}}/{action}", response_model=ConversationResult, responses=ACTION_ERRORS,
                 summary=summary, name=f"{action}_conversation")
    async def lifecycle_action(conversation_id: ConversationId, identity: Identity = Depends(require_admin),
                               key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
        return await _command(rt, action, identity, conversation_id, key)


@router.post("/{conversation_id}/close", response_model=ConversationResult, responses=ACTION_ERRORS,
             summary="Close (active|human -> closed); a customer a staff member helped is asked for a rating",
             name="close_conversation")
async def close_conversation(conversation_id: ConversationId, identity: Identity = Depends(require_admin),
                             key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    row = await _run(rt, "close", identity, conversation_id, key)
    if isinstance(row, dict):
        await rating_request.ask_after_close(rt, row, identity.actor)
    return ok(conversation=row)


_lifecycle("reopen", "Reopen (closed -> active; 409 if the user has another open conversation)")
_lifecycle("takeover", "Take over from the bot (active -> human)")
_lifecycle("handback", "Hand back to the bot (human -> active)")


@router.post("/{conversation_id}/assign", response_model=ConversationResult, responses=ACTION_ERRORS)
async def assign(conversation_id: ConversationId, body: AssignBody, identity: Identity = Depends(require_admin),
                 key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    return await _command(rt, "assign", identity, conversation_id, key, {"assigned_to": body.assigned_to})


@router.post("/{conversation_id}/priority", response_model=ConversationResult, responses=ACTION_ERRORS)
async def priority(conversation_id: ConversationId, body: PriorityBody, identity: Identity = Depends(require_admin),
                   key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    return await _command(rt, "priority", identity, conversation_id, key, {"priority": body.priority})


@router.post("/{conversation_id}/labels", response_model=ConversationResult, responses=ACTION_ERRORS,
             summary="Put labels on or take them off (at most 10 per conversation; lower case, 1-32 characters)")
async def labels(conversation_id: ConversationId, body: LabelsBody, identity: Identity = Depends(require_admin),
                 key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    return await _command(rt, "labels", identity, conversation_id, key, {"add": body.add, "remove": body.remove})


@router.post("/{conversation_id}/notes", response_model=ConversationResult, responses=ACTION_ERRORS,
             summary="Add a note for the staff (shown in the thread's activity, never sent to the customer)")
async def add_note(conversation_id: ConversationId, body: NoteBody, identity: Identity = Depends(require_admin),
                   key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    text = replies.reply_text(body.text, rt.settings.admin_reply_max_chars)
    return await _command(rt, "note", identity, conversation_id, key, {"text": text})


@router.post("/{conversation_id}/reply", status_code=202, response_model=ReplyAccepted, responses=ACTION_ERRORS)
async def reply(conversation_id: ConversationId, body: Annotated[ReplyBody, Body()],
                identity: Identity = Depends(require_admin), key: str | None = Depends(idempotency_key),
                rt: Runtime = Depends(runtime), conn: asyncpg.Connection = Depends(db)) -> Any:
    text = replies.reply_text(body.text, rt.settings.admin_reply_max_chars)
    conversation = await queries.get_conversation(conn, conversation_id)
    if conversation is None:
        raise not_found("conversation")
    if conversation["status"] == "closed":
        raise ApiError(409, "illegal_transition", "the conversation is closed; reopen it first")
    last_user_at = await queries.last_user_message_at(conn, conversation_id)
    event_id = replies.reply_event_id(identity.actor, key and f"reply:{conversation_id}:{key}")
    event = replies.build_reply(event_id, conversation["platform"], conversation["user_id"], text, identity.actor,
                                last_user_at, conversation_id)
    assert rt.js is not None
    await replies.publish_reply(rt.js, event)
    return ok(202, event_id=event_id, conversation_id=conversation_id)
