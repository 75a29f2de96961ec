"""The demo shop `make run` and the tests seed: everyday Pakistani groceries at 18% GST."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from .catalog import put_cashier, put_product
from .contract import CashierIn, ProductIn

# (sku, name, price in paisa, barcode, category). Printed retail prices, GST inside.
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
]
GST_BP = 1800
CASHIER_ID, CASHIER_NAME, CASHIER_PIN = "c1", "Ayesha", "135790"


async def seed_demo_catalog(conn: AsyncConnection, shop_id: str) -> dict[str, str]:
    """Put the demo products and one cashier; return the cashier's id and PIN."""
    for sku, name, price, barcode, category in PRODUCTS:
        await put_product(conn, shop_id, sku, ProductIn(name=name, price=price, gst_bp=GST_BP,
                                                        barcode=barcode, category=category))
    await put_cashier(conn, shop_id, CASHIER_ID, CashierIn(name=CASHIER_NAME, pin=CASHIER_PIN))
    return {"cashier_id": CASHIER_ID, "cashier_name": CASHIER_NAME, "cashier_pin": CASHIER_PIN}
