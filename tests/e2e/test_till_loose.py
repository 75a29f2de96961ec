"""Loose goods (issue 7, item 5): a product sold by the kg, rung up by weight and by the rupees asked for."""
from __future__ import annotations

from cloud_api.contract import line_tax, loose_amount, loose_qty_for_amount

from .selling_steps import CHAWAL, add_loose, journal_sales, put_loose_product, total_text

pytestmark = __import__("pytest").mark.e2e


def test_a_loose_item_by_weight_and_by_rupee_amount(rig, tablets):
    put_loose_product(rig)
    tablet = tablets().open_and_pair()
    page = tablet.page
    name = CHAWAL["name"]
    tablet.expect(page.get_by_role("button", name=name, exact=True)).to_contain_text("Rs 140/kg")

    add_loose(tablet, name, "250 g")
    lines = page.get_by_role("list", name="Cart")
    tablet.expect(lines).to_contain_text("250 g × Rs 140/kg")
    # "Rs 50 of rice": the till works out the grams.
    page.get_by_role("button", name=name, exact=True).click()
    page.get_by_role("textbox", name="Weight or amount").fill("Rs 50")
    tablet.expect(page.get_by_text("Rs 50 = 357 g")).to_be_visible()
    page.get_by_role("button", name="Add", exact=True).click()
    tablet.expect(lines).to_contain_text("357 g × Rs 140/kg")
    add_loose(tablet, name, "1.5 kg")
    tablet.expect(lines).to_contain_text("1.5 kg × Rs 140/kg")
    # Something that is neither a weight nor an amount adds nothing.
    page.get_by_role("button", name=name, exact=True).click()
    page.get_by_role("textbox", name="Weight or amount").fill("2 l")
    page.get_by_role("button", name="Add", exact=True).click()
    tablet.expect(page.get_by_text("Type the weight (250 g, 1.5 kg) or the rupees asked for (Rs 50).")).to_be_visible()
    page.get_by_role("button", name="Cancel", exact=True).click()

    by_weight, by_amount, big = loose_amount(250, 14000), 5000, loose_amount(1500, 14000)
    total = by_weight + by_amount + big
    assert total_text(tablet) == f"Total Rs {total // 100:,}"
    # Switching language draws the screen again: the weight typed last, left in the closed panel, was
    # put back into a panel with no product and threw a TypeError at every switch.
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.get_by_role("button", name="اردو", exact=True).click()
    tablet.expect(page.get_by_role("button", name="English", exact=True)).to_be_visible()
    page.get_by_role("button", name="English", exact=True).click()
    tablet.expect(page.get_by_role("button", name="Pay", exact=True)).to_be_visible()
    assert total_text(tablet) == f"Total Rs {total // 100:,}"   # the cart kept across both
    assert errors == []
    tablet.sell([], cash_rs=500)

    [sale] = journal_sales(tablet)
    assert [(l["qty"], l["unit"], l["priced_by"], l["amount"]) for l in sale["lines"]] == [
        (250, "kg", "weight", by_weight),
        (loose_qty_for_amount(5000, 14000), "kg", "amount", by_amount),
        (1500, "kg", "weight", big)]
    assert all(l["unit_price"] == 14000 and l["tax"] == line_tax(l["amount"], 1800) for l in sale["lines"])
    tablet.wait_status(r"^Online · 0 unsynced$")
    [stored] = rig.cloud_documents()
    assert stored["lines"] == sale["lines"] and stored["total"] == total
