from __future__ import annotations

import pytest

from pentagon.agent.language import (burmese_digits, clean, detect_language, is_zawgyi, syllables, to_unicode,
                                     tokens, words)

# The same sentences typed with a Zawgyi font (legacy encoding) and in Unicode.
ZAWGYI_UNICODE = [
    ("မဂၤလာပါ", "မင်္ဂလာပါ"),
    ("ေကာ္ဖီ ဘယ္ေလာက္လဲ", "ကော်ဖီ ဘယ်လောက်လဲ"),
    ("ဆိုင္ ဘယ္အခ်ိန္ ဖြင့္လဲ", "ဆိုင် ဘယ်အချိန် ဖွင့်လဲ"),
]


@pytest.mark.parametrize(("text", "expected"), [
    ("How much is a latte?", "en"),
    ("လာတေး ဘယ်လောက်လဲ", "my"),
    ("Latte တစ်ခွက် ဘယ်လောက်လဲ", "my"),
    ("Do you have လက်ဖက်ရည်?", "mixed"),
    ("👍", "en"),
])
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_locale_decides_when_no_letters() -> None:
    assert detect_language("123 ?", "my_MM") == "my"
    assert detect_language("123 ?", "en_US") == "en"


@pytest.mark.parametrize(("zawgyi", "unicode"), ZAWGYI_UNICODE)
def test_zawgyi_is_detected_and_converted(zawgyi: str, unicode: str) -> None:
    assert is_zawgyi(zawgyi)
    converted, was_zawgyi = to_unicode(zawgyi)
    assert was_zawgyi and converted == unicode


@pytest.mark.parametrize("unicode", [u for _, u in ZAWGYI_UNICODE] + ["Hello", "ဝိုင်ဖိုင် ရှိလား", ""])
def test_unicode_is_left_alone(unicode: str) -> None:
    assert not is_zawgyi(unicode)
    assert to_unicode(unicode) == (unicode, False)


def test_syllables_follow_the_break_rule() -> None:
    assert syllables("ဆိုင်ဖွင့်ချိန်") == ["ဆိုင်", "ဖွင့်", "ချိန်"]
    assert syllables("ကျွန်တော်") == ["ကျွန်", "တော်"]
    # A stacked consonant (virama) stays in its syllable.
    assert syllables("သင်္ကြန်ကာလ") == ["သင်္ကြန်", "ကာ", "လ"]


def test_words_segment_burmese_without_spaces() -> None:
    assert words("ကော်ဖီဘယ်လောက်လဲ") == ["ကော်ဖီ", "ဘယ်လောက်", "လဲ"]


def test_tokens_of_both_languages_and_paraphrases() -> None:
    assert tokens("How much does a Latte cost?") == ["price", "latte", "price"]
    assert "wifi" in tokens("Do you have Wi-Fi?") and "wifi" in tokens("is there internet")
    mixed = tokens("Latte ဘယ်လောက်လဲ")
    assert "latte" in mixed and "ဘယ်လောက်" in mixed and "~လောက်" in mixed


@pytest.mark.parametrize(("text", "expected"), [
    ("how do I get to your shop", ["location", "shop"]),            # a way of asking, not its words
    ("can you bring food to my office", ["deliver"]),
    ("I don't eat meat", ["meat", "free"]),
    ("can I pay by mobile banking", ["pay", "pay"]),                 # not the phone number
    ("is there anywhere to charge my phone", ["anywhere", "power", "outlet"]),
    ("my mother uses a wheelchair", ["mother", "wheelchair"]),       # "uses" is "use", a stopword
])
def test_phrases_and_stopwords_after_stemming(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_clean_removes_controls_and_zero_width() -> None:
    assert clean("  wi\x00fi\u200b\n") == "wifi"
    assert burmese_digits("4,000") == "၄,၀၀၀"
