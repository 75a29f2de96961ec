"""Steps for the selling and paying screens, driven by role and accessible name (DESIGN.md section 4)."""
from __future__ import annotations

from typing import Any

from cloud_api.demo_shop import CASHIER_ID, CASHIER_NAME, CASHIER_PIN

# A loose product of the tests' own (the demo shop's may change): Rs 140 a kg, 18% GST inside.
CHAWAL = {"sku": "CHAWAL-LOOSE", "name": "Basmati Chawal (loose)", "price": 14000, "gst_bp": 1800,
          "unit": "kg", "category": "Loose"}


def put_loose_product(rig: Any) -> None:
    body = {k: v for k, v in CHAWAL.items() if k != "sku"}
    rig.owner_put(f"products/{CHAWAL['sku']}", body)


def set_discount_limit(rig: Any, bp: int) -> None:
    """The demo cashier's largest discount, in basis points of the price."""
    rig.owner_put(f"cashiers/{CASHIER_ID}", {"name": CASHIER_NAME, "pin": CASHIER_PIN, "max_discount_bp": bp})


def qty_of(tablet: Any, name: str) -> Any:
    """The quantity button of a cart line (its text is the quantity)."""
    return tablet.page.get_by_role("button", name=f"Quantity of {name}", exact=True)


def give_discount(tablet: Any, target: str, typed: str) -> None:
    """Open Discount, choose the whole cart or a line, type "10%" or "50", Apply."""
    page = tablet.page
    page.get_by_role("button", name="Discount", exact=True).click()
    page.get_by_role("combobox", name="Apply to").select_option(label=target)
    page.get_by_role("textbox", name="Discount", exact=True).fill(typed)
    page.get_by_role("button", name="Apply", exact=True).click()


def add_loose(tablet: Any, name: str, typed: str) -> None:
    page = tablet.page
    page.get_by_role("button", name=name, exact=True).click()
    page.get_by_role("textbox", name="Weight or amount").fill(typed)
    page.get_by_role("button", name="Add", exact=True).click()


def total_text(tablet: Any) -> str:
    return tablet.page.locator(".paybar .total").inner_text()


def journal_sales(tablet: Any) -> list[dict[str, Any]]:
    rows = sorted(tablet.journal(), key=lambda row: row["seq"])
    return [row["document"] for row in rows if row["document"]["kind"] == "sale"]


def as_sent(tablet: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The document with its hash, exactly as the till's sync sends it."""
    return tablet.page.evaluate("""async (doc) => (await import("/canonical.js")).withHash(doc)""", document)
