"""The owner's back office changes what the tills sell (issue 8): CSV import with a preview, a price
change on a till, and a disabled cashier refused at the till."""
from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import httpx
import pytest

from cloud_api.product_import import COLUMNS

from .selling_steps import total_text

pytestmark = pytest.mark.e2e
BILAL_PIN = "24681357"


def write_csv(path: Path, n: int, bad: dict[int, tuple[str, str]]) -> Path:
    """n products; bad maps a product's index to (column, bad value)."""
    with path.open("w", newline="", encoding="utf-8-sig") as out:   # as Excel saves "CSV UTF-8"
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for i in range(n):
            row = {"sku": f"BULK-{i:04d}", "name": f"Bulk item {i}", "name_ur": f"چیز {i}",
                   "barcode": f"{8970000000000 + i}", "category": "Bulk", "gst_percent": "18", "unit": "each",
                   "price_rs": f"{100 + i:,}.50", "low_stock_at": "2"}
            if i in bad:
                row[bad[i][0]] = bad[i][1]
            writer.writerow(row)
    return path


def test_a_csv_with_three_bad_rows_shows_them_before_anything_is_saved(rig, office, tmp_path):
    owner = office()
    page = owner.page
    upload = write_csv(tmp_path / "products.csv", 500, {7: ("price_rs", "12.345"), 250: ("unit", "dozen"),
                                                        499: ("sku", "BULK-0001")})
    page.goto(owner.shop_url("products/import"))
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Preview").click()

    errors = page.get_by_role("table", name="Errors").locator("tbody tr")
    owner.expect(errors).to_have_count(3)
    assert [re.sub(r"\s+", " ", text).strip() for text in errors.all_inner_texts()] == [
        "9 price_rs must be rupees with up to 2 decimals, e.g. 549.50",
        "252 unit must be each, kg or l",
        "501 sku BULK-0001 is also on row 3"]
    owner.expect(page.get_by_role("status")).to_contain_text("500 rows read, 3 with errors.")
    owner.screenshot("office-import-preview", full_page=False)

    # Nothing was saved: the products page (in another tab) has none of the file's products.
    listing = owner.context.new_page()
    listing.goto(owner.shop_url("products?q=Bulk"))
    owner.expect(listing.get_by_role("heading", name=re.compile(r"On sale"))).to_have_text("On sale (0)")
    listing.close()

    # The owner chooses to skip the bad rows: the other 497 arrive in one transaction.
    page.get_by_role("checkbox", name=re.compile("Skip the 3 rows with errors")).check()
    page.get_by_role("button", name="Import 497 products").click()
    owner.expect(page.get_by_role("status")).to_have_text("Imported: 497 new products, 0 changed.")
    owner.expect(page.get_by_role("heading", name=re.compile(r"On sale"))).to_contain_text("(512)")


def test_a_price_changed_in_the_office_reaches_a_paired_till(rig, office, tablets):
    tablet = tablets().open_and_pair()
    till = tablet.page
    tile = till.get_by_role("button", name="Tapal Danedar 190g", exact=True)
    tablet.expect(tile.locator(".price")).to_have_text("Rs 550")

    owner = office()
    page = owner.page
    page.goto(owner.shop_url("products"))
    page.get_by_role("link", name="Tapal Danedar 190g").click()
    page.get_by_label("Price (Rs)").fill("575.50")
    page.get_by_role("button", name="Save").click()
    owner.expect(page.get_by_role("status")).to_contain_text("Saved.")

    # Box pulls every second here; the till within its idle sync (5 s).
    tablet.expect(tile.locator(".price")).to_have_text("Rs 575.50", timeout=30000)
    tile.click()
    assert total_text(tablet) == "Total Rs 575.50"


def test_a_cashier_disabled_in_the_office_is_refused_at_the_till(rig, office, tablets):
    tablet = tablets().open_and_pair()   # Ayesha signed in
    till = tablet.page
    owner = office()
    page = owner.page
    page.goto(owner.shop_url("cashiers"))
    page.get_by_label("Name", exact=True).fill("Bilal")
    page.get_by_label("ID (e.g. c2)").fill("c2")
    page.get_by_label("PIN (6 to 12 digits)").fill(BILAL_PIN)
    page.get_by_role("button", name="Add cashier").click()
    owner.expect(page.get_by_role("status")).to_contain_text("Cashier added.")

    till.get_by_role("button", name="Sign out").click()
    cashiers = till.get_by_role("group", name="Cashier")
    tablet.expect(cashiers.get_by_role("button", name="Bilal", exact=True)).to_be_visible(timeout=30000)

    page.get_by_role("button", name="Disable Ayesha").click()
    owner.expect(page.get_by_role("status")).to_contain_text("Disabled:")
    # After the next catalog sync Ayesha is no longer on the till (Bilal is its only cashier) ...
    tablet.expect(till.get_by_role("button", name="Ayesha", exact=True)).to_have_count(0, timeout=30000)
    till.get_by_role("textbox", name="PIN").fill(rig.shop["cashier_pin"])
    till.get_by_role("button", name="Sign in").click()
    # ... and her PIN opens nothing: the box checks it against its catalog, which has no Ayesha.
    tablet.expect(till.get_by_role("alert")).to_have_text("Wrong PIN.")
    tablet.expect(till.get_by_role("searchbox", name="Search products")).to_have_count(0)

    till.get_by_role("textbox", name="PIN").fill(BILAL_PIN)
    till.get_by_role("button", name="Sign in").click()
    tablet.expect(till.get_by_role("searchbox", name="Search products")).to_be_visible()


def test_a_cashier_disabled_while_signed_in_is_signed_out_keeping_the_cart(rig, tablets):
    tablet = tablets().open_and_pair()   # Ayesha signed in, selling
    till = tablet.page
    till.get_by_role("button", name="Tapal Danedar 190g").click()
    response = httpx.post(f"{rig.cloud.url}/v1/shops/{rig.shop['shop_id']}/cashiers/c1/disable",
                          headers={"Authorization": f"Bearer {rig.shop['owner_token']}"}, timeout=10)
    assert response.status_code == 200 and response.json()["disabled"] is True
    # The next catalog sync signs her out: the till is back at sign-in and says why.
    tablet.expect(till.get_by_role("alert")).to_have_text(
        "The owner has disabled this cashier. Sign in as another cashier.", timeout=30000)
    tablet.expect(till.get_by_role("searchbox", name="Search products")).to_have_count(0)
    # Enabled again, she signs in and finds her cart as she left it.
    assert httpx.post(f"{rig.cloud.url}/v1/shops/{rig.shop['shop_id']}/cashiers/c1/enable",
                      headers={"Authorization": f"Bearer {rig.shop['owner_token']}"}, timeout=10).status_code == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:   # until the till's catalog has her again ("no cashiers yet" till then)
        till.get_by_role("textbox", name="PIN").fill(rig.shop["cashier_pin"])
        till.get_by_role("button", name="Sign in").click()
        try:
            tablet.expect(till.get_by_role("searchbox", name="Search products")).to_be_visible(timeout=2000)
            break
        except AssertionError:
            continue
    tablet.expect(till.get_by_role("searchbox", name="Search products")).to_be_visible()
    tablet.expect(till.get_by_text("Tapal Danedar 190g").first).to_be_visible()
