from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from pentagon.agent import compose
from pentagon.agent.answer import INTENT_BY_REASON, Answer, OfflineAnswerer, Turn
from pentagon.agent.days import asked_day
from pentagon.agent.knowledge import DayHours, KnowledgeBase
from pentagon.agent.phrases import PHRASES

from .conftest import WEDNESDAY

# (question, expected top source): direct wording and paraphrases, both languages.
QUESTIONS = [
    ("Do you have free Wi-Fi?", "faq:1"),
    ("is there internet here", "faq:1"),
    ("Can I pay with WavePay?", "faq:2"),
    ("How much is a latte?", "menu:3"),
    ("what does an iced latte cost", "menu:5"),
    ("Are you open on Sunday?", "hours:opening"),
    ("Can I book a table for six?", "reservation:policy"),
    ("Any live music this week?", "event:1"),
    ("student discount?", "promotion:2"),
    ("Are you hiring?", "job:1"),
    ("can you send 3 lattes to my house", "faq:5"),
    ("when do you shut tonight", "hours:opening"),
    # Round 9 of bench/data, missed before any tuning: chat filler, a starting point, paying for the
    # free tea, buying a voucher (not beans).
    ("do u guys have wifi or nah", "faq:1"),
    ("how do I get to your place from Sule Pagoda", "faq:3"),
    ("where are you?", "faq:3"),  # all stopwords: handed to a person
    ("where r u located", "faq:3"),
    ("brownies?", "menu:27"),  # "brownies" stemmed to "browny", the menu's "brownie" stayed: handed over
    ("do I have to pay for the tea on the table", "faq:17"),
    ("is the tea on the table complimentary", "faq:17"),
    ("how much do I pay for the tea", "menu:10"),  # its price, neither the free tea nor how to pay
    ("what do I pay for a latte", "menu:3"),
    ("I want to buy a voucher for my friend's birthday", "faq:19"),
    ("can we hold a company event at your place", "faq:8"),  # theirs, not one of ours
    ("we'd like to organise a birthday party", "faq:8"),
    ("ဝိုင်ဖိုင် ရှိလား", "faq:1"),
    ("ဆိုင်မှာ အင်တာနက် သုံးလို့ရလား", "faq:1"),
    ("KBZPay နဲ့ ပေးလို့ရလား", "faq:2"),
    ("လာတေး ဘယ်လောက်လဲ", "menu:3"),
    ("မုန့်ဟင်းခါး ရှိလား", "menu:18"),
    ("ဆိုင် ဘယ်အချိန် ဖွင့်လဲ", "hours:opening"),
    ("ဆိုင်ဖွင့်ချိန်", "hours:opening"),
    ("စားပွဲ ကြိုတင်မှာလို့ရလား", "reservation:policy"),
    ("ကျောင်းသား လျှော့ဈေး ရှိလား", "promotion:2"),
    ("ဘာရစ်စတာ အလုပ်ခေါ်နေလား", "job:1"),
]


@pytest.mark.parametrize(("question", "source"), QUESTIONS)
def test_right_source_with_high_confidence(answerer: OfflineAnswerer, question: str, source: str) -> None:
    answer = answerer.answer(question)
    assert answer.sources and answer.sources[0].id == source
    assert answer.confidence > 0.7
    assert not answer.requires_human and answer.escalation_reason == ""
    assert answer.model == "offline"


@pytest.mark.parametrize(("question", "source"), [
    ("ဆိုင်ကို ဘယ်လိုလာရမလဲ", "faq:3"),                   # "how do I come": the address
    ("ဆိုင်ကို ဘယ်လို လာရ မလဲ", "faq:3"),                 # spaced otherwise
    ("လှေကား မတက်ဘဲ ဝင်လို့ရလား", "faq:15"),              # stairs: accessibility
    ("လက်ဆောင်ပေးဖို့ ဗောက်ချာ ရှိလား", "faq:19"),         # the other spelling of "voucher"
    ("ညနေ စားပွဲ တစ်ခု ကြိုယူထားချင်တယ်", "reservation:policy"),
    ("အလုပ်လုပ်ဖို့ ဆိုင်မှာ ကြာကြာ ထိုင်လို့ရလား", "faq:10"),  # sitting to work: the laptop answer, not a job
])
def test_burmese_ways_of_asking_the_knowledge_words_differently(answerer: OfflineAnswerer, question: str,
                                                                 source: str) -> None:
    """language.MY_PHRASES: without them each of these went to a person or to the wrong answer."""
    answer = answerer.answer(question)
    assert answer.sources and answer.sources[0].id == source
    assert not answer.requires_human


def test_answers_are_in_the_users_language(answerer: OfflineAnswerer) -> None:
    english = answerer.answer("How much is a latte?")
    burmese = answerer.answer("လာတေး ဘယ်လောက်လဲ")
    assert english.language == "en" and "4,000 MMK" in english.text and "milk" in english.text
    assert burmese.language == "my" and "၄,၀၀၀ ကျပ်" in burmese.text and "နို့" in burmese.text
    assert english.quick_replies == ["Menu", "Opening hours", "Talk to staff"]
    assert burmese.quick_replies[0] == "မီနူး"


def test_menu_item_lists_allergens(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("What's in the tea leaf salad?")
    assert answer.intent == "menu" and "peanuts" in answer.text and "sesame" in answer.text


def test_menu_and_category_listing(answerer: OfflineAnswerer, kb: KnowledgeBase) -> None:
    menu = answerer.answer("Menu")
    assert menu.intent == "menu" and all(m.english_name in menu.text for m in kb.menu)
    coffee = answerer.answer("ကော်ဖီ ဘာတွေ ရလဲ")
    assert coffee.intent == "menu" and "လာတေး" in coffee.text and "မုန့်ဟင်းခါး" not in coffee.text


@pytest.mark.parametrize(("question", "has", "has_not"), [
    ("What smoothies do you have?", "Mango Smoothie", "Espresso"),  # "smoothies" stems to "smoothy"
    ("What drinks do you have?", "Espresso", "Mohinga"),  # every drink: coffee, tea and the rest
    ("What food do you have?", "Mohinga", "Espresso"),
    ("သောက်စရာ ဘာတွေ ရှိလဲ", "လာတေး", "မုန့်ဟင်းခါး"),  # "something to drink"
    ("ဘာသောက်လို့ရလဲ", "လာတေး", "မုန့်ဟင်းခါး"),
    ("စားစရာ ဘာရှိလဲ", "မုန့်ဟင်းခါး", "လာတေး"),  # "something to eat"
    ("anything to eat?", "Mohinga", "Espresso"),  # was handed to a person
])
def test_a_kind_of_item_asked_alone_is_listed(answerer: OfflineAnswerer, question: str, has: str, has_not: str) -> None:
    answer = answerer.answer(question)
    assert answer.intent == "menu" and has in answer.text and has_not not in answer.text, answer.text


def test_what_in_burmese_is_a_question_word_not_a_barista() -> None:
    """ဘာ (what) is also the first syllable of ဘာရစ်စတာ (barista): "what cakes / snacks do you have?"
    got the barista job ad."""
    from pentagon.agent.language import tokens
    assert "ဘာ" not in tokens("မုန့် ဘာတွေ ရှိလဲ")


@pytest.mark.parametrize(("question", "source"), [("ကိတ်မုန့် ဘာတွေ ရှိလဲ", "menu:"), ("မုန့် ဘာတွေ ရှိလဲ", "menu:"),
                                                  ("ကော်ဖီအေး ရှိလား", "menu:")])
def test_burmese_cake_snack_and_iced_coffee_questions_get_the_menu(answerer: OfflineAnswerer, question: str,
                                                                  source: str) -> None:
    answer = answerer.answer(question)
    assert answer.sources[0].id.startswith(source) and not answer.requires_human, answer


def test_a_question_with_more_than_the_kind_is_not_a_list(answerer: OfflineAnswerer) -> None:
    assert answerer.answer("ဆေးလိပ်သောက်လို့ရလား").sources[0].id == "faq:16"  # smoking, not drinks
    assert answerer.answer("Do you have any drinks without sugar?").sources[0].id == "faq:14"


@pytest.mark.parametrize(("question", "before", "source"), [
    ("how much is it?", "Do you have mango smoothie?", "menu:15"),
    ("and the price?", "shan noodles?", "menu:19"),
    ("how much?", "Can I work on my laptop there?", "faq:10"),  # nothing to price: the topic stays
    ("ဘယ်လောက်လဲ", "မုန့်ဟင်းခါး ရှိလား", "menu:18"),
    ("ဘယ်လောက်ပေးရမလဲ", "ရှမ်းခေါက်ဆွဲ ရှိလား", "menu:19"),
    # "ရလား" ("can I get?") splits into ရ + လား: ရ alone is in every "ရပါတယ်", the Matcha Latte's too.
    ("ဈေး ဘယ်လောက်လဲ", "လာတေး ရလား", "menu:3"),
])
def test_how_much_after_a_dish_is_that_dishs_price(answerer: OfflineAnswerer, question: str, before: str,
                                                   source: str) -> None:
    """"How much?" names nothing: never a record that merely says "price" or "charge" (the laptop FAQ did)."""
    answer = answerer.answer(question, [Turn("user", before), Turn("bot", "...")])
    assert answer.sources[0].id == source and not answer.requires_human, answer


def test_what_is_asked_about_it_is_asked_about_the_dish_just_named(answerer: OfflineAnswerer) -> None:
    """"Is it sweet?" listed the desserts and "does it have dairy?" gave the milk FAQ, after the mango
    smoothie; a question about the cafe itself ("is it open on Sunday?") stays about the cafe."""
    history: list[Turn] = []
    for question in ("Do you have mango smoothie?", "is it sweet?", "does it have dairy?"):
        answer = answerer.answer(question, history)
        assert answer.sources[0].id == "menu:15" and not answer.requires_human, (question, answer)
        history += [Turn("user", question), Turn("bot", answer.text)]
    assert "milk" in answer.text  # its allergens: yogurt
    assert answerer.answer("is it open on Sunday?", history).sources[0].id == "hours:opening"


@pytest.mark.parametrize(("before", "question", "source"), [
    ("can I bring my dog", "what about inside?", "faq:7"),  # was the smoking rule ("not allowed inside")
    ("Is there live music?", "what time does it start?", "event:1"),  # was handed to a person
    ("do you have mohinga", "how long does it take", "menu:18"),  # was the own-cup discount ("take")
    ("တနင်္ဂနွေ ဖွင့်လား", "စနေနေ့ကော", "hours:opening"),  # "and Saturday?": was the latte art class
    ("How much is a latte?", "and do you have wifi?", "faq:1"),  # a new topic is left alone
    ("do you have cheesecake", "does it contain nuts?", "menu:28"),  # was the brownie (walnuts)
    ("what about part time jobs?", "how much does it pay?", "job:3"),  # was the ways to pay us
    ("do you have mango smoothie?", "is it available today?", "menu:15"),  # was today's hours
    # When or how long, and nothing else, of what was just talked about: these were the opening hours
    # and the hot chocolate ("long").
    ("What's in the breakfast set?", "until what time?", "promotion:3"),
    ("Latte art class?", "how long is it?", "event:2"),
    ("မနက်စာ set ရှိလား", "ဘယ်အချိန်အထိလဲ", "promotion:3"),
    ("Do you have a student discount?", "does it work on weekends too?", "promotion:2"),  # was the weekend job
    ("Wi-Fi ရှိလား", "password ဘယ်လိုသိရမလဲ", "faq:1"),  # ဘယ်လို (how), သိ (know): was handed over
    ("ဂီတ ဖျော်ဖြေပွဲ ရှိလား", "ဘယ်အချိန် စလဲ", "event:1"),  # what time does it start? was the hours
    ("လာတေးအနုပညာ သင်တန်း ရှိလား", "ဘယ်လောက်ကျလဲ", "event:2"),  # how much does it come to? was the milk tea
    ("မုန့်ဟင်းခါး ရှိလား", "ဘယ်နှမိနစ် ကြာလဲ", "menu:18"),  # "how many minutes?": was the opening hours
    ("can I bring my dog", "is it open on Sunday?", "hours:opening"),
])
def test_a_follow_on_stays_on_the_topic_that_answers_it(answerer: OfflineAnswerer, before: str, question: str,
                                                         source: str) -> None:
    answer = answerer.answer(question, [Turn("user", before), Turn("bot", answerer.answer(before).text)])
    assert answer.sources and answer.sources[0].id == source and not answer.requires_human, answer


@pytest.mark.parametrize(("before", "question", "source"), [
    # A question naming no dish and introducing nothing ("is there", "do you have", "ရှိလား") is the next
    # turn of the topic even without "it": these were the kitchen job ("join", "keep"), the table policy
    # ("seats"), the free green tea and the part-time job.
    ("Do you have a loyalty card?", "how do I join?", "faq:9"),
    ("Do you have a lost and found?", "how long do you keep things?", "faq:20"),
    ("When is the latte art workshop?", "how many seats?", "event:2"),
    ("ဝိုင်ဖိုင် ရှိလား", "အခမဲ့လား", "faq:1"),
    ("ဘာရစ်စတာ အလုပ် ခေါ်လား", "အချိန်ပြည့်လား", "job:1"),
    # How far or how many, and nothing else: the smoking area's "far end", the tables' 8 people.
    ("Do you deliver?", "how far?", "faq:5"),
    ("Do you do birthday parties?", "how many people fit?", "faq:8"),
    ("ပါတီအတွက် ဆိုင်ငှားလို့ရလား", "လူ ဘယ်နှယောက် ဆံ့လဲ", "faq:8"),
    ("Is there live music?", "which day?", "event:1"),  # was the student discount ("every day")
    ("ရှမ်းခေါက်ဆွဲ ရှိလား", "မြေပဲ ပါလား", "menu:19"),  # "any peanuts?": was the tea leaf salad
    ("Tell me about the breakfast set", "can I get shan noodles instead?", "promotion:3"),  # was the noodles alone
    ("Happy hour?", "does it include cold brew?", "promotion:1"),  # was the cold brew alone
    ("Do you have cheesecake?", "what sauce comes with it?", "menu:28"),  # "come": where the beans come from
    ("လက်ဆောင်ကတ် ရောင်းလား", "ဘယ်လောက်ကြာကြာ သုံးလို့ရလဲ", "faq:19"),  # သုံး, three: the sandwich's layers
    ("ဆေးလိပ်သောက်လို့ရလား", "အပြင်ဘက်ကော", "faq:16"),  # "and outside?": was the terrace seating
    # A tie with the best record is the topic's: the happy hour's "20 % off", the lost and found's bags, the
    # own-cup discount's "bring" were answered (the retriever rounds what the topic's check did not).
    ("Do you have a student discount?", "how much off?", "promotion:2"),
    ("Do you sell coffee beans?", "how big is the bag?", "faq:13"),
    ("ဆိုင်မှာ ပစ္စည်း ကျန်ခဲ့တယ်", "ဘာ ယူလာရမလဲ", "faq:20"),
    ("Do you have the nan gyi thoke?", "how spicy?", "menu:20"),  # was the list of spicy dishes
    ("Can I book the upstairs room?", "how early do I need to book?", "faq:8"),  # "early": the opening hours
    ("Is there a part time job?", "how much per hour?", "job:3"),  # its pay was not searched: the happy hour
    ("Do you have a latte art class?", "where do I sign up?", "event:2"),  # "book at the counter"
    ("လက်ဖက်သုပ် ဘယ်လောက်လဲ", "သက်သတ်လွတ်လား", "menu:21"),  # vegetarian?: was the vegetarian FAQ
    ("ဟက်ပီးအာဝါ ဘယ်အချိန်လဲ", "စနေ တနင်္ဂနွေ ရလား", "promotion:1"),  # at the weekend too?: was the hours
    ("ကျောင်းသား လျှော့ဈေး ရှိလား", "စနေနေ့ ရလား", "promotion:2"),
    ("Do you have a breakfast deal?", "what drinks come with it?", "promotion:3"),  # was our drinks, listed
    ("Do you have a breakfast deal?", "how late?", "promotion:3"),  # "until when?": was the opening hours
    ("သောကြာနေ့ ဂီတ ရှိလား", "ဘယ်အချိန်ထိလဲ", "event:1"),  # ထိ, until: was the opening hours
    ("What's the student discount?", "does it apply to takeaway?", "promotion:2"),  # was the own-cup discount
    ("Do you have gift cards?", "can I buy one online?", "faq:19"),  # "sold at the counter": was the beans
    # A new subject is left alone: the address says "park".
    ("What's your address?", "is there parking?", "faq:4"),
    ("What's in the breakfast set?", "how much is mohinga?", "menu:18"),
])
def test_the_next_turn_of_a_topic_needs_no_it(answerer: OfflineAnswerer, before: str, question: str,
                                              source: str) -> None:
    answer = answerer.answer(question, [Turn("user", before), Turn("bot", answerer.answer(before).text)])
    assert answer.sources and answer.sources[0].id == source and not answer.requires_human, answer


def test_something_new_is_not_read_as_the_topic(answerer: OfflineAnswerer) -> None:
    """"Do you have decaf?" after the espresso was the espresso: a word no record has, read with the turn
    before, left the espresso. Asked alone it goes to a person; so it does after another topic."""
    history = [Turn("user", "How much is the espresso?"), Turn("bot", answerer.answer("How much is the espresso?").text)]
    for answer in (answerer.answer("do you have decaf?"), answerer.answer("do you have decaf?", history)):
        assert answer.requires_human and not answer.sources, answer


@pytest.mark.parametrize(("text", "source"), [("how late are you open?", "hours:opening"),
                                              ("what drinks do you have?", "menu:1"), ("how late?", "hours:opening")])
def test_asked_alone_these_are_what_they_always_were(answerer: OfflineAnswerer, text: str, source: str) -> None:
    assert answerer.answer(text).sources[0].id == source


def talk(answerer: OfflineAnswerer, turns: list[str]) -> list[Turn]:
    """The history of a conversation of these customer turns, each answered by the bot."""
    history: list[Turn] = []
    for text in turns:
        history += [Turn("user", text), Turn("bot", answerer.answer(text, history).text)]
    return history


def assert_answered_from(answer: Answer, source: str) -> None:
    """Answered, by the bot, from this record first."""
    assert answer.sources and answer.sources[0].id == source and not answer.requires_human, answer


@pytest.mark.parametrize(("before", "question", "source"), [
    # What is had with the set, the option or the rule just talked about is asked of it.
    ("What's the breakfast set?", "can I have milk tea with it?", "promotion:3"),  # was the milk tea alone
    ("Do you have oat milk?", "can I get it in a latte?", "faq:14"),  # was the latte
    ("Can I bring my cat?", "can I sit inside with it?", "faq:7"),  # was the air-conditioning answer
    # After a dish, what it is asked with is the option we offer, not the dish again.
    ("How much is a cappuccino?", "can I get it with soy milk?", "faq:14"),  # was the cappuccino
    ("How much is a latte?", "can I get it without sugar?", "faq:14"),
    ("Is the mango smoothie sweet?", "can I have it less sweet?", "faq:14"),
    # Another dish with it is that dish.
    ("How much is the latte?", "can I have a croissant with it?", "menu:24"),
    # "Which …?" picks from what the record before names.
    ("Is happy hour on today?", "which drinks?", "promotion:1"),  # was every drink, listed
    ("Do you deliver?", "which apps?", "faq:5"),
    ("Do you accept cards?", "which ones?", "faq:2"),
    # Words for what it costs to get in and to pay extra.
    ("When is the acoustic night?", "do I need to pay to get in?", "event:1"),  # was the ways to pay
    ("အိုးမီးလ်ခ် ရှိလား", "ဘယ်လောက် ပိုပေးရလဲ", "faq:14"),  # how much more?: was the barista ad's ပို
    ("ဆေးလိပ် သောက်လို့ရလား", "ဘယ်နေရာမှာလဲ", "faq:16"),  # at which place?: was the address
    ("ဟော့ချော့ကလက် ရှိလား", "အေးအေး ရလား", "menu:17"),  # "hot chocolate" as it sounds: was no dish
    # Round 23: Burmese has no "it" in "with it" (was the cappuccino), "in advance", where a delivery goes,
    # "which day is it held?", inside written အထဲ.
    ("မနက်စာ set ရှိလား", "နို့ကော်ဖီ နဲ့ ရလား", "promotion:3"),
    ("Can I book the upstairs room?", "how far in advance?", "faq:8"),  # was the table policy
    ("Do you deliver?", "do you deliver to Hlaing township?", "faq:5"),  # was a person
    ("လာတေး အနုပညာ သင်တန်း ရှိလား", "ဘယ်နေ့ လုပ်လဲ", "event:2"),  # was the opening hours
    ("ဆေးလိပ် သောက်လို့ရလား", "အထဲမှာကော", "faq:16"),  # was a dessert
    # Round 28: another dish named is that dish, although the americano's record says "espresso" (a tie went
    # to the topic).
    ("How much is the americano?", "and an espresso?", "menu:1"),
])
def test_what_is_had_with_the_topic_is_asked_of_it(answerer: OfflineAnswerer, before: str, question: str,
                                                   source: str) -> None:
    assert_answered_from(answerer.answer(question, talk(answerer, [before])), source)


@pytest.mark.parametrize(("before", "question", "source"), [
    # The မ of the ending ရမလဲ (shall I?) was read as a rare word: the ramp (faq:15) or the beans answered.
    ("ကျောင်းသား လျှော့ဈေး ရှိလား", "ဘာ ပြရမလဲ", "promotion:2"),  # what must I show?
    ("အဖွဲ့ဝင်ကတ် ရှိလား", "ဘယ်လို ဝင်ရမလဲ", "faq:9"),  # how do I join?
    ("မွေးနေ့ပွဲ လုပ်လို့ရလား", "ဘယ်လောက် ကြိုပြောရမလဲ", "faq:8"),  # how long ahead must I tell you?
    ("ရှမ်းခေါက်ဆွဲ ဘယ်လောက်လဲ", "ဘယ်နှမိနစ် စောင့်ရမလဲ", "menu:19"),  # how many minutes must I wait?
    ("ကိုယ့်ခွက် ယူလာရင် လျှော့ပေးလား", "ဘယ်လောက် လျှော့လဲ", "faq:18"),  # how much off?: was the happy hour
    ("ပါတ်တိုင်း အလုပ် ရှိလား", "တစ်နာရီ ဘယ်လောက်လဲ", "job:3"),  # part-time as it sounds: was the hours
    ("ပို့ပေးလား", "ဘယ် app တွေနဲ့ မှာလို့ရလဲ", "faq:5"),  # which apps?: was the address
])
def test_burmese_endings_and_spellings_of_a_next_turn(answerer: OfflineAnswerer, before: str, question: str,
                                                      source: str) -> None:
    assert_answered_from(answerer.answer(question, talk(answerer, [before])), source)


@pytest.mark.parametrize("text", ["do you serve alcohol?", "do you offer catering?", "do you sell beer?",
                                  "အရက် ရောင်းလား"])
@pytest.mark.parametrize("before", ["", "Is the cafe halal?"])
def test_asking_whether_we_sell_something_we_do_not_goes_to_a_person(answerer: OfflineAnswerer, text: str,
                                                                       before: str) -> None:
    """The records saying "we serve" (the Thingyan specials) or "sold" (the gift cards) answered them: the verb
    of "do you sell X?" is only its frame."""
    history = [Turn("user", before), Turn("bot", answerer.answer(before).text)] if before else []
    answer = answerer.answer(text, history)
    assert answer.requires_human and not answer.sources, answer


@pytest.mark.parametrize(("before", "text", "source"), [
    ("", "do you serve breakfast?", "promotion:3"), ("", "do you sell gift cards?", "faq:19"),
    ("", "ကော်ဖီစေ့ ရောင်းလား", "faq:13"), ("Is the Thingyan special on?", "what do you serve?", "event:3"),
    ("Do you sell gift cards?", "can I buy one online?", "faq:19"),
    ("ကိုးလ်ဘရူး ရှိလား", "ပြင်းလား", "menu:9"),  # strong?: was the milk tea's "strong black tea"
    ("သောကြာနေ့ ဂီတပွဲ ရှိလား", "ဘယ်နှနာရီ ပြီးလဲ", "event:1"),  # at what hour does it end?: was the hours
    ("အာဗိုကာဒို တို့စ် ဘယ်လောက်လဲ", "သက်သတ်လွတ်လား", "menu:23"),  # avocado toast as it sounds
])
def test_what_we_do_sell_is_still_answered(answerer: OfflineAnswerer, before: str, text: str, source: str) -> None:
    assert_answered_from(answerer.answer(text, talk(answerer, [before] if before else [])), source)


@pytest.mark.parametrize("text", [
    # What "is there / do you have X" asks for names something no record mentions: the record sharing
    # another of its words answered ("room": the private-party room; "cards": the gift cards; "ကြော်", fried).
    "is there a prayer room?", "do you sell SIM cards?", "ဟင်းရွက်ကြော် ရှိလား", "ထမင်းကြော် ရောင်းလား", "ဘီယာ ရှိလား",
    "can I bring my own cake?",  # was the own-cup discount's "bring your own"
    "do you have a printer I can use?",  # "printer" was read as "printed": the Wi-Fi password's receipt
    "do you have a toaster?",  # "toaster" as "toasted"
])
def test_what_no_record_answers_goes_to_a_person(answerer: OfflineAnswerer, text: str) -> None:
    answer = answerer.answer(text)
    assert answer.requires_human and not answer.sources, answer


@pytest.mark.parametrize(("text", "source"), [
    ("can I bring my own cup?", "faq:18"), ("yo whats ur wifi pw", "faq:1"),  # text-speak: was a person
    ("ဒေါ်လာနဲ့ ပေးလို့ရလား", "faq:2"), ("USD နဲ့ ပေးလို့ရလား", "faq:2"),  # pay in dollars?: was a person
    ("ပဲနို့နဲ့ ပေးပါ", "faq:14"),  # give it with soy milk: no payment
    ("မင်္ဂလာဆောင် လုပ်လို့ရလား", "faq:8"),  # a wedding is a party: was a person
    ("နံနက်စာ ဘယ်အချိန်ထိ ရလဲ", "promotion:3"),  # breakfast written formally: was the opening hours
    # What is asked for is all known words, or its unknown ones are past it ("for bikes", "available").
    ("any kitchen jobs available?", "job:2"), ("do you have vegan food?", "faq:6"),
    ("do you have baby seats", "faq:12"),
    ("is there a smoking room inside?", "faq:16"), ("got parking for bikes?", "faq:4"),
    ("do you have a menu in english?", "faq:24"), ("ကလေးထိုင်ခုံ ရှိလား", "faq:12"),
    # Round 26: a play area is the kids' corner (was a person), "what tastes good?" our favourites (was the
    # barista ad's "better"), a smoking room the smoking area (its ခန်း, room, one unknown syllable: a person).
    ("ကလေး ကစားစရာ နေရာ ရှိလား", "faq:12"), ("ကော်ဖီ အရသာ ကောင်းတာ ဘာလဲ", "faq:22"),
    ("ဆေးလိပ်သောက်ခန်း ရှိလား", "faq:16"),
    # Round 27: taking a way to pay (was the own-cup discount's "take"); the terrace is the seating answer's,
    # not the smoking rule's, which only mentions it.
    ("do you take grabpay?", "faq:2"), ("do you have a terrace?", "faq:23"),
    ("ကတ်နဲ့ ရှင်းလို့ရလား", "faq:2"),  # to settle (ရှင်း) by card: was the student card
])
def test_ways_of_asking_what_a_record_answers(answerer: OfflineAnswerer, text: str, source: str) -> None:
    assert_answered_from(answerer.answer(text), source)


@pytest.mark.parametrize(("turns", "question", "source"), [
    (["ခွေး ခေါ်လာလို့ရလား", "ကောင်းပါပြီ"], "အထဲကော", "faq:7"),  # all right, and inside?: was a dessert
    (["ကားရပ်စရာ ရှိလား", "ကျေးဇူးပါ"], "ဝိုင်ဖိုင်ကော", "faq:1"),
    (["Can I bring my dog?", "ok"], "what about inside?", "faq:7"),
])
def test_small_talk_between_two_questions_is_no_topic(answerer: OfflineAnswerer, turns: list[str], question: str,
                                                      source: str) -> None:
    assert_answered_from(answerer.answer(question, talk(answerer, turns)), source)


@pytest.mark.parametrize(("turns", "question", "source"), [
    # The second turn was answered by the student discount, although its words alone are the gift cards':
    # the topic is the record we answered with.
    (["What's the student discount?", "do I need a card?"], "does it work on weekends?", "promotion:2"),
    (["ကျောင်းသား လျှော့ဈေး ရှိလား", "ကတ် ပြရမလား"], "စနေနေ့ ရလား", "promotion:2"),
    # Round 25: the turns before add only words the record lacks ("what amounts?"): as sure as the record
    # answers the question alone (was a person).
    (["Do you have gift cards?", "what amounts?"], "can I buy one online?", "faq:19"),
])
def test_the_topic_is_the_record_we_answered_with(answerer: OfflineAnswerer, turns: list[str], question: str,
                                                  source: str) -> None:
    history = talk(answerer, turns)
    assert answerer.answer(turns[-1], history[:-2]).sources[0].id == source  # so it was answered
    assert_answered_from(answerer.answer(question, history), source)


@pytest.mark.parametrize(("turns", "question", "source"), [
    (["Can I bring my cat?", "on a leash?"], "can it come inside?", "faq:7"),  # coming in: was the beans' "come"
    (["Do you have a student discount?", "how much off?"], "can I use it for takeaway?", "promotion:2"),
    (["ကျောင်းသား လျှော့ဈေး ရှိလား", "ဘယ်လောက် လျှော့လဲ"], "ပါဆယ် ရလား", "promotion:2"),  # was the own cup
    (["သောကြာနေ့ ဂီတပွဲ ရှိလား", "ဘယ်အချိန်လဲ"], "အခမဲ့လား", "event:1"),  # "no entry fee" is free: was the tea
    (["အသင်းဝင်ကတ် ရှိလား", "ဘယ်လို ဝင်ရမလဲ"], "ပိုက်ဆံ ပေးရလား", "faq:9"),  # must I pay?: was the ways to pay
    (["Do you have a loyalty card?", "how do I join?"], "do I have to pay?", "faq:9"),
    (["ကျောင်းသား လျှော့ဈေး ရှိလား"], "ကတ်နဲ့ ပေးလို့ရလား", "faq:2"),  # paying by card is still a way to pay
])
def test_whether_an_offer_applies_or_is_free(answerer: OfflineAnswerer, turns: list[str], question: str,
                                             source: str) -> None:
    assert_answered_from(answerer.answer(question, talk(answerer, turns)), source)


def test_a_short_answer_of_ours_does_not_move_the_topic(answerer: OfflineAnswerer) -> None:
    """"Yes, 4,500 MMK." (staff's wording, or a model's) matched the delivery fee's "1,500 MMK": the smoothie the
    customer asked about stays the topic."""
    history = [Turn("user", "Do you have mango smoothie?"), Turn("bot", "Yes, 4,500 MMK.")]
    answer = answerer.answer("how much is it?", history)
    assert answer.sources[0].id == "menu:15" and "4,500" in answer.text, answer


def test_a_hand_over_or_greeting_of_ours_is_no_topic(answerer: OfflineAnswerer) -> None:
    """Our greeting names events and the menu; a hand-over, staff: neither is what the customer asked about."""
    for first in ("hi", "do you have decaf?"):
        history = [Turn("user", first), Turn("bot", answerer.answer(first).text)]
        assert answerer.answer("how much?", history).listing  # no dish before: the menu with every price


def test_all_right_in_burmese_is_thanks(answerer: OfflineAnswerer) -> None:
    assert answerer.answer("ကောင်းပါပြီ").intent == "thanks"


@pytest.mark.parametrize(("before", "question", "first"), [
    ("How much is the latte?", "what drinks do you have?", "menu:1"),  # was the latte again
    ("How much is the latte?", "which drinks?", "menu:1"),
    ("Are you hiring?", "which positions?", "job:1"),  # the list of jobs, not the first job
])
def test_a_list_asked_for_after_a_dish_is_the_list(answerer: OfflineAnswerer, before: str, question: str,
                                                   first: str) -> None:
    answer = answerer.answer(question, [Turn("user", before), Turn("bot", answerer.answer(before).text)])
    assert len(answer.sources) >= 3 and answer.sources[0].id == first, answer


def test_how_long_it_can_be_used_has_no_sandwich_in_it(answerer: OfflineAnswerer) -> None:
    """ဘယ်လောက်ကြာကြာ သုံးလို့ရလဲ (how long can it be used?) asked alone was the club sandwich: its
    "three layers" (သုံးထပ်) and a dish's minutes (ကြာ)."""
    assert answerer.answer("ဘယ်လောက်ကြာကြာ သုံးလို့ရလဲ").sources[0].id == "faq:19"


@pytest.mark.parametrize(("before", "question"), [("do you have a shan noodle and a latte?", "how much?"),
                                                  ("ရှမ်းခေါက်ဆွဲနဲ့ လာတေး ရှိလား", "ဘယ်လောက်လဲ")])
def test_how_much_after_two_dishes_is_both(answerer: OfflineAnswerer, before: str, question: str) -> None:
    """It answered the first dish only."""
    answer = answerer.answer(question, [Turn("user", before), Turn("bot", answerer.answer(before).text)])
    assert [s.id for s in answer.sources] == ["menu:19", "menu:3"] and not answer.requires_human, answer


@pytest.mark.parametrize(("before", "question", "listed"), [
    ("what desserts do you have?", "do they have nuts?", ["menu:26", "menu:27", "menu:28"]),  # was Shwe Yin Aye alone
    ("anything spicy?", "how long?", ["menu:18", "menu:19", "menu:20", "menu:21", "menu:23", "menu:25"]),  # hot chocolate
    ("စပ်တာ ဘာရှိလဲ", "ဘယ်လောက်ကြာလဲ", ["menu:18", "menu:19", "menu:20", "menu:21", "menu:23", "menu:25"]),
    ("any events?", "what time?", ["event:1", "event:2", "event:3"]),  # was the Thingyan festival alone
])
def test_a_question_of_no_subject_after_a_list_is_asked_of_each(answerer: OfflineAnswerer, before: str,
                                                                 question: str, listed: list[str]) -> None:
    answer = answerer.answer(question, [Turn("user", before), Turn("bot", answerer.answer(before).text)])
    assert [s.id for s in answer.sources] == listed and answer.listing and not answer.requires_human, answer
    if listed[0] == "menu:26":
        assert "tree nuts" in answer.text.split("\n")[1]  # the brownie's line
    if question == "how long?":
        assert "Ready in about 8 minutes." in answer.text.split("\n")[0]  # the mohinga's line


def test_what_time_is_not_the_part_time_job(answerer: OfflineAnswerer) -> None:
    """"Part-time" was two words, and its "time" made "what time?" the part-time job ad."""
    assert answerer.answer("what time?").sources[0].id == "hours:opening"
    assert answerer.answer("any part-time jobs?").sources[0].id == "job:3"
    assert answerer.answer("part time work for students").sources[0].id == "job:3"


def test_in_burmese_the_dish_is_implied(answerer: OfflineAnswerer) -> None:
    """Burmese drops the "it": "စပ်လား" (spicy?) after the Shan noodles was the Cold Brew; ရှိ (have) made
    "လာတေး ရှိလား" the latte art class."""
    first = answerer.answer("ရှမ်းခေါက်ဆွဲ ရှိလား")
    history = [Turn("user", "ရှမ်းခေါက်ဆွဲ ရှိလား"), Turn("bot", first.text)]
    spicy = answerer.answer("စပ်လား", history)
    assert spicy.sources[0].id == "menu:19", spicy
    history += [Turn("user", "စပ်လား"), Turn("bot", spicy.text)]
    assert answerer.answer("ဈေး ဘယ်လောက်လဲ", history).sources[0].id == "menu:19"
    assert answerer.answer("လာတေး ရှိလား").sources[0].id == "menu:3"


@pytest.mark.parametrize(("text", "kind", "count"), [
    ("any events this week?", "event", 3), ("what is happening this weekend", "event", 3),
    ("what promotions do you have", "promotion", 3), ("any discounts?", "promotion", 3),
    ("are you hiring", "job", 3), ("ဘာပွဲတွေ ရှိလဲ", "event", 3), ("ပရိုမိုးရှင်း ရှိလား", "promotion", 3),
    ("အလုပ်ခေါ်နေလား", "job", 3), ("ဒီနေ့ ဘာပွဲ ရှိလဲ", "event", 3),  # "today": the April festival alone
])
def test_a_kind_asked_alone_lists_every_record_of_it(answerer: OfflineAnswerer, text: str, kind: str,
                                                     count: int) -> None:
    """"Any events this week?" got the Thingyan festival (April) alone; "are you hiring?" the barista only."""
    answer = answerer.answer(text)
    assert [s.kind for s in answer.sources] == [kind] * count and answer.text.count("•") == count, answer
    assert not answer.requires_human


@pytest.mark.parametrize(("text", "source"), [("do you have happy hour", "promotion:1"),
                                              ("is there a student discount", "promotion:2"),
                                              ("when is the acoustic night", "event:1"),
                                              ("မွေးနေ့ပွဲ လုပ်လို့ရလား", "faq:8")])
def test_one_named_record_of_a_kind_is_that_record(answerer: OfflineAnswerer, text: str, source: str) -> None:
    assert answerer.answer(text).sources[0].id == source


def test_how_much_with_nothing_before_is_the_menu(answerer: OfflineAnswerer, kb: KnowledgeBase) -> None:
    for question in ("how much?", "prices", "ဘယ်လောက်လဲ"):
        answer = answerer.answer(question)
        assert answer.intent == "menu" and answer.text.count("•") == len(kb.menu), answer  # every price
    assert "ဖုန်း" in answerer.answer("ဖုန်းနံပါတ် ဘယ်လောက်လဲ").text  # "how much" with a subject: the phone number


def test_todays_hours_in_yangon(kb: KnowledgeBase) -> None:
    # 23:30 UTC on a Saturday is already Sunday morning in Yangon (UTC+6:30).
    clock = lambda: datetime(2026, 1, 17, 23, 30, tzinfo=ZoneInfo("UTC"))  # noqa: E731
    answer = OfflineAnswerer(kb, clock=clock).answer("What time do you open today?")
    assert answer.intent == "hours" and "Today (Sunday) we are open from 08:00 to 20:00" in answer.text
    burmese = OfflineAnswerer(kb, clock=clock).answer("ဒီနေ့ ဆိုင်ဖွင့်လား")
    assert "တနင်္ဂနွေနေ့" in burmese.text and "၀၈:၀၀" in burmese.text


def test_closed_date(kb: KnowledgeBase) -> None:
    clock = lambda: datetime(2026, 4, 17, 12, 0, tzinfo=ZoneInfo("Asia/Yangon"))  # noqa: E731
    text = OfflineAnswerer(kb, clock=clock).answer("are you open?").text
    assert "We are closed today (Friday). We open again tomorrow at 08:00." in text  # Saturday's hours


def test_after_closing_time_the_hours_say_when_we_open_again(kb: KnowledgeBase) -> None:
    late = lambda: datetime(2026, 1, 13, 22, 0, tzinfo=ZoneInfo("Asia/Yangon"))  # noqa: E731  Tuesday, closed at 21:00
    answer = OfflineAnswerer(kb, clock=late).answer("Are you open now?")
    assert answer.intent == "hours" and "We are closed now; we open again tomorrow at 07:00." in answer.text
    assert "we are open from" not in answer.text
    burmese = OfflineAnswerer(kb, clock=late).answer("အခု ဆိုင်ဖွင့်လား")
    assert "အခု ဆိုင်ပိတ်ထားပါတယ်။ မနက်ဖြန် ၀၇:၀၀ ပြန်ဖွင့်ပါမယ်။" in burmese.text
    early = lambda: datetime(2026, 1, 13, 6, 0, tzinfo=ZoneInfo("Asia/Yangon"))  # noqa: E731  before opening: today's
    assert "Today (Tuesday) we are open from 07:00 to 21:00" in OfflineAnswerer(kb, clock=early).answer(
        "Are you open now?").text


def _yangon(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Asia/Yangon"))


@pytest.mark.parametrize(("question", "expected"), [
    ("What time do you open on Sunday?", "On Sunday we are open from 08:00 to 20:00."),
    ("what time do you close on saturday", "On Saturday we are open from 08:00 to 22:00."),
    ("are you open tomorrow", "Tomorrow (Thursday) we are open from 07:00 to 21:00."),
    ("open on wednesday?", "Today (Wednesday) we are open from 07:00 to 21:00."),  # today is Wednesday
    ("တနင်္ဂနွေနေ့ ဘယ်အချိန်ဖွင့်လဲ", "တနင်္ဂနွေနေ့ ၀၈:၀၀ ကနေ ၂၀:၀၀ အထိ ဖွင့်ပါတယ်။"),
    ("မနက်ဖြန် ဖွင့်လား", "မနက်ဖြန် (ကြာသပတေးနေ့) ၀၇:၀၀ ကနေ ၂၁:၀၀ အထိ ဖွင့်ပါတယ်။"),
])
def test_hours_for_the_day_asked_about_come_first(answerer: OfflineAnswerer, question: str, expected: str) -> None:
    answer = answerer.answer(question)
    assert answer.intent == "hours" and answer.text.startswith(expected)
    assert "Sunday 08:00–20:00" in answer.text or "တနင်္ဂနွေနေ့ ၀၈:၀၀–၂၀:၀၀" in answer.text  # the week follows


def test_a_closed_date_asked_about_is_closed(kb: KnowledgeBase) -> None:
    # Thursday 16 April: tomorrow, a Friday, is one of the sample's closed dates.
    thursday = OfflineAnswerer(kb, clock=lambda: _yangon(2026, 4, 16, 12, 0))
    assert thursday.answer("Are you open tomorrow?").text.startswith("We are closed tomorrow (Friday).")
    wednesday = OfflineAnswerer(kb, clock=lambda: _yangon(2026, 4, 15, 12, 0))
    assert wednesday.answer("open on friday?").text.startswith("We are closed on Friday.")
    # A week earlier the same Friday is an ordinary one.
    earlier = OfflineAnswerer(kb, clock=lambda: _yangon(2026, 4, 9, 12, 0))
    assert earlier.answer("Are you open tomorrow?").text.startswith("Tomorrow (Friday) we are open from 07:00")


def test_asked_day() -> None:
    wednesday = WEDNESDAY.date()
    assert asked_day("open on sunday?", wednesday) == date(2026, 1, 18)
    assert asked_day("Open Wednesday?", wednesday) == wednesday
    assert asked_day("and on Tuesdays", wednesday) == date(2026, 1, 20)
    assert asked_day("tmrw?", wednesday) == date(2026, 1, 15)
    assert asked_day("I sat in the sun", wednesday) is None
    assert asked_day("စနေ နေ့ ဖွင့်လား", wednesday) == date(2026, 1, 17)
    assert asked_day("တနင်္လာနေ့", wednesday) == date(2026, 1, 19)
    assert asked_day("opening hours", wednesday) is None


@pytest.mark.parametrize(("text", "day"), [
    ("Are you open on 25 December?", date(2026, 12, 25)),
    ("open Dec 24th?", date(2026, 12, 24)),
    ("open on the 1st of January", date(2027, 1, 1)),  # past this year's: next year's
    ("open Sept. 3?", date(2027, 9, 3)),
    ("what time do you open on 24/12?", date(2026, 12, 24)),  # day/month, as written in Myanmar
    ("open 2027-02-01?", date(2027, 2, 1)),
    ("open on 29/2?", date(2028, 2, 29)),  # the next year that has one
    ("ဒီဇင်ဘာ ၂၅ ရက် ဆိုင်ဖွင့်လား", date(2026, 12, 25)),
    ("၂၄ ရက် ဒီဇင်ဘာ ဖွင့်လား", date(2026, 12, 24)),
    ("May 8 of us come on Sunday?", date(2026, 11, 29)),  # "May" the verb, 8 people: Sunday is the day
    ("open 31/11?", None),
])
def test_a_date_written_out_is_the_day_asked_about(text: str, day: date | None) -> None:
    assert asked_day(text, date(2026, 11, 27)) == day


def test_a_diet_in_a_category_lists_what_fits(answerer: OfflineAnswerer, kb: KnowledgeBase) -> None:
    drinks = answerer.answer("I'm vegan, what can I drink?")
    listed = {s.id for s in drinks.sources}
    assert drinks.intent == "menu" and drinks.text.startswith("Our vegan drinks")
    assert "Espresso" in drinks.text and "Lemon Iced Tea" in drinks.text
    assert "Latte" not in drinks.text and "Samosa" not in drinks.text  # milk; not a drink
    assert all("vegan" in m.dietary_info for m in kb.menu if f"menu:{m.id}" in listed)
    desserts = answerer.answer("vegetarian desserts")
    assert desserts.text.startswith("Our vegetarian desserts") and "Baked Cheesecake" in desserts.text
    assert "Mohinga" not in desserts.text
    # Everyday words do not hide the diet; the cafe's own answer to it ("Do you have vegetarian or vegan
    # options?") says more than a list would (a rule of answer._listing).
    vegans = answerer.answer("what's good for vegans")
    assert vegans.sources[0].id == "faq:6" and "vegan" in vegans.text and not vegans.requires_human
    burmese = answerer.answer("သက်သတ်လွတ် အစားအစာ ရှိလား")
    assert burmese.intent == "menu" and "လက်ဖက်သုပ်" in burmese.text and "မုန့်ဟင်းခါး" not in burmese.text
    # "Something to drink" is cut into syllables (~စ, ~ရာ) that kept the list from being the answer.
    drinks = answerer.answer("ဗီဂန် သောက်စရာ ရှိလား")
    assert drinks.text.startswith("ဗီဂန် အချိုရည်") and "အက်စပရက်ဆို" in drinks.text and "စမူဆာ" not in drinks.text


def test_a_diet_nothing_in_the_category_fits_says_so(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("Do you have vegan cake?")
    assert answer.text.startswith("We have no vegan desserts at the moment.\nOur vegan choices")
    assert "Samosa" in answer.text and "Cheesecake" not in answer.text
    assert not answer.requires_human
    burmese = answerer.answer("ဗီဂန် အချိုပွဲ ရှိလား")
    assert burmese.text.startswith("ဗီဂန် အချိုပွဲ လောလောဆယ် မရှိသေးပါဘူး။") and "စမူဆာ" in burmese.text


def test_a_diet_question_after_another_topic_is_not_mixed_with_it(answerer: OfflineAnswerer) -> None:
    # Borrowing the earlier coffee question once made this "Cold Brew" (vegan, a coffee).
    answer = answerer.answer("Do you have vegan cake?", [Turn("user", "ကော်ဖီ ဘယ်လောက်လဲ"), Turn("bot", "...")])
    assert answer.text.startswith("We have no vegan desserts")


def test_the_cafes_own_faq_answers_a_diet_question_it_was_written_for(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("what vegan options do you have")
    assert answer.sources[0].id == "faq:6" and "oat or soy milk" in answer.text


def test_a_dish_says_which_diets_it_suits(answerer: OfflineAnswerer) -> None:
    assert "Suitable for vegan diets." in answerer.answer("is the samosa vegan?").text
    assert "သက်သတ်လွတ် စားသုံးသူများအတွက်" in answerer.answer("လာတေး ဘယ်လောက်လဲ").text
    assert "Suitable for" not in answerer.answer("How much is the mohinga?").text  # no diet tags


@pytest.mark.parametrize(("now", "text", "when"), [
    # Tuesday 23:30 (closed at 21:00): Wednesday opens at 07:00.
    (_yangon(2026, 1, 13, 23, 30), "I want to talk to a real person", "when we open tomorrow at 07:00"),
    # Tuesday 05:00: before opening, the same day.
    (_yangon(2026, 1, 13, 5, 0), "My coffee was cold and the staff were rude", "when we open today at 07:00"),
    # Thursday 16 April 21:30: Friday 17 April is a closed date, so Saturday 08:00.
    (_yangon(2026, 4, 16, 21, 30), "I was charged twice for my order", "when we open on Saturday at 08:00"),
    (_yangon(2026, 1, 18, 20, 0), "What is the capital of France?", "when we open tomorrow at 07:00"),  # Sunday closes 20:00
    (_yangon(2026, 1, 13, 23, 30), "ဝန်ထမ်းနဲ့ ပြောချင်ပါတယ်", "မနက်ဖြန် ၀၇:၀၀ ဆိုင်ပြန်ဖွင့်တဲ့အခါ"),
    (_yangon(2026, 4, 16, 21, 30), "ငွေ နှစ်ခါ ဖြတ်သွားတယ်", "စနေနေ့ ၀၈:၀၀ ဆိုင်ပြန်ဖွင့်တဲ့အခါ"),
])
def test_a_hand_over_while_closed_says_when_a_person_will_answer(kb: KnowledgeBase, now: datetime, text: str,
                                                                  when: str) -> None:
    answer = OfflineAnswerer(kb, clock=lambda: now).answer(text)
    assert answer.requires_human and when in answer.text
    assert "shortly" not in answer.text and "မကြာခင်" not in answer.text


@pytest.mark.parametrize("now", [_yangon(2026, 1, 13, 7, 0), _yangon(2026, 1, 13, 20, 59), _yangon(2026, 1, 17, 21, 30)])
def test_a_hand_over_while_open_promises_a_person_shortly(kb: KnowledgeBase, now: datetime) -> None:
    answer = OfflineAnswerer(kb, clock=lambda: now).answer("I want to talk to a real person")  # Saturday: to 22:00
    assert answer.requires_human and "shortly" in answer.text and "we open" not in answer.text


def test_hours_past_midnight_and_unknown_hours(kb: KnowledgeBase) -> None:
    late = kb.reservations.model_copy(update={"opening_hours": {  # type: ignore[union-attr]
        "friday": DayHours(open="18:00", close="02:00"), "saturday": DayHours(open="18:00", close="02:00")}})
    assert compose.reopening(late, _yangon(2026, 1, 17, 1, 30)) is None  # Friday night's span, on Saturday
    assert compose.reopening(late, _yangon(2026, 1, 17, 3, 0)) == _yangon(2026, 1, 17, 18, 0)
    assert compose.reopening(late, _yangon(2026, 1, 18, 2, 0)) == _yangon(2026, 1, 23, 18, 0)  # next Friday
    assert compose.reopening(None, _yangon(2026, 1, 17, 3, 0)) is None
    unknown = kb.reservations.model_copy(update={"opening_hours": {}})  # type: ignore[union-attr]
    assert compose.reopening(unknown, _yangon(2026, 1, 17, 3, 0)) is None


def test_every_hand_over_has_its_closed_wording_in_both_languages() -> None:
    for lang in PHRASES:
        for reason in INTENT_BY_REASON:
            assert "{when}" in PHRASES[lang][f"{reason}_closed"], (lang, reason)


@pytest.mark.parametrize(("text", "intent", "language"), [
    ("Hello!", "greeting", "en"), ("Hello again", "greeting", "en"),
    ("hey, good morning! how are you?", "greeting", "en"), ("good morning 👋", "greeting", "en"), ("မင်္ဂလာပါ", "greeting", "my"),
    ("mingalabar", "greeting", "en"),  # Burmese hello in Latin letters: was handed to a person
    ("Thank you so much!", "thanks", "en"), ("ကျေးဇူးတင်ပါတယ်", "thanks", "my"), ("ကျေးဇူးပါ", "thanks", "my"),
    ("sounds good", "thanks", "en"), ("lol", "thanks", "en"), ("👍", "thanks", "en"), ("🙏🏽", "thanks", "en"),
    ("bye", "goodbye", "en"), ("Good night!", "goodbye", "en"), ("ok thanks, see you tomorrow", "goodbye", "en"),
    ("no thanks, that's all", "goodbye", "en"), ("နောက်မှ ပြန်တွေ့မယ်နော်", "goodbye", "my"), ("တာ့တာ", "goodbye", "my"),
    ("yes please", "go_on", "en"),
])
def test_small_talk_never_escalates(answerer: OfflineAnswerer, text: str, intent: str, language: str) -> None:
    answer = answerer.answer(text)
    assert (answer.intent, answer.language, answer.requires_human) == (intent, language, False)
    assert answer.confidence > 0.7 and answer.text


@pytest.mark.parametrize("text", ["👍", "sounds good", "great, see you tomorrow", "no thanks", "good night", "lol"])
def test_small_talk_after_an_answer_is_not_taken_for_the_same_question(answerer: OfflineAnswerer, text: str) -> None:
    """A thumbs-up after the Wi-Fi answer used to get the Wi-Fi answer again ("good night": Friday Acoustic Night)."""
    history = [Turn("user", "Do you have wifi?"), Turn("bot", "Yes, free Wi-Fi.")]
    answer = answerer.answer(text, history)
    assert answer.intent in ("thanks", "goodbye") and not answer.sources and not answer.requires_human, answer
    assert answer.quick_replies == ([] if answer.intent == "goodbye" else ["Menu", "Opening hours", "Talk to staff"])


# "No sugar in the latte": the answer that every drink can be made without sugar (the milk and sugar FAQ).
@pytest.mark.parametrize(("text", "source"), [("good coffee here?", "menu:"),
                                              ("no sugar in the latte please", "faq:14"),
                                              ("ok, what time do you open tomorrow", "hours:")])
def test_a_question_with_small_talk_words_is_still_a_question(answerer: OfflineAnswerer, text: str, source: str) -> None:
    assert answerer.answer(text).sources[0].id.startswith(source)


@pytest.mark.parametrize("text", ["what do you recommend?", "what's your best seller", "what's good here?",
                                  "what should I order", "ဘာ နာမည်ကြီးလဲ", "ဘာ စားကြည့်သင့်လဲ"])
def test_asked_for_a_recommendation_the_bot_has_one(answerer: OfflineAnswerer, text: str) -> None:
    """"What's good here?" was the part-time job ad ("Good for students"), "what do you recommend?" a person."""
    answer = answerer.answer(text)
    assert answer.sources[0].id == "faq:22" and not answer.requires_human, answer


@pytest.mark.parametrize(("text", "source"), [("is there aircon", "faq:23"), ("can i sit outside", "faq:23"),
                                              ("is it noisy", "faq:23"), ("အဲကွန်း ရှိလား", "faq:23"),
                                              ("do you have english menu", "faq:24"),
                                              ("မီနူး အင်္ဂလိပ်လို ရှိလား", "faq:24"),
                                              # "by card?" was the gift card; the card and paying together
                                              ("ကတ်နဲ့ ပေးလို့ရလား", "faq:2")])
def test_the_room_and_the_menus_language_are_answered(answerer: OfflineAnswerer, text: str, source: str) -> None:
    answer = answerer.answer(text)
    assert answer.sources[0].id == source and not answer.requires_human, answer


@pytest.mark.parametrize("text", ["မီနူး", "မီနူး ပြပေးပါ", "show me the menu"])
def test_asked_for_the_menu_the_bot_lists_it(answerer: OfflineAnswerer, kb: KnowledgeBase, text: str) -> None:
    """မီနူး is cut into two meaningless syllables: asked alone it was the Thingyan event."""
    answer = answerer.answer(text)
    assert answer.intent == "menu" and answer.text.count("•") == len(kb.menu), answer


def test_greeting_with_a_question_answers_the_question(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("Hi, do you have wifi?")
    assert answer.sources[0].id == "faq:1"


@pytest.mark.parametrize(("text", "reason", "follow_up"), [
    ("I want to talk to a real person", "human_request", "staff"),
    ("Talk to staff", "human_request", "staff"),
    ("ဝန်ထမ်းနဲ့ ပြောချင်ပါတယ်", "human_request", "ဝန်ထမ်း"),
    ("လူနဲ့ တိုက်ရိုက် စကားပြောချင်တယ်", "human_request", "ဝန်ထမ်း"),
    ("staff နဲ့ ပြောချင်တယ်", "human_request", "ဝန်ထမ်း"),  # was the part-time staff job ad
    ("My coffee was cold and the staff were rude", "complaint", "staff member will follow up"),
    ("ဝန်ဆောင်မှု အရမ်း မကျေနပ်ဘူး", "complaint", "ဝန်ထမ်းတစ်ဦး"),
    ("my iced latte had no ice and tasted burnt", "complaint", "staff member will follow up"),
    # The dish first, then what was wrong with it: "cold" was Cold Brew, "late" opening hours.
    ("the coffee was cold", "complaint", "staff member will follow up"),
    ("my food is late", "complaint", "staff member will follow up"),
    ("my order is wrong", "complaint", "staff member will follow up"),
    ("the order was missing a latte", "complaint", "staff member will follow up"),
    ("အော်ဒါ မှားနေတယ်", "complaint", "ဝန်ထမ်းတစ်ဦး"),
    ("ကော်ဖီ အေးနေတယ်", "complaint", "ဝန်ထမ်းတစ်ဦး"),  # has gone cold; ကော်ဖီအေး alone is iced coffee
    # Something of ours that fails: was the laptop answer ("work"), at full confidence.
    ("the wifi is not working", "complaint", "staff member will follow up"),
    ("it won't connect", "complaint", "staff member will follow up"),
    ("wifi ချိတ်လို့ မရဘူး", "complaint", "ဝန်ထမ်းတစ်ဦး"),
    ("I'm allergic to nuts", "allergy", "staff member will confirm"),
    ("မြေပဲ ဓာတ်မတည့်ပါဘူး", "allergy", "ဝန်ထမ်းတစ်ဦး"),
    ("I got food poisoning after eating there", "medical", "staff member will follow up"),
    # These were answered with the vegetarian FAQ ("food"): illness is for a person, whatever the words.
    ("your food made me sick", "medical", "staff member will follow up"),
    ("the mohinga made my son ill", "medical", "staff member will follow up"),
    ("we were ill after eating your samosas", "medical", "staff member will follow up"),
    ("I feel nauseous since lunch there", "medical", "staff member will follow up"),
    ("မနေ့က စားပြီး ဝမ်းပျက်နေတယ်", "medical", "ဝန်ထမ်းတစ်ဦး"),
    ("I was charged twice for my order", "payment_problem", "staff member will check"),
    ("ငွေ နှစ်ခါ ဖြတ်သွားတယ်", "payment_problem", "ဝန်ထမ်းတစ်ဦး"),
])
def test_escalations(answerer: OfflineAnswerer, text: str, reason: str, follow_up: str) -> None:
    answer = answerer.answer(text)
    assert answer.requires_human and answer.escalation_reason == reason
    assert follow_up in answer.text
    assert "Talk to staff" not in answer.quick_replies and "ဝန်ထမ်းနဲ့ ပြောမယ်" not in answer.quick_replies


@pytest.mark.parametrize("text", ["which tea is cold?", "do you have cold coffee", "is the iced latte cold?"])
def test_a_question_about_cold_drinks_is_not_a_complaint(answerer: OfflineAnswerer, text: str) -> None:
    assert answerer.answer(text).escalation_reason != "complaint"


@pytest.mark.parametrize(("text", "first", "intro"), [
    ("what's the cheapest coffee", "Myanmar Milk Coffee - 2,000", "Our coffee, cheapest first"),
    ("cheapest drink?", "Myanmar Milk Coffee - 2,000", "Our drinks, cheapest first"),
    ("what is cheap here", "Samosa - 1,500", "Our menu, cheapest first"),
    ("what's the cheapest thing to eat?", "Samosa - 1,500", "Our food, cheapest first"),
    ("ဘာ အပေါဆုံးလဲ", "စမူဆာ", "မီနူး (ဈေးအသက်သာဆုံး"),
])
def test_the_cheapest_is_the_list_by_price(answerer: OfflineAnswerer, kb: KnowledgeBase, text: str, first: str,
                                           intro: str) -> None:
    answer = answerer.answer(text)
    lines = answer.text.splitlines()
    assert intro in lines[0] and first in lines[1] and not answer.requires_human, answer.text
    prices = [int(re.sub(r"\D", "", line.rsplit("-", 1)[1])) for line in lines[1:]]
    assert prices == sorted(prices)


@pytest.mark.parametrize("text", ["ပဲနို့ နဲ့ လုပ်ပေးလို့ရလား", "အုတ်နို့ ရလား", "do you have almond milk for the latte",
                                  "oat milk in my cappuccino?"])
def test_a_milk_alternative_is_the_milk_answer_not_the_drink(answerer: OfflineAnswerer, text: str) -> None:
    """ပဲနို့ (soy milk) was cut into ပဲ, a stopword, and နို့: the question went to လုပ် (work), the laptop
    answer; an almond milk we do not stock lost to the latte it was for."""
    answer = answerer.answer(text)
    assert answer.sources[0].id == "faq:14" and not answer.requires_human


def test_open_until_a_time_on_a_night_is_the_hours(answerer: OfflineAnswerer) -> None:
    """"Friday night" names the acoustic night too; "open until 10" asks for the hours."""
    answer = answerer.answer("are you open until 10 on friday night")
    assert answer.sources[0].id == "hours:opening" and "22:00" in answer.text
    assert answerer.answer("is there anything on friday night").sources[0].id == "event:1"


def test_allergy_about_a_known_dish_gives_facts_and_a_person(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("I'm allergic to peanuts, are the Shan noodles safe?")
    assert answer.requires_human and answer.escalation_reason == "allergy"
    assert answer.sources[0].id == "menu:19" and "peanuts" in answer.text


def test_payment_question_is_not_a_payment_problem(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("Do you accept Visa cards?")
    assert answer.intent == "payment" and not answer.requires_human and answer.sources[0].id == "faq:2"


@pytest.mark.parametrize("text", ["What is the capital of France?", "Can you help me with my math homework?",
                                  "ဘောလုံးပွဲ ဘယ်သူနိုင်လဲ", "မနက်ဖြန် မိုးရွာမလား",
                                  "do you have ice cream?"])  # not on the menu: was the mocha (whipped cream)
def test_off_topic_is_low_confidence_and_handed_over(answerer: OfflineAnswerer, text: str) -> None:
    answer = answerer.answer(text)
    assert answer.confidence < 0.35
    assert answer.intent == "off_topic" and answer.requires_human and answer.escalation_reason == "low_confidence"


@pytest.mark.parametrize(("question", "source"), [
    ("is there somewhere to leave my car", "faq:4"),
    ("my mother uses a wheelchair, can she get in?", "faq:15"),
    ("is it fine to bring a toddler", "faq:12"),
])
def test_everyday_words_the_knowledge_never_uses_do_not_make_a_question_off_topic(
        answerer: OfflineAnswerer, question: str, source: str) -> None:
    answer = answerer.answer(question)
    assert answer.sources[0].id == source and not answer.requires_human, answer


def test_a_mixed_question_is_not_outweighed_by_its_burmese_syllables(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("Do you have oat milk? ကော်ဖီ")
    assert answer.sources[0].id == "faq:14"  # not a milk coffee from the menu


def test_threshold_is_configurable(kb: KnowledgeBase) -> None:
    strict = OfflineAnswerer(kb, threshold=1.01)
    assert strict.answer("Do you have wifi?").escalation_reason == "low_confidence"


def test_zawgyi_input_is_understood(answerer: OfflineAnswerer) -> None:
    answer = answerer.answer("ေကာ္ဖီ ဘယ္ေလာက္လဲ")  # "how much is coffee" typed in Zawgyi
    assert answer.language == "my" and answer.intent == "menu" and "ကော်ဖီ" in answer.text
    hours = answerer.answer("ဆိုင္ ဘယ္အခ်ိန္ ဖြင့္လဲ")
    assert hours.sources[0].id == "hours:opening"


def test_follow_up_uses_the_latest_turns_only(kb: KnowledgeBase) -> None:
    answerer = OfflineAnswerer(kb, history_turns=2)
    history = [Turn("user", "Do you have wifi?"), Turn("bot", "Yes..."),
               Turn("user", "How much are the Shan noodles?"), Turn("bot", "4,500 MMK")]
    follow_up = answerer.answer("and is it spicy?", history)
    assert follow_up.sources[0].id == "menu:19"
    # The oldest turn (wifi) is outside the window: it must not steer the answer.
    assert answerer.recent(history) == history[-2:]
    assert OfflineAnswerer(kb, history_turns=0).recent(history) == []


@pytest.mark.parametrize("text", [
    "'; DROP TABLE messages; --", "<script>alert(1)</script>", "\x00\x00\x00", "😀" * 50, "ဿ" * 300,
    "{{7*7}} ${jndi:ldap://x}", "a" * 4000, "မ\u200bင်္ဂ\u200bလာ\u200bပါ",
])
def test_hostile_input_gets_an_answer(answerer: OfflineAnswerer, text: str) -> None:
    answer = answerer.answer(text)
    assert answer.text and 0.0 <= answer.confidence <= 1.0 and answer.language in ("en", "my", "mixed")
