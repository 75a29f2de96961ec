"""The owner's khata pages in a real browser against real processes (issue 10): the ageing list of who owes
what and for how long, a customer's statement, and the balance ready to send by WhatsApp."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.cloud.khata_documents import customer, khata_payment, sale_on_account

pytestmark = pytest.mark.e2e


def _days_ago(n: int) -> str:
    day = datetime.now(ZoneInfo("Asia/Karachi")).date() - timedelta(days=n)
    return f"{day.isoformat()}T12:00:00+05:00"


def _khata_in_the_cloud(rig) -> dict[str, str]:
    """Weeks of udhaar as tablets would have sent it: posted to the cloud by a second enrolled box, so the
    pages show old debts (a box of today cannot make documents of last month)."""
    owner = {"Authorization": f"Bearer {rig.shop['owner_token']}"}
    base = f"{rig.cloud.url}/v1/shops/{rig.shop['shop_id']}"
    token = httpx.post(f"{base}/enrol-tokens", headers=owner, timeout=10).json()["enrol_token"]
    key = httpx.post(f"{rig.cloud.url}/v1/gateways:enrol", json={"enrol_token": token, "name": "old box"},
                     timeout=10).json()["api_key"]
    bilal = customer(1, "Bilal Ahmed", phone="0300 1234567", created_at=_days_ago(45), device_code="T7")
    sana = customer(2, "Sana Khan", phone="0321 7654321", created_at=_days_ago(45), device_code="T7")
    imran = customer(3, "Imran Traders", phone="0333 5550001", credit_limit=1_000_000, created_at=_days_ago(45),
                     device_code="T7")
    # An Urdu name, who paid Rs 100 ahead: the shop holds an advance (a negative balance).
    ali = customer(10, "علی رضا", phone="0345 1112223", created_at=_days_ago(45), device_code="T7")
    b, s, i, a = bilal["customer_id"], sana["customer_id"], imran["customer_id"], ali["customer_id"]
    docs = [bilal, sana, imran, ali,
            khata_payment(11, a, [{"tender": "cash", "amount": 10000}], created_at=_days_ago(2), device_code="T7"),
            sale_on_account(4, b, 250000, created_at=_days_ago(40), device_code="T7"),
            sale_on_account(5, b, 120000, created_at=_days_ago(12), device_code="T7"),
            khata_payment(6, b, [{"tender": "cash", "amount": 150000}], created_at=_days_ago(6), device_code="T7"),
            sale_on_account(7, b, 64550, created_at=_days_ago(1), device_code="T7"),
            sale_on_account(8, s, 48000, created_at=_days_ago(3), device_code="T7"),
            sale_on_account(9, i, 870000, created_at=_days_ago(20), device_code="T7")]
    answer = httpx.post(f"{rig.cloud.url}/v1/journal:batch", json={"documents": docs},
                        headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    assert [r["status"] for r in answer["results"]] == ["stored"] * len(docs), answer
    return {"bilal": b, "sana": s, "imran": i, "ali": a}


def test_the_owner_sees_who_owes_what_and_sends_a_balance(rig, office):
    ids = _khata_in_the_cloud(rig)
    owner = office()
    page, expect = owner.page, owner.expect
    page.goto(owner.shop_url())
    page.get_by_role("link", name="Customers", exact=True).click()
    table = page.locator("table.customers")
    bilal = table.locator(f"tr[data-customer='{ids['bilal']}']")
    # Owed Rs 2,845.50: the Rs 1,500 paid cleared the oldest credit first, so Rs 1,000 is still 40 days old.
    expect(bilal).to_contain_text("Rs 2,845.50")
    expect(bilal.locator("td").nth(3)).to_have_text("Rs 645.50")      # 0-7 days
    expect(bilal.locator("td").nth(4)).to_have_text("Rs 1,200.00")    # 8-30 days
    expect(bilal.locator("td").nth(5)).to_have_text("Rs 1,000.00 overdue")    # 30+ days: marked overdue, in words
    # The footer: what is owed (= the age columns' sum) and, apart, the advance Ali paid.
    expect(page.get_by_test_id("total-owed")).to_have_text("Rs 12,025.50")
    expect(page.get_by_test_id("total-advances")).to_have_text("Rs 100.00")
    expect(table.locator(f"tr[data-customer='{ids['ali']}'] td").nth(2)).to_have_text("-Rs 100.00")
    # The Urdu name is set in the office's Urdu font, as large as the Latin names beside it.
    urdu_name = table.get_by_role("link", name="علی رضا")
    assert urdu_name.locator("bdi").evaluate("e => getComputedStyle(e).fontFamily").startswith('"Noto Nastaliq Urdu"')
    # Most owed first: Imran's Rs 8,700 heads the list.
    expect(table.locator("tbody tr").first).to_contain_text("Imran Traders")
    owner.screenshot("office-khata-ageing")

    page.get_by_label("Name or phone").fill("7654")
    page.get_by_role("button", name="Search").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Sana Khan")

    page.goto(owner.shop_url("customers"))
    page.get_by_role("link", name="Bilal Ahmed").click()
    expect(page.get_by_test_id("balance")).to_have_text("Rs 2,845.50")
    expect(page.get_by_test_id("opening")).to_have_text("Rs 2,500.00")   # the 40-day-old sale, brought forward
    expect(page.get_by_test_id("closing")).to_have_text("Rs 2,845.50")
    whatsapp = page.get_by_test_id("whatsapp")
    assert re.fullmatch(r"https://wa\.me/923001234567\?text=Bilal%20Ahmed%2C%20you%20owe%20Rs%202%2C845\.50"
                        r"%20on%20your%20khata%20at%20Madina%20General%20Store.*", whatsapp.get_attribute("href"))
    expect(page.get_by_test_id("message")).to_contain_text("you owe Rs 2,845.50 on your khata at Madina General Store")
    # The customer reads Urdu, the owner's screen is English: the message's own language link.
    page.get_by_test_id("message-language").get_by_role("link", name="اردو").click()
    expect(page.get_by_test_id("message")).to_contain_text("آپ کے ذمے Rs 2,845.50")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The owner writes off Rs 45.50; the statement and the list both move.
    page.get_by_role("radio", name=re.compile("less")).check()
    page.get_by_label("Amount (Rs)").fill("45.50")
    page.get_by_label("Reason").fill("rounded off")
    page.get_by_role("button", name="Record adjustment").click()
    expect(page.get_by_role("status")).to_contain_text("Adjustment recorded.")
    expect(page.get_by_test_id("balance")).to_have_text("Rs 2,800.00")
    expect(page.locator("table").first).to_contain_text("Adjustment by the owner")
    reason = page.get_by_test_id("reason")
    expect(reason).to_have_text("· rounded off")                       # on screen, the owner's note
    expect(page.get_by_test_id("reason-not-printed")).to_be_visible()
    owner.screenshot("office-khata-statement")
    assert rig.owner_get(f"customers/{ids['bilal']}")["balance"] == 280000
    # Printed, the statement stands alone: no menus, forms or message links, the shop's name on top.
    page.emulate_media(media="print")
    expect(page.locator("nav.sections")).to_be_hidden()
    expect(page.get_by_role("button", name="Record adjustment")).to_be_hidden()
    expect(page.get_by_test_id("whatsapp")).to_be_hidden()
    expect(page.get_by_test_id("letterhead")).to_be_visible()
    expect(page.get_by_test_id("letterhead")).to_contain_text("Madina General Store")
    expect(page.get_by_test_id("closing")).to_be_visible()
    expect(reason).to_be_hidden()                                         # the reason is not printed
    owner.screenshot("office-khata-printed")
    page.emulate_media(media="screen")

    # On a phone the list fits the screen: the wide columns step aside.
    phone = office(viewport={"width": 360, "height": 740})
    phone.page.goto(phone.shop_url("customers"))
    phone.expect(phone.page.get_by_test_id("total-owed")).to_have_text("Rs 11,980.00")
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360

    # In Urdu (right to left) the advance still reads -Rs 100.00, not "Rs 100.00-": money is a left-to-right isolate.
    ali = f"/office/shops/{owner.rig.shop['shop_id']}/customers/{ids['ali']}"
    page.goto(f"{owner.rig.cloud.url}/office/language?to=ur&next={ali}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    money = page.get_by_test_id("balance").locator("bdi.money")
    expect(money).to_have_text("-Rs 100.00")
    assert money.evaluate("e => getComputedStyle(e).direction") == "ltr"
    expect(page.get_by_test_id("message")).to_contain_text("پیشگی")      # an advance, said as one, in Urdu
    owner.screenshot("office-khata-urdu")
