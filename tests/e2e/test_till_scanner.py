"""A barcode scanner's burst (issue 7, item 8 and its bug): it adds the scanned product wherever the focus
is, and never "clicks" again the tile tapped just before (tap Coca-Cola, scan Tapal, got Coca-Cola x2)."""
from __future__ import annotations

from .selling_steps import journal_sales, qty_of

pytestmark = __import__("pytest").mark.e2e
TAPAL_BARCODE = "8961008210019"


def scan(page, code: str) -> None:
    # A scanner types faster than any person, then Enter ("\n" is the Enter key).
    page.keyboard.type(code + "\n", delay=5)


def test_a_scan_after_a_tapped_tile_adds_the_scanned_product(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    coke = page.get_by_role("button", name="Coca-Cola 1.5L", exact=True)
    coke.click()
    tablet.expect(coke).to_be_focused()
    scan(page, TAPAL_BARCODE)
    tablet.expect(qty_of(tablet, "Tapal Danedar 190g")).to_have_text("1")
    tablet.expect(qty_of(tablet, "Coca-Cola 1.5L")).to_have_text("1")

    # Scanned while the search box has the focus: added, and the search box is left as it was.
    search = page.get_by_role("searchbox", name="Search products")
    search.click()
    scan(page, TAPAL_BARCODE)
    tablet.expect(qty_of(tablet, "Tapal Danedar 190g")).to_have_text("2")
    tablet.expect(search).to_have_value("")
    tablet.expect(page.get_by_role("button", name="Lux Soap 130g", exact=True)).to_be_visible()   # not filtered

    # A person's Enter on a focused tile still works as a tap.
    coke.focus()
    page.keyboard.press("Enter")
    tablet.expect(qty_of(tablet, "Coca-Cola 1.5L")).to_have_text("2")

    # An unknown code is said in words and adds nothing.
    scan(page, "0000000000000")
    tablet.expect(page.get_by_role("alert")).to_have_text("No product has the barcode 0000000000000.")

    tablet.sell([])
    [sale] = journal_sales(tablet)
    assert [(l["sku"], l["qty"]) for l in sale["lines"]] == [("COKE-1500", 2), ("TAPAL-190", 2)]


def test_a_scanned_code_with_capital_letters_is_read_whole(rig, tablets):
    """Shelf labels carry SKUs like TAPAL-190 (Code 128): the scanner holds Shift for each capital."""
    tablet = tablets().open_and_pair()
    page = tablet.page
    for ch in "TAPAL-190":
        if ch.isupper():
            page.keyboard.down("Shift")
            page.keyboard.press(ch)
            page.keyboard.up("Shift")
        else:
            page.keyboard.press(ch)
    page.keyboard.press("Enter")
    tablet.expect(qty_of(tablet, "Tapal Danedar 190g")).to_have_text("1")
