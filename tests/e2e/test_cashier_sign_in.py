"""Cashier sign-in (issue 6, item 5): choose who, one PIN check; the box's limits hold; offline still works."""
from __future__ import annotations

import re

import httpx

pytestmark = __import__("pytest").mark.e2e
BILAL_PIN = "246813"
TOO_MANY = re.compile(r"^Too many wrong PINs\. Try again in \d+ seconds\.$")


def add_bilal(rig) -> None:
    owner = {"Authorization": f"Bearer {rig.shop['owner_token']}"}
    response = httpx.put(f"{rig.cloud.url}/v1/shops/{rig.shop['shop_id']}/cashiers/c2",
                         json={"name": "Bilal", "pin": BILAL_PIN}, headers=owner, timeout=10)
    assert response.status_code == 200, response.text


def sign_in(tablet, name: str | None, pin: str) -> None:
    page = tablet.page
    if name is not None:
        page.get_by_role("group", name="Cashier").get_by_role("button", name=name, exact=True).click()
    page.get_by_role("textbox", name="PIN").fill(pin)
    page.get_by_role("button", name="Sign in").click()


def test_a_second_cashier_chooses_their_name_then_types_their_pin(rig, tablets):
    tablet = tablets().open_and_pair()   # one cashier: chosen already, no name to click
    page = tablet.page
    add_bilal(rig)
    page.get_by_role("button", name="Sign out").click()
    cashiers = page.get_by_role("group", name="Cashier")
    tablet.expect(cashiers.get_by_role("button", name="Bilal", exact=True)).to_be_visible(timeout=30000)
    tablet.expect(cashiers.get_by_role("button")).to_have_count(2)

    sign_in(tablet, None, BILAL_PIN)   # nobody chosen yet
    tablet.expect(page.get_by_role("alert")).to_have_text("Choose your name, then type your PIN.")
    sign_in(tablet, "Ayesha", BILAL_PIN)   # Bilal's PIN is not Ayesha's
    tablet.expect(page.get_by_role("alert")).to_have_text("Wrong PIN.")
    tablet.expect(cashiers.get_by_role("button", name="Ayesha", exact=True)).to_have_attribute("aria-pressed", "true")

    sign_in(tablet, "Bilal", BILAL_PIN)
    tablet.expect(cashiers.get_by_role("button", name="Bilal", exact=True)).to_have_count(0)   # the screen moved on
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
    tablet.expect(page.locator("#who")).to_contain_text("Bilal")
    assert tablet.sell(["Tapal Danedar 190g"]) == "T1-000001"
    tablet.wait_status(r"^Online · 0 unsynced$")
    assert [doc["cashier_id"] for doc in rig.cloud_documents()] == ["c2"]


def test_the_boxs_limit_holds_over_a_reload(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    page.get_by_role("button", name="Sign out").click()
    for _ in range(5):   # the box's limit for one tablet (gateway/cashier_pins.py)
        sign_in(tablet, None, "999999")
        tablet.expect(page.get_by_role("alert")).to_have_text(re.compile(r"^(Wrong PIN\.|Too many wrong PINs.*)$"))
        tablet.expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    # A reload forgets the tablet's own count; the box's is in its database, and is shown in words.
    page.reload()
    tablet.expect(page.get_by_role("button", name="Sign in")).to_be_enabled(timeout=20000)
    sign_in(tablet, None, rig.shop["cashier_pin"])   # even the right PIN waits
    tablet.expect(page.get_by_role("alert")).to_have_text(TOO_MANY)
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_have_count(0)


def test_with_the_box_stopped_a_cashier_still_signs_in_offline(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    page.get_by_role("button", name="Sign out").click()
    rig.gateway.stop()
    tablet.wait_status(r"^Offline · ")
    sign_in(tablet, None, "999999")
    tablet.expect(page.get_by_role("alert")).to_have_text("Wrong PIN.")
    sign_in(tablet, None, rig.shop["cashier_pin"])
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
    assert tablet.sell(["Coca-Cola 1.5L"]) == "T1-000001"   # sold with no box: kept on the tablet
    tablet.wait_status(r"^Offline · 1 unsynced$")
