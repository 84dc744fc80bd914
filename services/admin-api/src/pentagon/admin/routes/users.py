"""Who am I, and erasing everything of one user (done by tracking through the delete_user command)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.commands import command_id_for
from pentagon.admin.deps import PlatformName, PlatformUserId, idempotency_key, runtime
from pentagon.admin.errors import available
from pentagon.admin.models import ACTION_ERRORS, AuthConfig, DeleteUserResponse, MeResponse, error_responses, ok
from pentagon.admin.runtime import Runtime

router = APIRouter(prefix="/admin", tags=["users"])


@router.get("/me", response_model=MeResponse, responses=error_responses(401, 403))
async def me(identity: Identity = Depends(current_identity)) -> Any:
    return ok(user={"name": identity.name, "role": identity.role})


# Declared without security in the OpenAPI document: the panel reads it before anyone signs in.
@router.get("/config", response_model=AuthConfig, openapi_extra={"security": []})
async def auth_config(rt: Runtime = Depends(runtime)) -> Any:
    """Public sign-in options for the panel (no auth: it is read before signing in)."""
    settings = rt.settings
    secret = settings.supabase_jwt_secret.get_secret_value() if settings.supabase_jwt_secret else ""
    verifiable = bool(secret) or settings.signing_keys_url() is not None
    if settings.supabase_url and settings.supabase_anon_key and verifiable:
        return AuthConfig(supabase_url=settings.supabase_url, supabase_anon_key=settings.supabase_anon_key)
    return AuthConfig()


@router.delete("/users/{platform}/{user_id}", response_model=DeleteUserResponse, responses=ACTION_ERRORS)
async def delete_user(
    platform: PlatformName,
    user_id: PlatformUserId,
    identity: Identity = Depends(require_admin),
    key: str | None = Depends(idempotency_key),
    rt: Runtime = Depends(runtime),
) -> Any:
    result = await available(rt.commands).send(
        "delete_user", identity.actor, params={"platform": platform, "user_id": user_id},
        command_id=command_id_for(identity.actor, key and f"delete_user:{platform}:{user_id}:{key}"),
    )
    return ok(result=result)
