"""The owner's Today and reports in Chromium against real processes: sales rung up on a till reach the
cloud, Today shows their sum, a phone shows it without sideways scrolling, and a report's CSV export
parses back to the figures on its page."""
from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cloud_api.contract import business_date
from gateway.demo import run_command

from .conftest import wait_until

pytestmark = pytest.mark.e2e


def paisa(text: str) -> int:
    """Rs 1,234.50 (or 1234.50 from a CSV) -> 123450."""
    return int(Decimal(text.replace("Rs", "").replace(",", "").strip()) * 100)


def sales_in_cloud(rig, count: int) -> list[dict]:
    """The shop's sales in the cloud, once all `count` of them are there."""
    def held() -> list[dict] | None:
        documents = rig.cloud_documents()
        return documents if len(documents) == count else None
    return wait_until(held, what=f"{count} sales in the cloud")


def test_today_shows_the_tills_sales_on_a_laptop_and_a_phone(rig, tablets, office):
    tablet = tablets().open_and_pair()
    tablet.sell(["Tapal Danedar 190g", "Olper's Milk 1L"], cash_rs=2000)
    tablet.sell(["Lux Soap 130g"], cash_rs=500)
    tablet.sell(["Coca-Cola 1.5L"], tender="Card")
    tablet.wait_status(r"^Online · 0 unsynced$")
    documents = sales_in_cloud(rig, 3)
    total, tax = sum(d["total"] for d in documents), sum(d["tax"] for d in documents)
    day = business_date(documents[0]["created_at"]).isoformat()
    # Today is the shop's today; a run that straddles midnight in Karachi names the sales' day.
    today = datetime.now(ZoneInfo("Asia/Karachi")).date().isoformat()
    path = "" if day == today else f"?date={day}"

    desk = office()
    page = desk.page
    page.goto(desk.shop_url(path))
    assert paisa(page.locator('[data-figure="gross"]').inner_text()) == total
    assert paisa(page.locator('[data-figure="net"]').inner_text()) == total
    assert paisa(page.locator('[data-figure="tax"]').inner_text()) == tax
    desk.expect(page.get_by_role("img", name="Net sales by hour")).to_be_visible()
    desk.expect(page.get_by_role("cell", name="T1", exact=False).first).to_be_visible()
    desk.screenshot("office-today")
    # All shops together: this owner's one shop, the same figures.
    page.goto(f"{desk.url}{path}")
    assert paisa(page.locator('[data-figure="gross"]').inner_text()) == total

    phone = office(viewport={"width": 360, "height": 740})
    phone.page.goto(phone.shop_url(path))
    assert paisa(phone.page.locator('[data-figure="gross"]').inner_text()) == total
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot("office-today-phone")


def test_a_reports_csv_parses_back_to_its_page(rig, tablets, office, tmp_path: Path):
    tablet = tablets().open_and_pair()
    tablet.sell(["Tapal Danedar 190g", "Tapal Danedar 190g"], cash_rs=2000)
    tablet.sell(["Nestle Nido 390g"], tender="Card")
    tablet.wait_status(r"^Online · 0 unsynced$")
    documents = sales_in_cloud(rig, 2)
    day = business_date(documents[0]["created_at"]).isoformat()

    desk = office()
    page = desk.page
    page.goto(desk.shop_url(f"reports?from={day}&to={day}"))
    page.get_by_role("link", name="By tender").click()
    desk.expect(page.get_by_role("heading", name="By tender")).to_be_visible()
    shown = {row.locator('[data-key="tender"]').inner_text(): paisa(row.locator('[data-key="net"]').inner_text())
             for row in page.locator("table.report tbody tr").all()}
    assert shown == {"Cash": documents[0]["total"], "Card": documents[1]["total"]}
    desk.screenshot("office-report")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.read_text(encoding="utf-8-sig").splitlines()))
    written = {row["Tender"]: paisa(row["Net"]) for row in rows if row["Tender"] != "Total"}
    assert written == {"cash": shown["Cash"], "card": shown["Card"]}
    assert paisa(rows[-1]["Net"]) == sum(d["total"] for d in documents)

    # The sales list finds the first sale by its receipt number, and opens it.
    page.goto(desk.shop_url("sales"))
    page.get_by_label("Receipt number").fill("t1-1")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="T1-000001").click()
    desk.expect(page.get_by_role("heading", name="Receipt T1-000001")).to_be_visible()
    desk.expect(page.get_by_role("cell", name="Tapal Danedar 190g", exact=False)).to_be_visible()

    # A report and the sales list on a phone: wide tables scroll inside their card, not the page.
    phone = office(viewport={"width": 360, "height": 740})
    for path in (f"reports/by-day?from={day}&to={day}", f"sales?from={day}&to={day}"):
        phone.page.goto(phone.shop_url(path))
        assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360, path


def test_another_owners_shop_is_refused_in_the_browser(rig, office):
    other = json.loads(run_command("cloud", "create-shop", "--name", "Another Owner's Shop", "--owner",
                                   "other@owner.pk", "--owner-password", "another-password", "--db", rig.cloud_db))
    owner = office()
    page = owner.page
    response = page.goto(f"{rig.cloud.url}/office/shops/{other['shop_id']}/")
    assert response is not None and response.status == 403
    owner.expect(page.get_by_role("alert")).to_have_text("this shop is not one of yours")
    owner.expect(page.get_by_text("Another Owner's Shop")).to_have_count(0)
    # Its owner, signed in, sees only their own shop.
    theirs = office(sign_in=False)
    theirs.sign_in("other@owner.pk", "another-password")
    theirs.expect(theirs.page.get_by_role("link", name="Another Owner's Shop").first).to_be_visible()
    theirs.expect(theirs.page.get_by_role("link", name="Madina General Store")).to_have_count(0)
