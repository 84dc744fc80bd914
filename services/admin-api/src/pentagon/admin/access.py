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
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from typing import Any

import orjson
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pentagon.admin.queries import utc_now
from pentagon.common.jsonrow import iso
from pentagon.common.kvwatch import follow

log = logging.getLogger(__name__)


def access_key(name: str) -> str:
    """KV key of a name: a hash, so emails stay out of subjects and any name is a valid key."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class StaffAccess:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._entries: dict[str, dict[str, Any]] = {}  # key -> latest value, revoked or restored
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._loaded = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> None:
        """Starts the watch and waits for the bucket's current content: no request is judged on an empty copy."""
        # While NATS is away the copy keeps its last state (no on_lost): a revocation never lapses.
        watching = follow(self._kv, lambda key, value: self._apply(key, _decode(value) if value else None),
                          on_loaded=self._loaded.set, what="staff access watch")
        self._watch = asyncio.create_task(watching, name="staff-access-watch")
        await asyncio.wait_for(self._loaded.wait(), timeout)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)

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
        if entry is None:
            self._entries.pop(key, None)
            return
        self._entries[key] = entry
        if entry.get("revoked"):
            for event in self._waiters.get(key, ()):
                event.set()


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        entry = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None  # written by hand: not ours
    return entry if isinstance(entry, dict) and isinstance(entry.get("name"), str) else None
