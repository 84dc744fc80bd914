"""Revoked staff access: an admin locks a staff member out at once, on every replica.

Static tokens (ADMIN_TOKENS) cannot be taken back without editing the configuration and
restarting, and a Supabase access
token stays valid until it expires (an hour by default). When someone leaves the cafe, or a
token leaks, an admin revokes that name here: every request made with it is refused (401
"revoked") and its open WebSockets are closed, on every admin-api replica within a moment.
The name is the one staff see everywhere (assignee, audit log): a static token's name, or a
Supabase user's email. Restoring access is another admin's click, not an edit of the .env.

The list lives in the NATS KV bucket ``staff_access`` (one key per name, its hash: names are
emails), and each replica keeps a copy fed by a KV watch, so checking a request costs no
round trip. While NATS is away the copy keeps its last state: a revocation never lapses
because the bus did.

The same bucket holds the tokens an admin issued from the panel (``token.<sha256 of the
token>``: name, role, who issued it and when; the token itself is shown once and stored
nowhere), so a new staff member gets a token without an edit of ADMIN_TOKENS and a restart.
Withdrawing one deletes its key and closes the sockets of that name, like a revocation.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import defaultdict
from typing import Any

import orjson
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pentagon.admin.queries import utc_now
from pentagon.common.jsonrow import iso
from pentagon.common.kvwatch import LocalCopy

log = logging.getLogger(__name__)


TOKEN_PREFIX = "token."
TOKEN_BYTES = 32


def access_key(name: str) -> str:
    """KV key of a name: a hash, so emails stay out of subjects and any name is a valid key."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class NameTaken(Exception):
    """The name already has an issued token: withdraw it first."""


class StaffAccess:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._entries: dict[str, dict[str, Any]] = {}  # key -> latest value, revoked or restored
        self._tokens: dict[str, dict[str, Any]] = {}  # token digest -> {name, role, issued_by, issued_at}
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        # While NATS is away the copy keeps its last state: a revocation never lapses.
        self._copy = LocalCopy(kv, lambda key, value: self._apply(key, _decode(value) if value else None),
                               "staff access watch")

    async def start(self, timeout: float = 10.0) -> None:
        """Starts the watch and waits for the bucket's current content: no request is judged on an empty copy."""
        await self._copy.start(timeout)

    async def stop(self) -> None:
        await self._copy.stop()

    def is_revoked(self, name: str) -> bool:
        entry = self._entries.get(access_key(name))
        return bool(entry and entry.get("revoked"))

    def entries(self) -> list[dict[str, Any]]:
        """Every name ever revoked, with its current state and the last change, by name."""
        return sorted(self._entries.values(), key=lambda e: (str(e.get("name", "")).casefold()))

    async def revoke(self, name: str, actor: str) -> dict[str, Any]:
        return await self._write(name, {"revoked": True, "changed_by": actor})

    async def restore(self, name: str, actor: str) -> dict[str, Any] | None:
        """None when the name was not revoked."""
        if not self.is_revoked(name) and not await self._revoked_in_bucket(name):
            return None
        return await self._write(name, {"revoked": False, "changed_by": actor})

    def token_holder(self, digest: str) -> tuple[str, str] | None:
        """(name, role) of an issued token, by the sha256 hex digest of the token."""
        entry = self._tokens.get(digest)
        return (entry["name"], entry["role"]) if entry else None

    def issued(self) -> list[dict[str, Any]]:
        """Every issued token's holder (never the token), by name."""
        return sorted(self._tokens.values(), key=lambda e: str(e["name"]).casefold())

    def issued_to(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self._tokens.values() if e["name"] == name), None)

    async def issue(self, name: str, role: str, actor: str) -> tuple[str, dict[str, Any]]:
        """A new token for `name`: (the token, shown once; its entry). NameTaken if it has one."""
        if self.issued_to(name) is not None:
            raise NameTaken(name)
        token = "pt_" + secrets.token_urlsafe(TOKEN_BYTES)
        digest = token_digest(token)
        entry = {"name": name, "role": role, "issued_by": actor, "issued_at": iso(utc_now()), "digest": digest}
        await self._kv.create(TOKEN_PREFIX + digest, orjson.dumps(entry))
        self._apply(TOKEN_PREFIX + digest, entry)
        log.info("staff token issued", extra={"access_key": access_key(name), "role": role})
        return token, entry

    async def withdraw(self, name: str) -> dict[str, Any] | None:
        """Deletes the token issued to `name` (None when it has none); its sockets close everywhere.

        Every token of that name: two replicas issuing at the same moment may both have succeeded.
        """
        entries = [e for e in self._tokens.values() if e["name"] == name]
        for entry in entries:
            await self._kv.delete(TOKEN_PREFIX + entry["digest"])
            self._apply(TOKEN_PREFIX + entry["digest"], None)
        if entries:
            log.info("staff token withdrawn", extra={"access_key": access_key(name), "tokens": len(entries)})
        return entries[0] if entries else None

    async def _write(self, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        entry = {"name": name, **fields, "changed_at": iso(utc_now())}
        key = access_key(name)
        await self._kv.put(key, orjson.dumps(entry))
        self._apply(key, entry)  # this replica at once; the others through their watch
        log.info("staff access changed", extra={"access_key": key, "revoked": entry["revoked"]})
        return entry

    async def _revoked_in_bucket(self, name: str) -> bool:
        try:
            value = (await self._kv.get(access_key(name))).value
        except KeyNotFoundError:
            return False
        entry = _decode(value)
        return bool(entry and entry.get("revoked"))

    def revoked_event(self, name: str) -> asyncio.Event:
        """Set when ``name`` is revoked; `forget` it when the caller no longer waits."""
        event = asyncio.Event()
        self._waiters[access_key(name)].add(event)
        return event

    def forget(self, name: str, event: asyncio.Event) -> None:
        key = access_key(name)
        self._waiters[key].discard(event)
        if not self._waiters[key]:
            del self._waiters[key]

    def _apply(self, key: str, entry: dict[str, Any] | None) -> None:
        if key.startswith(TOKEN_PREFIX):
            self._apply_token(key.removeprefix(TOKEN_PREFIX), entry)
            return
        if entry is None:
            self._entries.pop(key, None)
            return
        self._entries[key] = entry
        if entry.get("revoked"):
            for event in self._waiters.get(key, ()):
                event.set()

    def _apply_token(self, digest: str, entry: dict[str, Any] | None) -> None:
        if entry is not None:
            if entry.get("role") in ("admin", "viewer") and entry.get("digest") == digest:
                self._tokens[digest] = entry
            return
        gone = self._tokens.pop(digest, None)
        if gone is not None:  # a withdrawn token's open sockets close, as a revoked name's do
            for event in self._waiters.get(access_key(gone["name"]), ()):
                event.set()


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        entry = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None  # written by hand: not ours
    return entry if isinstance(entry, dict) and isinstance(entry.get("name"), str) else None
