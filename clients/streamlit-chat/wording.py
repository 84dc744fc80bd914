"""Everything the chat page says to a customer, in English and Burmese, in one place.

The cafe's customers write in either language and the page does not know which
before they do, so each line carries both: English first, Burmese under it
(labels on one line, joined by a dot). The bot's own answers come from the agent
in the customer's language; these are the page's words around them.
"""

from __future__ import annotations


def lines(en: str, my: str) -> str:
    """Two Markdown lines (Streamlit alerts and captions render Markdown)."""
    return f"{en}  \n{my}"


def label(en: str, my: str) -> str:
    return f"{en} · {my}"


UNAVAILABLE = lines("Our chat is not reachable right now. Please try again in a moment.",
                    "ချတ်ကို အခု ဆက်သွယ်လို့ မရသေးပါဘူး။ ခဏနေမှ ပြန်ကြိုးစားပေးပါ။")
SLOW_DOWN = lines("You're sending messages a little fast. Please wait {seconds} seconds and try again.",
                  "မက်ဆေ့ချ်တွေ မြန်မြန် ပို့နေပါတယ်။ {seconds} စက္ကန့် စောင့်ပြီးမှ ပြန်ပို့ပေးပါ။")
SESSION_ENDED = lines("Your chat session ended. We started a new one: please send your message again.",
                      "ချတ် ပြီးဆုံးသွားလို့ အသစ် စပေးထားပါတယ်။ မက်ဆေ့ချ်ကို ပြန်ပို့ပေးပါ။")
BLOCKED = lines("Sorry, this chat is not available to you. Please contact the cafe directly.",
                "တောင်းပန်ပါတယ်၊ ဒီချတ်ကို သုံးလို့ မရပါဘူး။ ဆိုင်ကို တိုက်ရိုက် ဆက်သွယ်ပေးပါ။")
REFUSED = lines("Sorry, that message could not be sent.",
                "တောင်းပန်ပါတယ်၊ အဲဒီ မက်ဆေ့ချ်ကို ပို့လို့ မရပါဘူး။")
PAGE_FAILED = lines("Sorry, something went wrong on our side. Please reload the page.",
                    "တောင်းပန်ပါတယ်၊ ကျွန်တော်တို့ဘက်က အမှားတစ်ခု ဖြစ်သွားပါတယ်။ စာမျက်နှာကို ပြန်ဖွင့်ပေးပါ။")

MODE_NOTES = {
    "human": lines("A member of our staff has joined the conversation.",
                   "ဝန်ထမ်းတစ်ဦး စကားဝိုင်းထဲ ဝင်လာပါပြီ။"),
    "bot": lines("You're chatting with our assistant again.",
                 "ချတ်ဘော့နဲ့ ပြန်ပြောနေပါပြီ။"),
    "closed": lines("This conversation was closed by our staff. Send a message to start a new one.",
                    "ဝန်ထမ်းက ဒီစကားဝိုင်းကို ပိတ်လိုက်ပါပြီ။ အသစ်စဖို့ မက်ဆေ့ချ် ပို့ပါ။"),
}
BANNER_HUMAN = lines("🧑‍🍳 A member of our staff has taken over this conversation and will answer you here.",
                     "ဝန်ထမ်းတစ်ဦးက ဒီစကားဝိုင်းကို ဆက်ပြီး ဒီမှာ ဖြေပေးပါလိမ့်မယ်။")
BANNER_CLOSED = lines("This conversation was closed. Send a message to start a new one.",
                      "ဒီစကားဝိုင်း ပိတ်သွားပါပြီ။ အသစ်စဖို့ မက်ဆေ့ချ် ပို့ပါ။")
WELCOME = lines("Hello! Ask me about our menu, opening hours or events.",
                "မင်္ဂလာပါ။ မီနူး၊ ဖွင့်ချိန် ဒါမှမဟုတ် ပွဲတွေအကြောင်း မေးနိုင်ပါတယ်။")
SIDEBAR = lines("Chat with our assistant; a staff member can join at any time.",
                "ချတ်ဘော့နဲ့ ပြောနိုင်ပြီး ဝန်ထမ်းတစ်ဦးလည်း အချိန်မရွေး ဝင်ကူညီနိုင်ပါတယ်။")

STAFF = label("Cafe staff", "ဝန်ထမ်း")
NOT_SENT = label("Not sent", "မပို့ရသေးပါ")
NEW_CONVERSATION = label("Start a new conversation", "စကားဝိုင်းအသစ်")
TRY_AGAIN = label("Try again", "ပြန်ကြိုးစားမယ်")
PLACEHOLDER = label("Type your message…", "မက်ဆေ့ချ် ရိုက်ပါ…")
RECONNECTING = label("Reconnecting…", "ပြန်ချိတ်နေပါတယ်…")
STAFF_TYPING = label("A staff member is typing…", "ဝန်ထမ်းတစ်ဦး စာရိုက်နေပါတယ်…")

# Every line above, for the test that none is left in one language only.
ALL = [UNAVAILABLE, SLOW_DOWN, SESSION_ENDED, BLOCKED, REFUSED, PAGE_FAILED, *MODE_NOTES.values(), BANNER_HUMAN,
       BANNER_CLOSED, WELCOME, SIDEBAR, STAFF, NOT_SENT, NEW_CONVERSATION, TRY_AGAIN, PLACEHOLDER, RECONNECTING,
       STAFF_TYPING]
