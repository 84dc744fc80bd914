"""When a person must step in, and the small talk that never needs one.

Rules, not retrieval: a request for a human, a complaint, an allergy or medical
issue, or a payment problem must be caught even when it shares no words with
the knowledge base. Burmese patterns are matched on the text with spaces
removed, since people space Burmese inconsistently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HUMAN_REQUEST = "human_request"
COMPLAINT = "complaint"
ALLERGY = "allergy"
MEDICAL = "medical"
PAYMENT = "payment_problem"
LOW_CONFIDENCE = "low_confidence"


def _en(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def _my(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


RULES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (HUMAN_REQUEST,
     _en(r"\b(talk|speak|chat)\s+(to|with)\s+(a|an|the|your|some)?\s*(human|person|people|staff|someone|somebody|"
         r"manager|owner|admin|agent|representative|real)",
         r"\b(real|live|actual)\s+(person|human|agent|staff)", r"\bhuman\b", r"\bcustomer\s+(service|support)\b",
         r"\b(manager|representative|operator)\b", r"\bcall\s+me\s+back\b", r"\bnot\s+a\s+(bot|robot)\b",
         r"\bstop\s+the\s+bot\b"),
     _my(r"ဝန်ထမ်း(နဲ့|နှင့်|ကို|တစ်ယောက်).{0,15}(ပြော|ဆက်သွယ်|ချိတ်|တွေ့)", r"လူ(နဲ့|နှင့်).{0,15}ပြော",
         # Mixed, as Yangon types it: "staff နဲ့ ပြောချင်တယ်".
         r"(?i:staff|manager|human|person|owner|someone)(နဲ့|နှင့်|ကို).{0,15}(ပြော|ဆက်သွယ်|ချိတ်|တွေ့)",
         r"လူကိုယ်တိုင်", r"တာဝန်ခံ", r"မန်နေဂျာ", r"အက်ဒမင်", r"admin(နဲ့)?ပြော", r"ဖုန်းပြန်ဆက်",
         r"စက်ရုပ်(မဟုတ်|နဲ့မပြော)", r"ဝန်ထမ်းနဲ့ပြောမယ်")),
    (ALLERGY,
     _en(r"\ballerg", r"\banaphyla", r"\bepi-?pen\b", r"\bc(o)?eliac\b", r"\bintoleran", r"\bnut[- ]free\b",
         r"\bgluten[- ]free\b", r"\blactose[- ]free\b"),
     _my(r"ဓ[ာါ]တ်မတည့်", r"ဓ[ာါ]တ်တည့်", r"အယ်လာဂျီ", r"မတည့်ဘူး", r"စားလို့မရဘူး")),
    (MEDICAL,
     _en(r"\b(food\s+poisoning|poisoned|vomit\w*|diarrh\w*|stomach\s*ache|hospital|pregnan\w*|diabet\w*|asthma|"
         r"medical|medicine|got\s+sick|feel(ing)?\s+sick|rash|swollen|swelling|threw\s+up|nause\w*)\b",
         # "your food made me sick", "the mohinga made my son ill", "we were ill after eating there"
         r"\bmade\s+(me|us|him|her|them|my\s+\w+)\s+(sick|ill|throw\s+up|vomit)",
         r"\b(sick|ill)\s+(after|from)\s+(eating|drinking|your|the|it|that|this)\b"),
     _my(r"အစာအဆိပ်", r"ဗိုက်နာ", r"ဗိုက်အောင့်", r"ဝမ်းလျှော", r"ဆေးရုံ", r"နေမကောင်း", r"ကိုယ်ဝန်", r"ဆီးချို",
         r"ပန်းနာ", r"ယားယံ", r"အော့အန်", r"အန်ချင်", r"ဆေးကုသ", r"ဝမ်းပျက်")),
    (PAYMENT,
     _en(r"\b(charged|billed)\s+(me\s+)?(twice|double|two\s+times)", r"\bdouble[- ]charged\b", r"\boverch\w+",
         r"\brefund\w*", r"\bmoney\s+back\b",
         r"\b(payment|transaction|transfer|card)\s+(has\s+)?(failed|fail|declined|didn'?t\s+go|did\s+not\s+go|"
         r"not\s+working|problem|issue|error|rejected)",
         r"\b(paid|transferred)\b.*\b(but|not|never|didn'?t)\b", r"\bwrong\s+(amount|bill|charge|change)\b"),
     _my(r"ငွေပြန်အမ်း", r"ပိုက်ဆံပြန်", r"နှစ်ခါ(ဖြတ်|ကောက်|ပေး)", r"(ငွေ|ပိုက်ဆံ)ပို(ဖြတ်|ကောက်|ပေး)",
         r"ငွေပေးချေမှု(မအောင်မြင်|မရ|အဆင်မပြေ|ပြဿနာ)", r"ငွေလွှဲ(တာ|ထား|ပြီး).{0,40}(မရ|မဝင်|မရောက်)",
         r"(ငွေ|ပိုက်ဆံ)(မဝင်|ဖြတ်သွား)", r"(ငွေ|ပိုက်ဆံ)(ချေ|ပေး)လို့မရ", r"ကတ်(ဖြတ်လို့)?မရ")),
    (COMPLAINT,
     _en(r"\bcomplain\w*", r"\b(terrible|awful|horrible|disgusting|unacceptable|worst|rude|dirty|filthy)\b",
         r"\bbad\s+(service|experience|coffee|food|staff)\b", r"\bwrong\s+(order|drink|item|food)\b",
         # Not "cold": cold coffee is on the menu ("coffee was cold" is below).
         r"\b(stale|burnt|raw|spoiled|spoilt)\s+(food|coffee|noodles|sandwich|drink)\b",
         r"\btast(e|ed|es|ing)\s+(burnt|burned|bad|awful|off|sour|stale|strange|weird|funny|horrible|terrible)\b",
         r"\bwaited\b.*\b(hour|long|forever|ages|minutes)\b", r"\bnever\s+(arrived|came)\b", r"\bhair\s+in\b",
         r"\b(disappointed|angry|upset|furious)\b", r"\bnot\s+happy\b",
         # "the coffee was cold", "my order is wrong", "the order was missing a latte" ("cold coffee?" alone
         # is a question about the menu: the state comes after the dish here).
         r"(?<!which\s)(?<!what\s)\b(order|food|drink|coffee|tea|meal|delivery|latte|sandwich|noodles?|cake|smoothie)"
         r"\s+(is|was|were|are|"
         r"came|arrived|tastes?|tasted)\s+(still\s+|very\s+|so\s+|too\s+|really\s+)?(wrong|cold|late|missing|bad|"
         r"burnt|stale|spoiled|spoilt|raw|incomplete|not\s+(right|hot|fresh|good|what\s+i\s+ordered))\b",
         r"\b(order|delivery)\s+(is|was)\s+missing\b", r"\bmissing\s+from\s+my\s+order\b",
         # Something of ours that fails ("the wifi is not working", "it won't connect"): a person can fix it.
         r"\b(not|isn'?t|aren'?t|doesn'?t|does\s+not|won'?t|stopped)\s+(work|working|works|connect|connecting)\b"),
     _my(r"တိုင်ကြား", r"မကျေနပ်", r"ဆိုးလိုက်တာ", r"ဆိုးတယ်", r"ရိုင်း", r"ညစ်ပတ်", r"မှားပို့", r"မှားပေး",
         r"စောင့်ရတာကြာ", r"ကြာလွန်း", r"စိတ်ပျက်", r"ဆံပင်", r"မရောက်သေးဘူး", r"အေးစက်နေ", r"ပုပ်နေ", r"စိတ်ဆိုး",
         r"(အော်ဒါ|မှာတာ|ပို့တာ)(တွေ)?မှားနေ", r"(အော်ဒါ|မှာတာ)(ထဲမှာ)?.{0,20}မပါ(ဘူး|လာဘူး)",
         # "ကော်ဖီ အေးနေတယ်": the coffee has gone cold (ကော်ဖီအေး alone is iced coffee, on the menu).
         r"(ကော်ဖီ|လက်ဖက်ရည်|ဟင်း|မုန့်|အစားအစာ)(က|တွေ)?အေးနေ",
         # "wifi ချိတ်လို့ မရဘူး" (cannot connect), "အလုပ်မလုပ်ဘူး" (does not work).
         r"ချိတ်(လို့)?မရ", r"(?i:wi-?fi|ဝိုင်ဖိုင်|အင်တာနက်|စက်).{0,12}အလုပ်မလုပ်")),
)

_GREET_WORD = (r"(hi+|hello+|hey+|hiya|yo|howdy|greetings|good\s+(morning|afternoon|evening|day)|mingalaba|"
               r"mingalarpar|mingalabar|mingalapar|mingalar\s*bar|min\s*ga\s*la\s*ba|what'?s\s+up|sup)")
_GREET_TAIL = (r"(there|all|everyone|again|team|pentagon|cafe|admin|friends?|how\s+are\s+(you|u)(\s+today)?|"
               r"how'?s\s+it\s+going|nice\s+to\s+meet\s+you)")
# "hello", "hey good morning", "hello again how are you": greeting words, then only pleasantries.
_GREETING_EN = re.compile(rf"^{_GREET_WORD}(\s+({_GREET_WORD}|{_GREET_TAIL}))*$", re.IGNORECASE)
_ACK_WORD = (r"(thank\s*(you|u|s)|thx|ty|cheers|much\s+appreciated|appreciate\s+it|great|perfect|awesome|cool|"
             r"nice|good|very\s+good|excellent|wonderful|ok(ay)?|k|alright|all\s+right|fine|got\s+it|noted|"
             r"understood|i\s+see|sounds\s+(good|great)|lol|ha(ha)+|he(he)+|wow)")
_THANKS_EN = re.compile(rf"^({_ACK_WORD}(\s+(so|very)\s+much|\s+a\s+lot|\s+again)?\s*)+$", re.IGNORECASE)
# "bye", "ok thanks, see you tomorrow", "no thanks, that's all": the customer is leaving.
_FAREWELL = (r"(bye(\s*bye)?|goodbye|good\s*night|ta\s*ta|see\s+(you|u|ya)(\s+(soon|later|tomorrow|then|there|next\s+time))?|"
             r"no(pe)?(\s+thank\s*(you|s))?|that'?s\s+(all|it)|nothing\s+else|i'?m\s+(good|fine|ok(ay)?)|all\s+good)")
_GOODBYE_EN = re.compile(
    rf"^({_ACK_WORD}(\s+(so|very)\s+much|\s+a\s+lot)?\s+)*{_FAREWELL}"
    rf"(\s+({_FAREWELL}|thanks?|thank\s*you|again|everyone|all))*$", re.IGNORECASE)
# "yes", "yes please": go on, ask (the bot's only question is "anything else?").
_GO_ON_EN = re.compile(r"^(yes|yeah|yep|yup|sure|please|yes\s+please|sure\s+thing|of\s+course)$", re.IGNORECASE)
# 👍 🙏 😊 and the like, alone: a thank-you.
_POSITIVE_EMOJI = re.compile("^[\U0001F44D\U0001F44C\U0001F64F\U0001F44F\U0001F60A\U0001F642\U0001F600-\U0001F606"
                             "\U0001F970\U0001F60D\U0001F618\U0001F917\u263A\u2764\U0001F495\U0001F496\u2705"
                             "\U0001F3FB-\U0001F3FF\ufe0f\s]+$")
_GREETING_MY = re.compile(r"^(မင်္ဂလာ(ပါ|နံနက်ခင်းပါ|ညနေခင်းပါ)?|ဟိုင်း|ဟယ်လို|နေကောင်းလား)(ခင်ဗျာ|ခင်ဗျ|ရှင်|ဗျ|နော်)?$")
_GOODBYE_MY = re.compile(r"^(တာ့တာ|ဘိုင့်(ဘိုင့်)?|သွားပြီ(နော်)?|သွားတော့မယ်|နောက်မှ(ပြန်|ထပ်)?တွေ့(မယ်|ကြမယ်)(နော်)?|"
                         r"ဒါပဲ(နော်)?|မလိုတော့ပါဘူး|မလိုတော့ဘူး|ရပြီ(နော်)?)(ခင်ဗျာ|ခင်ဗျ|ရှင်|ဗျ|နော်)?$")
# ကောင်းပါပြီ / ကောင်းပြီ: fine, all right.
_THANKS_MY = re.compile(r"^(ကျေးဇူး(တင်|ပဲ)?(ပါ)?(တယ်)?(နော်)?|ကျေးဇူးအများကြီးတင်ပါတယ်|ရပါပြီ|ဟုတ်ကဲ့|အိုကေ|ok|"
                        r"ကောင်း(ပါ)?ပြီ|ကောင်းလိုက်တာ)"
                        r"(ခင်ဗျာ|ခင်ဗျ|ရှင်|ဗျ|နော်)?$")
_STRIP = re.compile(r"[\s.!?,;:~\-_*()\u104a\u104b\u200b]+|[\U0001F000-\U0001FAFF\u2600-\u27BF\ufe0f]+")


@dataclass(frozen=True)
class Trigger:
    reason: str


def escalation_trigger(text: str) -> Trigger | None:
    """The first rule (most urgent first) that the message matches, if any."""
    compact = re.sub(r"\s+", "", text)
    for reason, english, burmese in RULES:
        if english.search(text) or burmese.search(compact):
            return Trigger(reason)
    return None


SMALL_TALK = ("greeting", "thanks", "goodbye", "go_on")


def small_talk(text: str) -> str | None:
    """One of SMALL_TALK when the message is nothing else (a question after 'hi' is a question)."""
    core = _STRIP.sub(" ", text).strip()
    compact = core.replace(" ", "")
    if not core:
        # A thumbs-up alone says thanks; repeating the last answer (the history's topic) would not.
        return "thanks" if text.strip() and _POSITIVE_EMOJI.match(text.strip()) else None
    if _GREETING_EN.match(core) or _GREETING_MY.match(compact):
        return "greeting"
    if _GOODBYE_EN.match(core) or _GOODBYE_MY.match(compact):
        return "goodbye"
    if _THANKS_EN.match(core) or _THANKS_MY.match(compact):
        return "thanks"
    if _GO_ON_EN.match(core):
        return "go_on"
    return None
