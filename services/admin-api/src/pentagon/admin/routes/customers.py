"""Blocking a customer (pentagon.common.blocklist): an admin stops an abusive customer at once.

Blocked, a web chat visitor's messages are refused (403 ``blocked``: never acknowledged, so
never stored), and a Messenger customer's messages are still recorded (Messenger was already
answered 200) but the bot never answers them again. The block takes effect first (the KV
bucket every webhook and admin-api process follows), then tracking records it in the audit log
and the conversation's activity. If tracking cannot answer, the caller gets 503 and the block
stays as changed: a retry (same Idempotency-Key) records it once.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter, Depends

from pentagon.admin import queries
from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.commands import command_id_for
from pentagon.admin.deps import ConversationId, db, idempotency_key, runtime
from pentagon.admin.errors import available, not_found
from pentagon.admin.models import ACTION_ERRORS, READ_ERRORS, BlockedList, BlockResult, ok
from pentagon.admin.runtime import Runtime
from pentagon.common.blocklist import Blocklist
from pentagon.common.jsonrow import iso

router = APIRouter(prefix="/admin", tags=["customers"])


def blocklist(rt: Runtime) -> Blocklist:
    return available(rt.blocklist)


@router.get("/customers/blocked", response_model=BlockedList, responses=READ_ERRORS)
async def blocked_customers(_: Identity = Depends(current_identity), rt: Runtime = Depends(runtime)) -> Any:
    customers = blocklist(rt).entries()
    return ok(customers=customers, count=len(customers))


@router.post("/conversations/{conversation_id}/block", response_model=BlockResult, responses=ACTION_ERRORS)
async def block(conversation_id: ConversationId, identity: Identity = Depends(require_admin),
                key: str | None = Depends(idempotency_key), conn: asyncpg.Connection = Depends(db),
                rt: Runtime = Depends(runtime)) -> Any:
    """Blocks the conversation's customer (on their platform, in every conversation of theirs)."""
    platform, user_id = await _customer(conn, conversation_id)
    customers = blocklist(rt)
    entry = customers.entry(platform, user_id) or await customers.block(
        platform, user_id, identity.actor, iso(queries.utc_now()) or "")
    await _record(rt, "block_user", conversation_id, platform, user_id, identity, key)
    return ok(blocked=True, customer=entry)


@router.post("/conversations/{conversation_id}/unblock", response_model=BlockResult, responses=ACTION_ERRORS)
async def unblock(conversation_id: ConversationId, identity: Identity = Depends(require_admin),
                  key: str | None = Depends(idempotency_key), conn: asyncpg.Connection = Depends(db),
                  rt: Runtime = Depends(runtime)) -> Any:
    platform, user_id = await _customer(conn, conversation_id)
    customers = blocklist(rt)
    entry = customers.entry(platform, user_id) or {"platform": platform, "user_id": user_id, "blocked_by": None,
                                                   "blocked_at": None}
    if not await customers.unblock(platform, user_id):
        raise not_found("block")
    await _record(rt, "unblock_user", conversation_id, platform, user_id, identity, key)
    return ok(blocked=False, customer=entry)


async def _customer(conn: asyncpg.Connection, conversation_id: int) -> tuple[str, str]:
    conversation = await queries.get_conversation(conn, conversation_id)
    if conversation is None:
        raise not_found("conversation")
    return conversation["platform"], conversation["user_id"]


async def _record(rt: Runtime, action: str, conversation_id: int, platform: str, user_id: str, identity: Identity,
                  key: str | None) -> None:
    await available(rt.commands).send(action, identity.actor, conversation_id=conversation_id,
                           params={"platform": platform, "user_id": user_id},
                           command_id=command_id_for(identity.actor, key and f"{action}:{conversation_id}:{key}"))
