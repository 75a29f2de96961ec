"""The back office in English and Urdu: every phrase a page shows goes through t() (see web.py).

Each area keeps its phrases in its own module (words_*.py); a test checks that every phrase the
templates and pages use has an Urdu entry and that no entry is unused.
"""
from __future__ import annotations

from typing import Any

from .words_catalog import URDU as _CATALOG
from .words_fiscal import URDU as _FISCAL
from .words_khata import URDU as _KHATA
from .words_stock import URDU as _STOCK
from .words_today import URDU as _TODAY

LANGUAGES = ("en", "ur")

_COMMON = {
    "POS Line back office": "پی او ایس لائن بیک آفس",
    "Sign in": "سائن اِن",
    "Sign out": "سائن آؤٹ",
    "Phone number or email": "فون نمبر یا ای میل",
    "Password": "پاس ورڈ",
    "All shops": "تمام دکانیں",
    "Today": "آج",
    "Sales": "سیلز",
    "Reports": "رپورٹس",
    "Products": "اشیاء",
    "Cashiers": "کیشیئر",
    "Stock": "اسٹاک",
    "Devices": "آلات",
    "Settings": "ترتیبات",
    "Save": "محفوظ کریں",
    "Cancel": "منسوخ",
    "Something went wrong": "کچھ غلط ہو گیا",
    "Back to the back office": "بیک آفس پر واپس",
    "Choose again": "دوبارہ منتخب کریں",
    "wrong phone number, email or password": "فون نمبر، ای میل یا پاس ورڈ غلط ہے",
    "this shop is not one of yours": "یہ دکان آپ کی نہیں ہے",
    "You hold no shop yet.": "ابھی آپ کی کوئی دکان نہیں ہے۔",
    "Menu": "مینو",
    "this form is out of date or came from another site: open the page again":
        "یہ فارم پرانا ہے یا کسی دوسری سائٹ سے آیا ہے: صفحہ دوبارہ کھولیں",
    "too many wrong passwords: try again in {s} s": "بہت زیادہ غلط پاس ورڈ: {s} سیکنڈ بعد دوبارہ کوشش کریں",
    "the form or address holds a character that is not allowed: open the page again":
        "فارم یا پتے میں ایسا حرف ہے جس کی اجازت نہیں: صفحہ دوبارہ کھولیں",
    "a value in the form or address is too long": "فارم یا پتے میں کوئی اندراج بہت لمبا ہے",
    "there is no such page in the back office": "بیک آفس میں ایسا کوئی صفحہ نہیں ہے",
    "this page cannot be used that way: open it from the back office":
        "یہ صفحہ اس طرح استعمال نہیں ہو سکتا: اسے بیک آفس سے کھولیں",
    "what was sent is too large": "بھیجا گیا مواد بہت بڑا ہے",
    "the back office could not do that": "بیک آفس یہ نہیں کر سکا",
    "the back office failed to show this page: try again later":
        "بیک آفس یہ صفحہ نہیں دکھا سکا: تھوڑی دیر بعد دوبارہ کوشش کریں",
    "choose a date between the years 2000 and 2999": "سال 2000 سے 2999 کے درمیان کی تاریخ چنیں",
}

URDU: dict[str, str] = {**_COMMON, **_TODAY, **_CATALOG, **_STOCK, **_FISCAL, **_KHATA}


def translate(phrase: str, lang: str, **values: Any) -> str:
    """The phrase in `lang` (English as written), with {names} filled in from `values`."""
    text = URDU.get(phrase, phrase) if lang == "ur" else phrase
    return text.format(**values) if values else text
