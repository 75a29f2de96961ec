"""Discounts (issue 7, item 3): per line and per cart, amount or percent, within the cashier's limit;
GST on the discounted amount; the cart's discount shared across lines to the paisa."""
from __future__ import annotations

from cloud_api.contract import line_tax, percent_of

from .selling_steps import give_discount, set_discount_limit, total_text

pytestmark = __import__("pytest").mark.e2e


def test_a_discount_beyond_the_limit_is_refused_and_one_within_it_lands_with_the_right_gst(rig, tablets):
    set_discount_limit(rig, 1000)   # 10% of the price
    tablet = tablets().open_and_pair()
    page = tablet.page
    for name in ("Tapal Danedar 190g", "Tapal Danedar 190g", "Coca-Cola 1.5L"):
        page.get_by_role("button", name=name, exact=True).click()
    assert total_text(tablet) == "Total Rs 1,310"

    page.get_by_role("button", name="Discount", exact=True).click()
    tablet.expect(page.get_by_text("Your limit: 10% of the price.")).to_be_visible()
    page.get_by_role("button", name="Cancel", exact=True).click()

    # 15% of the whole cart, then Rs 25 off one Coca-Cola (Rs 210: 10% is Rs 21): both refused.
    give_discount(tablet, "Whole cart", "15%")
    tablet.expect(page.get_by_role("alert")).to_have_text("That is more than your discount limit of 10% of the price.")
    page.get_by_role("button", name="Cancel", exact=True).click()
    give_discount(tablet, "Coca-Cola 1.5L", "25")
    tablet.expect(page.get_by_role("alert")).to_have_text("That is more than your discount limit of 10% of the price.")
    page.get_by_role("button", name="Cancel", exact=True).click()
    assert total_text(tablet) == "Total Rs 1,310"

    # Within it: Rs 20 off the Coca-Cola, then 5% off the cart (on what the lines cost after theirs).
    give_discount(tablet, "Coca-Cola 1.5L", "20")
    give_discount(tablet, "Whole cart", "5%")
    cart_discount = percent_of(131000 - 2000, 500)    # Rs 64.50
    total = 131000 - 2000 - cart_discount
    tablet.expect(page.locator(".paybar .total")).to_have_text(f"Total Rs {total // 100:,}.{total % 100:02d}")
    tablet.screenshot("discount")
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Exact", exact=True).click()
    page.get_by_role("button", name="Complete sale").click()
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000001")
    tablet.wait_status(r"^Online · 0 unsynced$")

    [sale] = rig.cloud_documents()
    tapal, coke = sale["lines"]
    # The cart's Rs 64.50 is shared pro rata on 1,100 and 190: 54.69... and 9.50..., largest remainder.
    assert tapal["cart_discount"] + coke["cart_discount"] == cart_discount
    assert (tapal.get("discount", 0), coke["discount"]) == (0, 2000)
    assert tapal["amount"] == 110000 - tapal["cart_discount"]
    assert coke["amount"] == 21000 - 2000 - coke["cart_discount"]
    for line in (tapal, coke):
        assert line["tax"] == line_tax(line["amount"], 1800)   # GST inside the discounted amount
    assert (sale["total"], sale["discount"], sale["cart_discount_bp"]) == (total, 2000 + cart_discount, 500)
    assert sale["tax"] == tapal["tax"] + coke["tax"] < line_tax(110000, 1800) + line_tax(21000, 1800)
    assert sale["payments"] == [{"tender": "cash", "amount": total}] and sale["change"] == 0


def test_a_cashier_with_no_discount_allowed_is_told_so_in_words(rig, tablets):
    set_discount_limit(rig, 0)
    tablet = tablets().open_and_pair()
    page = tablet.page
    page.get_by_role("button", name="Coca-Cola 1.5L", exact=True).click()
    give_discount(tablet, "Whole cart", "1")
    tablet.expect(page.get_by_role("alert")).to_have_text(
        "You may not give discounts: your limit is none. Ask the owner.")
    assert total_text(tablet) == "Total Rs 210"
