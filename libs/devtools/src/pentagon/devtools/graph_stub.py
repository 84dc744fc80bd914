"""A loopback server speaking the Messenger Send API wire format, recording every request.

    GRAPH_STUB_ADDR=127.0.0.1:8009 python -m pentagon.devtools.graph_stub

- ``POST /{version}/me/messages?access_token=...`` answers like Graph:
  ``{"recipient_id", "message_id"}`` for messages, ``{"recipient_id"}`` for
  sender actions, and Graph-shaped errors ``{"error": {"message", "type",
  "code", "error_subcode", "fbtrace_id"}}`` for bad requests (no token, text
  over 2000 characters, more than 13 quick replies, MESSAGE_TAG without tag).
  With ``GRAPH_STUB_TOKEN`` set, any other token gets code 190.
- ``GET /{version}/{psid}?fields=first_name,last_name&access_token=...``: the User
  Profile API, a name derived from the PSID (``profile_of``), recorded as kind ``profile``
  (only failure rules with ``"kind": "profile"`` apply to it).
- ``GET /requests`` lists what was received (``?kind=message|sender_action|profile``);
  ``DELETE /requests`` forgets it and every failure rule.
- ``POST /control/fail`` queues a failure rule, e.g. ``{"status": 500}``,
  ``{"status": 400, "code": 613}`` (rate limit), ``{"status": 400, "code": 551,
  "message": "This person isn't available right now."}``, ``{"code": 10,
  "error_subcode": 2018278}`` (outside the window); optional ``times`` (default
  1, -1 = forever), ``recipient`` (a PSID), ``kind``, ``messaging_type``.
  ``DELETE /control/fail`` clears the rules.
- ``/healthz``. ``/_stub/sent``, ``/_stub/count``, ``/_stub/fail``: older aliases.

aiohttp.web rather than FastAPI: the recorder shares the cores with the stack
during the end-to-end benchmark, so each request must cost as little as possible.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from typing import Any

from aiohttp import web

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13

# First and last names a Yangon cafe's customers have on Messenger, in both scripts.
FIRST_NAMES = ["Su Su", "Aung", "Thiri", "Min", "မြတ်", "ဇော်"]
LAST_NAMES = ["Hlaing", "Ko Ko", "Win", "Thant", "နိုင်", "ထွန်း"]

_requests: list[dict[str, Any]] = []
_rules: list[dict[str, Any]] = []
_ids = itertools.count(1)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), status=status,
                        content_type="application/json")


def _graph_error(status: int, code: int, message: str, subcode: int | None = None,
                 kind: str = "OAuthException") -> web.Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": f"stub{next(_ids)}"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return _json({"error": error}, status)


def _rule_matches(rule: dict[str, Any], record: dict[str, Any]) -> bool:
    if rule.get("times", 1) == 0:
        return False
    body = record["body"] if isinstance(record["body"], dict) else {}
    if rule.get("recipient") and (body.get("recipient") or {}).get("id") != rule["recipient"]:
        return False
    if rule.get("kind") and rule["kind"] != record["kind"]:
        return False
    if record["kind"] == "profile" and rule.get("kind") != "profile":
        return False  # a rule meant for the Send API is not spent on a profile lookup
    return not (rule.get("messaging_type") and body.get("messaging_type") != rule["messaging_type"])


def _injected_failure(record: dict[str, Any]) -> web.Response | None:
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


def _validate(body: Any) -> web.Response | None:
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


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return None


async def send(request: web.Request) -> web.Response:
    token = request.query.get("access_token")
    body = await _body(request)
    kind = "sender_action" if isinstance(body, dict) and "sender_action" in body else "message"
    record: dict[str, Any] = {"seq": len(_requests) + 1, "version": request.match_info["version"],
                              "access_token": token, "kind": kind, "body": body, "received_at": time.time()}
    _requests.append(record)
    expected = os.environ.get("GRAPH_STUB_TOKEN")
    if not token or (expected and token != expected):
        response = _graph_error(400 if token else 401, 190, "Invalid OAuth access token.")
    else:
        response = _validate(body) or _injected_failure(record) or _success(body, kind)
    record["status"] = response.status
    return response


def _success(body: dict[str, Any], kind: str) -> web.Response:
    recipient = str(body["recipient"]["id"])
    if kind == "sender_action":
        return _json({"recipient_id": recipient})
    return _json({"recipient_id": recipient, "message_id": f"m_stub_{next(_ids)}"})


def profile_of(psid: str) -> dict[str, str]:
    digest = hashlib.sha256(psid.encode()).digest()
    return {"first_name": FIRST_NAMES[digest[0] % len(FIRST_NAMES)],
            "last_name": LAST_NAMES[digest[1] % len(LAST_NAMES)], "id": psid}


async def profile(request: web.Request) -> web.Response:
    token, psid = request.query.get("access_token"), request.match_info["psid"]
    record: dict[str, Any] = {"seq": len(_requests) + 1, "version": request.match_info["version"],
                              "access_token": token, "kind": "profile", "received_at": time.time(),
                              "body": {"recipient": {"id": psid}, "fields": request.query.get("fields", "")}}
    _requests.append(record)
    expected = os.environ.get("GRAPH_STUB_TOKEN")
    if not token or (expected and token != expected):
        response = _graph_error(400 if token else 401, 190, "Invalid OAuth access token.")
    else:
        response = _injected_failure(record) or _json(profile_of(psid))
    record["status"] = response.status
    return response


async def list_requests(request: web.Request) -> web.Response:
    kind = request.query.get("kind")
    return _json({"requests": [r for r in _requests if kind is None or r["kind"] == kind]})


async def reset(_: web.Request) -> web.Response:
    _requests.clear()
    _rules.clear()
    return _json({"ok": True})


def _add_rule(rule: dict[str, Any]) -> web.Response:
    rule.setdefault("times", 1)
    _rules.append(rule)
    return _json({"ok": True, "rules": len(_rules)})


async def add_failure(request: web.Request) -> web.Response:
    rule = await _body(request)
    if not isinstance(rule, dict):
        return _json({"detail": "body must be a JSON object"}, 422)
    return _add_rule(rule)


async def clear_failures(_: web.Request) -> web.Response:
    _rules.clear()
    return _json({"ok": True})


# Aliases under /_stub for test kits written against an earlier draft of this recorder.
async def stub_sent(request: web.Request) -> web.Response:
    recipient = request.query.get("recipient")
    sent = [r for r in _requests if r["kind"] == "message" and r.get("status") == 200
            and (recipient is None or (r["body"].get("recipient") or {}).get("id") == recipient)]
    return _json({"sent": sent})


async def stub_count(_: web.Request) -> web.Response:
    return _json({"requests": len(_requests), "messages": sum(r["kind"] == "message" for r in _requests),
                  "sender_actions": sum(r["kind"] == "sender_action" for r in _requests)})


async def stub_fail(request: web.Request) -> web.Response:
    rule = await _body(request)
    if not isinstance(rule, dict):
        return _json({"detail": "body must be a JSON object"}, 422)
    if rule.get("subcode") is not None:
        rule["error_subcode"] = rule.pop("subcode")
    if rule.get("times") is None:
        rule["times"] = 1
    return _add_rule({k: v for k, v in rule.items() if v is not None})


async def healthz(_: web.Request) -> web.Response:
    return _json({"status": "ok"})


def build_app() -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/{version}/me/messages", send)
    app.router.add_get("/requests", list_requests)
    app.router.add_delete("/requests", reset)
    app.router.add_post("/control/fail", add_failure)
    app.router.add_delete("/control/fail", clear_failures)
    app.router.add_get("/_stub/sent", stub_sent)
    app.router.add_get("/_stub/count", stub_count)
    app.router.add_post("/_stub/fail", stub_fail)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/{version}/{psid}", profile)  # last: every two-segment path above wins
    return app


def main() -> None:
    host, _, port = os.environ.get("GRAPH_STUB_ADDR", "127.0.0.1:8009").rpartition(":")
    loop = None
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        pass
    web.run_app(build_app(), host=host.strip("[]"), port=int(port), print=None, access_log=None, loop=loop)


if __name__ == "__main__":
    main()
