"""The owner's stock pages on a phone against real processes: goods received on the page reach the till."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def test_goods_received_on_a_phone_show_on_hand_in_kg(rig, office):
    owner = office(viewport={"width": 360, "height": 740})
    page, expect = owner.page, owner.expect
    page.goto(owner.shop_url("stock"))
    low = page.locator("section[aria-labelledby='low-stock']")
    expect(low).to_contain_text("Sugar (loose, per kg)")       # nothing received yet: all are low
    page.get_by_role("link", name="Sugar (loose, per kg)").first.click()
    page.get_by_label(re.compile("^Quantity received")).fill("12.5")
    page.get_by_role("button", name="Record goods received").click()
    expect(page.get_by_role("status")).to_contain_text("Goods received recorded.")
    expect(page.get_by_test_id("on-hand")).to_have_text("12.500 kg")
    page.get_by_label(re.compile("^Counted quantity")).fill("12")
    page.get_by_role("button", name="Record stock count").click()
    expect(page.get_by_test_id("on-hand")).to_have_text("12.000 kg")
    owner.screenshot("office-stock-item")
    assert {line["sku"]: line["on_hand"] for line in rig.owner_get("stock")}["SUGAR-LOOSE"] == 12000
    # No page wider than the phone: tables scroll inside their cards.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.goto(owner.shop_url("stock"))
    expect(low).not_to_contain_text("Sugar (loose, per kg)")
