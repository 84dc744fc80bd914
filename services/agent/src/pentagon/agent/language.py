"""Language handling: which language a message is in, Zawgyi to Unicode, tokens for retrieval.

Burmese has no spaces between words, so retrieval works on two token streams:
ICU's dictionary-based word breaks (precise) and syllables (robust to words the
dictionary does not know). Zawgyi, the legacy font encoding still common in
Myanmar, is detected with Google's myanmartools model and converted with ICU's
``Zawgyi-my`` transliterator, both maintained upstream.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import icu
from myanmartools import ZawgyiDetector

_MYANMAR = re.compile(r"[\u1000-\u109f\uaa60-\uaa7f\ua9e0-\ua9ff]")
# Code points Zawgyi uses for stacked consonants and glyph variants; in real
# Unicode Burmese they belong to minority-language blocks and are rare.
_ZAWGYI_MARKERS = re.compile(r"[\u1060-\u1097]")
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200d\u2060\ufeff]")
_MY_DIGITS = str.maketrans("၀၁၂၃၄၅၆၇၈၉", "0123456789")
_EN_DIGITS = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")

# Syllable break rule of Ye Kyaw Thu's sylbreak: a new syllable starts at a
# consonant that is neither stacked (preceded by U+1039) nor killed (followed
# by asat U+103A, possibly after dot below U+1037, or by U+1039), or at an independent vowel, digit or symbol.
_SYLLABLE_START = re.compile(
    r"(?<!\u1039)[\u1000-\u1021](?!\u1037?[\u103a\u1039])|[\u1023-\u102a\u103f\u104c-\u104f\u1040-\u1049\u104a\u104b]"
)

_DETECTOR = ZawgyiDetector()
ZAWGYI_PROBABILITY = 0.95


@lru_cache(maxsize=1)
def _zawgyi_to_unicode() -> icu.Transliterator:
    return icu.Transliterator.createInstance("Zawgyi-my")


_local = threading.local()


def _word_breaker() -> icu.BreakIterator:
    """One per thread: a BreakIterator holds the text it breaks, and the knowledge index of the
    answers staff add is built in a worker thread while the event loop's thread answers."""
    breaker = getattr(_local, "breaker", None)
    if breaker is None:
        breaker = _local.breaker = icu.BreakIterator.createWordInstance(icu.Locale("my"))
    return breaker


def clean(text: str) -> str:
    """NFC, without control characters and zero-width joiners/spaces that break matching."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text)).strip()


def is_zawgyi(text: str) -> bool:
    if not _MYANMAR.search(text):
        return False
    probability = _DETECTOR.get_zawgyi_probability(text)
    # Short texts give the model little to go on: accept a weaker score when a
    # Zawgyi-only code point is present.
    return probability >= ZAWGYI_PROBABILITY or (probability >= 0.5 and bool(_ZAWGYI_MARKERS.search(text)))


def to_unicode(text: str) -> tuple[str, bool]:
    """Return (Unicode text, whether it was Zawgyi)."""
    if is_zawgyi(text):
        return unicodedata.normalize("NFC", _zawgyi_to_unicode().transliterate(text)), True
    return text, False


def detect_language(text: str, locale: str = "") -> str:
    """'my', 'en' or 'mixed', weighing Burmese syllables against English words; the locale decides when
    there are no letters."""
    burmese = sum(len(syllables(run)) for run in _MY_RUN.findall(text))
    latin = len(re.findall(r"[A-Za-z]+", text))
    if burmese == 0 and latin == 0:
        return "my" if locale.lower().startswith("my") else "en"
    share = burmese / (burmese + latin)
    if share >= 0.75:
        return "my"
    if share <= 0.25:
        return "en"
    return "mixed"


def reply_language(language: str) -> str:
    """Mixed messages are answered in Burmese: Latin there is usually a brand or dish name."""
    return "en" if language == "en" else "my"


def burmese_digits(text: str) -> str:
    return text.translate(_EN_DIGITS)


def ascii_digits(text: str) -> str:
    """Burmese digits (၀-၉) as ASCII ones, so '၂၅' reads as 25."""
    return text.translate(_MY_DIGITS)


def syllables(text: str) -> list[str]:
    """Split a run of Burmese into syllables (spaces and punctuation dropped)."""
    marked = _SYLLABLE_START.sub(lambda m: "\x00" + m.group(0), text)
    return [s for s in re.split(r"[\x00\s\u104a\u104b]+", marked) if s]


def words(text: str) -> list[str]:
    """ICU dictionary word segmentation of Burmese text."""
    breaker = _word_breaker()
    breaker.setText(text)
    bounds = [0, *breaker]
    return [w for a, b in zip(bounds, bounds[1:]) if (w := text[a:b].strip()) and _MYANMAR.search(w)]


_EN_TOKEN = re.compile(r"[a-z0-9]+")
_MY_RUN = re.compile(r"[\u1000-\u109f\uaa60-\uaa7f\ua9e0-\ua9ff]+(?:\s+[\u1000-\u109f\uaa60-\uaa7f\ua9e0-\ua9ff]+)*")

EN_STOPWORDS = frozenset("""
a an the is are am was were be been being do does did doing have has had having i me my we our us you your yours
he she it its they them their this that these those there here what which who whom whose when where why how
can could would should will shall may might must to of in on at by for with from about into over under and or
but if then so than too very just also any some all each every no not only own same other such again further
please pls plz hi hello hey thanks thank tell know want like get give let many more most there's it's i'm
what's whats im dont don't does doesn't can't cant one ok okay yes yeah sir madam dear kindly need would like
m s t re ve ll d anything something anyone use using while still really now ever able possible thing things
don doesn didn isn aren wasn weren won wouldn couldn shouldn haven hasn u ur r ya thx yo
guys guy nah nope yep yup lol bro sis dude folks y'all
""".split())

MY_STOPWORDS = frozenset(
    "ပါ လား လဲ သလား သလဲ တယ် ပါတယ် မှာ နဲ့ ကို က တွေ ရဲ့ လို့ သည် ၏ ဟုတ် ရော ရင် လည်း ကော ဦး နော် ခင်ဗျာ ခင်ဗျ "
    "ရှင် ဗျ ကျွန်တော် ကျွန်မ ကျနော် သိချင် ချင် ပေး ပါရစေ ဘူး ဒီ အဲဒီ ပြီး တဲ့ မယ် ပဲ ပေါ့ တော့ သေး "
    "ပြော ပြောပြ ပြောပြပေး ပေးပါ ပြ ရလား ရလဲ ရှိလား ရှိလဲ လို့ရလား ရ ဘာ ရှိ ဘယ်လို သိ".split()
)

# Paraphrases collapse onto one token so "cost" finds "price" and "wi fi" finds "wifi".
EN_SYNONYMS = {
    "cost": "price", "costs": "price", "much": "price", "prices": "price", "pricing": "price", "expensive": "price",
    "charge": "price", "internet": "wifi", "wireless": "wifi", "hours": "open", "opening": "open", "opens": "open",
    "close": "open", "closing": "open", "closes": "open", "closed": "open", "schedule": "open", "timing": "open",
    "booking": "reserve", "book": "reserve", "reservation": "reserve", "reservations": "reserve",
    "reserve": "reserve", "reserving": "reserve", "table": "reserve", "vacancy": "job", "vacancies": "job",
    "hiring": "job", "career": "job", "careers": "job", "position": "job", "positions": "job", "recruit": "job",
    "employment": "job", "jobs": "job", "wage": "salary", "wages": "salary", "salaries": "salary",
    "promo": "promotion", "deal": "promotion", "deals": "promotion",
    "offer": "promotion", "offers": "promotion", "discount": "promotion", "discounts": "promotion",
    "address": "location", "located": "location", "where": "location", "directions": "location", "find": "location",
    "veggie": "vegetarian", "plant": "vegan", "telephone": "phone", "mobile": "phone", "call": "phone",
    "cappucino": "cappuccino", "expresso": "espresso", "mohinga": "mohinga", "mohingar": "mohinga",
    "croissants": "croissant", "sandwiches": "sandwich", "laptops": "laptop", "socket": "outlet", "sockets": "outlet",
    "plug": "outlet", "plugs": "outlet", "kids": "child", "children": "child", "kid": "child", "baby": "child",
    "dogs": "pet", "dog": "pet", "cats": "pet", "cat": "pet", "pets": "pet", "cigarette": "smoke", "smoking": "smoke",
    "vape": "smoke", "vaping": "smoke", "concert": "music", "band": "music", "gig": "music", "live": "music",
    "class": "workshop", "classes": "workshop", "course": "workshop", "lesson": "workshop", "lessons": "workshop",
    "card": "card", "cards": "card", "delivery": "deliver", "delivers": "deliver", "delivering": "deliver",
    "toddler": "child", "toddlers": "child", "infant": "child", "infants": "child", "babies": "child",
    "puppy": "pet", "puppies": "pet", "kitten": "pet", "kittens": "pet", "celebration": "party",
    "celebrate": "party", "wedding": "party", "anniversary": "party", "gathering": "party", "rent": "hire",
    "rental": "hire", "renting": "hire", "early": "open", "late": "open", "mug": "tumbler", "flask": "tumbler",
    "thermos": "tumbler", "vouchers": "voucher", "certificate": "voucher", "certificates": "voucher",
    "street": "location", "road": "location", "township": "location", "reward": "loyalty", "rewards": "loyalty",
    "banking": "pay", "bank": "pay", "transfer": "pay", "wave": "wavepay", "kpay": "kbzpay",
    "scooter": "motorbike", "scooters": "motorbike", "moped": "motorbike", "grab": "grabfood",
    "panda": "foodpanda", "playground": "child", "reach": "contact", "contacts": "contact",
    "shut": "open", "shuts": "open", "shutting": "open", "point": "loyalty", "points": "loyalty",
    "stamp": "loyalty", "stamps": "loyalty", "cheaper": "promotion", "cheap": "cheapest",
    "complimentary": "free", "complementary": "free", "pw": "password", "pwd": "password", "passwd": "password",
    # What we sell is what a customer buys: "sold at the counter" answers "can I buy one online?".
    "sell": "buy", "sells": "buy", "sold": "buy", "selling": "buy", "purchase": "buy", "bought": "buy",
}

# Ways of asking that single words do not carry, rewritten before the words are taken.
EN_PHRASES = [
    (re.compile(r"\b(?:how (?:do|can|could|should) (?:i|we) |how to )?(?:get|go|come) (?:to|there)\b"), " directions "),
    # Where they set off from is not what they ask about: "get to you from Sule Pagoda".
    (re.compile(r"(\bdirections\b[^?.!]*?)\s+from\s+[^?.!,]*"), r"\1 "),
    # Holding an event of one's own is hiring the cafe for it, not one of the cafe's events.
    (re.compile(r"\b(?:hold|holding|host|hosting|organi[sz]e|organi[sz]ing|throw|throwing) (?:a |an |our |my )?"
                r"(?:[\w-]+ ){0,2}(?:event|function|meeting|gathering|reception|party|parties)s?\b"), " private party "),
    # What one pays for something is its price, not the ways to pay.
    (re.compile(r"\b(?:how much|what) (?:do|will|would|should|must) (?:i|we) (?:have to |need to )?pay for\b"), " price "),
    # "Do I pay for the tea?" asks whether it is free (the answer says so), not how to pay; "how much
    # do I pay for the tea" asks its price.
    (re.compile(r"(?<!much )(?<!what )\b(?:do|must|should) (?:i|we|you) (?:have to |need to )?pay (?:extra )?"
                r"for (?:the )?(?:green |plain )?tea\b|\b(?:a |any )?charge for (?:the )?(?:green |plain )?tea\b"),
     " free tea "),
    # Buying a voucher is the gift card, not the coffee beans we also sell.
    # Who it is for and the occasion say nothing more ("... for my friend's birthday").
    (re.compile(r"\b(?:buy|buying|purchase|get|order) (?:a |an |some )?(?:gift ?cards?|gift vouchers?|vouchers?)\b"
                r"(?: for (?:my |a |her |his |our )?(?:\w+'s )?(?:birthday|anniversary|wedding))?"),
     " gift voucher "),
    (re.compile(r"\b(?:bring|send|sent|brought) (?:\w+ ){0,3}(?:to|at) (?:my|our|the) (?:office|home|house|hotel|room|work)\b"),
     " deliver "),
    (re.compile(r"\b(?:don'?t|do not|can'?t|cannot|no|without) eat(?:ing)? meat\b|\bno meat\b"), " meat free "),
    # "mobile" alone means a phone number; with money words it is a way to pay.
    (re.compile(r"\bmobile (?:banking|money|payment|pay|wallet)\b"), " pay "),
    # How long someone stays, not when we open.
    (re.compile(r"\bfor (?:a few|a couple of|some|several|many|\d+|two|three|four|five) hours?\b"), " "),
    (re.compile(r"\b(?:bags?|packs?|packets?|kilos?|kg|grams?) of (?:coffee|beans)\b"), " coffee beans buy "),
    # Charging a device is about power outlets, not our phone number.
    (re.compile(r"\bcharg(?:e|ing) (?:my |our |a |the )?(?:phone|laptop|device|battery|computer|tablet)s?\b"),
     " power outlet "),
    (re.compile(r"\bplay (?:area|room|corner)\b"), " child "),
    # "Where are you?" is all stopwords: it asks for the address.
    (re.compile(r"\bwhere (?:are|r) (?:you|u)(?: guys)?(?: located| based)?\b"
                r"|\bwhere(?:'s| is) (?:the |your )?(?:cafe|café|shop|place|location)\b"), " address "),
    # A plant milk we may not stock is still the milk-alternatives question, not the latte it goes in.
    (re.compile(r"\b(?:almond|rice|cashew|hemp|macadamia|plant[- ]based|non[- ]dairy|dairy[- ]free|"
                r"lactose[- ]free) milks?\b"), " milk alternative "),
    # "How long does it take?" asks for minutes; "take" says nothing (it is also in "takeaway").
    (re.compile(r"\bhow long (?:does|will|would|do|did) (.{0,40}?)\s*take\b"), r" long minute \1 "),
    # Whether an offer "works" (applies, counts) somewhere is whether it is valid there, not a job.
    (re.compile(r"\b(?:does|do|will|would|can) (?:it|this|that|they|the \w+) (?:work|apply|count)\b"), " valid "),
    # What a job pays is its salary, not the ways to pay us.
    (re.compile(r"\bhow much (?:does|do|will|would|can) (?:it|that|this|they|the job|the position|you|i|we) "
                r"(?:pay|earn|make)\b|\b(?:what(?:'s| is) the|the) pay\b"), " salary "),
    # Where a delivery goes is not what is asked ("deliver to Hlaing township?"): the answer says how far.
    (re.compile(r"\b(deliver(?:y|ies|ing)?)\s+(?:to|in|at|around|near)((?:\s+(?!(?:and|or|but|can|is|do)\b)"
                r"[\w'-]+){1,3})"), r" \1 "),
    # Signing up for a class or a night is booking a place in it.
    (re.compile(r"\bsign(?:ing)?[- ]?up\b|\bregist(?:er|ering|ration)\b|\benrol+(?:ing|ment)?\b"), " book "),
    # How early to book is how far ahead, not when we open ("early" is "open" in "how early do you open?").
    (re.compile(r"\bhow early\b(?=[^?.!]*\b(?:book|booking|reserve|reservation)\b)"), " ahead "),
    # Sugar left out or cut down is the "less sugar or no sugar" of the milk answer; "without" and "no" say
    # nothing to the index (an unknown word, a stopword).
    (re.compile(r"\b(?:without|no|less|little|zero|free of|cut(?: down)? (?:the|on))(?: the| any)? sugar\b"
                r"|\bsugar[- ]?free\b|\bless sweet\b|\bunsweetened\b"), " less sugar "),
    # Bringing one's own food or drink (not a cup) is a corkage question, not the own-cup discount's "bring your
    # own": a record of the cafe's own may answer it by that word, or a person does.
    (re.compile(r"\b(?:bring|brought|bringing|take) (?:in )?(?:my|our|your|their|his|her) own (?:\w+ )?"
                r"(?:food|cake|cakes|drinks?|wine|beer|alcohol|snacks?|lunch|dinner|meal|desserts?)\b"
                r"|\boutside (?:food|drinks?)\b"), " corkage "),
    # Whether one must pay for it at all is whether it is free (the loyalty club, the green tea), not the ways
    # to pay; "how much do I pay" is a price, above.
    (re.compile(r"(?<!much )(?<!what )\b(?:do|must|should|will) (?:i|we|you) (?:have to |need to )?pay"
                r"(?: anything| money| extra)?(?: for (?:it|that|this|them|joining))?(?= *[?!.]*$)"), " free "),
    # Taking a way to pay is a payment question ("do you take grabpay?" was the own-cup discount's "take");
    # "do you take reservations?" is not.
    (re.compile(r"\b(?:take|accept|use)\s+(\w*pay|cards?|cash|visa|master ?card|credit|debit|dollars?|usd)\b"),
     r" pay \1 "),
    # Paying to get in is the entry fee ("Free entry."), not the ways to pay.
    (re.compile(r"\bpay (?:anything |something )?(?:to (?:get in|go in|enter|attend|join|watch)|at the door"
                r"|for entry)\b"
                r"|\b(?:entry|entrance|door|cover) (?:fee|charge|ticket)s?\b"), " entry "),
    # Coming in is being inside ("can it come inside?" after pets; "come" alone is the beans'
    # "come from"; after, not before, the entry fee's "pay to get in").
    (re.compile(r"\b(?:come|go|get|bring (?:it|him|her|them))\s+(?:in|inside|indoors)\b"), " inside "),
    # What a dish is served with: "comes" says nothing, and "come" is in "where do the beans come from?".
    (re.compile(r"\b(?:comes?|served) with\b"), " with "),
    # "How late?" alone is "until when?"; "how late are you open?" is the hours.
    (re.compile(r"^\s*(?:and |but )?how late\s*[?!.]*\s*$"), " until "),
    # "Part-time" is one word: its "time" made "what time?" the part-time job ad.
    (re.compile(r"\b(part|full)[- ]?time\b"), r" \1time "),
    # Ice cream is one thing we do not sell, not something iced with cream (the mocha).
    (re.compile(r"\bice[- ]?creams?\b"), " icecream "),
    # "What's good here?", "what should I order/try?": asking for a recommendation.
    (re.compile(r"\bwhat(?:'?s| is| are) (?:good|nice|best|tasty)(?: (?:here|today|to (?:eat|drink|order|try)))?[\s?!.]*$|"
                r"\bwhat (?:should|would) (?:i|we) (?:order|try|get|eat|drink)\b"), " recommend "),
]


def _spaced(phrase: str) -> str:
    """A Burmese phrase as a pattern that allows spaces anywhere in it (people space Burmese freely)."""
    return r"\s*".join(map(re.escape, phrase))


# The same for Burmese, matched whatever the spacing: a spelling variant or a way of asking that the
# knowledge words differently, rewritten to the knowledge's word.
MY_PHRASES = [
    # "How do I come / get there?" is asking for the address.
    (re.compile("|".join(map(_spaced, ("ဘယ်လိုလာရ", "ဘယ်လိုသွားရ", "ဘယ်လိုရောက်")))), " လိပ်စာ "),
    # Stairs are an accessibility question (the answer is the ramp).
    (re.compile(_spaced("လှေကား")), " ဘီးတပ်ကုလားထိုင် "),
    (re.compile(_spaced("ဗောက်ချာ")), " ဘောက်ချာ "),  # both spellings of "voucher" are common
    # "ကတ်နဲ့ ပေးလို့ရလား" (can I pay by card?): ပေး (give, pay) is a stopword, and a card alone is the gift card.
    # ရှင်း (to settle a bill) as well.
    (re.compile(f"{_spaced('ကတ်')}\\s*(?:နဲ့|နှင့်|ဖြင့်)\\s*(?:ငွေ\\s*)?(?:ပေး|ချေ|ရှင်း)"), " ကတ် ငွေပေးချေ "),
    # So is paying with money of another kind ("ဒေါ်လာနဲ့ ပေးလို့ရလား", can I pay in dollars?) or an app;
    # "ပဲနို့နဲ့ ပေးပါ" (give it with soy milk) is no payment.
    (re.compile(f"({'|'.join(map(_spaced, ('ဒေါ်လာ', 'ယွမ်', 'ဘတ်', 'ယူရို', 'ငွေသား', 'ပိုက်ဆံ')))}"
                r"|\b(?:[a-z]*pay|visa|master ?card|usd|dollars?|baht|yuan|euros?|cash)\b)"
                f"\\s*(?:နဲ့|နှင့်|ဖြင့်)\\s*(?:ငွေ\\s*)?(?:ပေး|ချေ|ရှင်း)", re.IGNORECASE), r" \1 ငွေပေးချေ "),
    # Inside: အထဲ as well as the knowledge's အတွင်း ("အထဲမှာကော", and inside?, after the smoking rule).
    (re.compile(_spaced("အထဲ")), " အတွင်း "),
    # Free: အခမဲ့, as the knowledge also says it by "no entry fee" (ဝင်ကြေး မရှိ) or "must I pay money?".
    (re.compile(f"{_spaced('ဝင်ကြေး')}\\s*{_spaced('မ')}\\s*{_spaced('ရှိ')}"), " အခမဲ့ ဝင်ကြေး "),
    (re.compile(f"{_spaced('ပိုက်ဆံ')}\\s*{_spaced('ပေးရ')}\\s*(?:{_spaced('မ')})?\\s*{_spaced('လား')}"), " အခမဲ့ "),
    # A play area (ကစားစရာ နေရာ, ကစားကွင်း) is the kids' corner, as "play area" is in English.
    (re.compile(f"{_spaced('ကစား')}\\s*(?:{_spaced('စရာ')})?\\s*"
                f"(?:{_spaced('နေရာ')}|{_spaced('ထောင့်')}|{_spaced('ကွင်း')})"), " ကလေး "),
    # "What tastes good?" (အရသာ ကောင်းတာ ဘာလဲ) asks for our favourites, not the barista ad's "better".
    (re.compile(f"(?:{_spaced('အရသာ')}\\s*)?{_spaced('ကောင်းတာ')}\\s*{_spaced('ဘာ')}"), " အကြိုက်ဆုံး "),
    # Cake (ကိတ်မုန့်) is ကိတ်, as the cheesecake's name has it.
    (re.compile(_spaced("ကိတ်မုန့်")), " ကိတ် "),
    # Morning written formally (နံနက်, as in နံနက်စာ, breakfast) is the knowledge's မနက်.
    (re.compile(_spaced("နံနက်")), " မနက်"),
    # A wedding (မင်္ဂလာဆောင်) is a party, as in English.
    (re.compile(_spaced("မင်္ဂလာဆောင်")), " ပါတီ "),
    # The segmenter cuts the loanword မီနူး into two syllables that mean nothing alone: "menu" is one word.
    (re.compile(_spaced("မီနူး")), " menu "),
    # So is ပါကင် (parking), cut into ပါ (a stopword) and ကင် (grilled: the avocado toast).
    (re.compile(_spaced("ပါကင်")), " ကားရပ် "),
    # "Take / order ahead", "book" (a loanword): a reservation.
    (re.compile("|".join(map(_spaced, ("ကြိုယူ", "ကြိုမှာ", "ဘွတ်ကင်")))), " ကြိုတင် မှာထား "),
    # The segmenter cuts soy and oat milk into ပဲ (a stopword: "just") or အုတ် (brick) and နို့ (milk):
    # alone, နို့ in "ပဲနို့နဲ့ လုပ်ပေး" lost to လုပ် (work: the laptop answer).
    (re.compile(_spaced("ပဲနို့")), " soy နို့ "),
    (re.compile(_spaced("အုတ်နို့")), " oat နို့ "),
    (re.compile(_spaced("ဗာဒံနို့")), " milk alternative နို့ "),
    # "How long can it be used?" (ဘယ်လောက်ကြာကြာ သုံးလို့ရလဲ) asks how long it is valid: its သုံး (use) is also
    # the number three, as in the sandwich's three layers, and its ကြာ how long a dish takes.
    (re.compile(f"{_spaced('ဘယ်')}\\s*(?:{_spaced('လောက်')})?\\s*{_spaced('ကြာကြာ')}\\s*{_spaced('သုံး')}"),
     " သက်တမ်း "),
    # "Hot chocolate" as it sounds (ဟော့ချော့ကလက်), and chocolate with or without the dot below: the menu
    # writes ချောကလက် ပူ.
    (re.compile(f"{_spaced('ဟော့')}\\s*{_spaced('ချော')}့?\\s*{_spaced('ကလက်')}"), " ချောကလက် ပူ "),
    (re.compile(f"{_spaced('ချော့')}\\s*{_spaced('ကလက်')}"), " ချောကလက် "),
    # Avocado and toast as they sound (အာဗိုကာဒို, တို့စ်): the menu writes ထောပတ်သီး and ပေါင်မုန့်ကင်.
    (re.compile("|".join(map(_spaced, ("အာဗိုကာဒို", "အာဘိုကာဒို", "အဗိုကာဒို")))), " ထောပတ်သီး "),
    (re.compile("|".join(map(_spaced, ("တို့စ်", "တိုစ့်", "တို့စ့်")))), " ပေါင်မုန့်ကင် "),
    # Paying more (ပိုပေး) or again (ထပ်ပေး) is paying extra, as the milk answer says; alone, ပို is also
    # "better" (the barista ad) and ထပ် a layer (the club sandwich's three).
    (re.compile(f"(?:{_spaced('ပို')}|{_spaced('ထပ်')})\\s*{_spaced('ပေး')}"), " extra "),
    # The မ of a question's ending မလဲ / မလား ("ဘယ်မှာ ဝယ်ရမလဲ", where shall I buy it?) marks what is to
    # come, not "not" (မ before a verb: မစပ်, not spicy); left alone it was a rare word the beans' answer has.
    (re.compile(f"{_spaced('မ')}\\s*(?={_spaced('လဲ')}|{_spaced('လား')})"), " "),
    # To reduce (လျှော့) is one word with or without ပေး (to give): the segmenter kept လျှော့ပေး whole, so "how
    # much off?" (ဘယ်လောက် လျှော့လဲ) met the own-cup answer's "လျှော့ပေးပါတယ်" by a syllable only.
    (re.compile(f"{_spaced('လျှော့')}\\s*{_spaced('ပေး')}"), " လျှော့ "),
    # Part-time written as it sounds (ပါတ်တိုင်း, ပတ်တိုင်း) is the job ad's အချိန်ပိုင်း.
    (re.compile("|".join(map(_spaced, ("ပါတ်တိုင်း", "ပတ်တိုင်း", "ပါ့တိုင်း")))), " အချိန်ပိုင်း "),
    # What we sell (ရောင်း) is what a customer buys (ဝယ်).
    (re.compile(_spaced("ရောင်း")), " ဝယ် "),
    # A weekday is one word with or without နေ့ (day): "စနေနေ့" is the segmenter's one word, "စနေ" another.
    (re.compile(f"({'|'.join(map(_spaced, ('တနင်္လာ', 'အင်္ဂါ', 'ဗုဒ္ဓဟူး', 'ကြာသပတေး', 'သောကြာ', 'စနေ', 'တနင်္ဂနွေ')))})"
                f"\\s*{_spaced('နေ့')}"), r" \1 "),
    # Sitting somewhere to work or study is the laptop answer, not a job.
    (re.compile(f"(?:{_spaced('အလုပ်လုပ်')}|{_spaced('စာကျက်')}|{_spaced('စာလုပ်')})\\s*ဖို့(?=.*{_spaced('ထိုင်')})"),
     " လက်ပ်တော့ "),
]


# "Do you sell / serve / offer X?", "X ရောင်းလား" ask what "do you have X?", "X ရှိလား" ask: whether there is X.
# Asked so (the question only, not the records, whose "Do you sell gift cards?" still says so), since the
# records using the verb ("we serve ... on the terrace", "gift cards are sold") answered "do you serve
# alcohol?" and "do you offer catering?" instead of passing them to a person. "What do you serve?" keeps its
# verb: it asks no X.
_FRAME_EN = re.compile(r"\b(do|does|can|will|would) (you|u|ya|the cafe|pentagon)( guys)? "
                       r"(?:sell|serve|offer|stock|carry|provide|make)\b(?=\s+\w)", re.IGNORECASE)
_FRAME_MY = re.compile(f"(?<=\\S)\\s*{_spaced('ရောင်း')}\\s*(?:{_spaced('ပါ')})?\\s*(?:သ)?\\s*{_spaced('လား')}")


def asked_as_having(text: str) -> str:
    return _FRAME_MY.sub(" ရှိလား", _FRAME_EN.sub(r"\1 \2\3 have", text))


def _stem(word: str) -> str:
    """A light English stemmer: enough to match plurals and -ing forms, no dictionary."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    # "brownie" and "brownies" must meet: the plural stems to "browny" above.
    if len(word) > 4 and word.endswith("ie"):
        return word[:-2] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


# Everyday words that say nothing about what a customer asks: when the knowledge never uses one,
# it must not make a question look off-topic ("somewhere to leave my car", "my mother uses a
# wheelchair"). Unknown words count as the rarest there are (retriever.py); these count as the
# most common word the knowledge uses. Stopwords are dropped altogether; these are not, because
# some records do use them ("bring your own cup"), and then they match like any other word.
GENERIC_EN = frozenset(_stem(w) for w in """
somewhere anywhere someplace place spot leave leaving put keep go going come coming bring take see look looking
wonder wondering think hope try trying ask asking say said show tell told find found help helping mean got
mother mom mum father dad parent parents wife husband friend friends sister brother grandmother grandma
grandfather grandpa family colleague colleagues boss guest guests someone somebody everyone everybody nobody
people person whole entire lot lots bit kind sort stuff way instead rather maybe perhaps actually usually
normally generally currently right good nice great best fine little big new usual same another other else
around near here there today tomorrow tonight later soon always sometimes often time day week customer customers
company regular regulars based
""".split())


# Of those, the words that praise: weighed as the commonest word even when a record uses one.
PRAISE_EN = frozenset(_stem(w) for w in "good nice great best fine tasty delicious yummy lovely".split())


# Distinct texts whose tokens are kept: a conversation's turns are read again as the next turns' topic,
# and tokenising is the agent's main cost (some 30 phrase rewrites, the Burmese segmenter).
TOKEN_CACHE = 2048


def english_tokens(text: str) -> list[str]:
    return list(_english_tokens(text))


@lru_cache(maxsize=TOKEN_CACHE)
def _english_tokens(text: str) -> tuple[str, ...]:
    out = []
    text = text.lower().replace("wi-fi", "wifi").replace("wi fi", "wifi").replace("\u2019", "'")
    for pattern, replacement in EN_PHRASES:
        text = pattern.sub(replacement, text)
    for raw in _EN_TOKEN.findall(text):
        if raw in EN_STOPWORDS:
            continue
        token = EN_SYNONYMS.get(raw) or _stem(raw)
        token = EN_SYNONYMS.get(token, token)
        if token not in EN_STOPWORDS:  # "uses" is "use", a stopword once stemmed
            out.append(token)
    return tuple(out)


def burmese_tokens(text: str) -> list[str]:
    """Dictionary words plus syllables ('~' marks syllables so the two streams never collide)."""
    out: list[str] = []
    for run in _MY_RUN.findall(text):
        run = run.translate(_MY_DIGITS)
        out.extend(w for w in words(run) if w not in MY_STOPWORDS)
        out.extend("~" + s for s in syllables(run) if s not in MY_STOPWORDS)
    return out


def tokens(text: str) -> list[str]:
    """Retrieval tokens of any text (English, Burmese or both)."""
    return list(_tokens(text))


@lru_cache(maxsize=TOKEN_CACHE)
def _tokens(text: str) -> tuple[str, ...]:
    if _MYANMAR.search(text):
        for pattern, replacement in MY_PHRASES:
            text = pattern.sub(replacement, text)
    return _english_tokens(_MY_RUN.sub(" ", text)) + tuple(burmese_tokens(text))
