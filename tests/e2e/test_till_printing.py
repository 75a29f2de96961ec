"""Printing at the counter through the shop box (issue 11), from the till: a real tablet in Chromium, the
real box and cloud, and tests/fake_printer.py as the receipt printer, a real TCP listener on 127.0.0.1
that keeps every byte. The owner adds the printer and gives it to the tablet on the box's
/admin/printers page, as in a shop."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from cloud_api.contract import DrawerOpen
from gateway.escpos_receipt import KICK
from tests.e2e.conftest import OWNER_PIN, _rig, cloud_database, wait_until
from tests.e2e.counter_day import complete_return, new_customer, open_customers, open_sales, sale_row
from tests.fake_printer import FakePrinter, raster_images

pytestmark = pytest.mark.e2e

CUT = b"\x1dV"          # GS V
ESC_P = b"\x1bp"        # ESC p: the drawer kick
# A box that talks to printers in fractions of a second, so a printer switched on again prints at once.
FAST_PRINTING = {"POSLINE_GATEWAY_PRINT_CONNECT_TIMEOUT_S": "0.5", "POSLINE_GATEWAY_PRINT_STATUS_TIMEOUT_S": "0.3",
                 "POSLINE_GATEWAY_PRINT_BACKOFF_BASE_S": "0.2", "POSLINE_GATEWAY_PRINT_BACKOFF_CAP_S": "1",
                 "POSLINE_GATEWAY_PRINT_IDLE_S": "0.2"}
# The demo shop's footer is Urdu, which prints as a raster: plain English settings keep the slip text.
ENGLISH = {"address": "Shop 4, Liberty Market, Lahore", "receipt_footer": "Thank you for shopping with us"}


@pytest.fixture
def rig(request: Any, tmp_path: Path) -> Iterator[Any]:
    with cloud_database(request, tmp_path) as cloud_db:
        yield from _rig(tmp_path, cloud_db, FAST_PRINTING)


class Printer:
    """The fake printer on an event loop of its own (Playwright's sync API holds this thread)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = self._run(FakePrinter().on())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(15)

    @property
    def port(self) -> int:
        return self.fake.port

    @property
    def jobs(self) -> list[bytes]:
        return list(self.fake.jobs)

    def wait_jobs(self, count: int, timeout_s: float = 30) -> list[bytes]:
        return wait_until(lambda: len(self.jobs) >= count and self.jobs, timeout_s, f"{count} print jobs")

    def off(self) -> None:
        self._run(self.fake.off())

    def on(self) -> None:
        self._run(self.fake.on())

    def close(self) -> None:
        self.off()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def printer() -> Iterator[Printer]:
    made = Printer()
    yield made
    made.close()


def english_receipts(rig: Any) -> None:
    """The owner's receipt settings in English, and the box holding them (it renders from its catalog)."""
    rig.owner_put("settings", ENGLISH)

    def held() -> bool:
        with sqlite3.connect(rig.state_dir / "gateway.db") as db:
            row = db.execute("SELECT body FROM catalog WHERE id = 1").fetchone()
        return bool(row) and json.loads(row[0]).get("settings", {}).get("receipt_footer") == ENGLISH["receipt_footer"]
    wait_until(held, 30, "the box to hold the English receipt settings")


def owner_printers(browser: Any, rig: Any) -> Any:
    """The owner signed in on the box's printers page: (its browser context, the page)."""
    owner = browser.new_context(locale="en-PK", timezone_id="Asia/Karachi")
    page = owner.new_page()
    page.set_default_timeout(15000)
    page.goto(rig.till_url + "admin")
    page.get_by_role("textbox", name="Owner PIN").fill(OWNER_PIN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Receipt printers").click()
    return owner, page


def give_printer(browser: Any, rig: Any, port: int, device_code: str = "T1") -> None:
    """The owner, on the box's admin page: add the LAN printer, give it to the tablet."""
    from playwright.sync_api import expect
    owner, page = owner_printers(browser, rig)
    page.get_by_label("Name", exact=True).fill("Counter 1")
    page.get_by_label("IP address (LAN)").fill("127.0.0.1")
    page.get_by_label("Port (LAN)").fill(str(port))
    page.get_by_role("button", name="Add printer").click()
    expect(page.get_by_test_id("printer")).to_contain_text(f"127.0.0.1:{port}")
    page.get_by_role("combobox", name=f"Printer for {device_code}").select_option(label="Counter 1")
    page.get_by_role("button", name=f"Save printer for {device_code}").click()
    expect(page.get_by_role("combobox", name=f"Printer for {device_code}")).not_to_have_value("")
    owner.close()


def meta(tablet: Any, key: str) -> Any:
    return tablet.page.evaluate("""(key) => new Promise((resolve, reject) => {
        const open = indexedDB.open("posline");
        open.onsuccess = () => {
          const req = open.result.transaction("meta").objectStore("meta").get(key);
          req.onsuccess = () => { resolve(req.result ? req.result.value : null); open.result.close(); };
          req.onerror = () => reject(req.error);
        };
    })""", key)


def wait_printer_known(tablet: Any, known: bool = True) -> None:
    wait_until(lambda: bool(meta(tablet, "printer")) == known, 30, "the tablet to learn of its printer")


def counter(rig: Any, browser: Any, tablets: Any, printer: Printer) -> Any:
    """A paired tablet with the fake printer given to it on the box, the shop's receipts in English."""
    english_receipts(rig)
    tablet = tablets().open_and_pair()
    give_printer(browser, rig, printer.port)
    wait_printer_known(tablet)
    return tablet


def pay(tablet: Any, items: list[str], tender: str = "Cash", cash_rs: int = 5000) -> str:
    """Ring up and complete a sale; stay on its receipt screen; its receipt number."""
    return tablet.sell(items, cash_rs, tender, stay=True)


def all_sent(browser: Any, rig: Any, printer: Printer) -> list[bytes]:
    """What the printer got, once a test page the owner asks for now has come: a printer's jobs go first
    in, first out, so anything still to come (a second copy) would have come before it. The test page
    is the only raster here (these receipts are English text)."""
    before = len(printer.jobs)
    owner, page = owner_printers(browser, rig)
    page.get_by_role("button", name="Print test page on Counter 1").click()
    owner.close()

    def arrived() -> Any:
        jobs = printer.jobs
        return next(([jobs[:n]] for n in range(before, len(jobs)) if raster_images(jobs[n])), None)
    return wait_until(arrived, 30, "the test page on the printer")[0]


def outcome(tablet: Any) -> Any:
    return tablet.page.get_by_test_id("print-outcome")


def open_shift(tablet: Any) -> None:
    page = tablet.page
    page.get_by_role("button", name="Open shift").click()
    page.get_by_role("textbox", name="Counted cash").fill("5000")
    page.get_by_role("button", name="Open shift").click()
    tablet.expect(page.get_by_role("button", name="Close shift")).to_be_visible()


def test_a_cash_sale_prints_with_the_drawer_kick_a_card_sale_without_and_a_reprint_says_duplicate(
        rig, browser, tablets, printer):
    tablet = counter(rig, browser, tablets, printer)
    page = tablet.page

    number = pay(tablet, ["Tapal Danedar 190g", "Tapal Danedar 190g", "Coca-Cola 1.5L"], cash_rs=1500)
    # The next sale never waits for the printer: New sale is there while the slip is on its way.
    tablet.expect(page.get_by_role("button", name="New sale")).to_be_enabled()
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    tablet.expect(page.get_by_role("button", name="Reprint")).to_be_visible()   # again, through the box
    tablet.expect(page.get_by_role("button", name="Print", exact=True)).to_have_count(0)
    tablet.screenshot("till-printed")
    [cash] = printer.wait_jobs(1)
    for text in (b"Madina General Store", number.encode(), b"Tapal Danedar 190g", b"Coca-Cola 1.5L", b"Rs 1,310",
                 b"Rs 190", ENGLISH["receipt_footer"].encode()):
        assert text in cash, text
    assert cash.startswith(KICK) and ESC_P in cash, "a cash sale opens the drawer"
    assert CUT in cash[-16:], "the slip is cut at its end"
    assert b"DUPLICATE" not in cash

    page.get_by_role("button", name="New sale").click()
    card_number = pay(tablet, ["Lux Soap 130g"], tender="Card")
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    card = printer.wait_jobs(2)[1]
    assert card_number.encode() in card and b"Lux Soap 130g" in card and b"Card" in card
    assert ESC_P not in card, "a card sale keeps the drawer shut"

    # A reprint from the day's sales list: the same slip marked DUPLICATE, and no drawer.
    page.get_by_role("button", name="New sale").click()
    open_sales(tablet)
    sale_row(tablet, number).get_by_role("button", name="Reprint").click()
    tablet.expect(page.locator(".slip")).to_contain_text("DUPLICATE")
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    duplicate = printer.wait_jobs(3)[2]
    assert b"DUPLICATE" in duplicate and number.encode() in duplicate and b"Rs 1,310" in duplicate
    assert ESC_P not in duplicate, "a reprint never opens the drawer"
    assert len(printer.jobs) == 3   # the original was printed once, whatever the till asked

    # A return paid back in cash prints its slip and opens the drawer for the money.
    page.get_by_role("button", name="Back to sales").click()
    sale_row(tablet, number).get_by_role("button", name="Return", exact=True).click()
    refund_number = complete_return(tablet, {"Coca-Cola 1.5L": 1})
    returned = printer.wait_jobs(4)[3]
    assert b"RETURN" in returned and refund_number.encode() in returned and b"Coca-Cola 1.5L" in returned
    assert returned.startswith(KICK)


def test_a_khata_payment_in_cash_prints_its_slip_through_the_box_and_opens_the_drawer(rig, browser, tablets, printer):
    tablet = counter(rig, browser, tablets, printer)
    page = tablet.page
    open_customers(tablet)
    new_customer(tablet, "Ayesha Bibi", "0300 7654321")
    tablet.expect(page.get_by_role("heading", name="Ayesha Bibi")).to_be_visible()
    # She owes nothing yet: Rs 500 is an advance, confirmed, then its receipt.
    page.get_by_role("button", name="Receive payment").click()
    page.get_by_role("textbox", name="Amount", exact=True).fill("500")
    page.get_by_role("textbox", name="Note (optional)").fill("Advance for December")
    page.get_by_role("button", name="Receive payment").click()
    page.get_by_role("alertdialog", name="More than the balance").get_by_role("button", name="Confirm").click()
    tablet.expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    number = page.get_by_test_id("receipt-number").inner_text()
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    tablet.screenshot("till-khata-payment-receipt")
    [slip] = printer.wait_jobs(1)
    for text in (b"KHATA PAYMENT", b"Madina General Store", number.encode(), b"Amount received", b"Rs 500", b"Cash",
                 b"Ayesha Bibi", b"Balance after", b"Rs 500 in advance", b"Note: Advance for December"):
        assert text in slip, text
    assert slip.startswith(KICK) and ESC_P in slip, "cash received against a khata opens the drawer"
    # Not a sale: no GST, no change, and not the shop's footer for sales.
    for text in (b"GST", b"Change", ENGLISH["receipt_footer"].encode()):
        assert text not in slip, text
    tablet.expect(page.locator(".slip")).to_contain_text("Balance afterRs 500 in advance")
    # F8, as after a sale, goes on: here back to her khata, where what was received is said too.
    page.keyboard.press("F8")
    tablet.expect(page.get_by_test_id("khata-done")).to_have_text("Received Rs 500 from Ayesha Bibi.")
    # Today's list holds the payment: printed again, it says DUPLICATE and leaves the drawer shut.
    page.get_by_role("button", name="Back to customers").click()
    page.get_by_role("button", name="Back to selling").click()
    open_sales(tablet)
    row = sale_row(tablet, number)
    tablet.expect(row).to_contain_text("Payment received · Ayesha Bibi")
    tablet.expect(row.get_by_role("button", name="Return", exact=True)).to_have_count(0)
    row.get_by_role("button", name="Reprint").click()
    tablet.expect(page.locator(".slip")).to_contain_text("DUPLICATE")
    tablet.expect(page.locator(".slip")).to_contain_text("KHATA PAYMENT")
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    duplicate = printer.wait_jobs(2)[1]
    assert b"DUPLICATE" in duplicate and b"KHATA PAYMENT" in duplicate and number.encode() in duplicate
    assert ESC_P not in duplicate, "a reprint never opens the drawer"


def test_open_drawer_is_recorded_reaches_the_cloud_and_kicks_the_drawer_and_the_z_report_prints(
        rig, browser, tablets, printer):
    tablet = counter(rig, browser, tablets, printer)
    page = tablet.page
    open_shift(tablet)

    page.get_by_role("button", name="Open drawer").click()
    tablet.screenshot("till-open-drawer")
    page.get_by_role("button", name="Change for a customer").click()
    tablet.expect(page.get_by_role("textbox", name="Reason")).to_have_value("Change for a customer")
    page.get_by_role("button", name="Open drawer").click()
    tablet.expect(page.get_by_role("alert")).to_have_text("Drawer opened", timeout=30000)
    assert KICK in printer.fake.heard, "said only once the printer had the kick"
    assert printer.wait_jobs(1) == [KICK], "a drawer job is the kick alone, no slip"

    [row] = [r for r in tablet.journal() if r["document"]["kind"] == "drawer_open"]
    shift_id = next(r["id"] for r in tablet.journal() if r["document"]["kind"] == "shift_open")
    assert row["document"]["reason"] == "Change for a customer" and row["document"]["shift_id"] == shift_id
    in_cloud = wait_until(lambda: rig.cloud_documents("drawer_open"), 30, "the drawer_open in the cloud")
    assert [d["id"] for d in in_cloud] == [row["id"]]
    # The document as the contract has it (the cloud adds when it received it and such around it).
    held = DrawerOpen.model_validate({k: v for k, v in in_cloud[0].items() if k in DrawerOpen.model_fields})
    assert held.reason == "Change for a customer" and held.hash == in_cloud[0]["hash"]

    # Out of reach of the box: the opening is still recorded, and the till says the drawer stays shut.
    tablet.context.set_offline(True)
    page.get_by_role("button", name="Open drawer").click()
    page.get_by_role("textbox", name="Reason").fill("Customer wants to see the note again")
    page.get_by_role("button", name="Open drawer").click()
    tablet.expect(page.get_by_role("alert")).to_contain_text("the drawer could not be opened from here", timeout=30000)
    offline = [r for r in tablet.journal() if r["document"]["kind"] == "drawer_open" and r["id"] != row["id"]]
    assert len(offline) == 1 and offline[0]["state"] == "pending"
    assert offline[0]["document"]["reason"] == "Customer wants to see the note again"
    tablet.context.set_offline(False)
    wait_until(lambda: len(rig.cloud_documents("drawer_open")) == 2, 30, "the second drawer_open in the cloud")

    # The printer switched off: the box cannot kick, and the till says so rather than "Drawer opened".
    def settled() -> bool:
        with sqlite3.connect(rig.state_dir / "gateway.db") as db:
            return not db.execute("SELECT 1 FROM print_jobs WHERE status IN ('queued', 'printing')").fetchall()
    wait_until(settled, 30, "the box to have no print job waiting")
    before = printer.jobs
    printer.off()
    page.get_by_role("button", name="Open drawer").click()
    page.get_by_role("textbox", name="Reason").fill("Check the float")
    page.get_by_role("button", name="Open drawer").click()
    tablet.expect(page.get_by_role("alert")).to_have_text(
        "The drawer could not be opened (printer off): open it with its key.", timeout=30000)
    printer.on()

    # The Z-report at the shift's close prints on the box's printer too.
    page.get_by_role("button", name="Close shift").click()
    page.get_by_role("textbox", name="Counted cash").fill("5000")
    page.get_by_role("button", name="Close shift").click()
    tablet.expect(page.get_by_role("button", name="Done")).to_be_visible()
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    [z] = wait_until(lambda: [j for j in printer.jobs if b"Z-REPORT" in j], 30, "the Z-report on the printer")
    assert b"Madina General Store" in z and b"Rs 5,000" in z and ESC_P not in z
    assert printer.jobs[:len(before)] == before and KICK not in printer.jobs[len(before):], "no late kick"

    # The owner's Z-report of the shift, in the cloud, counts the three openings with why.
    day = row["document"]["created_at"][:10]

    def counted() -> Any:
        [shift] = rig.owner_get("reports/shifts", date=day)["shifts"]
        return shift["closed"] and shift
    shift = wait_until(counted, 30, "the closed shift in the cloud")
    assert shift["shift_id"] == shift_id and shift["drawer_openings"] == 3
    assert shift["drawer_reasons"] == ["Change for a customer", "Customer wants to see the note again",
                                       "Check the float"]


def test_a_printer_that_is_off_or_out_of_paper_prints_the_receipt_once_when_ready_and_the_till_says_so(
        rig, browser, tablets, printer):
    tablet = counter(rig, browser, tablets, printer)
    printer.off()

    asked_at = time.monotonic()   # the job is made after this, when the sale is stored
    number = pay(tablet, ["Lux Soap 130g"], cash_rs=200)
    tablet.expect(outcome(tablet)).to_have_text("Printer is off: turn it on to print", timeout=30000)
    assert printer.jobs == []
    printer.on()
    late_s = time.monotonic() - asked_at
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    [job] = printer.wait_jobs(1)
    assert number.encode() in job and job.count(ESC_P) <= 1
    # The drawer opens only within print_drawer_fresh_s (20 s) of the request: on well within it, the
    # kick goes with the slip; much later, the slip prints without it (the drawer never springs open late).
    if late_s < 10:
        assert job.startswith(KICK)
    elif late_s > 25:
        assert ESC_P not in job
    assert [j for j in all_sent(browser, rig, printer) if number.encode() in j] == [job]   # no second copy

    # Out of paper: the till says so, and the slip prints once the roll is in.
    printer.fake.paper_out = True
    tablet.page.get_by_role("button", name="New sale").click()
    second = pay(tablet, ["Lux Soap 130g"], cash_rs=200)
    tablet.expect(outcome(tablet)).to_have_text("Printer has no paper: load paper to print", timeout=30000)
    wait_until(lambda: printer.jobs[-1] == KICK, 10, "the drawer to open for the change without paper")
    printer.fake.paper_out = False
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    [slip] = [j for j in printer.jobs if second.encode() in j]
    assert ESC_P not in slip and printer.jobs.count(KICK) == 1


def test_without_a_printer_or_the_box_the_till_offers_the_browsers_print(rig, browser, tablets, printer):
    english_receipts(rig)
    tablet = tablets().open_and_pair()
    page = tablet.page
    # No printer for this tablet on the box: the receipt prints through the browser, as before.
    pay(tablet, ["Lux Soap 130g"], cash_rs=200)
    tablet.expect(page.get_by_role("button", name="Print", exact=True)).to_be_visible()
    tablet.expect(outcome(tablet)).to_be_hidden()
    page.get_by_role("button", name="New sale").click()

    # With a printer, but the box out of reach when the sale completes: the browser's print again.
    give_printer(browser, rig, printer.port)
    wait_printer_known(tablet)
    tablet.context.set_offline(True)
    pay(tablet, ["Lux Soap 130g"], cash_rs=200)
    tablet.expect(outcome(tablet)).to_have_text("Not printed by the shop box: use Print.", timeout=30000)
    tablet.expect(page.get_by_role("button", name="Print", exact=True)).to_be_visible()
    tablet.context.set_offline(False)
    tablet.wait_status(r"^Online · 0 unsynced$")
    # The sale reached the box later, and nobody asked for its slip then: the printer stayed quiet.
    assert all_sent(browser, rig, printer) == []

    # The box going out of reach while the till follows a job: the till stops saying "Printing" and
    # offers the browser's Print.
    page.get_by_role("button", name="New sale").click()
    printer.off()
    pay(tablet, ["Lux Soap 130g"], cash_rs=200)
    tablet.expect(outcome(tablet)).to_have_text("Printer is off: turn it on to print", timeout=30000)
    tablet.context.set_offline(True)
    tablet.expect(outcome(tablet)).to_have_text("Not printed by the shop box: use Print.", timeout=30000)
    tablet.expect(page.get_by_role("button", name="Print", exact=True)).to_be_visible()
    tablet.context.set_offline(False)


def test_an_urdu_till_asks_for_an_urdu_slip(rig, browser, tablets, printer):
    tablet = counter(rig, browser, tablets, printer)
    page = tablet.page
    number = pay(tablet, ["Lux Soap 130g"], cash_rs=200)
    tablet.expect(outcome(tablet)).to_have_text("Printed", timeout=30000)
    assert raster_images(printer.wait_jobs(1)[0]) == []   # English: text
    page.get_by_role("button", name="اردو").click()
    tablet.expect(outcome(tablet)).to_have_text("پرنٹ ہو گیا")
    page.get_by_role("button", name="دوبارہ پرنٹ").click()   # Reprint, through the box, in Urdu
    urdu = printer.wait_jobs(2)[1]
    stripes = raster_images(urdu)
    assert stripes and {w for w, _, _ in stripes} == {576 // 8}, "one raster as wide as the 80 mm head"
    assert number.encode() not in urdu   # drawn, not sent as text
