"""Blocking a customer (pentagon.common.blocklist): an admin stops an abusive customer at once.

Blocked, a web chat visitor's messages are refused (403 ``blocked``: never acknowledged, so
never stored), and a Messenger customer's messages are still recorded (Messenger was already
answered 200) but the bot never answers them again. The block takes effect first (the KV
bucket every webhook and admin-api process follows), then tracking records it in the audit log
and the conversation's activity. If tracking cannot answer, the caller gets 503 and the block
stays as changed: a retry (same Idempotency-Key) records it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends

from pentagon.admin import queries
from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.commands import command_id_for
from pentagon.admin.deps import ConversationId, PlatformName, PlatformUserId, db, idempotency_key, runtime
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


@dataclass(frozen=True)
class Customer:
    """The customer of the conversation in the path, and the block list every replica follows."""

    conversation_id: int
    platform: str
    user_id: str
    blocklist: Blocklist


async def customer_of(conversation_id: ConversationId, conn: asyncpg.Connection = Depends(db),
                      rt: Runtime = Depends(runtime)) -> Customer:
    conversation = await queries.get_conversation(conn, conversation_id)
    if conversation is None:
        raise not_found("conversation")
    return Customer(conversation_id, conversation["platform"], conversation["user_id"], blocklist(rt))


@router.post("/conversations/{conversation_id}/block", response_model=BlockResult, responses=ACTION_ERRORS)
async def block(c: Customer = Depends(customer_of), identity: Identity = Depends(require_admin),
                key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    """Blocks the conversation's customer (on their platform, in every conversation of theirs)."""
    entry = c.blocklist.entry(c.platform, c.user_id) or await c.blocklist.block(
        c.platform, c.user_id, identity.actor, iso(queries.utc_now()) or "")
    await _record(rt, "block_user", c, identity, key)
    return ok(blocked=True, customer=entry)


@router.post("/conversations/{conversation_id}/unblock", response_model=BlockResult, responses=ACTION_ERRORS)
async def unblock(c: Customer = Depends(customer_of), identity: Identity = Depends(require_admin),
                  key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    return await _unblock(rt, c, identity, key)


@router.post("/customers/{platform}/{user_id}/unblock", response_model=BlockResult, responses=ACTION_ERRORS)
async def unblock_customer(platform: PlatformName, user_id: PlatformUserId, identity: Identity = Depends(require_admin),
                           key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    """Lifts a block from the blocked list, for a customer whose conversations are gone or hard to find."""
    return await _unblock(rt, Customer(0, platform, user_id, blocklist(rt)), identity, key)


async def _unblock(rt: Runtime, c: Customer, identity: Identity, key: str | None) -> Any:
    entry = c.blocklist.entry(c.platform, c.user_id) or {"platform": c.platform, "user_id": c.user_id,
                                                        "blocked_by": None, "blocked_at": None}
    if not await c.blocklist.unblock(c.platform, c.user_id):
        raise not_found("block")
    await _record(rt, "unblock_user", c, identity, key)
    return ok(blocked=False, customer=entry)


async def _record(rt: Runtime, action: str, c: Customer, identity: Identity, key: str | None) -> None:
    scope = c.conversation_id or f"{c.platform}:{c.user_id}"
    await available(rt.commands).send(
        action, identity.actor, conversation_id=c.conversation_id, params={"platform": c.platform, "user_id": c.user_id},
        command_id=command_id_for(identity.actor, key and f"{action}:{scope}:{key}"))
