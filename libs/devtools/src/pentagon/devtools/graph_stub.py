"""A loopback server speaking the Messenger Send API wire format, recording every request.

    GRAPH_STUB_ADDR=127.0.0.1:8009 python -m pentagon.devtools.graph_stub

- ``POST /{version}/me/messages?access_token=...`` answers like Graph:
  ``{"recipient_id", "message_id"}`` for messages, ``{"recipient_id"}`` for
  sender actions, and Graph-shaped errors ``{"error": {"message", "type",
  "code", "error_subcode", "fbtrace_id"}}`` for bad requests (no token, text
  over 2000 characters, more than 13 quick replies, MESSAGE_TAG without tag).
  With ``GRAPH_STUB_TOKEN`` set, any other token gets code 190.
- ``GET /requests`` lists what was received (``?kind=message|sender_action``);
  ``DELETE /requests`` forgets it and every failure rule.
- ``POST /control/fail`` queues a failure rule, e.g. ``{"status": 500}``,
  ``{"status": 400, "code": 613}`` (rate limit), ``{"status": 400, "code": 551,
  "message": "This person isn't available right now."}``, ``{"code": 10,
  "error_subcode": 2018278}`` (outside the window); optional ``times`` (default
  1, -1 = forever), ``recipient`` (a PSID), ``kind``, ``messaging_type``.
  ``DELETE /control/fail`` clears the rules.
- ``/healthz``. ``/_stub/sent``, ``/_stub/count``, ``/_stub/fail``: older aliases.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
_requests: list[dict[str, Any]] = []
_rules: list[dict[str, Any]] = []
_ids = itertools.count(1)


def _graph_error(status: int, code: int, message: str, subcode: int | None = None,
                 kind: str = "OAuthException") -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": f"stub{next(_ids)}"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, status_code=status)


def _rule_matches(rule: dict[str, Any], record: dict[str, Any]) -> bool:
    if rule.get("times", 1) == 0:
        return False
    body = record["body"] if isinstance(record["body"], dict) else {}
    if rule.get("recipient") and (body.get("recipient") or {}).get("id") != rule["recipient"]:
        return False
    if rule.get("kind") and rule["kind"] != record["kind"]:
        return False
    return not (rule.get("messaging_type") and body.get("messaging_type") != rule["messaging_type"])


def _injected_failure(record: dict[str, Any]) -> JSONResponse | None:
    for rule in _rules:
        if _rule_matches(rule, record):
            if rule.get("times", 1) > 0:
                rule["times"] = rule.get("times", 1) - 1
            status = int(rule.get("status", 400))
            if status >= 500 and "code" not in rule:
                return _graph_error(status, 2, "An unexpected error has occurred. Please retry your request later.",
                                    kind="OAuthException")
            return _graph_error(status, int(rule.get("code", 1)), str(rule.get("message", "injected failure")),
                                rule.get("error_subcode"))
    return None


def _validate(body: Any) -> JSONResponse | None:
    if not isinstance(body, dict) or not isinstance(body.get("recipient"), dict) or not body["recipient"].get("id"):
        return _graph_error(400, 100, "(#100) The parameter recipient is required")
    if "sender_action" in body:
        if body["sender_action"] not in ("mark_seen", "typing_on", "typing_off"):
            return _graph_error(400, 100, "(#100) Param sender_action must be one of {MARK_SEEN, TYPING_ON, TYPING_OFF}")
        return None
    message = body.get("message")
    if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
        return _graph_error(400, 100, "(#100) The parameter message is required")
    if isinstance(message.get("text"), str) and len(message["text"]) > MAX_TEXT:
        return _graph_error(400, 100, "(#100) Length of param message[text] must be less than or equal to 2000")
    if len(message.get("quick_replies") or []) > MAX_QUICK_REPLIES:
        return _graph_error(400, 100, "(#100) param message[quick_replies] must have at most 13 elements")
    if body.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return _graph_error(400, 100, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
    if body["messaging_type"] == "MESSAGE_TAG" and not body.get("tag"):
        return _graph_error(400, 100, "(#100) Tag is required for MESSAGE_TAG messaging type")
    return None


@app.post("/{version}/me/messages")
async def send(version: str, request: Request) -> JSONResponse:
    token = request.query_params.get("access_token")
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    kind = "sender_action" if isinstance(body, dict) and "sender_action" in body else "message"
    record: dict[str, Any] = {"seq": len(_requests) + 1, "version": version, "access_token": token,
                              "kind": kind, "body": body, "received_at": time.time()}
    _requests.append(record)
    expected = os.environ.get("GRAPH_STUB_TOKEN")
    if not token or (expected and token != expected):
        response = _graph_error(400 if token else 401, 190, "Invalid OAuth access token.")
    else:
        response = _validate(body) or _injected_failure(record) or _success(body, kind)
    record["status"] = response.status_code
    return response


def _success(body: dict[str, Any], kind: str) -> JSONResponse:
    recipient = str(body["recipient"]["id"])
    if kind == "sender_action":
        return JSONResponse({"recipient_id": recipient})
    return JSONResponse({"recipient_id": recipient, "message_id": f"m_stub_{next(_ids)}"})


@app.get("/requests")
async def list_requests(kind: str | None = None) -> dict[str, Any]:
    return {"requests": [r for r in _requests if kind is None or r["kind"] == kind]}


@app.delete("/requests")
async def reset() -> dict[str, Any]:
    _requests.clear()
    _rules.clear()
    return {"ok": True}


@app.post("/control/fail")
async def add_failure(rule: dict[str, Any]) -> dict[str, Any]:
    rule.setdefault("times", 1)
    _rules.append(rule)
    return {"ok": True, "rules": len(_rules)}


@app.delete("/control/fail")
async def clear_failures() -> dict[str, Any]:
    _rules.clear()
    return {"ok": True}


# Aliases under /_stub for test kits written against an earlier draft of this recorder.
@app.get("/_stub/sent")
async def stub_sent(recipient: str | None = None) -> dict[str, Any]:
    sent = [r for r in _requests if r["kind"] == "message" and r.get("status") == 200
            and (recipient is None or (r["body"].get("recipient") or {}).get("id") == recipient)]
    return {"sent": sent}


@app.get("/_stub/count")
async def stub_count() -> dict[str, int]:
    return {"requests": len(_requests), "messages": sum(r["kind"] == "message" for r in _requests),
            "sender_actions": sum(r["kind"] == "sender_action" for r in _requests)}


@app.post("/_stub/fail")
async def stub_fail(rule: dict[str, Any]) -> dict[str, Any]:
    if rule.get("subcode") is not None:
        rule["error_subcode"] = rule.pop("subcode")
    if rule.get("times") is None:
        rule["times"] = 1
    return await add_failure({k: v for k, v in rule.items() if v is not None})


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    import uvicorn

    host, _, port = os.environ.get("GRAPH_STUB_ADDR", "127.0.0.1:8009").rpartition(":")
    uvicorn.run(app, host=host.strip("[]"), port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
