"""Returns at the counter: across tablets through the box, and never more than was sold, online or cut off."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.counter_day import (complete_return, documents, look_up, open_sales, open_shift, return_by_number,
                                   return_from_list, sale_row, validate_as_sent)

pytestmark = pytest.mark.e2e

TAPAL, COKE, LUX = "Tapal Danedar 190g", "Coca-Cola 1.5L", "Lux Soap 130g"


def test_a_sale_made_on_one_tablet_is_returned_on_the_other_through_the_box(rig, tablets):
    t1 = tablets().open_and_pair()
    t2 = tablets().open_and_pair()
    sold = t1.sell([TAPAL, TAPAL, COKE])
    t1.wait_status(r"^Online · 0 unsynced$")
    [sale] = documents(t1, "sale")

    code, seq = sold.split("-")
    return_by_number(t2, f"{code.lower()}-{int(seq)}")   # typed short, as a cashier may: "t1-1"
    page = t2.page
    t2.expect(page.get_by_role("heading", name=f"Return from receipt {sold}")).to_be_visible()
    tapal = page.get_by_role("spinbutton", name=TAPAL, exact=True)
    t2.expect(tapal).to_have_value("0")
    t2.expect(tapal).to_have_attribute("max", "2")
    tapal.fill("1")
    t2.expect(page.get_by_text("Pay back Rs 550")).to_be_visible()
    t2.screenshot("return")
    number = complete_return(t2, {TAPAL: 1}, reason="Box was torn")
    assert number.startswith("T2-")

    [refund] = documents(t2, "refund")
    assert refund["original_id"] == sale["id"] and refund["original_receipt"] == sold
    assert [(line["line_index"], line["qty"], line["amount"]) for line in refund["lines"]] == [(0, 1, 55000)]
    assert refund["payments"] == [{"tender": "cash", "amount": 55000}] and refund["reason"] == "Box was torn"
    sent = validate_as_sent(t2, refund)

    # The return rides the pipeline to the cloud like a sale, exactly once.
    t2.wait_status(r"^Online · 0 unsynced$")
    stored = wait_until(lambda: rig.cloud_documents("refund"), 30, "the refund in the cloud")
    assert [(d["id"], d["hash"]) for d in stored] == [(sent["id"], sent["hash"])]

    # The box now counts that return for every tablet: T1 may return only the other Tapal.
    return_from_list(t1, sold)
    t1.expect(t1.page.get_by_role("spinbutton", name=TAPAL, exact=True)).to_have_attribute("max", "1")
    t1.expect(t1.page.get_by_role("spinbutton", name=COKE, exact=True)).to_have_attribute("max", "1")


def test_a_second_return_beyond_what_was_sold_is_refused_online(rig, tablets):
    t1 = tablets().open_and_pair()
    t2 = tablets().open_and_pair()
    sold = t1.sell([COKE])
    t1.wait_status(r"^Online · 0 unsynced$")

    # T2 opens the return first; T1 then returns the same bottle and it reaches the box.
    return_by_number(t2, sold)
    t2.page.get_by_role("spinbutton", name=COKE, exact=True).fill("1")
    return_from_list(t1, sold)
    complete_return(t1)
    t1.wait_status(r"^Online · 0 unsynced$")

    # T2's return asks the box again on completion, and is refused: the bottle was already returned.
    t2.page.get_by_role("button", name="Complete return").click()
    t2.expect(t2.page.get_by_role("alert").filter(has_text="NOT saved")).to_be_visible()
    assert documents(t2, "refund") == []
    t2.expect(t2.page.get_by_role("spinbutton", name=COKE, exact=True)).to_be_disabled()

    # Looked up afresh, nothing is left to return.
    t2.page.get_by_role("button", name="Back to sales").click()
    look_up(t2, sold)
    coke = t2.page.get_by_role("spinbutton", name=COKE, exact=True)
    t2.expect(coke).to_have_attribute("max", "0")
    t2.expect(coke).to_be_disabled()
    t2.expect(t2.page.get_by_role("button", name="Complete return")).to_be_disabled()
    assert documents(t2, "refund") == [] and len(documents(t1, "refund")) == 1


def test_a_tablet_cut_off_from_the_box_returns_only_its_own_sales_and_never_twice(rig, tablets):
    t1 = tablets().open_and_pair()
    t1.context.set_offline(True)
    sold = t1.sell([LUX, LUX])
    t1.wait_status(r"^Offline")

    return_from_list(t1, sold)
    page = t1.page
    t2_words = "checked against this tablet's own records only"
    t1.expect(page.get_by_text(t2_words)).to_be_visible()
    complete_return(t1, {LUX: 2})

    # The same sale again, still cut off: what this tablet returned counts, nothing is left.
    return_from_list(t1, sold)
    lux = page.get_by_role("spinbutton", name=LUX, exact=True)
    t1.expect(lux).to_have_attribute("max", "0")
    t1.expect(lux).to_be_disabled()
    t1.expect(page.get_by_role("button", name="Complete return")).to_be_disabled()

    # Another tablet's receipt needs the box: refused in words, and no return screen.
    page.get_by_role("button", name="Back to sales").click()
    look_up(t1, "T2-000001")
    t1.expect(page.get_by_role("alert").filter(has_text="needs the shop box")).to_be_visible()
    t1.expect(page.get_by_role("button", name="Complete return")).to_have_count(0)
    [refund] = documents(t1, "refund")
    assert [line["qty"] for line in refund["lines"]] == [2]

    # Back online, the one return reaches the box and the sale's row says so.
    t1.context.set_offline(False)
    t1.wait_status(r"^Online · 0 unsynced$")
    t1.page.get_by_role("button", name="Back to selling").click()
    t1.page.get_by_role("button", name="Sales", exact=True).click()
    t1.expect(sale_row(t1, sold)).to_contain_text("in cloud", timeout=30000)


def test_a_cashier_without_the_right_to_refund_cannot_take_a_return(rig, tablets):
    rig.owner_put("cashiers/c2", {"name": "Bilal", "pin": "583920", "can_refund": False})
    tablet = tablets().open()
    page = tablet.page
    page.get_by_role("textbox", name="Pairing code").fill(rig.pair_code())
    page.get_by_role("button", name="Pair").click()
    page.get_by_role("button", name="Bilal").click(timeout=30000)
    page.get_by_role("textbox", name="PIN").fill("583920")
    page.get_by_role("button", name="Sign in").click()
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
    sold = tablet.sell([COKE], cash_rs=300)

    open_sales(tablet)
    sale_row(tablet, sold).get_by_role("button", name="Return", exact=True).click()
    tablet.expect(page.get_by_role("alert").filter(has_text="may not take returns")).to_be_visible()
    look_up(tablet, "T2-000001")   # nor by number, whatever the tablet
    tablet.expect(page.get_by_role("alert").filter(has_text="may not take returns")).to_be_visible()
    tablet.expect(page.get_by_role("button", name="Complete return")).to_have_count(0)
    assert documents(tablet, "refund") == []


def test_a_number_that_is_no_sale_is_said_so_and_a_refusal_goes_once_the_cashier_types(rig, tablets):
    """Every document takes the tablet's next receipt number (a shift's opening, its Z-report, ...): a
    cashier typing one of those hears what it is, not "no sale is known", in the tablet's language even
    for another tablet's number (the box names its kind); and a refusal on the sales list goes once the
    cashier types again, as does an answer that comes after (both were about the number before)."""
    t1 = tablets().open_and_pair()
    t2 = tablets().open_and_pair()
    open_shift(t2, 1000)                        # T2-000001, another tablet's: known at the box
    t2.wait_status(r"^Online · 0 unsynced$")
    open_shift(t1, 500)                         # T1-000001, this tablet's own
    page = t1.page
    refusal = page.locator(".sales [role=alert]")
    open_sales(t1)
    look_up(t1, "t1-1")
    t1.expect(refusal).to_have_text("T1-000001 is a shift's opening, not a sale.")
    page.get_by_role("searchbox", name="Receipt number").fill("t1-")
    t1.expect(refusal).to_have_text("")
    hint = page.locator(".sales p.hint")
    page.get_by_role("searchbox", name="Receipt number").fill("t2-1")
    t1.expect(hint).to_have_text("T2-000001 is not among this tablet's sales today. Press Enter to look it up for a return.")
    look_up(t1, "t2-1")   # another tablet's: what it is comes from the box (its error's kind)
    t1.expect(refusal).to_have_text("T2-000001 is a shift's opening, not a sale.")
    t1.expect(hint).to_be_hidden()   # Enter was pressed: the answer stands alone
    look_up(t1, "t1-999")
    t1.expect(refusal).to_have_text("No sale with receipt number T1-000999 is known.")
    t1.expect(page.get_by_role("button", name="Complete return")).to_have_count(0)
    # An answer that comes after the cashier typed again is about the number before: not shown.
    held: list[Any] = []
    asked = re.compile(r".*/api/v1/sales/.*")
    page.route(asked, lambda route: held.append(route))   # the box's answer held back
    with page.expect_request(asked):
        look_up(t1, "t2-1")
    t1.expect(refusal).to_have_text("Looking up the sale…")
    page.get_by_role("searchbox", name="Receipt number").fill("t1-00000")
    t1.expect(refusal).to_have_text("")
    assert len(held) == 1
    with page.expect_response(asked):
        held[0].continue_()
    page.wait_for_timeout(500)   # the answer's handling is a few microtasks after its response
    t1.expect(refusal).to_have_text("")
    # In Urdu too: the till words the box's `kind` in its own language, never the box's English; and
    # a switch of language while the box answers does not lose the answer.
    with page.expect_request(asked):
        look_up(t1, "t2-1")
    t1.expect(refusal).to_have_text("Looking up the sale…")
    page.get_by_role("button", name="اردو", exact=True).click()
    t1.expect(refusal).to_have_text("فروخت ڈھونڈی جا رہی ہے…")
    assert len(held) == 2
    held[1].continue_()
    t1.expect(refusal).to_have_text("\u2066T2-000001\u2069 شفٹ کا آغاز ہے، فروخت نہیں۔")   # the number kept LTR
    page.unroute(asked)
