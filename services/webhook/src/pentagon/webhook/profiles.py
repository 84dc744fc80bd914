"""Customers' names for the staff: Messenger's User Profile API, asked once per customer.

The reply worker asks while the agent thinks (never delaying the answer by more
than ``PROFILE_TIMEOUT_S``), remembers the answer in the conversation's history
value (history.py: no extra request per message, and gone with the rest when the
customer's data is deleted), and sends it to tracking as conversation metadata
``user_name`` on the bot's reply, which tracking merges into the conversation
the panel shows. A name is personal data: it is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from typing import Any

from pentagon.webhook.send_api import GraphError, SendApi

log = logging.getLogger(__name__)

PROFILE_TIMEOUT_S = 2.0
MAX_NAME_CHARS = 100
# Asked, and Messenger will not say (no permission, the person is gone): not asked again.
NO_NAME = ""


def display_name(profile: dict[str, Any]) -> str:
    """'First Last' without control characters, as the panel shows it."""
    parts = [profile.get("first_name"), profile.get("last_name")]
    name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\u200c\u200d")
    return name[:MAX_NAME_CHARS]


async def lookup(send_api: SendApi, psid: str, timeout_s: float = PROFILE_TIMEOUT_S) -> str | None:
    """The customer's name, ``NO_NAME`` when Messenger refuses for good, None when it could not
    answer now (then the next message asks again)."""
    try:
        profile = await asyncio.wait_for(send_api.profile(psid), timeout_s)
    except asyncio.TimeoutError:
        return None
    except GraphError as exc:
        log.info("profile lookup failed", extra={"code": exc.code, "transient": exc.transient})
        return None if exc.transient else NO_NAME
    return display_name(profile)
