"""Cashier comfort (issue 7, item 8): price changes reach the open screen, the cart survives a reload and a
sign-out, park and recall, the phone layout keeps Pay on screen, touch targets of 44 px at least."""
from __future__ import annotations

from cloud_api.demo_shop import PRODUCTS

from .conftest import JOURNAL_META_JS, wait_js, wait_until
from .selling_steps import journal_sales, qty_of, total_text

pytestmark = __import__("pytest").mark.e2e
COKE = next({"name": name, "price": price, "gst_bp": 1800, "barcode": barcode, "category": category}
            for sku, name, price, barcode, category in PRODUCTS if sku == "COKE-1500")


def cart_kept(page, lines: int) -> None:
    """Until the open cart in the tablet's journal has `lines` lines (read from IndexedDB as the till keeps it)."""
    def kept() -> bool:
        cart = page.evaluate(JOURNAL_META_JS, "open_cart:c1")
        return bool(cart) and len(cart["lines"]) == lines
    wait_until(kept, 15, what=f"an open cart of {lines} lines kept")


def test_a_price_change_reaches_the_open_screen_and_never_charges_the_old_price_silently(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    tile = page.get_by_role("button", name="Coca-Cola 1.5L", exact=True)
    tile.click()
    assert total_text(tablet) == "Total Rs 210"
    rig.owner_put("products/COKE-1500", {**COKE, "price": 22000})

    tablet.expect(tile).to_contain_text("Rs 220", timeout=30000)        # the grid, at once
    changed = page.get_by_text("Prices changed since this was rung up")
    tablet.expect(changed).to_be_visible()                               # the cart says so
    assert total_text(tablet) == "Total Rs 210"                          # and keeps its price until told
    page.get_by_role("button", name="Pay").click()
    tablet.expect(changed).to_be_visible()                               # on the payment screen too
    page.get_by_role("button", name="Back to cart").click()
    page.get_by_role("button", name="Update prices").click()
    tablet.expect(changed).to_be_hidden()
    assert total_text(tablet) == "Total Rs 220"
    tile.click()                                                         # the new price from the grid
    tablet.expect(qty_of(tablet, "Coca-Cola 1.5L")).to_have_text("2")
    tablet.sell([], cash_rs=500)
    [sale] = journal_sales(tablet)
    assert [(l["qty"], l["unit_price"], l["amount"]) for l in sale["lines"]] == [(2, 22000, 44000)]


def test_the_cart_survives_a_reload_and_a_sign_out(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    for name in ("Tapal Danedar 190g", "Tapal Danedar 190g", "Lux Soap 130g"):
        page.get_by_role("button", name=name, exact=True).click()
    tablet.expect(qty_of(tablet, "Tapal Danedar 190g")).to_have_text("2")
    cart_kept(page, 2)
    page.reload()
    tablet.expect(qty_of(tablet, "Tapal Danedar 190g")).to_have_text("2")
    tablet.expect(qty_of(tablet, "Lux Soap 130g")).to_have_text("1")

    # Typed quantity: tap the quantity, type it.
    qty_of(tablet, "Lux Soap 130g").click()
    page.get_by_role("spinbutton", name="Quantity of Lux Soap 130g").fill("3")
    page.keyboard.press("Enter")
    tablet.expect(qty_of(tablet, "Lux Soap 130g")).to_have_text("3")
    # In Urdu digits, key by key, as an Urdu keyboard types them (a number field dropped them): 4, then 3 again.
    qty_of(tablet, "Lux Soap 130g").click()
    page.get_by_role("spinbutton", name="Quantity of Lux Soap 130g").press_sequentially("۴")
    page.keyboard.press("Enter")
    tablet.expect(qty_of(tablet, "Lux Soap 130g")).to_have_text("4")
    qty_of(tablet, "Lux Soap 130g").click()
    page.get_by_role("spinbutton", name="Quantity of Lux Soap 130g").press("ArrowDown")
    page.keyboard.press("Enter")
    tablet.expect(qty_of(tablet, "Lux Soap 130g")).to_have_text("3")

    page.get_by_role("button", name="Sign out").click()
    pad = page.get_by_role("group", name="PIN pad")   # a tablet with no keyboard
    for digit in rig.shop["cashier_pin"]:
        pad.get_by_role("button", name=digit, exact=True).click()
    tablet.expect(page.get_by_role("textbox", name="PIN")).to_have_value(rig.shop["cashier_pin"])
    page.get_by_role("button", name="Sign in").click()
    tablet.expect(qty_of(tablet, "Lux Soap 130g")).to_have_text("3")
    tablet.expect(qty_of(tablet, "Tapal Danedar 190g")).to_have_text("2")
    number = tablet.sell([])
    assert number == "T1-000001"
    # The completed cart does not come back after a reload: a fresh, empty one does.
    page.reload()
    tablet.expect(page.get_by_text("Tap a product to add it.")).to_be_visible()
    [sale] = journal_sales(tablet)
    assert [(l["sku"], l["qty"]) for l in sale["lines"]] == [("TAPAL-190", 2), ("LUX-SOAP", 3)]


def test_park_and_recall_a_sale(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    page.get_by_role("button", name="Tapal Danedar 190g", exact=True).click()
    page.get_by_role("button", name="Park", exact=True).click()
    tablet.expect(page.get_by_text("Tap a product to add it.")).to_be_visible()
    page.get_by_role("button", name="Coca-Cola 1.5L", exact=True).click()
    # Kept within a moment of the tap (an IndexedDB write); a reload before that would lose only this tap.
    cart_kept(page, 1)
    page.reload()   # parked sales are kept on the tablet

    page.get_by_role("button", name="Parked sales", exact=True).click()
    page.get_by_role("button", name="Recall", exact=False).click()
    tablet.expect(qty_of(tablet, "Tapal Danedar 190g")).to_have_text("1")
    tablet.expect(qty_of(tablet, "Coca-Cola 1.5L")).to_have_count(0)
    assert tablet.sell([]) == "T1-000001"
    # The Coca-Cola cart that was open took the recalled sale's place in the parked list.
    page.get_by_role("button", name="Parked sales", exact=True).click()
    page.get_by_role("button", name="Recall", exact=False).click()
    tablet.expect(qty_of(tablet, "Coca-Cola 1.5L")).to_have_text("1")
    assert tablet.sell([]) == "T1-000002"
    assert [[l["sku"] for l in s["lines"]] for s in journal_sales(tablet)] == [["TAPAL-190"], ["COKE-1500"]]

    # Clearing the cart asks first.
    page.get_by_role("button", name="Lux Soap 130g", exact=True).click()
    page.get_by_role("button", name="Clear cart").click()
    page.get_by_role("button", name="Keep it").click()
    tablet.expect(qty_of(tablet, "Lux Soap 130g")).to_have_text("1")
    page.get_by_role("button", name="Clear cart").click()
    page.get_by_role("button", name="Yes, clear the cart").click()
    tablet.expect(qty_of(tablet, "Lux Soap 130g")).to_have_count(0)


def visible_buttons_smaller_than(page, px: int) -> list[str]:
    return page.evaluate("""(px) => [...document.querySelectorAll('button')]
        .filter((b) => b.offsetParent !== null)
        .filter((b) => { const r = b.getBoundingClientRect(); return r.width < px || r.height < px; })
        .map((b) => `${b.getAttribute('aria-label') || b.textContent} ${Math.round(b.getBoundingClientRect().width)}x${Math.round(b.getBoundingClientRect().height)}`)""", px)


def test_touch_targets_pay_and_the_phone_layout(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    for name in ("Tapal Danedar 190g", "Coca-Cola 1.5L", "Olper's Milk 1L", "Lux Soap 130g"):
        page.get_by_role("button", name=name, exact=True).click()
    assert visible_buttons_smaller_than(page, 44) == []
    cart = page.locator("aside.cart").bounding_box()
    pay = page.get_by_role("button", name="Pay").bounding_box()
    assert pay["width"] >= cart["width"] - 2 * 24   # full width of the cart, inside its padding
    tablet.screenshot("selling-en")
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Wallet", exact=True).click()
    assert visible_buttons_smaller_than(page, 44) == []
    page.keyboard.press("Escape")   # back to the cart

    page.set_viewport_size({"width": 360, "height": 740})
    for name in ("Nestle Nido 390g", "Dalda Cooking Oil 1L", "Shan Biryani Masala 50g", "Peek Freans Sooper 8 pack"):
        page.get_by_role("button", name=name, exact=True).click()
    wait_js(page, "document.documentElement.scrollWidth <= 360")   # nothing wider than the phone
    for scroll in ("0", "document.body.scrollHeight"):
        page.evaluate(f"window.scrollTo(0, {scroll})")
        box = page.get_by_role("button", name="Pay").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 740 and box["width"] >= 300
        total = page.locator(".paybar .total").bounding_box()
        assert total["y"] >= 0 and total["y"] + total["height"] <= 740
    page.evaluate("window.scrollTo(0, 0)")
    tablet.screenshot("phone")
    page.keyboard.press("F2")   # Pay's shortcut
    tablet.expect(page.get_by_role("button", name="Complete sale")).to_be_visible()
