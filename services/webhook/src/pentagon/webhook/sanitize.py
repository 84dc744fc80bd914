"""Cleaning of untrusted strings and JSON before they go into events.

Policy (the same everywhere): NUL bytes are stripped (Postgres text cannot
hold them), lone surrogates become U+FFFD, and a value over its length limit
makes the caller reject the whole field rather than silently truncate it.
"""

from __future__ import annotations

import re
from typing import Any

_ID = re.compile(r"^[^\x00-\x20\x7f]{1,128}$")
MAX_JSON_DEPTH = 6
MAX_JSON_STRING = 4096
MAX_JSON_ITEMS = 50


class Invalid(ValueError):
    """A field of an incoming payload is unusable; the reason is safe to log (no content)."""


def clean_str(value: Any, max_len: int, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field}: not a string")
    text = value.replace("\x00", "")
    if len(text) > max_len:
        raise Invalid(f"{field}: longer than {max_len}")
    # encode/decode with replace turns lone surrogates (from \ud800 escapes) into '?'-like U+FFFD.
    return text.encode("utf-8", "replace").decode("utf-8")


def opt_str(value: Any, max_len: int, field: str) -> str | None:
    if value is None:
        return None
    return clean_str(value, max_len, field)


def clean_id(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Invalid(f"{field}: missing or not an id")
    text = str(value)
    if not _ID.match(text):
        raise Invalid(f"{field}: malformed id")
    return text


def clean_json(value: Any, depth: int = 0) -> Any:
    """A bounded copy of untrusted JSON (depth, item count and string length capped)."""
    if depth > MAX_JSON_DEPTH:
        return None
    if isinstance(value, str):
        return clean_str(value[: MAX_JSON_STRING * 2], MAX_JSON_STRING * 2, "json")[:MAX_JSON_STRING]
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, list):
        return [clean_json(v, depth + 1) for v in value[:MAX_JSON_ITEMS]]
    if isinstance(value, dict):
        items = list(value.items())[:MAX_JSON_ITEMS]
        return {clean_str(str(k), 256, "key"): clean_json(v, depth + 1) for k, v in items}
    return None
