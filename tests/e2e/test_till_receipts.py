"""Receipts: the printed 80 mm slip, a reprint marked DUPLICATE, and the day's sales list."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.counter_day import open_sales, sale_row

pytestmark = pytest.mark.e2e

SETTINGS = {"address": "Shop 4, Liberty Market, Lahore", "phone": "042-35761234", "ntn": "1234567-8",
            "strn": "32-77-8761-234-56", "receipt_footer": "Goods once sold are returned within 7 days with this receipt"}


def test_the_receipt_prints_the_shop_and_the_sale_on_an_80mm_slip(rig, tablets):
    rig.owner_put("settings", SETTINGS)
    tablet = tablets().open_and_pair()
    page = tablet.page
    wait_until(lambda: page.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open("posline"); r.onsuccess = () => ok(r.result); });
        const row = await new Promise((ok) => { const q = db.transaction("catalog").objectStore("catalog").get("current");
                                                q.onsuccess = () => ok(q.result); });
        db.close();
        return Boolean(row && row.catalog.settings && row.catalog.settings.ntn);
    }"""), 30, "the shop's settings on the tablet")

    for name in ("Tapal Danedar 190g", "Tapal Danedar 190g", "Coca-Cola 1.5L"):
        page.get_by_role("button", name=name, exact=True).click()
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Cash", exact=True).click()
    page.get_by_role("textbox", name="Amount received").fill("1500")
    page.get_by_role("button", name="Complete sale").click()
    number = page.get_by_test_id("receipt-number").inner_text()
    tablet.expect(page.get_by_role("button", name="Print", exact=True)).to_be_visible()

    slip = page.locator(".slip")
    for text in ("Madina General Store", SETTINGS["address"], SETTINGS["phone"], SETTINGS["ntn"], SETTINGS["strn"],
                 number, "Ayesha", "Tapal Danedar 190g", "2 × Rs 550", "Rs 1,310", "GST included",
                 "Cash", "Rs 1,500", "Change", "Rs 190", SETTINGS["receipt_footer"]):
        tablet.expect(slip).to_contain_text(text)
    tablet.expect(slip).not_to_contain_text("DUPLICATE")

    # On paper: only the slip, 80 mm wide; the till's header and buttons stay off it.
    page.emulate_media(media="print")
    tablet.expect(page.locator("body > header")).to_be_hidden()
    tablet.expect(page.get_by_role("button", name="New sale")).to_be_hidden()
    tablet.expect(slip).to_be_visible()
    width_mm = slip.evaluate("el => el.getBoundingClientRect().width") * 25.4 / 96
    assert 79 <= width_mm <= 81
    tablet.screenshot("receipt-print")
    page.emulate_media(media="screen")
    tablet.expect(page.get_by_role("button", name="New sale")).to_be_visible()


def test_the_sales_list_finds_a_receipt_by_number_and_reprints_it_as_a_duplicate(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    first = tablet.sell(["Lux Soap 130g"], cash_rs=200)
    second = tablet.sell(["Olper's Milk 1L", "Olper's Milk 1L"], cash_rs=1000)
    third = tablet.sell(["Lipton Yellow Label 95g"], tender="Card")
    tablet.wait_status(r"^Online · 0 unsynced$")

    open_sales(tablet)
    rows = page.locator("li.sale-row")
    tablet.expect(rows).to_have_count(3)
    # Newest first, each with its total and where it is (the cloud holds them all by now).
    assert [r.get_attribute("data-receipt") for r in rows.all()] == [third, second, first]
    tablet.expect(sale_row(tablet, second)).to_contain_text("Rs 660")
    tablet.expect(sale_row(tablet, first)).to_contain_text("in cloud", timeout=30000)
    tablet.screenshot("sales-list")

    page.get_by_role("searchbox", name="Receipt number").fill(second)
    tablet.expect(rows).to_have_count(1)
    tablet.expect(sale_row(tablet, second)).to_be_visible()
    page.get_by_role("searchbox", name="Receipt number").fill(second[-3:])   # the end of the number is enough
    tablet.expect(rows).to_have_count(1)
    code, seq = second.split("-")
    page.get_by_role("searchbox", name="Receipt number").fill(f"{code.lower()}-{int(seq)}")   # or its short form
    tablet.expect(rows).to_have_count(1)
    tablet.expect(sale_row(tablet, second)).to_be_visible()
    tablet.expect(page.get_by_text("is not among this tablet's sales today")).to_have_count(0)

    sale_row(tablet, second).get_by_role("button", name="Reprint").click()
    slip = page.locator(".slip")
    tablet.expect(slip).to_contain_text("DUPLICATE")
    tablet.expect(slip).to_contain_text(second)
    tablet.expect(slip).to_contain_text("2 × Rs 330")
    tablet.expect(page.get_by_role("button", name="Print", exact=True)).to_be_visible()
    # A reprint writes nothing: the journal still holds the three sales alone.
    assert len(tablet.journal()) == 3


def test_returns_loose_goods_and_unverified_wallets_read_right_on_the_slip(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    base = {"device_id": "d", "device_code": "T2", "cashier_id": "c1", "created_at": "2026-11-28T18:05:09+05:00"}
    sale = {**base, "kind": "sale", "seq": 41, "total": 27500, "tax": 4195, "change": 0, "discount": 2500,
            "lines": [{"sku": "SUGAR", "name": "Sugar", "qty": 1250, "unit": "kg", "unit_price": 16000, "gst_bp": 1800,
                       "discount": 0, "cart_discount": 2500, "amount": 17500, "tax": 2669},
                      {"sku": "LUX", "name": "Lux Soap 130g", "qty": 1, "unit_price": 10000, "gst_bp": 1800,
                       "amount": 10000, "tax": 1525}],
            "payments": [{"tender": "wallet", "wallet": "jazzcash", "amount": 27500, "reference": "JC-991",
                          "unverified": True}]}
    refund = {**base, "kind": "refund", "seq": 42, "original_id": "x", "original_receipt": "T2-000041",
              "total": 10000, "tax": 1525, "reason": "Wrong size",
              "lines": [{"line_index": 1, "sku": "LUX", "name": "Lux Soap 130g", "qty": 1, "unit": "each",
                         "unit_price": 10000, "gst_bp": 1800, "amount": 10000, "tax": 1525}],
              "payments": [{"tender": "cash", "amount": 10000}]}
    texts = page.evaluate("""async ([sale, refund]) => {
        const r = await import("/receipt.js");
        const slip = (doc, duplicate) => r.drawSlip(r.receiptModel(doc, {
            catalog: { shop_name: "Madina General Store", products: [], settings: {} }, cashierName: "Ayesha", duplicate,
        })).innerText;
        return [slip(sale, false), slip(refund, true)];
    }""", [sale, refund])
    sold, returned = texts
    for text in ("T2-000041", "Sugar", "1.25 kg @ Rs 160/kg", "Cart discount", "Wallet (JazzCash)", "Ref JC-991",
                 "unverified", "Rs 275", "28/11/2026 18:05"):
        assert text.lower() in sold.lower(), text
    assert "DUPLICATE" not in sold and "RETURN" not in sold
    for text in ("DUPLICATE", "RETURN", "T2-000042", "Original receipt", "T2-000041", "Total refunded", "Rs 100",
                 "Wrong size"):
        assert text in returned, text
    assert "Change" not in returned
