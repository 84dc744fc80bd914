"""Customers an admin blocked (KV bucket ``blocked_users``): a local copy every replica follows.

admin-api writes it (routes/customers.py); the webhook reads it on every web chat message and
every Messenger message it would answer, so each process keeps a copy through a KV watch
(kvwatch.py) instead of asking NATS each time. Key: ``<platform>.<user token>`` (bus.mode_key);
value ``{"platform", "user_id", "blocked_by", "blocked_at"}``; unblocking deletes the key.
While NATS is away the copy keeps its last state: a block never lapses by accident.
"""

from __future__ import annotations

import json
from typing import Any

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pentagon.common.bus import mode_key
from pentagon.common.kvwatch import LocalCopy


class Blocklist:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._entries: dict[str, dict[str, Any]] = {}
        self._copy = LocalCopy(kv, self._apply, "blocked users watch")

    async def start(self, timeout: float = 10.0) -> None:
        """Starts the watch and waits for the bucket's current content."""
        await self._copy.start(timeout)

    async def stop(self) -> None:
        await self._copy.stop()

    def is_blocked(self, platform: str, user_id: str) -> bool:
        return mode_key(platform, user_id) in self._entries

    def entry(self, platform: str, user_id: str) -> dict[str, Any] | None:
        return self._entries.get(mode_key(platform, user_id))

    def entries(self) -> list[dict[str, Any]]:
        """Every blocked customer, the latest blocked first."""
        return sorted(self._entries.values(), key=lambda e: str(e.get("blocked_at", "")), reverse=True)

    async def block(self, platform: str, user_id: str, actor: str, at: str) -> dict[str, Any]:
        entry = {"platform": platform, "user_id": user_id, "blocked_by": actor, "blocked_at": at}
        key = mode_key(platform, user_id)
        await self._kv.put(key, json.dumps(entry, ensure_ascii=False).encode())
        self._entries[key] = entry  # this process at once; the others through their watch
        return entry

    async def unblock(self, platform: str, user_id: str) -> bool:
        """False when the customer was not blocked (asked of the bucket too: another replica may
        have blocked them a moment ago, before this copy heard of it)."""
        key = mode_key(platform, user_id)
        if key not in self._entries:
            try:
                await self._kv.get(key)
            except KeyNotFoundError:
                return False
        await self._kv.delete(key)
        self._entries.pop(key, None)
        return True

    def _apply(self, key: str, value: bytes | None) -> None:
        entry = _decode(value)
        if entry is None:
            self._entries.pop(key, None)
        else:
            self._entries[key] = entry


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        entry = json.loads(value or b"")
    except ValueError:  # deleted (None), or written by hand: not ours
        return None
    return entry if isinstance(entry, dict) and isinstance(entry.get("user_id"), str) else None
