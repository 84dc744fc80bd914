"""The chat page when the platform is down: a friendly message, never a traceback.

Two real situations: nothing listening at GATEWAY_URL, and the real Caddy
gateway up with the chat service behind it down (Caddy answers 502). And an
answer lost on the way back: the message is repeated once under the same Idempotency-Key.
The happy paths against the whole stack are in tests/browser/test_streamlit_chat.py.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pentagon.devtools.embedded import Caddy, free_port

APP = Path(__file__).resolve().parents[1] / "app.py"
ROOT = Path(__file__).resolve().parents[3]


def run_app(monkeypatch: pytest.MonkeyPatch, gateway: str) -> AppTest:
    monkeypatch.setenv("GATEWAY_URL", gateway)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    return at


def assert_friendly(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    texts = [e.value for e in at.error] + [w.value for w in at.warning]
    assert any("not reachable" in t for t in texts), texts
    assert all("Traceback" not in t for t in texts)


def test_nothing_listening_shows_a_friendly_error(monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(monkeypatch, f"http://127.0.0.1:{free_port()}")
    assert_friendly(at)
    # The retry button reruns and still fails politely.
    at.button[-1].click().run()
    assert_friendly(at)


@pytest.fixture
def gateway_without_backends(infra_dir: Path) -> Iterator[str]:
    port = free_port()
    dead = f"127.0.0.1:{free_port()}"
    env = {"GATEWAY_SITE": f"http://127.0.0.1:{port}", "WEBHOOK_UPSTREAM": dead,
           "ADMIN_UPSTREAM": dead, "CHAT_UI_UPSTREAM": dead}
    caddy = Caddy(ROOT / "deploy" / "gateway" / "Caddyfile", infra_dir / "logs" / f"caddy-{port}.log", env).start(port)
    yield f"http://127.0.0.1:{port}"
    caddy.stop()


def test_gateway_up_chat_service_down_shows_a_friendly_error(monkeypatch: pytest.MonkeyPatch,
                                                             gateway_without_backends: str) -> None:
    at = run_app(monkeypatch, gateway_without_backends)
    assert_friendly(at)


class _ChatApiStandIn(BaseHTTPRequestHandler):
    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class _LosesFirstAnswer(_ChatApiStandIn):
    """Speaks /api/chat/messages; the first answer is lost (connection closed after the body was read)."""

    keys: list[str | None] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).keys.append(self.headers.get("Idempotency-Key"))
        if len(type(self).keys) == 1:
            self.close_connection = True  # stored, but the customer never hears back
            return
        self.answer(200, {"mode": "bot", "event_id": "w:1", "conversation_id": 7,
                          "reply": {"text": "Open 7am-9pm", "event_id": "r:w:1"}})


def test_a_lost_answer_is_retried_once_as_the_same_message() -> None:
    sys.path.insert(0, str(APP.parent))
    from api import ChatApi, ChatSession

    server = ThreadingHTTPServer(("127.0.0.1", 0), _LosesFirstAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = ChatApi(f"http://127.0.0.1:{server.server_port}", timeout=5)
        result = api.send(ChatSession("token", "u1"), "Are you open?", idempotency_key="c-42")
    finally:
        server.shutdown()
    assert result.reply is not None and result.reply.text == "Open 7am-9pm"
    assert _LosesFirstAnswer.keys == ["c-42", "c-42"]


def test_every_line_the_page_says_is_in_english_and_burmese() -> None:
    sys.path.insert(0, str(APP.parent))
    import wording

    for text in wording.ALL:
        assert any(c.isascii() and c.isalpha() for c in text), text
        assert any("\u1000" <= c <= "\u109f" for c in text), f"no Burmese in {text!r}"
    # The page uses them: no customer-facing English literal left in the page or the API client.
    page = APP.read_text(encoding="utf-8") + (APP.parent / "api.py").read_text(encoding="utf-8")
    for stale in ("Cafe staff\"", "Try again\"", "Type your message", "not reachable right now"):
        assert stale not in page, stale


class _Blocked(_ChatApiStandIn):
    """Speaks /api/chat/messages for a visitor the staff blocked (403, code ``blocked``)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self.answer(403, {"success": False, "error": {"code": "blocked", "message": "this chat is not available"}})


def test_a_blocked_visitor_is_told_plainly_instead_of_starting_over() -> None:
    """Not the expired-session path (which opens a new session and sends again): a block stays a block."""
    sys.path.insert(0, str(APP.parent))
    import wording
    from api import ChatApi, ChatError, ChatSession

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Blocked)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ChatError) as refused:
            ChatApi(f"http://127.0.0.1:{server.server_port}", timeout=5).send(ChatSession("token", "u1"), "hello")
    finally:
        server.shutdown()
    assert (refused.value.kind, refused.value.message) == ("blocked", wording.BLOCKED)


def test_text_is_shown_as_written_line_by_line() -> None:
    sys.path.insert(0, str(APP.parent))
    from markup import md_escape

    menu = "Our coffee (prices in MMK):\n• Espresso - 2,500\n• Latte - 4,000"
    assert md_escape(menu) == "Our coffee \\(prices in MMK\\):  \n• Espresso \\- 2,500  \n• Latte \\- 4,000"
    # Nothing typed is formatted or run: HTML, links, emphasis, an entity, a code block by indentation.
    hostile = "<script>alert(1)</script> [x](javascript:alert(1)) **b** &lt;\n    code?\r\nend"
    shown = md_escape(hostile)
    assert "<" not in shown.replace("\\<", "") and "&" not in shown.replace("\\&", "")
    assert "\\*\\*b\\*\\*" in shown and "\\[x\\]\\(javascript:alert\\(1\\)\\)" in shown
    assert shown.split("  \n")[1] == "\u00a0" * 4 + "code?" and shown.endswith("  \nend")
