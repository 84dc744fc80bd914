"""Rows of staff-written configuration kept in a NATS key-value bucket, one key per row.

Saved replies (saved_replies.py) and the answers staff teach the bot (knowledge.py) are
configuration, not conversation data: they live in buckets replicated with the NATS cluster,
with a few revisions kept, and admin-api is their only writer. The database stays tracking's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pentagon.admin.errors import ApiError

# Keys: what the panel makes from a title, and what a URL path and a NATS subject token both accept.
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


class TooMany(ApiError):
    """A bucket at its row limit: 409 for every route that adds to one."""

    def __init__(self, message: str) -> None:
        super().__init__(409, "too_many", message)


class KvRecords:
    bucket = ""  # the bucket's name (pentagon.common.bus)
    # The field every row of this kind has: a value without it was not written by us.
    required = ""
    limit = 200
    what = "rows"

    def __init__(self, kv: KeyValue, js: JetStreamContext) -> None:
        self._kv = kv
        self._js = js
        self._stream = f"KV_{self.bucket}"
        self._prefix = f"$KV.{self.bucket}."

    async def rows(self) -> list[dict[str, Any]]:
        found = await asyncio.gather(*(self.get(key) for key in await self._keys()))
        return [r for r in found if r is not None]

    async def put_row(self, key: str, row: dict[str, Any]) -> dict[str, Any]:
        if await self.get(key) is None and len(await self.rows()) >= self.limit:
            raise TooMany(f"at most {self.limit} {self.what}")
        await self._kv.put(key, orjson.dumps(row))
        return row

    async def delete(self, key: str) -> bool:
        if await self.get(key) is None:
            return False
        await self._kv.delete(key)
        return True

    async def _keys(self) -> list[str]:
        """Every key with a message in the bucket's stream, deleted ones included (`get` skips them).

        Not `KeyValue.keys()`: its watcher reports "no more keys" when the server says nothing is
        pending but the client has not read what was already sent, so under load it returned an
        empty list for a bucket full of replies (a CI failure of the panel's saved replies test).
        """
        info = await self._js.stream_info(self._stream, subjects_filter=f"{self._prefix}>")
        return [subject[len(self._prefix):] for subject in (info.state.subjects or {})]

    async def get(self, key: str) -> dict[str, Any] | None:
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
        return row if isinstance(row, dict) and isinstance(row.get(self.required), str) else None
