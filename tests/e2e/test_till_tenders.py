"""Tenders (issue 7, item 4): cash with quick buttons, card and wallet with a reference, split across
tenders with change only from cash; a wallet taken while the shop is offline is marked unverified."""
from __future__ import annotations

from .conftest import wait_until
from .selling_steps import journal_sales

pytestmark = __import__("pytest").mark.e2e
OFFLINE_WORDS = "Check the customer's wallet message: the shop is offline"


def test_split_cash_and_wallet_is_verified_online_and_unverified_offline(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    tablet.wait_status(r"^Online · ")

    # Online: Rs 300 cash, the Rs 250 left by Easypaisa with its transaction id.
    page.get_by_role("button", name="Tapal Danedar 190g", exact=True).click()
    page.get_by_role("button", name="Pay").click()
    complete = page.get_by_role("button", name="Complete sale")
    page.get_by_role("textbox", name="Amount received").fill("300")
    tablet.expect(complete).to_be_disabled()
    page.get_by_role("button", name="Split", exact=True).click()
    tablet.expect(page.get_by_text("Left to pay Rs 250")).to_be_visible()
    page.get_by_role("button", name="Wallet", exact=True).click()
    page.get_by_role("button", name="Easypaisa", exact=True).click()
    tablet.expect(page.get_by_text(OFFLINE_WORDS)).to_be_hidden()
    page.get_by_role("textbox", name="Reference").fill("EP-7731")
    tablet.expect(complete).to_be_enabled()
    tablet.screenshot("payment-split")
    complete.click()
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000001")
    page.get_by_role("button", name="New sale").click()

    # A card pays exactly what is left, with the terminal's approval code; cash quick buttons give change.
    page.get_by_role("button", name="Coca-Cola 1.5L", exact=True).click()
    page.get_by_role("button", name="Olper's Milk 1L", exact=True).click()
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Card", exact=True).click()
    page.get_by_role("textbox", name="Amount", exact=True).fill("40")
    page.get_by_role("textbox", name="Reference").fill("TID 004512")
    page.get_by_role("button", name="Split", exact=True).click()
    page.get_by_role("button", name="Cash", exact=True).click()
    page.get_by_role("button", name="Rs 1,000", exact=True).click()
    tablet.expect(page.get_by_text("Change Rs 500")).to_be_visible()   # 540 - 40 by card = 500 left, of 1,000
    page.get_by_role("button", name="Complete sale").click()
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000002")
    page.get_by_role("button", name="New sale").click()

    # Offline: the wallet is taken on the customer's word and marked unverified.
    tablet.context.set_offline(True)
    tablet.wait_status(r"^Offline · ")
    page.get_by_role("button", name="Coca-Cola 1.5L", exact=True).click()
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Wallet", exact=True).click()
    tablet.expect(page.get_by_text(OFFLINE_WORDS)).to_be_visible()
    page.get_by_role("button", name="JazzCash", exact=True).click()
    page.get_by_role("textbox", name="Amount", exact=True).fill("100")
    page.get_by_role("textbox", name="Reference").fill("JC 99120")
    page.get_by_role("button", name="Split", exact=True).click()
    page.get_by_role("button", name="Cash", exact=True).click()
    page.get_by_role("button", name="Exact", exact=True).click()
    page.get_by_role("button", name="Complete sale").click()
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000003")

    tablet.context.set_offline(False)
    tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=60)
    cloud = {doc["receipt_number"]: doc for doc in wait_until(lambda: rig.cloud_documents() if len(
        rig.cloud_documents()) == 3 else None, what="three sales in the cloud")}
    assert cloud["T1-000001"]["payments"] == [
        {"tender": "cash", "amount": 30000},
        {"tender": "wallet", "amount": 25000, "reference": "EP-7731", "wallet": "easypaisa"}]
    assert cloud["T1-000001"]["change"] == 0
    assert cloud["T1-000002"]["payments"] == [
        {"tender": "card", "amount": 4000, "reference": "TID 004512"}, {"tender": "cash", "amount": 100000}]
    assert cloud["T1-000002"]["change"] == 50000
    assert cloud["T1-000003"]["payments"] == [
        {"tender": "wallet", "amount": 10000, "reference": "JC 99120", "wallet": "jazzcash", "unverified": True},
        {"tender": "cash", "amount": 11000}]
    assert [doc["payments"] for doc in journal_sales(tablet)] == [cloud[n]["payments"] for n in sorted(cloud)]


def test_complete_sale_waits_until_fully_paid_and_a_card_never_overpays(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    page.get_by_role("button", name="Nestle Nido 390g", exact=True).click()   # Rs 1,250
    page.get_by_role("button", name="Pay").click()
    complete = page.get_by_role("button", name="Complete sale")
    page.get_by_role("button", name="Rs 1,000", exact=True).click()
    tablet.expect(page.get_by_text("Not enough received")).to_be_visible()
    tablet.expect(complete).to_be_disabled()
    page.get_by_role("button", name="Card", exact=True).click()
    page.get_by_role("textbox", name="Amount", exact=True).fill("1300")
    tablet.expect(complete).to_be_disabled()
    tablet.expect(page.get_by_role("button", name="Split", exact=True)).to_be_disabled()
    page.get_by_role("textbox", name="Amount", exact=True).fill("")
    tablet.expect(complete).to_be_enabled()   # empty: the card pays what is left
    page.keyboard.press("F9")
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000001")
    [sale] = journal_sales(tablet)
    assert sale["payments"] == [{"tender": "card", "amount": 125000}] and sale["change"] == 0
    page.keyboard.press("F8")   # New sale's shortcut
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
