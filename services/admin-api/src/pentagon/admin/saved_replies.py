"""Saved replies: the answers staff send again and again ("one moment please", opening hours),
in English and Burmese, picked in the panel's reply box.

They are configuration, not conversation data, so they live in the NATS key-value bucket
``saved_replies`` (replicated with the NATS cluster; a few revisions kept), one key per reply,
and admin-api is their only writer. The database stays tracking's alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pentagon.common.bus import SAVED_REPLIES_BUCKET
from pentagon.common.jsonrow import iso
from pentagon.admin.queries import utc_now

MAX_SAVED_REPLIES = 200
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


class TooMany(Exception):
    pass


class SavedReplies:
    def __init__(self, kv: KeyValue, js: JetStreamContext, bucket: str = SAVED_REPLIES_BUCKET) -> None:
        self._kv = kv
        self._js = js
        self._stream = f"KV_{bucket}"
        self._prefix = f"$KV.{bucket}."

    async def all(self) -> list[dict[str, Any]]:
        """Every saved reply, by title."""
        found = await asyncio.gather(*(self._get(key) for key in await self._keys()))
        return sorted((r for r in found if r is not None), key=lambda r: (r["title"].casefold(), r["id"]))

    async def put(self, reply_id: str, title: str, text: str, actor: str) -> dict[str, Any]:
        if await self._get(reply_id) is None and len(await self.all()) >= MAX_SAVED_REPLIES:
            raise TooMany(f"at most {MAX_SAVED_REPLIES} saved replies")
        row = {"id": reply_id, "title": title, "text": text, "updated_at": iso(utc_now()), "updated_by": actor}
        await self._kv.put(reply_id, orjson.dumps(row))
        return row

    async def delete(self, reply_id: str) -> bool:
        if await self._get(reply_id) is None:
            return False
        await self._kv.delete(reply_id)
        return True

    async def _keys(self) -> list[str]:
        """Every key with a message in the bucket's stream, deleted ones included (`_get` skips them).

        Not `KeyValue.keys()`: its watcher reports "no more keys" when the server says nothing is
        pending but the client has not read what was already sent, so under load it returned an
        empty list for a bucket full of replies (a CI failure of the panel's saved replies test).
        """
        info = await self._js.stream_info(self._stream, subjects_filter=f"{self._prefix}>")
        return [subject[len(self._prefix):] for subject in (info.state.subjects or {})]

    async def _get(self, key: str) -> dict[str, Any] | None:
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        try:
            row = orjson.loads(entry.value)
        except orjson.JSONDecodeError:
            return None  # written by hand with `nats kv put`: not ours to show
        return row if isinstance(row, dict) and isinstance(row.get("title"), str) else None
