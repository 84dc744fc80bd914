"""Staff access (access.py): admins see who may sign in, revoke a name at once and restore it,
and give a new staff member a token (and take it back) without touching the configuration.

The change takes effect first (the KV bucket every replica follows), then tracking records it
in the audit log like every admin action. If tracking cannot answer, the caller gets 503 and
the access stays as changed: a retry (same Idempotency-Key) records it once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pentagon.admin.access import NameTaken, StaffAccess
from pentagon.admin.auth import Identity, require_admin
from pentagon.admin.commands import command_id_for
from pentagon.admin.deps import idempotency_key, runtime
from pentagon.admin.errors import ApiError, available, not_found
from pentagon.admin.models import (
    ACTION_ERRORS, READ_ERRORS, StaffBody, StaffList, StaffResult, StaffTokenBody, StaffTokenResult, ok,
)
from pentagon.admin.runtime import Runtime

router = APIRouter(prefix="/admin/staff", tags=["staff access"])


def _access(rt: Runtime) -> StaffAccess:
    return available(rt.access)


def _member(name: str, role: str | None, entry: dict[str, Any] | None,
            issued: dict[str, Any] | None = None) -> dict[str, Any]:
    entry = entry or {}
    source = "issued" if issued else "token" if role else "supabase"
    return {"name": name, "role": issued["role"] if issued else role, "source": source,
            "revoked": bool(entry.get("revoked")), "changed_by": entry.get("changed_by"),
            "changed_at": entry.get("changed_at"), "issued_by": (issued or {}).get("issued_by"),
            "issued_at": (issued or {}).get("issued_at")}


@router.get("", response_model=StaffList, responses=READ_ERRORS)
async def list_staff(_: Identity = Depends(require_admin), rt: Runtime = Depends(runtime)) -> Any:
    """ADMIN_TOKENS names, then issued tokens' holders, then every other name an admin ever revoked
    (Supabase users)."""
    access = _access(rt)
    entries = {entry["name"]: entry for entry in access.entries()}
    static = {identity.name: identity.role for identity in rt.auth.static_identities()}
    issued = {entry["name"]: entry for entry in access.issued() if entry["name"] not in static}
    staff = [_member(name, role, entries.get(name)) for name, role in static.items()]
    staff += [_member(name, None, entries.get(name), entry) for name, entry in issued.items()]
    staff += [_member(name, None, entry) for name, entry in entries.items() if name not in static and name not in issued]
    return ok(staff=staff, count=len(staff))


@router.post("/tokens", status_code=201, response_model=StaffTokenResult, responses=ACTION_ERRORS)
async def issue_token(body: StaffTokenBody, identity: Identity = Depends(require_admin),
                      key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    """A token for a new staff member, shown once. 409 when the name is an ADMIN_TOKENS name or
    already holds an issued token (withdraw it first)."""
    if _static_role(rt, body.name) is not None:
        raise ApiError(409, "name_taken", "this name has a token in ADMIN_TOKENS")
    try:
        token, issued = await _access(rt).issue(body.name, body.role, identity.actor)
    except NameTaken:
        raise ApiError(409, "name_taken", "this name already holds a token: withdraw it first") from None
    await _record(rt, "issue_token", body.name, identity, key, role=body.role)
    entry = next((e for e in _access(rt).entries() if e["name"] == body.name), None)
    return ok(201, token=token, staff_member=_member(body.name, None, entry, issued))


@router.post("/withdraw", response_model=StaffResult, responses=ACTION_ERRORS)
async def withdraw_token(body: StaffBody, identity: Identity = Depends(require_admin),
                         key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    """Deletes the token issued to a name: its requests are refused and its open panels signed out."""
    if body.name == identity.name:
        raise ApiError(409, "illegal_transition", "you cannot withdraw your own token")
    issued = await _access(rt).withdraw(body.name)
    if issued is None:
        raise not_found("issued token")
    await _record(rt, "withdraw_token", body.name, identity, key)
    entry = next((e for e in _access(rt).entries() if e["name"] == body.name), None)
    return ok(staff_member=_member(body.name, None, entry, issued))  # the token that was withdrawn


@router.post("/revoke", response_model=StaffResult, responses=ACTION_ERRORS)
async def revoke(body: StaffBody, identity: Identity = Depends(require_admin), key: str | None = Depends(idempotency_key),
                 rt: Runtime = Depends(runtime)) -> Any:
    if body.name == identity.name:
        raise ApiError(409, "illegal_transition", "you cannot revoke your own access")
    entry = await _access(rt).revoke(body.name, identity.actor)
    await _record(rt, "revoke_access", body.name, identity, key)
    return ok(staff_member=_member(body.name, _static_role(rt, body.name), entry))


@router.post("/restore", response_model=StaffResult, responses=ACTION_ERRORS)
async def restore(body: StaffBody, identity: Identity = Depends(require_admin), key: str | None = Depends(idempotency_key),
                  rt: Runtime = Depends(runtime)) -> Any:
    entry = await _access(rt).restore(body.name, identity.actor)
    if entry is None:
        raise not_found("revoked access")
    await _record(rt, "restore_access", body.name, identity, key)
    return ok(staff_member=_member(body.name, _static_role(rt, body.name), entry))


async def _record(rt: Runtime, action: str, name: str, identity: Identity, key: str | None, **extra: str) -> None:
    await available(rt.commands).send(action, identity.actor, params={"name": name, **extra},
                           command_id=command_id_for(identity.actor, key and f"{action}:{name}:{key}"))


def _static_role(rt: Runtime, name: str) -> str | None:
    return next((i.role for i in rt.auth.static_identities() if i.name == name), None)
