"""Customer ratings (CSAT): the question a staff member's close sends, and the customer's answer.

A conversation a person helped with, closed by staff, ends with one question to the customer,
"How did we do?", and five quick replies (admin-api ``rating_request``). The customer's tap comes
back through the webhook as a user message of kind ``rating`` answering that question; tracking
files it under the closed conversation the question belongs to (never opening a new one) and
merges ``{"rating": {"score", "rated_at"}}`` into that conversation's metadata; the reply worker
thanks the customer. The three services agree on the wire format here.

Each quick reply's payload is ``RATE:<score>:rate:<conversation id>``; ``rate:<conversation id>``
is also the question's event id, so a conversation is asked once however often it is closed, and
the answer names the question it answers. Tracking checks that question went to the same customer,
so a forged payload can rate nobody else's conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

KIND = "rating"
SCORES = (5, 4, 3, 2, 1)
TITLES = {
    "en": {5: "😍 Excellent", 4: "🙂 Good", 3: "😐 OK", 2: "🙁 Poor", 1: "😞 Bad"},
    "my": {5: "😍 အရမ်းကောင်း", 4: "🙂 ကောင်းတယ်", 3: "😐 သင့်တင့်", 2: "🙁 မကောင်းဘူး", 1: "😞 ဆိုးတယ်"},
}
QUESTION = {
    "en": "Thank you for chatting with us! How did we do?",
    "my": "ဆက်သွယ်ပေးတဲ့အတွက် ကျေးဇူးတင်ပါတယ်။ ကျွန်ုပ်တို့ရဲ့ ဝန်ဆောင်မှုကို ဘယ်လို သဘောရပါသလဲ။",
}
THANKS = {
    "en": "Thank you for your rating! 🙏",
    "my": "အဆင့်သတ်မှတ်ပေးတဲ့အတွက် ကျေးဇူးတင်ပါတယ် 🙏",
}
_PAYLOAD = re.compile(r"RATE:([1-5]):(rate:[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class Rating:
    score: int
    request_event_id: str


def request_event_id(conversation_id: int) -> str:
    return f"rate:{conversation_id}"


def language(text: str) -> str:
    """'my' when the text has Burmese script in it, else 'en'."""
    return "my" if any("\u1000" <= ch <= "\u109f" for ch in text) else "en"


def quick_replies(lang: str, conversation_id: int) -> list[dict[str, str]]:
    request = request_event_id(conversation_id)
    titles = TITLES.get(lang, TITLES["en"])
    return [{"title": titles[score], "payload": f"RATE:{score}:{request}"} for score in SCORES]


def parse(payload: str | None) -> Rating | None:
    """The rating a quick-reply payload carries, or None for any other payload."""
    match = _PAYLOAD.fullmatch(payload or "")
    return Rating(int(match.group(1)), match.group(2)) if match else None


def answer_metadata(rated: Rating, rated_at: datetime) -> dict[str, Any]:
    """The score on the customer's message, and ``conversation.rating`` for tracking to merge into the conversation."""
    when = rated_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return {"rating": rated.score, "conversation": {"rating": {"score": rated.score, "rated_at": when}}}


def thanks_for(score_title: str) -> str:
    """The thank-you, in the language of the title the customer tapped."""
    return THANKS[language(score_title)]
