"""Fixed bilingual wording: greetings, hand-over notices, labels for composed answers."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello! Welcome to Pentagon Cafe. Ask me about our menu, opening hours, events, promotions or jobs.",
        "thanks": "You're welcome! Is there anything else I can help you with?",
        "goodbye": "Thank you for chatting with Pentagon Cafe! See you soon.",
        "go_on": "Sure! What would you like to know? Ask me about our menu, opening hours, events, promotions or jobs.",
        "human_request": "Sure. I've asked a member of our staff to join this chat; they will reply here shortly.",
        "complaint": "I'm sorry about your experience. I've passed this to our team and a staff member will follow "
                     "up with you here shortly.",
        "allergy": "Your safety matters to us, so a staff member will confirm the ingredients with you here shortly.",
        "medical": "I'm sorry to hear that. A staff member will follow up with you here shortly. If it is urgent, "
                   "please call 09 420 123 456.",
        "payment_problem": "Sorry about the trouble with your payment. A staff member will check it and follow up "
                           "with you here shortly.",
        "low_confidence": "Sorry, I'm not sure I can answer that. A staff member will follow up with you here "
                          "shortly.",
        "follow_up": "A staff member will follow up with you here shortly.",
        # The same hand-overs while the cafe is closed: a person answers when it opens, not "shortly".
        "human_request_closed": "Sure. I've let our staff know. We're closed right now, so they will reply here "
                                "when we open {when}.",
        "complaint_closed": "I'm sorry about your experience. I've passed this to our team. We're closed right now, "
                            "so a staff member will follow up with you here when we open {when}.",
        "allergy_closed": "Your safety matters to us. We're closed right now, so a staff member will confirm the "
                          "ingredients with you here when we open {when}.",
        "medical_closed": "I'm sorry to hear that. We're closed right now, so a staff member will follow up with you "
                          "here when we open {when}. If it is urgent, please call 09 420 123 456.",
        "payment_problem_closed": "Sorry about the trouble with your payment. We're closed right now, so a staff "
                                  "member will check it and follow up with you here when we open {when}.",
        "low_confidence_closed": "Sorry, I'm not sure I can answer that. We're closed right now, so a staff member "
                                 "will follow up with you here when we open {when}.",
        "reservation": "Thank you! I've passed your booking request to our staff, who will confirm your table here "
                       "shortly.",
        "reservation_closed": "Thank you! I've passed your booking request to our staff. We're closed right now, so "
                              "they will confirm your table here when we open {when}.",
        "reopen_today": "today at {time}",
        "reopen_tomorrow": "tomorrow at {time}",
        "reopen_weekday": "on {day} at {time}",
        "allergens": "Allergens: {items}.",
        "no_allergens": "No common allergens.",
        "price": "{name}: {price} MMK.",
        "sold_out": "Sorry, {name} is sold out for now. Ask me for the menu to see what else we have today.",
        "sold_out_mark": "sold out",
        "today_open": "Today ({day}) we are open from {open} to {close}.",
        "today_closed": "We are closed today ({day}).",
        "day_open": "On {day} we are open from {open} to {close}.",
        "day_closed": "We are closed on {day}.",
        "tomorrow_open": "Tomorrow ({day}) we are open from {open} to {close}.",
        "tomorrow_closed": "We are closed tomorrow ({day}).",
        "closed_now": "We are closed now; we open again {when}.",
        "reopens": "We open again {when}.",
        "week": "Opening hours: {hours}.",
        "closed": "closed",
        "salary": "Salary: {salary}.",
        "max_party": "Tables seat up to {n} people.",
        "menu_intro": "Here is our menu (prices in MMK):",
        "category_intro": "Our {category} (prices in MMK):",
        "category_cheapest_intro": "Our {category}, cheapest first (prices in MMK):",
        "event_list_intro": "What's on at Pentagon Cafe:",
        "promotion_list_intro": "Our promotions:",
        "job_list_intro": "We are hiring:",
        "ask_about_one": "Ask me about any of them for the details.",
        "menu_cheapest_intro": "Our menu, cheapest first (prices in MMK):",
        "diet_intro": "Our {diet} choices (prices in MMK):",
        "diet_category_intro": "Our {diet} {category} (prices in MMK):",
        "diet_missing": "We have no {diet} {category} at the moment.",
        "diets": "Suitable for {items} diets.",
        "spice_0": "Not spicy.",
        "spice_1": "Mildly spicy.",
        "spice_2": "Spicy.",
        "spice_3": "Very spicy.",
        "ready_in": "Ready in about {minutes} minutes.",
        "which_dish": "Which dish or drink do you mean? Ours are ready in {low} to {high} minutes: tell me its name "
                      "and I'll tell you how long it takes.",
        "allergen_none": "None of our {category} is made with {allergens}.",
        "allergen_missing": "Everything on our menu is made with {allergens}.",
        "allergen_missing_category": "All our {category} are made with {allergens}.",
        "allergen_with": "Made with {allergens}: {items}. Everything else on our menu is made without.",
        "allergen_with_category": "Our {category} made with {allergens}: {items}. The others are made without.",
        "allergen_without": "Made without {allergens} (prices in MMK):",
        "allergen_without_category": "Our {category} made without {allergens} (prices in MMK):",
    },
    "my": {
        "greeting": "မင်္ဂလာပါ။ Pentagon Cafe မှ ကြိုဆိုပါတယ်။ မီနူး၊ ဖွင့်ချိန်၊ ပွဲတွေ၊ ပရိုမိုးရှင်းတွေ ဒါမှမဟုတ် "
                    "အလုပ်အကိုင်တွေအကြောင်း မေးနိုင်ပါတယ်။",
        "thanks": "ရပါတယ်ခင်ဗျာ။ တခြား ကူညီပေးစရာ ရှိသေးလား။",
        "goodbye": "Pentagon Cafe ကို ဆက်သွယ်ပေးတဲ့အတွက် ကျေးဇူးတင်ပါတယ်။ နောက်မှ ပြန်တွေ့ကြမယ်နော်။",
        "go_on": "ဟုတ်ကဲ့။ ဘာများ သိချင်ပါသလဲ။ မီနူး၊ ဖွင့်ချိန်၊ ပွဲတွေ၊ ပရိုမိုးရှင်းတွေ ဒါမှမဟုတ် "
                 "အလုပ်အကိုင်တွေအကြောင်း မေးနိုင်ပါတယ်။",
        "human_request": "ဟုတ်ကဲ့။ ဝန်ထမ်းတစ်ဦးကို အကြောင်းကြားထားပါတယ်။ မကြာခင် ဒီမှာ ပြန်ဖြေပေးပါလိမ့်မယ်။",
        "complaint": "အဆင်မပြေမှုအတွက် တောင်းပန်ပါတယ်။ ကျွန်တော်တို့ အဖွဲ့ကို အကြောင်းကြားထားပြီး ဝန်ထမ်းတစ်ဦးက "
                     "မကြာခင် ဒီမှာ ပြန်လည် ဆက်သွယ်ပေးပါလိမ့်မယ်။",
        "allergy": "လူကြီးမင်းရဲ့ ဘေးကင်းရေးအတွက် ဝန်ထမ်းတစ်ဦးက ပါဝင်ပစ္စည်းတွေကို မကြာခင် ဒီမှာ အတည်ပြုပေးပါလိမ့်မယ်။",
        "medical": "ကြားရတာ စိတ်မကောင်းပါဘူး။ ဝန်ထမ်းတစ်ဦးက မကြာခင် ဒီမှာ ပြန်လည် ဆက်သွယ်ပေးပါလိမ့်မယ်။ "
                   "အရေးပေါ်ဆိုရင် ၀၉ ၄၂၀ ၁၂၃ ၄၅၆ ကို ဖုန်းဆက်ပါ။",
        "payment_problem": "ငွေပေးချေမှု အဆင်မပြေတာအတွက် တောင်းပန်ပါတယ်။ ဝန်ထမ်းတစ်ဦးက စစ်ဆေးပြီး မကြာခင် ဒီမှာ "
                           "ပြန်လည် ဆက်သွယ်ပေးပါလိမ့်မယ်။",
        "low_confidence": "တောင်းပန်ပါတယ်၊ အဲဒီအကြောင်း သေချာ မဖြေနိုင်ပါဘူး။ ဝန်ထမ်းတစ်ဦးက မကြာခင် ဒီမှာ ပြန်လည် "
                          "ဆက်သွယ်ပေးပါလိမ့်မယ်။",
        "follow_up": "ဝန်ထမ်းတစ်ဦးက မကြာခင် ဒီမှာ ပြန်လည် ဆက်သွယ်ပေးပါလိမ့်မယ်။",
        "human_request_closed": "ဟုတ်ကဲ့။ ဝန်ထမ်းကို အကြောင်းကြားထားပါတယ်။ အခု ဆိုင်ပိတ်ထားလို့ {when} "
                                "ဆိုင်ပြန်ဖွင့်တဲ့အခါ ဒီမှာ ပြန်ဖြေပေးပါလိမ့်မယ်။",
        "complaint_closed": "အဆင်မပြေမှုအတွက် တောင်းပန်ပါတယ်။ ကျွန်တော်တို့ အဖွဲ့ကို အကြောင်းကြားထားပါတယ်။ အခု "
                            "ဆိုင်ပိတ်ထားလို့ {when} ဆိုင်ပြန်ဖွင့်တဲ့အခါ ဝန်ထမ်းတစ်ဦးက ဒီမှာ ပြန်လည် "
                            "ဆက်သွယ်ပေးပါလိမ့်မယ်။",
        "allergy_closed": "လူကြီးမင်းရဲ့ ဘေးကင်းရေးအတွက် ဝန်ထမ်းတစ်ဦးက ပါဝင်ပစ္စည်းတွေကို အတည်ပြုပေးပါလိမ့်မယ်။ "
                          "အခု ဆိုင်ပိတ်ထားလို့ {when} ဆိုင်ပြန်ဖွင့်တဲ့အခါ ဒီမှာ ပြန်ဖြေပေးပါလိမ့်မယ်။",
        "medical_closed": "ကြားရတာ စိတ်မကောင်းပါဘူး။ အခု ဆိုင်ပိတ်ထားလို့ {when} ဆိုင်ပြန်ဖွင့်တဲ့အခါ "
                          "ဝန်ထမ်းတစ်ဦးက ဒီမှာ ပြန်လည် ဆက်သွယ်ပေးပါလိမ့်မယ်။ "
                          "အရေးပေါ်ဆိုရင် ၀၉ ၄၂၀ ၁၂၃ ၄၅၆ ကို ဖုန်းဆက်ပါ။",
        "payment_problem_closed": "ငွေပေးချေမှု အဆင်မပြေတာအတွက် တောင်းပန်ပါတယ်။ အခု ဆိုင်ပိတ်ထားလို့ {when} "
                                  "ဆိုင်ပြန်ဖွင့်တဲ့အခါ ဝန်ထမ်းတစ်ဦးက စစ်ဆေးပြီး ဒီမှာ ပြန်လည် "
                                  "ဆက်သွယ်ပေးပါလိမ့်မယ်။",
        "low_confidence_closed": "တောင်းပန်ပါတယ်၊ အဲဒီအကြောင်း သေချာ မဖြေနိုင်ပါဘူး။ အခု ဆိုင်ပိတ်ထားလို့ {when} "
                                 "ဆိုင်ပြန်ဖွင့်တဲ့အခါ ဝန်ထမ်းတစ်ဦးက ဒီမှာ ပြန်လည် ဆက်သွယ်ပေးပါလိမ့်မယ်။",
        "reservation": "ကျေးဇူးတင်ပါတယ်။ စားပွဲ ကြိုတင်မှာတာကို ဝန်ထမ်းတွေဆီ ပို့ပေးထားပါတယ်။ မကြာခင် ဒီမှာ "
                       "အတည်ပြုပေးပါလိမ့်မယ်။",
        "reservation_closed": "ကျေးဇူးတင်ပါတယ်။ စားပွဲ ကြိုတင်မှာတာကို ဝန်ထမ်းတွေဆီ ပို့ပေးထားပါတယ်။ အခု "
                              "ဆိုင်ပိတ်ထားလို့ {when} ဆိုင်ပြန်ဖွင့်တဲ့အခါ ဒီမှာ အတည်ပြုပေးပါလိမ့်မယ်။",
        "reopen_today": "ဒီနေ့ {time}",
        "reopen_tomorrow": "မနက်ဖြန် {time}",
        "reopen_weekday": "{day} {time}",
        "allergens": "ဓာတ်မတည့်မှု ဖြစ်စေနိုင်တဲ့ ပါဝင်ပစ္စည်း - {items}။",
        "no_allergens": "အဓိက ဓာတ်မတည့်စေနိုင်တဲ့ ပစ္စည်း မပါပါ။",
        "price": "{name} - {price} ကျပ်။",
        "sold_out": "တောင်းပန်ပါတယ်၊ {name} ကတော့ ခုလောလောဆယ် ကုန်သွားပါပြီ။ ဒီနေ့ တခြား ဘာတွေ ရလဲ သိချင်ရင် မီနူးကို မေးကြည့်ပါ။",
        "sold_out_mark": "ကုန်နေပါတယ်",
        "today_open": "ဒီနေ့ ({day}) {open} ကနေ {close} အထိ ဖွင့်ပါတယ်။",
        "today_closed": "ဒီနေ့ ({day}) ဆိုင်ပိတ်ပါတယ်။",
        "day_open": "{day} {open} ကနေ {close} အထိ ဖွင့်ပါတယ်။",
        "day_closed": "{day} ဆိုင်ပိတ်ပါတယ်။",
        "tomorrow_open": "မနက်ဖြန် ({day}) {open} ကနေ {close} အထိ ဖွင့်ပါတယ်။",
        "tomorrow_closed": "မနက်ဖြန် ({day}) ဆိုင်ပိတ်ပါတယ်။",
        "closed_now": "အခု ဆိုင်ပိတ်ထားပါတယ်။ {when} ပြန်ဖွင့်ပါမယ်။",
        "reopens": "{when} ပြန်ဖွင့်ပါမယ်။",
        "week": "ဖွင့်ချိန် - {hours}။",
        "closed": "ပိတ်",
        "salary": "လစာ - {salary}။",
        "max_party": "စားပွဲတစ်ခုမှာ လူ {n} ယောက်အထိ ထိုင်နိုင်ပါတယ်။",
        "menu_intro": "ကျွန်တော်တို့ရဲ့ မီနူးပါ (ဈေးနှုန်း ကျပ်ဖြင့်) -",
        "category_intro": "{category} (ဈေးနှုန်း ကျပ်ဖြင့်) -",
        "category_cheapest_intro": "{category} (ဈေးအသက်သာဆုံးမှ စ၍၊ ဈေးနှုန်း ကျပ်ဖြင့်) -",
        "event_list_intro": "Pentagon Cafe ရဲ့ ပွဲတွေ -",
        "promotion_list_intro": "ပရိုမိုးရှင်းတွေ -",
        "job_list_intro": "အလုပ်ခေါ်နေတဲ့ ရာထူးတွေ -",
        "ask_about_one": "တစ်ခုချင်းစီရဲ့ အသေးစိတ်ကို မေးနိုင်ပါတယ်။",
        "menu_cheapest_intro": "ကျွန်တော်တို့ရဲ့ မီနူး (ဈေးအသက်သာဆုံးမှ စ၍၊ ဈေးနှုန်း ကျပ်ဖြင့်) -",
        "diet_intro": "{diet} ရွေးစရာများ (ဈေးနှုန်း ကျပ်ဖြင့်) -",
        "diet_category_intro": "{diet} {category} (ဈေးနှုန်း ကျပ်ဖြင့်) -",
        "diet_missing": "{diet} {category} လောလောဆယ် မရှိသေးပါဘူး။",
        "diets": "{items} စားသုံးသူများအတွက် သင့်တော်ပါတယ်။",
        "spice_0": "မစပ်ပါဘူး။",
        "spice_1": "နည်းနည်း စပ်ပါတယ်။",
        "spice_2": "စပ်ပါတယ်။",
        "spice_3": "အရမ်း စပ်ပါတယ်။",
        "ready_in": "မိနစ် {minutes} လောက်နဲ့ ရပါမယ်။",
        "which_dish": "ဘယ် အစားအစာ ဒါမှမဟုတ် အချိုရည်ကို မေးတာလဲ။ မိနစ် {low} ကနေ {high} အတွင်း ရပါတယ်။ "
                      "နာမည်ပြောရင် ဘယ်လောက်ကြာမလဲ ပြောပြပေးပါမယ်။",
        "allergen_none": "ကျွန်တော်တို့ {category} တွေမှာ {allergens} မပါပါဘူး။",
        "allergen_missing": "မီနူးထဲက အားလုံးမှာ {allergens} ပါပါတယ်။",
        "allergen_missing_category": "{category} အားလုံးမှာ {allergens} ပါပါတယ်။",
        "allergen_with": "{allergens} ပါတာ - {items}။ ကျန်တာတွေမှာ မပါပါဘူး။",
        "allergen_with_category": "{allergens} ပါတဲ့ {category} - {items}။ ကျန်တာတွေမှာ မပါပါဘူး။",
        "allergen_without": "{allergens} မပါတဲ့ ဟင်းလျာများ (ဈေးနှုန်း ကျပ်ဖြင့်) -",
        "allergen_without_category": "{allergens} မပါတဲ့ {category} (ဈေးနှုန်း ကျပ်ဖြင့်) -",
    },
}

QUICK_REPLIES = {
    "en": ["Menu", "Opening hours", "Talk to staff"],
    "my": ["မီနူး", "ဖွင့်ချိန်", "ဝန်ထမ်းနဲ့ ပြောမယ်"],
}
# Once a person is on the way, offering "talk to staff" again is noise.
QUICK_REPLIES_ESCALATED = {"en": ["Menu", "Opening hours"], "my": ["မီနူး", "ဖွင့်ချိန်"]}

WEEKDAY_NAMES = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "my": ["တနင်္လာနေ့", "အင်္ဂါနေ့", "ဗုဒ္ဓဟူးနေ့", "ကြာသပတေးနေ့", "သောကြာနေ့", "စနေနေ့", "တနင်္ဂနွေနေ့"],
}

MONTH_NAMES = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    # The English month names as Burmese writes them.
    "my": ["ဇန်နဝါရီ", "ဖေဖော်ဝါရီ", "မတ်", "ဧပြီ", "မေ", "ဇွန်", "ဇူလိုင်", "ဩဂုတ်", "စက်တင်ဘာ", "အောက်တိုဘာ",
           "နိုဝင်ဘာ", "ဒီဇင်ဘာ"],
}

ALLERGENS_MM = {"milk": "နို့", "gluten": "ဂလူတင် (ဂျုံ)", "egg": "ကြက်ဥ", "fish": "ငါး", "peanuts": "မြေပဲ",
                "tree nuts": "သစ်ကြားသီး စသည့် အခွံမာသီး", "soy": "ပဲပိစပ်", "sesame": "နှမ်း", "shellfish": "ပုစွန်၊ ခရု"}

CATEGORY_NAMES = {
    "en": {"coffee": "coffee", "tea": "tea", "drinks": "drinks", "food": "food", "dessert": "desserts"},
    "my": {"coffee": "ကော်ဖီ", "tea": "လက်ဖက်ရည်", "drinks": "အချိုရည်", "food": "အစားအစာ", "dessert": "အချိုပွဲ"},
}

DIET_NAMES = {
    "en": {"vegan": "vegan", "vegetarian": "vegetarian", "spicy": "spicy", "mild": "non-spicy"},
    "my": {"vegan": "ဗီဂန်", "vegetarian": "သက်သတ်လွတ်", "spicy": "စပ်တဲ့", "mild": "မစပ်တဲ့"},
}


def phrase(lang: str, key: str, **values: object) -> str:
    return PHRASES[lang][key].format(**values)
