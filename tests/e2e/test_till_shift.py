"""Shifts and cash-up: open with a float, pay out, sell, return, close short; the Z-report is the documents' sums."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_js, wait_until
from tests.e2e.counter_day import (complete_return, documents, expected_z, move_cash, open_shift, return_from_list,
                                   start_close, validate_as_sent, z_figures)

pytestmark = pytest.mark.e2e

TAPAL, NIDO, SALT = "Tapal Danedar 190g", "Nestle Nido 390g", "National Iodised Salt 800g"


def test_a_shift_closes_short_and_its_z_report_equals_the_documents(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    open_shift(tablet, 5000)

    # The open shift survives a reload: it comes back from the journal.
    page.reload()
    tablet.expect(page.get_by_role("button", name="Close shift")).to_be_visible()
    tablet.expect(page.get_by_role("button", name="Open shift")).to_have_count(0)

    move_cash(tablet, "Paid out", 200, "Milk for the staff tea")
    move_cash(tablet, "Paid in", 1000, "Change from the bank")
    cash_sale = tablet.sell([TAPAL, TAPAL, SALT], cash_rs=2000)   # Rs 1,190: change Rs 810
    tablet.sell([NIDO], tender="Card")
    return_from_list(tablet, cash_sale)
    complete_return(tablet, {TAPAL: 1})                          # Rs 550 back in cash

    [opened] = documents(tablet, "shift_open")
    # Expected: 5,000 + 1,190 - 550 + 1,000 - 200 = 6,440. The drawer holds Rs 6,400: Rs 40 short.
    start_close(tablet, 6400)
    figures = z_figures(tablet)
    tablet.screenshot("z-report")

    docs = [row["document"] for row in tablet.journal()]
    expected = expected_z(docs, opened["id"])
    assert {k: figures[k] for k in expected} == expected
    assert expected["expected-cash"] == 644000 and expected["tender-card"] == 125000
    assert figures["counted-cash"] == 640000 and figures["over-short"] == -4000
    # Said one way: "Short Rs 40", not "Short -Rs 40".
    assert page.get_by_test_id("over-short-word").inner_text() == "Short"
    assert page.get_by_test_id("z-over-short").inner_text() == "Rs 40"
    [closed] = documents(tablet, "shift_close")
    assert closed["shift_id"] == opened["id"] and closed["expected_cash"] == 644000 and closed["counted_cash"] == 640000
    assert closed["confirmed"] == {"card": 125000, "wallet": 0}
    assert all(d.get("shift_id") == opened["id"] for d in docs if d["kind"] in ("sale", "refund", "cash_movement"))

    # Every shift document the till wrote fits the contract, and the cloud holds each once, as sent.
    sent = {d["id"]: validate_as_sent(tablet, d)["hash"] for d in docs if d["kind"] != "sale"}
    tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=60)
    in_cloud = {}
    for kind in ("shift_open", "cash_movement", "refund", "shift_close"):
        for d in wait_until(lambda kind=kind: rig.cloud_documents(kind), 30, f"{kind} in the cloud"):
            in_cloud[d["id"]] = d["hash"]
    assert in_cloud == sent
    # The cloud's copies add up to the same Z-report figures.
    cloud_docs = [d for kind in ("sale", "refund", "shift_open", "cash_movement") for d in rig.cloud_documents(kind)]
    assert expected_z(cloud_docs, opened["id"]) == expected

    # Back at the counter, no shift is open: a sale now would be in no shift's Z-report, and the
    # payment screen says so (the shop counts its drawer by shifts), before the cash is taken.
    page.get_by_role("button", name="Done").click()
    tablet.expect(page.get_by_role("button", name="Open shift")).to_be_visible()
    page.get_by_role("button", name=SALT, exact=True).click()
    page.get_by_role("button", name="Pay").click()
    tablet.expect(page.get_by_test_id("pay-no-shift")).to_contain_text("this sale will be in no shift's Z-report")
    page.reload()   # known from the journal, not only from this visit
    page.get_by_role("button", name="Pay").click()
    tablet.expect(page.get_by_test_id("pay-no-shift")).to_be_visible()


def test_closing_with_documents_not_at_the_box_warns_and_sync_now_sends_them(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    open_shift(tablet, 3000)
    tablet.wait_status(r"^Online · 0 unsynced$")
    tablet.context.set_offline(True)
    tablet.sell([SALT], cash_rs=100)
    tablet.sell([TAPAL], cash_rs=1000)
    tablet.wait_status(r"^Offline · 2 unsynced$")

    start_close(tablet, 3640)
    dialog = page.get_by_role("alertdialog")
    tablet.expect(dialog).to_contain_text("2 sales and records are not yet at the shop box")
    tablet.screenshot("unsynced-warning")

    tablet.context.set_offline(False)
    dialog.get_by_role("button", name="Sync now").click()
    tablet.expect(dialog).to_contain_text("Everything is at the shop box.", timeout=30000)
    pending = [row for row in tablet.journal() if row["state"] == "pending"]
    assert pending == []
    assert set(rig.gateway_journal_ids()) >= {d["id"] for d in documents(tablet, "sale")}

    dialog.get_by_role("button", name="Close shift anyway").click()
    figures = z_figures(tablet)
    assert figures["sales-count"] == 2 and figures["over-short"] == 0 and figures["expected-cash"] == 364000
    wait_js(page, "document.querySelector('[role=alertdialog]') === null")


def test_the_warnings_counts_add_up_to_the_status_badges(rig, tablets):
    """The badge counts what is not yet in the cloud; the warning, what is not yet at the box, and the
    rest, at the box on its way: "Offline · 3 unsynced" is 2 here and 1 at the box, said so."""
    tablet = tablets().open_and_pair()
    page = tablet.page
    open_shift(tablet, 1000)
    tablet.wait_status(r"^Online · 0 unsynced$")
    rig.proxy.set_mode("cut")                        # the shop's internet down: the box keeps what it gets
    try:
        tablet.sell([SALT], cash_rs=90)
        tablet.wait_status(r"^Cloud offline · 1 unsynced$")
        tablet.context.set_offline(True)             # and now this tablet cannot reach the box either
        tablet.sell([SALT], cash_rs=90)
        tablet.sell([SALT], cash_rs=90)
        tablet.wait_status(r"^Offline · 3 unsynced$")
        start_close(tablet, 1270)
        dialog = page.get_by_role("alertdialog")
        tablet.expect(dialog).to_contain_text("2 sales and records are not yet at the shop box")
        tablet.expect(dialog).to_contain_text("1 more is at the shop box and goes on to the cloud from there.")
        # Back in reach of the box, Sync now: all three at the box, on their way to the cloud from there.
        tablet.context.set_offline(False)
        dialog.get_by_role("button", name="Sync now").click()
        tablet.expect(dialog).to_contain_text("Everything is at the shop box; 3 go on to the cloud from there.",
                                              timeout=30000)
        dialog.get_by_role("button", name="Cancel").click()
    finally:
        rig.proxy.set_mode("pass")


def test_open_drawer_on_a_tablet_with_no_printer_says_so_not_out_of_reach(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    open_shift(tablet, 1000)
    page.get_by_role("button", name="Open drawer").click()
    page.get_by_role("button", name="Change for a customer").click()
    page.get_by_role("button", name="Open drawer").click()
    # The box took it (online, nothing waits), and no printer of this tablet is there to kick the drawer.
    tablet.expect(page.get_by_role("alert")).to_have_text(
        "Recorded. This tablet has no printer on the shop box to open the drawer: open it with its key.",
        timeout=30000)
    tablet.wait_status(r"^Online · 0 unsynced$")
    assert len(documents(tablet, "drawer_open")) == 1


def test_the_cashier_may_close_with_documents_still_waiting(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    open_shift(tablet, 1000)
    tablet.wait_status(r"^Online · 0 unsynced$")   # the shift_open is at the box: only the sale waits
    tablet.context.set_offline(True)
    tablet.sell([SALT], cash_rs=90)
    start_close(tablet, 1090)
    dialog = page.get_by_role("alertdialog")
    tablet.expect(dialog).to_contain_text("1 sale or record is not yet at the shop box")
    dialog.get_by_role("button", name="Cancel").click()
    tablet.expect(page.get_by_role("heading", name="Close the shift")).to_be_visible()
    assert documents(tablet, "shift_close") == []

    page.get_by_role("button", name="Close shift").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Close shift anyway").click()
    assert z_figures(tablet)["over-short"] == 0
    assert page.get_by_test_id("over-short-word").inner_text() == "Cash matches"   # not "Over Rs 0"
    [closed] = documents(tablet, "shift_close")
    assert [row["state"] for row in tablet.journal() if row["id"] == closed["id"]] == ["pending"]


def test_signing_out_with_documents_not_at_the_box_warns_first(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    tablet.context.set_offline(True)
    tablet.sell(["Lux Soap 130g"], cash_rs=200)
    page.get_by_role("button", name="Sign out").click()
    dialog = page.get_by_role("alertdialog")
    tablet.expect(dialog).to_contain_text("1 sale or record is not yet at the shop box")
    dialog.get_by_role("button", name="Cancel").click()
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()   # still signed in

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Sign out anyway").click()
    tablet.expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert [row["state"] for row in tablet.journal()] == ["pending"]   # kept on the tablet, to go later
