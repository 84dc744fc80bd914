"""Who is calling: static bearer tokens from ADMIN_TOKENS and, optionally, Supabase Auth JWTs.

Supabase tokens are HS256 with the project's JWT secret (legacy) or ES256/RS256 with a
signing key from the project's JWKS (jwks.py). The key, and so the algorithm, is chosen
by us: a token's header only says which of our keys it claims, never how to check it.

Tokens are compared in constant time against every configured entry (no early
exit that would leak which prefix matched) and are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from pentagon.admin.errors import ApiError
from pentagon.admin.jwks import SigningKeys
from pentagon.admin.throttle import SignInThrottle

log = logging.getLogger(__name__)

Role = Literal["admin", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "viewer")
_SUPABASE_ROLE_CLAIMS = (("app_metadata", "role"), ("user_role",), ("app_metadata", "admin_role"))


@dataclass(frozen=True)
class Identity:
    name: str
    role: Role
    # Unix time after which the credential is no longer valid (a JWT's exp); None: a static token.
    expires_at: float | None = None

    @property
    def actor(self) -> str:
        """How actions are attributed in commands, messages and the audit log."""
        return f"{self.name}:{self.role}"

    @property
    def can_act(self) -> bool:
        return self.role == "admin"


class TokenExpired(ApiError):
    """A genuine Supabase token past its exp (the signature was good): refused, but not a guess."""

    def __init__(self) -> None:
        super().__init__(401, "unauthorized", "token expired")


class AccessRevoked(ApiError):
    """A genuine token of someone an admin locked out (access.py): refused, but not a guess."""

    def __init__(self) -> None:
        super().__init__(401, "revoked", "an admin revoked this access")


@dataclass(frozen=True)
class _TokenEntry:
    identity: Identity
    digest: bytes


def _digest(token: str) -> bytes:
    # Comparing fixed-length digests keeps the comparison time independent of token length.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def parse_admin_tokens(raw: str) -> list[_TokenEntry]:
    """'alice:admin:s3cret,bob:viewer:t0ken' -> entries; malformed entries are skipped with a warning."""
    entries = []
    for index, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, _, rest = item.partition(":")
        role, _, token = rest.partition(":")
        if not name or role not in ROLES or not token:
            log.warning("ignoring malformed ADMIN_TOKENS entry", extra={"entry_index": index})
            continue
        entries.append(_TokenEntry(Identity(name, role), _digest(token)))  # type: ignore[arg-type]
    return entries


class Authenticator:
    def __init__(self, admin_tokens: str, jwt_secret: str | None = None, jwt_audience: str | None = None,
                 signing_keys: SigningKeys | None = None) -> None:
        self._entries = parse_admin_tokens(admin_tokens)
        self._jwt_secret = jwt_secret or None
        self._jwt_audience = jwt_audience or None
        self._signing_keys = signing_keys
        # Tokens an admin issued in the panel (access.py), by digest; set once the bus is up.
        self.issued: Callable[[str], tuple[str, str] | None] | None = None
        if not self._entries and not self._jwt_secret and signing_keys is None:
            log.warning("no ADMIN_TOKENS and no Supabase Auth: every admin request will be refused")

    async def identify(self, token: str | None) -> Identity:
        """The caller's identity, or ApiError 401 (unknown token) / 403 (valid JWT without an admin role)."""
        if not token:
            raise ApiError(401, "unauthorized", "missing bearer token")
        identity = self._static(token) or self._issued(token)
        if identity is None and token.count(".") == 2 and (self._jwt_secret or self._signing_keys):
            identity = await self._supabase(token)
        if identity is None:
            raise ApiError(401, "unauthorized", "invalid token")
        return identity

    def static_identities(self) -> list[Identity]:
        """Who holds an ADMIN_TOKENS token (names and roles, never the tokens)."""
        return [entry.identity for entry in self._entries]

    def _static(self, token: str) -> Identity | None:
        digest = _digest(token)
        found = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry.identity
        return found

    def _issued(self, token: str) -> Identity | None:
        holder = self.issued(_digest(token).hex()) if self.issued is not None else None
        return Identity(holder[0], holder[1]) if holder else None  # type: ignore[arg-type]

    async def _verification_key(self, token: str) -> tuple[Any, str] | None:
        """(key, its one algorithm) for this token, or None when we hold no key for it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        if header.get("alg") == "HS256":
            return (self._jwt_secret, "HS256") if self._jwt_secret else None
        kid = header.get("kid")
        if self._signing_keys is None or not isinstance(kid, str) or not kid:
            return None
        found = await self._signing_keys.key(kid)
        return (found.key, found.algorithm_name) if found is not None else None

    async def _supabase(self, token: str) -> Identity | None:
        verification = await self._verification_key(token)
        if verification is None:
            return None
        key, algorithm = verification
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._jwt_audience,
                options={"require": ["exp", "sub"], "verify_aud": self._jwt_audience is not None},
            )
        except jwt.ExpiredSignatureError:  # raised only after the signature checked out
            raise TokenExpired() from None
        except jwt.PyJWTError:
            return None
        role = _role_from_claims(claims)
        if role is None:
            raise ApiError(403, "forbidden", "this account has no admin panel role")
        name = str(claims.get("email") or claims["sub"])[:200]
        return Identity(name, role, float(claims["exp"]))


def _role_from_claims(claims: dict[str, Any]) -> Role | None:
    for path in _SUPABASE_ROLE_CLAIMS:
        value: Any = claims
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value in ROLES:
            return value  # type: ignore[return-value]
    return None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def authenticate(conn: HTTPConnection, token: str | None) -> Identity:
    """The identity of a request or WebSocket; 401/403 as `identify`, 429 after too many refused tokens.

    Refused means unknown or forged: a missing token guesses nothing and an expired one was genuine.
    """
    runtime = conn.app.state.runtime
    identity = await _identify(conn, token, runtime.auth, runtime.throttle)
    if runtime.access is not None and runtime.access.is_revoked(identity.name):
        raise AccessRevoked()
    return identity


async def _identify(conn: HTTPConnection, token: str | None, authenticator: Authenticator,
                    throttle: SignInThrottle | None) -> Identity:
    if throttle is None or not token:
        return await authenticator.identify(token)
    address = throttle.address(conn)
    await throttle.admit(address)
    refused = False
    try:
        return await authenticator.identify(token)
    except ApiError as exc:
        refused = exc.status == 401 and not isinstance(exc, TokenExpired)
        raise
    finally:
        await throttle.settle(address, refused)


async def current_identity(request: Request) -> Identity:
    identity = await authenticate(request, bearer_token(request))
    request.state.identity = identity
    return identity


def require_admin(identity: Identity = Depends(current_identity)) -> Identity:
    if not identity.can_act:
        raise ApiError(403, "forbidden", "this action needs the admin role")
    return identity
