"""Staff access (access.py): admins see who may sign in, revoke a name at once and restore it.

The change takes effect first (the KV bucket every replica follows), then tracking records it
in the audit log like every admin action. If tracking cannot answer, the caller gets 503 and
the access stays as changed: a retry (same Idempotency-Key) records it once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pentagon.admin.access import StaffAccess
from pentagon.admin.auth import Identity, require_admin
from pentagon.admin.commands import command_id_for
from pentagon.admin.deps import idempotency_key, runtime
from pentagon.admin.errors import ApiError, available, not_found
from pentagon.admin.models import ACTION_ERRORS, READ_ERRORS, StaffBody, StaffList, StaffResult, ok
from pentagon.admin.runtime import Runtime

router = APIRouter(prefix="/admin/staff", tags=["staff access"])


def _access(rt: Runtime) -> StaffAccess:
    return available(rt.access)


def _member(name: str, role: str | None, entry: dict[str, Any] | None) -> dict[str, Any]:
    entry = entry or {}
    return {"name": name, "role": role, "source": "token" if role else "supabase",
            "revoked": bool(entry.get("revoked")), "changed_by": entry.get("changed_by"),
            "changed_at": entry.get("changed_at")}


@router.get("", response_model=StaffList, responses=READ_ERRORS)
async def list_staff(_: Identity = Depends(require_admin), rt: Runtime = Depends(runtime)) -> Any:
    """ADMIN_TOKENS names, then every other name an admin ever revoked (Supabase users)."""
    entries = {entry["name"]: entry for entry in _access(rt).entries()}
    static = {identity.name: identity.role for identity in rt.auth.static_identities()}
    staff = [_member(name, role, entries.get(name)) for name, role in static.items()]
    staff += [_member(name, None, entry) for name, entry in entries.items() if name not in static]
    return ok(staff=staff, count=len(staff))


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


async def _record(rt: Runtime, action: str, name: str, identity: Identity, key: str | None) -> None:
    await available(rt.commands).send(action, identity.actor, params={"name": name},
                           command_id=command_id_for(identity.actor, key and f"{action}:{name}:{key}"))


def _static_role(rt: Runtime, name: str) -> str | None:
    return next((i.role for i in rt.auth.static_identities() if i.name == name), None)
