"""Request bodies and documented response shapes (OpenAPI); rows follow docs/architecture.md."""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

import orjson
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from typing_extensions import Annotated

from pentagon.common.closed_days import NOTE_MAX_CHARS, TIME_PATTERN, day_hours
from pentagon.common.menu_prices import MAX_PRICE


class FastJSON(JSONResponse):
    """Rows are already JSON-ready (pentagon.common.jsonrow): serialise them directly, without re-validation."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str)


def ok(status_code: int = 200, **fields: Any) -> FastJSON:
    return FastJSON({"success": True, **fields}, status_code=status_code)


# ---------------------------------------------------------------- bodies

class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assigned_to: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")] | None


class PriorityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: int = Field(ge=1, le=5, strict=True)


def normalise_label(value: str) -> str:
    """One spelling per label: NFC, zero-width characters dropped, spaces collapsed, lower case."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", value) if unicodedata.category(ch) != "Cf")
    text = " ".join(text.split()).lower()
    if not 1 <= len(text) <= MAX_LABEL_CHARS or any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ValueError(f"a label is 1 to {MAX_LABEL_CHARS} characters, without control characters")
    return text


MAX_LABEL_CHARS = 32
MAX_LABELS = 10
Label = Annotated[str, StringConstraints(max_length=200), AfterValidator(normalise_label)]


class LabelsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: list[Label] = Field(default_factory=list, max_length=MAX_LABELS, description="labels to put on")
    remove: list[Label] = Field(default_factory=list, max_length=MAX_LABELS, description="labels to take off")

    @model_validator(mode="after")
    def _something(self) -> LabelsBody:
        if not self.add and not self.remove:
            raise ValueError("add or remove at least one label")
        return self


class ReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="what the user receives; 1..ADMIN_REPLY_MAX_CHARS characters, no NUL")


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="a note for the staff, never sent to the customer; 1..ADMIN_REPLY_MAX_CHARS "
                                  "characters, no NUL")


class StaffBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=r"^[^\x00-\x1f\x7f]*$")] = Field(
        description="a static token's name or a Supabase user's email, as the panel shows it")


class StaffTokenBody(StaffBody):
    role: Literal["admin", "viewer"] = Field(description="admin: acts; viewer: reads")


class SavedReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\x00]*$")]
    text: str = Field(description="1..ADMIN_REPLY_MAX_CHARS characters, no NUL")


_QUESTION = Annotated[str, StringConstraints(max_length=300, pattern=r"^[^\x00]*$")]
_ANSWER = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
_TAG = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[^\x00,]*$")]


class KnowledgeBody(BaseModel):
    """One question and its answer in English, Burmese or both (the agent answers in the customer's
    language, falling back to the other), with words customers may use for it."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    question_en: _QUESTION = ""
    answer_en: _ANSWER = ""
    question_mm: _QUESTION = ""
    answer_mm: _ANSWER = ""
    tags: list[_TAG] = Field(default_factory=list, max_length=20)
    category: Annotated[str, StringConstraints(max_length=40, pattern=r"^[^\x00]*$")] = ""


class TryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "bot", "human"]
    text: Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]


class TryBody(BaseModel):
    """A question put to the bot from the panel, as a customer would ask it (after `history`, if any:
    the conversation's latest turns, oldest first, so a follow-up such as "how much?" is understood)."""
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
    history: list[TryTurn] = Field(default_factory=list, max_length=10)
    locale: Annotated[str, StringConstraints(max_length=20, pattern=r"^[A-Za-z_-]*$")] = Field(
        default="", description="e.g. my_MM: only decides the language of a question in neither script")


class PriceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price: float = Field(gt=0, le=MAX_PRICE, allow_inf_nan=False,
                         description="in the menu's currency; the bot quotes it from now on")


class SoldOutBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    until: AwareDatetime | None = Field(
        default=None, description="when it is on sale again (the panel sends the cafe's next midnight); "
                                  "omitted or null: until staff put it back")


_DAY_NOTE = Annotated[str, StringConstraints(max_length=NOTE_MAX_CHARS, pattern=r"^[^\x00]*$")]
_HHMM = Annotated[str, StringConstraints(pattern=TIME_PATTERN)]


class ClosedDayBody(BaseModel):
    """Closed all day (no `open`/`close`), or open only from `open` to `close` that day (HH:MM; a
    close at or before the open is after midnight), and why, in English, Burmese, both or neither:
    the bot adds it to what it tells customers about that day ("Power cut, sorry!")."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    open: _HHMM | None = None
    close: _HHMM | None = None
    note_en: _DAY_NOTE = ""
    note_mm: _DAY_NOTE = ""

    @model_validator(mode="after")
    def _hours(self) -> "ClosedDayBody":
        day_hours(self.open, self.close)  # both or neither, and not the same time
        return self


# ---------------------------------------------------------------- responses

class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    success: Literal[False]
    error: ErrorDetail


class LastMessage(BaseModel):
    content: str | None
    sender_type: str
    timestamp: str | None


class Conversation(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    user_id: str
    platform: str
    status: str
    priority: int
    bot_paused: bool
    assigned_to: str | None
    escalation_reason: str | None
    created_at: str | None
    updated_at: str | None
    last_message_at: str | None
    closed_at: str | None
    message_count: int
    user_message_count: int
    bot_message_count: int
    human_message_count: int
    pending_human_count: int
    waiting_since: str | None = Field(None, description="time of the oldest message still waiting for a person")
    labels: list[str] = Field(default_factory=list, description="the staff's labels, sorted")
    metadata: dict[str, Any] | list[Any] | None
    last_message: LastMessage | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    conversation_id: int
    sender_type: str
    content: str | None
    timestamp: str | None
    confidence_score: float | None
    requires_human: bool
    human_replied: bool
    escalation_reason: str | None
    metadata: dict[str, Any] | list[Any] | None
    kind: str | None
    channel: str | None
    actor: str | None
    platform_message_id: str | None
    event_id: str
    reply_to_event_id: str | None
    delivery_status: str | None
    delivery_error: str | None
    delivered_at: str | None
    read_at: str | None
    created_at: str | None


class LabelCount(BaseModel):
    label: str
    conversations: int = Field(description="conversations with the label, active in the period")
    open: int = Field(description="of them, not closed")


class LabelList(BaseModel):
    success: Literal[True] = True
    labels: list[LabelCount]
    count: int


class ConversationList(BaseModel):
    success: Literal[True]
    conversations: list[Conversation]
    count: int
    next_cursor: str | None


class ConversationDetail(BaseModel):
    success: Literal[True]
    conversation: Conversation
    messages: list[Message]


class ConversationResult(BaseModel):
    success: Literal[True]
    conversation: Conversation


class MessageList(BaseModel):
    success: Literal[True]
    messages: list[Message]
    count: int


class MessageResult(BaseModel):
    success: Literal[True]
    message: Message


class ReplyAccepted(BaseModel):
    success: Literal[True]
    event_id: str
    conversation_id: int


class SavedReply(BaseModel):
    id: str
    title: str
    text: str
    updated_at: str | None
    updated_by: str | None


class SavedReplyList(BaseModel):
    success: Literal[True]
    saved_replies: list[SavedReply]
    count: int


class SavedReplyResult(BaseModel):
    success: Literal[True]
    saved_reply: SavedReply


class StaffMember(BaseModel):
    name: str
    role: Literal["admin", "viewer"] | None = Field(description="for token holders; null for Supabase users")
    source: Literal["token", "issued", "supabase"] = Field(
        description="token: ADMIN_TOKENS; issued: a token an admin created in the panel; supabase: Supabase Auth")
    revoked: bool
    changed_by: str | None = Field(description="who last revoked or restored this access")
    changed_at: str | None
    issued_by: str | None = Field(None, description="for an issued token: the admin who created it")
    issued_at: str | None = None


class StaffList(BaseModel):
    success: Literal[True]
    staff: list[StaffMember]
    count: int


class StaffResult(BaseModel):
    success: Literal[True]
    staff_member: StaffMember


class StaffTokenResult(BaseModel):
    success: Literal[True]
    token: str = Field(description="the new token: shown this once, stored nowhere (only its SHA-256)")
    staff_member: StaffMember


class BlockedCustomer(BaseModel):
    platform: str
    user_id: str
    blocked_by: str | None = Field(description="the admin who blocked the customer")
    blocked_at: str | None


class BlockedList(BaseModel):
    success: Literal[True]
    customers: list[BlockedCustomer]
    count: int


class BlockResult(BaseModel):
    success: Literal[True]
    blocked: bool
    customer: BlockedCustomer


class Deleted(BaseModel):
    success: Literal[True]
    deleted: bool


class Stats(BaseModel):
    total_conversations: int
    active_conversations: int
    total_messages: int
    messages_requiring_human: int
    needs_human_conversations: int = 0
    oldest_waiting_since: str | None = Field(
        None, description="when the customer who has waited longest for a person asked (open conversations)")
    timestamp: str


class StatsResponse(BaseModel):
    success: Literal[True]
    stats: Stats


class AuthConfig(BaseModel):
    supabase_url: str | None = None
    supabase_anon_key: str | None = None


class DetailedStatsResponse(BaseModel):
    success: Literal[True]
    stats: dict[str, Any]


class StaffStats(BaseModel):
    actor: str = Field(description="as the audit log and staff messages record it (alice:admin); page_inbox: "
                                   "replies written in the Facebook Page inbox; empty: not recorded")
    name: str
    replies: int = Field(description="messages sent to customers in the period")
    conversations: int = Field(description="conversations replied in")
    first_replies: int = Field(description="requests for a person in the period this staff member answered first")
    median_first_reply_seconds: float | None = Field(description="how long those customers waited, median")
    takeovers: int
    handbacks: int
    closes: int
    notes: int
    rated: int = Field(description="conversations they wrote in that the customer rated in the period")
    average_rating: float | None = Field(description="1-5, of those conversations")


class StaffStatsResponse(BaseModel):
    success: Literal[True] = True
    staff: list[StaffStats]
    count: int
    since: str
    until: str


class UnansweredQuestion(BaseModel):
    text: str = Field(description="the newest asking, at most 500 characters")
    asked: int = Field(description="times asked in the period (same text, case and spacing aside)")
    last_asked_at: str
    conversation_id: int = Field(description="the conversation of the newest asking")
    message_id: int
    answered_now: bool | None = Field(
        description="asked of the agent now (its knowledge, no model call): true if it answers it today "
                    "(taught since, or the files changed), false if it still hands it to a person, "
                    "null if the agent did not say")


class UnansweredList(BaseModel):
    success: Literal[True] = True
    questions: list[UnansweredQuestion]
    count: int
    since: str
    until: str


class KnowledgeRow(KnowledgeBody):
    model_config = ConfigDict(extra="ignore")
    id: str
    updated_at: str = ""
    updated_by: str = ""


class KnowledgeList(BaseModel):
    success: Literal[True] = True
    faq: list[KnowledgeRow]
    count: int


class KnowledgeResult(BaseModel):
    success: Literal[True] = True
    faq: KnowledgeRow


class BotSource(BaseModel):
    kind: str
    id: str = Field(description="faq:7, menu:51; faq:staff-<id> for an answer taught in the panel")
    score: float


class BotReply(BaseModel):
    text: str
    intent: str
    language: str
    confidence: float
    requires_human: bool
    escalation_reason: str
    sources: list[BotSource]
    quick_replies: list[str]
    model: str
    latency_ms: float


class TryResult(BaseModel):
    success: Literal[True] = True
    reply: BotReply


class MenuItem(BaseModel):
    id: str
    category: str
    name_en: str
    name_mm: str
    price: float = Field(description="what the bot quotes: the price staff set, else the file's")
    file_price: float = Field(description="the price in the agent's Menu.json")
    price_by: str | None = Field(description="who set the price; null: the file's")
    currency: str
    sold_out: bool
    sold_out_until: str | None = Field(description="ISO 8601 UTC; null: until put back (or on sale)")
    sold_out_by: str | None


class MenuList(BaseModel):
    success: Literal[True] = True
    items: list[MenuItem]
    count: int


class MenuItemResult(BaseModel):
    success: Literal[True] = True
    item: MenuItem


class FileDay(BaseModel):
    date: str = Field(description="YYYY-MM-DD, the cafe's calendar day")
    open: str | None = Field(description="HH:MM; null with close: closed all day")
    close: str | None


class ClosedDay(FileDay):
    note_en: str
    note_mm: str
    by: str
    at: str


class ClosedDayList(BaseModel):
    success: Literal[True] = True
    days: list[ClosedDay]
    count: int
    file_days: list[FileDay] | None = Field(
        description="the days the agent's knowledge file closes or changes from `from` on, except those set "
                    "here (which win); null when the agent cannot say")


class ClosedDayResult(BaseModel):
    success: Literal[True] = True
    day: ClosedDay


class Me(BaseModel):
    name: str
    role: Literal["admin", "viewer"]


class MeResponse(BaseModel):
    success: Literal[True]
    user: Me


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    command_id: str | None
    actor: str | None
    action: str
    conversation_id: int | None
    message_id: int | None
    created_at: str | None


class AuditList(BaseModel):
    success: Literal[True]
    entries: list[AuditEntry]
    count: int
    next_cursor: str | None


class DeleteUserResponse(BaseModel):
    success: Literal[True]
    result: dict[str, Any]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    if 401 in statuses:
        statuses += (429,)  # a route that checks tokens refuses an address after too many wrong ones (throttle.py)
    return {status: {"model": ErrorResponse} for status in statuses}


READ_ERRORS = error_responses(401, 403, 422, 503)
ACTION_ERRORS = error_responses(401, 403, 404, 409, 422, 503)
