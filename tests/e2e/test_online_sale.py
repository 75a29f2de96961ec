"""a. An online sale lands in the cloud once, with the right total and tax."""
from __future__ import annotations

from cloud_api.contract import business_date, line_tax
from cloud_api.demo_shop import PRODUCTS

from .conftest import wait_until

pytestmark = __import__("pytest").mark.e2e
PRICE = {name: price for _sku, name, price, _bc, _cat in PRODUCTS}


def test_online_sale_lands_in_the_cloud_once_with_right_total_and_tax(rig, tablets):
    tablet = tablets()
    page = tablet.page
    page.goto(rig.till_url)
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_be_visible()
    tablet.wait_status(r"^Online · 0 unsynced$")   # an unpaired till already knows its link
    tablet.screenshot("1-pairing")
    tablet.open_and_pair()

    page.get_by_role("searchbox", name="Search products").fill("tapal")
    page.get_by_role("button", name="Tapal Danedar 190g", exact=True).click()
    page.get_by_role("button", name="Tapal Danedar 190g", exact=True).click()
    page.get_by_role("searchbox", name="Search products").fill("")
    page.get_by_role("button", name="Olper's Milk 1L", exact=True).click()
    tablet.screenshot("2-selling")
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("textbox", name="Amount received").fill("2000")
    tablet.expect(page.get_by_text("Change Rs 570")).to_be_visible()
    # A tablet that has never opened a shift (a shop that does not count its drawer by shifts) is
    # not told about shifts when it takes money.
    tablet.expect(page.get_by_test_id("pay-no-shift")).to_be_hidden()
    tablet.screenshot("3-payment")
    page.get_by_role("button", name="Complete sale").click()

    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000001")
    tablet.wait_status(r"^Online · 0 unsynced$")
    tablet.screenshot("4-receipt")

    total = 2 * PRICE["Tapal Danedar 190g"] + PRICE["Olper's Milk 1L"]
    tax = line_tax(2 * PRICE["Tapal Danedar 190g"], 1800) + line_tax(PRICE["Olper's Milk 1L"], 1800)
    documents = rig.cloud_documents()
    assert len(documents) == 1
    sale = documents[0]
    assert sale["receipt_number"] == "T1-000001"
    assert (sale["total"], sale["tax"], sale["change"]) == (total, tax, 200000 - total)
    assert sale["payments"] == [{"tender": "cash", "amount": 200000}]
    assert sale["created_at"].endswith("+05:00")   # the tablet's clock, in Pakistan time

    day = business_date(sale["created_at"]).isoformat()
    summary = rig.owner_get("reports/summary", date=day)
    assert summary["sales_count"] == 1
    assert (summary["gross"], summary["net"], summary["tax"]) == (total, total, tax)
    assert summary["by_tender"] == {"cash": total}
    assert summary["by_device"] == {"T1": total}

    # The tablet learned the cloud holds it.
    states = wait_until(lambda: [row["state"] for row in tablet.journal()] == ["in_cloud"], what="in_cloud ack")
    assert states


def test_a_double_tapped_complete_makes_one_sale(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    page.get_by_role("button", name="Coca-Cola 1.5L", exact=True).click()
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("textbox", name="Amount received").fill("500")
    # Two taps inside one frame, before the screen can change.
    page.get_by_role("button", name="Complete sale").evaluate("button => { button.click(); button.click(); }")
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000001")
    page.get_by_role("button", name="New sale").click()
    assert tablet.sell(["Coca-Cola 1.5L"]) == "T1-000002"
    tablet.wait_status(r"^Online · 0 unsynced$")
    assert [doc["receipt_number"] for doc in rig.cloud_documents()] == ["T1-000001", "T1-000002"]


def test_one_tab_per_tablet_and_wrong_pins_are_refused(rig, tablets):
    tablet = tablets().open_and_pair()
    second = tablet.context.new_page()
    second.goto(rig.till_url)
    tablet.expect(second.get_by_role("heading", name="POS Line is open in another tab")).to_be_visible()
    second.close()

    tablet.page.get_by_role("button", name="Sign out").click()
    tablet.page.get_by_role("textbox", name="PIN").fill("9999")
    tablet.page.get_by_role("button", name="Sign in").click()
    tablet.expect(tablet.page.get_by_role("alert")).to_have_text("Wrong PIN.")
    tablet.expect(tablet.page.get_by_role("searchbox", name="Search products")).to_have_count(0)
