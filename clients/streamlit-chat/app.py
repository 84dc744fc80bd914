"""Cafe Pentagon web chat: a Streamlit page that talks to the gateway's /api/chat.

Run: ``streamlit run app.py --server.baseUrlPath chat`` with GATEWAY_URL set
(default http://127.0.0.1:8080). Staff replies and takeovers arrive through
a short long-poll repeated by a fragment, so the customer never reloads.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import streamlit as st

# `streamlit run` and AppTest do not agree on sys.path: make the sibling module importable in both.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import wording  # noqa: E402
from markup import md_escape  # noqa: E402
from api import ChatApi, ChatError, ChatSession  # noqa: E402

POLL_SECONDS = float(os.environ.get("CHAT_POLL_SECONDS", "2"))
POLL_WAIT = int(os.environ.get("CHAT_POLL_WAIT", "1"))
MAX_CHARS = 2000
STATUS_TO_MODE = {"active": "bot", "human": "human", "closed": "closed"}
AVATARS = {"user": "🙂", "assistant": "☕", "staff": "🧑‍🍳"}
MODE_NOTES = wording.MODE_NOTES
# ---------------------------------------------------------------- state

def init_state() -> None:
    defaults: dict[str, Any] = {
        "session": None, "messages": [], "seen": set(), "last_seq": 0, "mode": "bot",
        "error": None, "poll_error": None, "quick": None, "typing_until": 0.0,
    }
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


def reset_conversation() -> None:
    for key in ("session", "messages", "seen", "last_seq", "mode", "error", "poll_error", "quick"):
        st.session_state.pop(key, None)


def ensure_session(api: ChatApi) -> bool:
    if st.session_state.session is not None:
        return True
    try:
        st.session_state.session = api.open_session()
    except ChatError as exc:
        st.session_state.error = exc.message
        return False
    st.session_state.error = None
    return True


def set_mode(mode: str) -> None:
    if mode not in MODE_NOTES or mode == st.session_state.mode:
        return
    st.session_state.mode = mode
    st.session_state.messages.append({"role": "system", "text": MODE_NOTES[mode]})


# ---------------------------------------------------------------- sending

def send_with_retry(api: ChatApi, text: str, payload: str | None):
    """An expired session is renewed once, for the same user, then the message is sent again.

    One idempotency key per message, kept across every attempt: the platform stores it once."""
    key = uuid.uuid4().hex
    try:
        return api.send(st.session_state.session, text, payload, idempotency_key=key)
    except ChatError as exc:
        if exc.kind != "session":
            raise
        return api.send(renew_session(api), text, payload, idempotency_key=key)


def renew_session(api: ChatApi) -> ChatSession:
    """The same user again while their token still vouches for them; otherwise a new web user.

    A token stops vouching when the operators rotate CHAT_SESSION_SECRET, or long after it
    expired: asking for the same user id then is refused for good, and insisting would fail
    every message and every poll of this tab from then on."""
    old: ChatSession = st.session_state.session
    try:
        session = api.open_session(user_id=old.user_id or None)
    except ChatError as exc:
        if exc.kind != "session":
            raise
        session = api.open_session()
    st.session_state.session = session
    return session


def handle_send(api: ChatApi, text: str, payload: str | None = None) -> None:
    text = text.strip()[:MAX_CHARS]
    if not text:
        return
    entry: dict[str, Any] = {"role": "user", "text": text}
    st.session_state.messages.append(entry)
    try:
        result = send_with_retry(api, text, payload)
    except ChatError as exc:
        entry["failed"] = True
        st.session_state.error = exc.message
        return
    st.session_state.error = None
    if result.event_id:
        entry["event_id"] = result.event_id
        st.session_state.seen.add(result.event_id)
    set_mode(result.mode)
    reply = result.reply
    if reply is not None:
        if reply.event_id:
            st.session_state.seen.add(reply.event_id)
        st.session_state.messages.append({
            "role": "assistant", "text": reply.text, "confidence": reply.confidence,
            "quick_replies": reply.quick_replies, "event_id": reply.event_id,
        })


# ---------------------------------------------------------------- live updates

def apply_update(update: dict[str, Any]) -> bool:
    """Returns True when something visible changed (the typing line is the fragment's own)."""
    data = update.get("data") if isinstance(update.get("data"), dict) else {}
    if update.get("type") == "typing":
        ttl = data.get("ttl_s") if isinstance(data.get("ttl_s"), (int, float)) else 6
        st.session_state.typing_until = time.time() + min(float(ttl), 60.0)
        return False
    before = (st.session_state.mode, len(st.session_state.messages))
    mode = update.get("mode") or data.get("mode") or (
        STATUS_TO_MODE.get(data.get("status", "")) if "conversation" in str(update.get("type", "")) else None)
    sender = data.get("sender_type")
    event_id = data.get("event_id")
    if sender in ("human", "bot", "system") and data.get("content") and event_id not in st.session_state.seen:
        if event_id:
            st.session_state.seen.add(event_id)
        role = {"human": "staff", "bot": "assistant", "system": "system"}[sender]
        st.session_state.messages.append({"role": role, "text": str(data["content"]), "event_id": event_id,
                                          "confidence": data.get("confidence_score") if sender == "bot" else None,
                                          "choices": choices(data) if sender == "system" else []})
        if sender == "human":
            mode = mode or "human"
            st.session_state.typing_until = 0.0  # the reply they were typing is here
    if mode:
        set_mode(str(mode))
    return before != (st.session_state.mode, len(st.session_state.messages))


def choices(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, payload) of the buttons a staff-side question offers ("How did we do?" after a close)."""
    metadata = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
    items = metadata.get("quick_replies") if isinstance(metadata.get("quick_replies"), list) else []
    return [(str(i["title"])[:20], str(i["payload"])[:1000]) for i in items[:13]
            if isinstance(i, dict) and i.get("title") and i.get("payload")]


def poll(api: ChatApi, wait: int) -> bool:
    session = st.session_state.session
    if session is None:
        return False
    try:
        updates, last_seq = api.updates(session, st.session_state.last_seq, wait)
    except ChatError as exc:
        st.session_state.poll_error = exc.message if exc.kind == "unavailable" else None
        if exc.kind == "session":  # expired while the tab stayed open: staff replies must keep coming
            try:
                renew_session(api)
            except ChatError:
                pass  # the next poll tries again
        return False
    st.session_state.poll_error = None
    changed = False
    for update in updates:
        changed = apply_update(update) or changed
    st.session_state.last_seq = max(st.session_state.last_seq, last_seq)
    return changed


@st.fragment(run_every=POLL_SECONDS)
def live_updates() -> None:
    # The full run already polled: only the timer's runs poll here.
    if not st.session_state.pop("_full_run", False) and poll(ChatApi(), POLL_WAIT):
        st.rerun()
    if st.session_state.typing_until > time.time():
        st.caption(wording.STAFF_TYPING)


# ---------------------------------------------------------------- rendering

def confidence_caption(confidence: float | None) -> str | None:
    if confidence is None:
        return None
    if confidence >= 0.75:
        return f"● confident ({confidence:.0%})"
    if confidence >= 0.5:
        return f"◐ fairly sure ({confidence:.0%})"
    return f"○ not sure ({confidence:.0%}): a staff member may follow up"


def choose_quick_reply(text: str, payload: str | None = None) -> None:
    st.session_state.quick = (text, payload or text)


def render_message(index: int, message: dict[str, Any], is_last: bool) -> None:
    role = message["role"]
    if role == "system":
        st.caption(md_escape(message["text"]))
        offered = message.get("choices") or []
        if is_last and offered:  # answered with one tap, whatever the mode (it comes after a close)
            columns = st.columns(min(len(offered), 5))
            for j, (title, payload) in enumerate(offered):
                columns[j % len(columns)].button(title, key=f"choice-{index}-{j}", on_click=choose_quick_reply,
                                                 args=(title, payload))
        return
    with st.chat_message(role, avatar=AVATARS.get(role)):
        if role == "staff":
            st.caption(wording.STAFF)
        st.markdown(md_escape(message["text"]))
        if message.get("failed"):
            st.caption(wording.NOT_SENT)
        caption = confidence_caption(message.get("confidence")) if role == "assistant" else None
        if caption:
            st.caption(caption)
        quick = message.get("quick_replies") or []
        if is_last and quick and st.session_state.mode == "bot":
            columns = st.columns(min(len(quick), 4))
            for j, text in enumerate(quick):
                columns[j % len(columns)].button(text, key=f"qr-{index}-{j}", on_click=choose_quick_reply, args=(text,))


def render_banner() -> None:
    mode = st.session_state.mode
    if mode == "human":
        st.info(wording.BANNER_HUMAN)
    elif mode == "closed":
        st.warning(wording.BANNER_CLOSED)


def render_history() -> None:
    messages = st.session_state.messages
    if not messages:
        with st.chat_message("assistant", avatar=AVATARS["assistant"]):
            st.markdown(wording.WELCOME)
    for i, message in enumerate(messages):
        render_message(i, message, i == len(messages) - 1)


def render_sidebar() -> None:
    with st.sidebar:
        st.subheader("Cafe Pentagon")
        st.caption(wording.SIDEBAR)
        if st.button(wording.NEW_CONVERSATION):
            reset_conversation()
            st.rerun()


# ---------------------------------------------------------------- page

def main() -> None:
    st.set_page_config(page_title="Cafe Pentagon chat", page_icon="☕")
    # Customers see the chat, not Streamlit's developer toolbar ("Deploy", rerun, settings).
    st.set_option("client.toolbarMode", "minimal")
    init_state()
    render_sidebar()
    st.title("☕ Cafe Pentagon")
    api = ChatApi()
    if not ensure_session(api):
        st.error(st.session_state.error)
        st.button(wording.TRY_AGAIN)
        return
    prompt = st.chat_input(wording.PLACEHOLDER, max_chars=MAX_CHARS)
    quick = st.session_state.quick
    st.session_state.quick = None
    if prompt:
        handle_send(api, prompt)
    elif quick:
        handle_send(api, quick[0], payload=quick[1])
    poll(api, 0)
    render_banner()
    render_history()
    if st.session_state.error:
        st.warning(st.session_state.error)
    elif st.session_state.poll_error:
        st.caption(f"{wording.RECONNECTING}  \n{st.session_state.poll_error}")
    st.session_state["_full_run"] = True
    live_updates()


try:
    main()
except Exception as exc:  # noqa: BLE001 - the customer sees a friendly line, operators see the log
    import logging

    # Type only: an exception's text may quote what the customer typed.
    logging.getLogger("pentagon.chat").error("chat page failed", extra={"error": type(exc).__name__})
    st.error(wording.PAGE_FAILED)
