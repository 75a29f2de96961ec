"""The back office in English and Urdu: every phrase a page shows goes through t() (see web.py).

Each area keeps its phrases in its own module (words_*.py); a test checks that every phrase the
templates and pages use has an Urdu entry and that no entry is unused.
"""
from __future__ import annotations

from typing import Any

from .words_catalog import URDU as _CATALOG
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
    "wrong phone number, email or password": "فون نمبر، ای میل یا پاس ورڈ غلط ہے",
    "this shop is not one of yours": "یہ دکان آپ کی نہیں ہے",
    "You hold no shop yet.": "ابھی آپ کی کوئی دکان نہیں ہے۔",
    "Menu": "مینو",
}

URDU: dict[str, str] = {**_COMMON, **_TODAY, **_CATALOG, **_STOCK}


def translate(phrase: str, lang: str, **values: Any) -> str:
    """The phrase in `lang` (English as written), with {names} filled in from `values`."""
    text = URDU.get(phrase, phrase) if lang == "ur" else phrase
    return text.format(**values) if values else text
