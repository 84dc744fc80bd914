"""Staff access (access.py): admins see who may sign in, revoke a name at once and restore it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pentagon.admin.access import StaffAccess
from pentagon.admin.auth import Identity, require_admin
from pentagon.admin.deps import runtime
from pentagon.admin.errors import ApiError, not_found, unavailable
from pentagon.admin.models import ACTION_ERRORS, READ_ERRORS, StaffBody, StaffList, StaffResult, ok
from pentagon.admin.runtime import Runtime

router = APIRouter(prefix="/admin/staff", tags=["staff access"])


def _access(rt: Runtime) -> StaffAccess:
    if rt.access is None:
        raise unavailable()
    return rt.access


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
async def revoke(body: StaffBody, identity: Identity = Depends(require_admin), rt: Runtime = Depends(runtime)) -> Any:
    if body.name == identity.name:
        raise ApiError(409, "illegal_transition", "you cannot revoke your own access")
    entry = await _access(rt).revoke(body.name, identity.actor)
    return ok(staff_member=_member(body.name, _static_role(rt, body.name), entry))


@router.post("/restore", response_model=StaffResult, responses=ACTION_ERRORS)
async def restore(body: StaffBody, identity: Identity = Depends(require_admin), rt: Runtime = Depends(runtime)) -> Any:
    entry = await _access(rt).restore(body.name, identity.actor)
    if entry is None:
        raise not_found("revoked access")
    return ok(staff_member=_member(body.name, _static_role(rt, body.name), entry))


def _static_role(rt: Runtime, name: str) -> str | None:
    return next((i.role for i in rt.auth.static_identities() if i.name == name), None)
