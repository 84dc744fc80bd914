"""Structured logs: one JSON object per line on stderr.

Pass ids through ``extra=`` (``event_id``, ``conversation_id``, ``message_id``);
never message content, names or tokens.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

# uvicorn logs WebSocket request lines ("/admin/ws?token=..." [accepted]) through uvicorn.error:
# credentials in query strings are masked in every message, whoever logs them.
_QUERY_SECRET = re.compile(r"((?:access_token|token|hub\.verify_token)=)[^&\s\"']+")

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": _QUERY_SECRET.sub(r"\1[redacted]", record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs would carry query strings (tokens, hub.challenge): off.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("httpx", "httpcore", "nats", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
