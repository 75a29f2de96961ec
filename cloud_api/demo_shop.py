"""The demo shop `make run` and the tests seed: everyday Pakistani groceries at 18% GST, a few sold loose."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from .catalog import put_cashier, put_product, put_settings
from .contract import CashierIn, ProductIn, ShopSettings

# (sku, name, price in paisa, barcode, category). Printed retail prices, GST inside. A loose
# product (LOOSE) is priced per kg or litre; its name must not contain another product's, since
# browser tests find a product's tile by (part of) its name.
PRODUCTS = [
    ("TAPAL-190", "Tapal Danedar 190g", 55000, "8961008210019", "Tea"),
    ("LIPTON-95", "Lipton Yellow Label 95g", 36000, "8964000110112", "Tea"),
    ("OLPERS-1L", "Olper's Milk 1L", 33000, "8961014010016", "Dairy"),
    ("NESTLE-NIDO-390", "Nestle Nido 390g", 125000, "8961014021012", "Dairy"),
    ("DALDA-1L", "Dalda Cooking Oil 1L", 56500, "8961006110014", "Cooking"),
    ("SHAN-BIRYANI", "Shan Biryani Masala 50g", 16000, "8964000250016", "Spices"),
    ("NATIONAL-SALT", "National Iodised Salt 800g", 9000, "8964000320016", "Spices"),
    ("SUPER-BISCUIT", "Peek Freans Sooper 8 pack", 18000, "8964000910019", "Snacks"),
    ("LAYS-MASALA", "Lay's French Cheese 50g", 10000, "8964000010018", "Snacks"),
    ("COKE-1500", "Coca-Cola 1.5L", 21000, "8964000710015", "Drinks"),
    ("NESTLE-WATER-1500", "Nestle Pure Life 1.5L", 10000, "8964000720014", "Drinks"),
    ("LUX-SOAP", "Lux Soap 130g", 17000, "8964000610018", "Household"),
    ("SUGAR-LOOSE", "Sugar (loose, per kg)", 16000, None, "Loose"),
    ("DAAL-MASOOR-LOOSE", "Masoor Daal (loose, per kg)", 34000, None, "Loose"),
    ("OIL-LOOSE", "Khula Oil (loose, per litre)", 52000, None, "Loose"),
]
# Sold by weight (kg: quantities in grams) or volume (l: millilitres).
LOOSE = {"SUGAR-LOOSE": "kg", "DAAL-MASOOR-LOOSE": "kg", "OIL-LOOSE": "l"}
NAMES_UR = {
    "TAPAL-190": "تپال دانےدار ۱۹۰ گرام",
    "LIPTON-95": "لپٹن ییلو لیبل ۹۵ گرام",
    "OLPERS-1L": "اولپرز دودھ ۱ لیٹر",
    "NESTLE-NIDO-390": "نیسلے نیڈو ۳۹۰ گرام",
    "DALDA-1L": "ڈالڈا کوکنگ آئل ۱ لیٹر",
    "SHAN-BIRYANI": "شان بریانی مسالہ ۵۰ گرام",
    "NATIONAL-SALT": "نیشنل آیوڈین نمک ۸۰۰ گرام",
    "SUPER-BISCUIT": "پیک فریینز سوپر ۸ پیک",
    "LAYS-MASALA": "لیز فرنچ چیز ۵۰ گرام",
    "COKE-1500": "کوکا کولا ۱.۵ لیٹر",
    "NESTLE-WATER-1500": "نیسلے پیور لائف ۱.۵ لیٹر",
    "LUX-SOAP": "لکس صابن ۱۳۰ گرام",
    "SUGAR-LOOSE": "چینی (کھلی، فی کلو)",
    "DAAL-MASOOR-LOOSE": "دال مسور (کھلی، فی کلو)",
    "OIL-LOOSE": "کھلا تیل (فی لیٹر)",
}
# Marked "low" on the till at or below this: pieces, or grams / ml for loose goods.
LOW_STOCK_AT = {"SUGAR-LOOSE": 5000, "DAAL-MASOOR-LOOSE": 3000, "OIL-LOOSE": 5000}
DEFAULT_LOW_STOCK_AT = 5
# On the shelves when `make run` first opens the demo shop (gateway/demo.py), so its first sale shows
# "23 left", not "-1 left": pieces, or grams / ml for loose goods. A few sit near their low mark, so a
# sale or two shows *Low*. Not part of seed_demo_catalog: the tests count stock from nothing.
OPENING_STOCK = {
    "TAPAL-190": 24, "LIPTON-95": 18, "OLPERS-1L": 36, "NESTLE-NIDO-390": 12, "DALDA-1L": 20,
    "SHAN-BIRYANI": 30, "NATIONAL-SALT": 25, "SUPER-BISCUIT": 40, "LAYS-MASALA": 48, "COKE-1500": 24,
    "NESTLE-WATER-1500": 36, "LUX-SOAP": 7,
    "SUGAR-LOOSE": 50_000, "DAAL-MASOOR-LOOSE": 25_000, "OIL-LOOSE": 6_000,
}
GST_BP = 1800
CASHIER_ID, CASHIER_NAME, CASHIER_PIN = "c1", "Ayesha", "135790"
CASHIER_MAX_DISCOUNT_BP = 1000    # 10%
SETTINGS = ShopSettings(address="Shop 12, Main Market, Gulberg III, Lahore", phone="042-35712345",
                        ntn="1234567-8", strn="3277876123456", receipt_footer="Thank you for shopping! شکریہ")


async def seed_demo_catalog(conn: AsyncConnection, shop_id: str) -> dict[str, str]:
    """Put the demo products, the receipt settings and one cashier; return the cashier's id and PIN."""
    for sku, name, price, barcode, category in PRODUCTS:
        await put_product(conn, shop_id, sku, ProductIn(
            name=name, price=price, gst_bp=GST_BP, barcode=barcode, category=category, unit=LOOSE.get(sku, "each"),
            name_ur=NAMES_UR[sku], low_stock_at=LOW_STOCK_AT.get(sku, DEFAULT_LOW_STOCK_AT)))
    await put_settings(conn, shop_id, SETTINGS)
    await put_cashier(conn, shop_id, CASHIER_ID, CashierIn(name=CASHIER_NAME, pin=CASHIER_PIN,
                                                           max_discount_bp=CASHIER_MAX_DISCOUNT_BP, can_refund=True))
    return {"cashier_id": CASHIER_ID, "cashier_name": CASHIER_NAME, "cashier_pin": CASHIER_PIN}
