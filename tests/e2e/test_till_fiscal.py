"""FBR / PRA fiscal reporting on the till (issue 9): the Re 1 POS service fee, PRA's tax by tender, the
`fiscal` store, and the FBR block on receipts and reprints once the box has reported the invoice.

Every shop here has a box pointed at the FBR / PRA simulator (tests/fbr_sim.py, run as a process): no
test reaches a real FBR host.
"""
from __future__ import annotations

import json
import random

import jsonschema
import pytest

from cloud_api.contract import Refund, Sale, line_tax, parse_document, tender_tax_bp

from .conftest import give_pos_id, put_fiscal, wait_js, wait_until
from .counter_day import (complete_return, documents, open_sales, open_shift, return_from_list, sale_row,
                          start_close, z_figures)
from .old_journal import READ_JOURNAL, journal_row, make_journal, old_sale

pytestmark = pytest.mark.e2e

POS_ID = 123456   # registered with the simulator (tests/fbr_sim.py SIM_POS_IDS)
PRA_RATES = {"cash": 1600, "card": 500}


@pytest.fixture
def rig(fiscal_rig):
    """Every shop in this module reports to the simulator (conftest.fiscal_rig)."""
    return fiscal_rig


def tablet_catalog_has(tablet, check, what: str) -> None:
    """Wait until the fiscal settings in the tablet's stored catalog pass `check`."""
    def fiscal():
        catalog = tablet.page.evaluate("""async () => {
            const db = await new Promise((ok) => { const r = indexedDB.open("posline"); r.onsuccess = () => ok(r.result); });
            const row = await new Promise((ok) => { const q = db.transaction("catalog").objectStore("catalog").get("current");
                                                    q.onsuccess = () => ok(q.result); });
            db.close();
            return row ? row.catalog : null;
        }""")
        return bool(catalog and catalog.get("fiscal") and check(catalog["fiscal"]))
    wait_until(fiscal, 30, what)


def validate_as_sent(tablet, document: dict) -> dict:
    """The sale or refund as the till sends it, checked against the contract's JSON Schema and model."""
    sent = json.loads(tablet.page.evaluate(   # through JSON, as sync.js sends it (no -0.0 from Playwright)
        """async (doc) => JSON.stringify(await (await import("/canonical.js")).withHash(doc))""", document))
    model = {"sale": Sale, "refund": Refund}[sent["kind"]]
    jsonschema.validate(sent, model.model_json_schema())
    assert isinstance(parse_document(sent), model)   # the model's arithmetic and the hash
    return sent


def device_id(tablet) -> str:
    return tablet.page.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open("posline"); r.onsuccess = () => ok(r.result); });
        const row = await new Promise((ok) => { const q = db.transaction("meta").objectStore("meta").get("identity");
                                                q.onsuccess = () => ok(q.result); });
        db.close();
        return row.value.device_id;
    }""")


def ring_up(tablet, items: list[str]) -> None:
    for name in items:
        tablet.page.get_by_role("button", name=name, exact=True).click()


# --- (a) the Re 1 POS service fee ----------------------------------------------------------------

def test_the_pos_service_fee_is_its_own_row_inside_the_total_and_never_refunded(rig, tablets):
    put_fiscal(rig, mode="fbr", service_fee=True)
    tablet = tablets().open_and_pair()
    page = tablet.page
    tablet_catalog_has(tablet, lambda f: f["service_fee"] is True, "the service fee on the tablet")
    open_shift(tablet, 1000)

    ring_up(tablet, ["Tapal Danedar 190g", "Coca-Cola 1.5L"])   # Rs 550 + Rs 210
    fee_row = page.locator(".lines li.fee")
    tablet.expect(fee_row).to_contain_text("POS service fee")
    tablet.expect(fee_row).to_contain_text("Rs 1")
    tablet.expect(page.locator(".paybar .total")).to_have_text("Total Rs 761")
    page.get_by_role("button", name="Pay").click()
    tablet.expect(page.get_by_role("heading", name="Total Rs 761")).to_be_visible()
    tablet.expect(page.get_by_text("POS service fee Rs 1 included")).to_be_visible()
    page.get_by_role("button", name="Exact", exact=True).click()
    page.get_by_role("button", name="Complete sale").click()
    sold = page.get_by_test_id("receipt-number").inner_text()

    slip = page.locator(".slip")
    fee = slip.locator(".slip-fee")
    tablet.expect(fee).to_contain_text("POS service fee")
    tablet.expect(fee).to_contain_text("Rs 1")
    tablet.expect(slip.locator(".slip-total").first).to_contain_text("Rs 761")
    # No POSID for this tablet yet: the invoice waits at the box, and the receipt says so.
    tablet.expect(slip.locator(".slip-fiscal")).to_contain_text("FBR POS")
    tablet.expect(slip.locator(".slip-fiscal")).to_contain_text("FBR: pending")
    page.get_by_role("button", name="New sale").click()

    [sale] = documents(tablet, "sale")
    sent = validate_as_sent(tablet, sale)   # the contract's schema and model: total = lines + fee
    assert sent["service_fee"] == 100
    assert sent["total"] == sum(line["amount"] for line in sent["lines"]) + 100 == 76100
    assert sent["tax"] == sum(line["tax"] for line in sent["lines"])
    assert sent["payments"] == [{"tender": "cash", "amount": 76100}] and sent["change"] == 0

    # A return of everything pays back the goods, never the fee.
    return_from_list(tablet, sold)
    complete_return(tablet)
    [refund] = documents(tablet, "refund")
    validate_as_sent(tablet, refund)
    assert refund["total"] == 76000 and "service_fee" not in refund

    # The Z-report: the fee stays in the drawer (float + Rs 1), and is counted as such.
    start_close(tablet, 1001)
    figures = z_figures(tablet)
    assert figures["sales-total"] == 76100 and figures["returns-total"] == 76000
    assert figures["service-fees"] == 100
    assert figures["expected-cash"] == 100100 and figures["over-short"] == 0
    # One of each, in the singular (the cashier's name is the demo's).
    tablet.expect(tablet.page.locator(".slip-row > span", has_text="Ayesha:")).to_have_text("Ayesha: 1 sale, 1 return")

    tablet.wait_status(r"^Online · 0 unsynced$")
    [stored] = rig.cloud_documents()
    assert stored["service_fee"] == 100 and stored["total"] == 76100 and stored["hash"] == sent["hash"]


# --- (b) PRA: the tender sets the tax ---------------------------------------------------------------

@pytest.mark.parametrize("fiscal_mode", ["pra"])
def test_pra_taxes_each_sale_at_the_rate_of_its_tender(rig, tablets):
    put_fiscal(rig, mode="pra", tender_tax_bp=PRA_RATES)
    tablet = tablets().open_and_pair()
    page = tablet.page
    tablet_catalog_has(tablet, lambda f: f["tender_tax_bp"] == PRA_RATES, "PRA's rates on the tablet")

    # The payment screen says what the tender chosen will charge, and changes with it.
    ring_up(tablet, ["Tapal Danedar 190g"])   # Rs 550, 18% in the catalog
    page.get_by_role("button", name="Pay").click()
    tax_line = page.locator(".tender-tax")
    tablet.expect(tax_line).to_have_text(f"GST Rs {line_tax(55000, 1600) / 100:,.2f} at 16% for this tender")
    page.get_by_role("button", name="Card", exact=True).click()
    tablet.expect(tax_line).to_have_text(f"GST Rs {line_tax(55000, 500) / 100:,.2f} at 5% for this tender")
    tablet.screenshot("payment-pra-card")
    page.get_by_role("button", name="Complete sale").click()
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000001")
    tablet.expect(page.locator(".slip")).to_contain_text("PRA POS")
    page.get_by_role("button", name="New sale").click()

    tablet.sell(["Tapal Danedar 190g"], cash_rs=1000)                    # cash: 16%
    # Split: Rs 100 by card, the rest in cash: the higher rate, cash's, for the whole sale.
    ring_up(tablet, ["Coca-Cola 1.5L", "Lux Soap 130g"])
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Card", exact=True).click()
    tablet.expect(tax_line).to_contain_text("at 5%")
    page.get_by_role("textbox", name="Amount", exact=True).fill("100")
    page.get_by_role("button", name="Split", exact=True).click()
    page.get_by_role("button", name="Cash", exact=True).click()
    tablet.expect(tax_line).to_contain_text("at 16%")
    page.get_by_role("button", name="Exact", exact=True).click()
    page.get_by_role("button", name="Complete sale").click()
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000003")
    page.get_by_role("button", name="New sale").click()

    card, cash, split = documents(tablet, "sale")
    for sale, bp in ((card, 500), (cash, 1600), (split, 1600)):
        sent = validate_as_sent(tablet, sale)
        tenders = [p["tender"] for p in sent["payments"]]
        assert tender_tax_bp(PRA_RATES, tenders) == bp
        assert {line["gst_bp"] for line in sent["lines"]} == {bp}
        assert sent["tax"] == sum(line_tax(line["amount"], bp) for line in sent["lines"])
        assert "service_fee" not in sent
    assert (card["tax"], cash["tax"]) == (line_tax(55000, 500), line_tax(55000, 1600))

    # A return gives back the tax the sale charged (its lines' rate), not the catalog's.
    return_from_list(tablet, "T1-000001")
    complete_return(tablet)
    [refund] = documents(tablet, "refund")
    validate_as_sent(tablet, refund)
    assert refund["lines"][0]["gst_bp"] == 500 and refund["tax"] == card["tax"]


def test_the_tills_tender_tax_rule_matches_the_contracts(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    rng = random.Random(9)
    tenders = ["cash", "card", "wallet"]
    cases = []
    for _ in range(300):
        rates = {t: rng.choice([0, 500, 1000, 1600, 1700]) for t in tenders if rng.random() < 0.6}
        # A sale may also be paid on account (credit), which is taxed at the cash rate.
        cases.append((rates, [rng.choice(tenders + ["on_account"]) for _ in range(rng.randrange(1, 4))]))
    cases += [({}, ["cash"]), ({"card": 0}, ["card", "wallet"]), ({"cash": 1600}, ["wallet"])]
    got = page.evaluate("""async (cases) => {
        const { tenderTaxBp } = await import("/tax.js");
        return cases.map(([rates, tenders]) => tenderTaxBp(rates, tenders));
    }""", cases)
    assert got == [tender_tax_bp(rates, list(t)) for rates, t in cases]
    assert got[-2:] == [0, None]   # a 0% rate is a rate (not "keep the product's"); no rate named: none
    # The tender's rate taxes taxable lines only: an exempt product (gst_bp 0; the demo shop has none)
    # stays at 0 whatever the tender.
    lines = page.evaluate("""async () => {
        const { addProduct, newCart, pricedLines } = await import("/cart.js");
        const cart = [{ sku: "TEA", name: "Tea", price: 55000, gst_bp: 1800 },
                      { sku: "FLOUR", name: "Atta", price: 20000, gst_bp: 0 }].reduce(addProduct, newCart("c"));
        return [1600, 500, null].map((bp) => pricedLines(cart, bp).map((l) => [l.gst_bp, l.tax]));
    }""")
    assert lines == [[[bp, line_tax(55000, bp)], [0, 0]] for bp in (1600, 500, 1800)]


# --- the receipt's FBR block, drawn from what the box reported -------------------------------------

def test_the_fbr_block_shows_the_number_and_qr_or_pending_and_pra_by_mode(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    sale = {"id": "0b6f0000-0000-4000-8000-000000000042", "kind": "sale", "device_id": "dev-1", "device_code": "T1",
            "seq": 42, "cashier_id": "c1", "created_at": "2026-11-28T18:05:09+05:00", "total": 55100, "tax": 8390,
            "change": 0, "service_fee": 100,
            "lines": [{"sku": "TAPAL-190", "name": "Tapal Danedar 190g", "qty": 1, "unit_price": 55000, "gst_bp": 1800,
                       "amount": 55000, "tax": 8390}],
            "payments": [{"tender": "cash", "amount": 55100}]}
    qr = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 2 2'%3E"
          "%3Cpath d='M0 0h1v1H0z'/%3E%3C/svg%3E")
    record = {"id": sale["id"], "receipt_number": "T1-000042", "status": "fiscalized",
              "fbr_number": "123456261128180509123*test*", "pos_id": POS_ID, "qr": qr}
    got = page.evaluate("""async ([sale, record]) => {
        const r = await import("/receipt.js");
        const slip = (mode, fiscal) => {
            const catalog = { shop_name: "Madina General Store", products: [], settings: {},
                              fiscal: { mode, pos_ids: { "dev-1": 123456 } } };
            const el = r.drawSlip(r.receiptModel(sale, { catalog, cashierName: "Ayesha", fiscal }));
            const img = el.querySelector("img.slip-qr");
            return { text: el.innerText, img: img ? { src: img.getAttribute("src"), alt: img.alt } : null };
        };
        return { done: slip("fbr", record), pending: slip("fbr", undefined), pra: slip("pra", record),
                 failed: slip("fbr", { ...record, status: "failed", fbr_number: null, qr: null }),
                 off: slip("off", record) };
    }""", [sale, record])
    done = got["done"]
    for text in ("FBR POS", "FBR invoice", record["fbr_number"], "POS registration 123456", "POS service fee",
                 "Rs 551"):
        assert text in done["text"], text
    assert done["img"] == {"src": qr, "alt": f"QR code of FBR invoice {record['fbr_number']}"}
    assert "pending" not in done["text"]
    for case in ("pending", "failed"):   # no number yet (or refused): the customer's slip says pending
        assert "FBR: pending" in got[case]["text"] and "POS registration 123456" in got[case]["text"]
        assert got[case]["img"] is None and "*test*" not in got[case]["text"]
    assert "PRA POS" in got["pra"]["text"] and "PRA invoice" in got["pra"]["text"]
    assert "FBR" not in got["off"]["text"] and got["off"]["img"] is None


# --- the journal's fiscal store --------------------------------------------------------------------

MAKE_V2 = make_journal(2)


def test_the_upgrade_adds_the_fiscal_store_and_keeps_every_document(rig, tablets):
    tablet = tablets()
    page = tablet.page
    page.goto(rig.till_url + "setup")   # the till's origin, not the till: only our version-2 journal exists
    sale = old_sale(7)
    page.evaluate(MAKE_V2, journal_row(sale, "at_gateway"))

    tablet.open()
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_be_visible()
    after = page.evaluate(READ_JOURNAL)
    assert after["version"] >= 3   # later versions add more (4: the khata's customers, test_till_khata.py)
    assert {"catalog", "dead_letter", "documents", "fiscal", "meta"} <= set(after["stores"])
    assert [row["document"] for row in after["sales"]] == [sale] and after["sales"][0]["state"] == "at_gateway"
    # The store takes what the box reports, and gives it back by document id.
    found = page.evaluate("""async (id) => {
        const { openJournal } = await import("/journal.js");
        const journal = await openJournal();
        await journal.putFiscal([{ id, receipt_number: "T1-000007", status: "pending", fbr_number: null }], 5);
        const got = await journal.fiscalOf([id, "unknown"]);
        const cursor = await journal.getMeta("fiscal_cursor");
        journal.db.close();
        return { ids: [...got.keys()], status: got.get(id).status, cursor };
    }""", sale["id"])
    assert found == {"ids": [sale["id"]], "status": "pending", "cursor": 5}


# --- (c) the WAN down: sales and a return reported once each, in order, when it returns -------------

def test_sales_and_a_return_made_with_the_wan_down_are_fiscalized_once_in_order(rig, tablets, fbr_sim_process):
    sim = fbr_sim_process
    put_fiscal(rig, mode="fbr", service_fee=True)
    tablet = tablets().open_and_pair()
    page = tablet.page
    give_pos_id(rig, device_id(tablet), POS_ID)
    tablet_catalog_has(tablet, lambda f: POS_ID in f["pos_ids"].values(), "the tablet's POSID on the tablet")

    # The WAN goes: the cloud and FBR are out of reach; the shop's LAN (tablet <-> box) is not.
    rig.proxy.set_mode("cut")
    sim.down()
    first = tablet.sell(["Tapal Danedar 190g", "Tapal Danedar 190g", "Coca-Cola 1.5L"], cash_rs=2000)
    second = tablet.sell(["Nestle Nido 390g"], tender="Card")
    return_from_list(tablet, first)
    page.get_by_role("spinbutton", name="Tapal Danedar 190g", exact=True).fill("1")
    page.get_by_role("button", name="Cash", exact=True).click()
    page.get_by_role("button", name="Complete return").click()
    tablet.expect(page.get_by_role("heading", name="Return complete")).to_be_visible()
    returned = page.get_by_test_id("receipt-number").inner_text()
    tablet.expect(page.locator(".slip-fiscal")).to_contain_text("FBR: pending")   # printed before the number
    page.get_by_role("button", name="New sale").click()
    assert [first, second, returned] == ["T1-000001", "T1-000002", "T1-000003"]
    tablet.wait_status(r"^Cloud offline · 3 unsynced$")
    wait_until(lambda: len(sim.requests()) == 0 and sim.get("state")["down"], 5, "nothing reached FBR")
    open_sales(tablet)
    for number in (first, second, returned):
        tablet.expect(sale_row(tablet, number)).to_contain_text("FBR: pending")
    page.get_by_role("button", name="Back to selling").click()

    # The WAN is back: the box reports the three, in the order they were made, once each.
    sim.up()
    rig.proxy.set_mode("pass")
    invoices = wait_until(lambda: len(found := sim.invoices()) >= 3 and found, 60, "three invoices")
    assert [i["usin"] for i in invoices] == [first, second, returned]
    assert [i["payload"]["InvoiceType"] for i in invoices] == [1, 1, 3]
    assert invoices[2]["payload"]["RefUSIN"] == first
    assert {i["pos_id"] for i in invoices} == {POS_ID}
    sale_payload = invoices[0]["payload"]   # the Re 1 fee is in the bill, outside the items
    assert sale_payload["TotalBillAmount"] == sum(item["TotalAmount"] for item in sale_payload["Items"]) + 1
    tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=60)

    # The tablet learns the numbers: the sales list, then the reprint's FBR block and QR code.
    numbers = {i["usin"]: i["number"] for i in invoices}
    open_sales(tablet)
    for number in (first, second, returned):
        tablet.expect(sale_row(tablet, number).locator(".fiscal")).to_have_text("FBR: fiscalized", timeout=30000)
    sale_row(tablet, first).get_by_role("button", name="Reprint").click()
    fiscal = page.locator(".slip .slip-fiscal")
    tablet.expect(fiscal).to_contain_text(numbers[first])
    tablet.expect(fiscal).to_contain_text("FBR POS")
    tablet.expect(fiscal).to_contain_text(f"POS registration {POS_ID}")
    qr = fiscal.get_by_role("img", name=f"QR code of FBR invoice {numbers[first]}")
    tablet.expect(qr).to_be_visible()
    wait_js(page, "document.querySelector('.slip-qr').complete && document.querySelector('.slip-qr').naturalWidth > 0")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    tablet.expect(page.locator(".slip")).to_contain_text("DUPLICATE")
    tablet.expect(page.locator(".slip .slip-fee")).to_contain_text("Rs 1")
    page.emulate_media(media="print")
    width_mm = page.locator(".slip").evaluate("el => el.getBoundingClientRect().width") * 25.4 / 96
    assert 79 <= width_mm <= 81
    qr_mm = qr.evaluate("el => el.getBoundingClientRect().width") * 25.4 / 96
    assert 20 <= qr_mm <= 40
    tablet.screenshot("fiscal-receipt")
    page.emulate_media(media="screen")
    page.get_by_role("button", name="Back to sales").click()
    sale_row(tablet, returned).get_by_role("button", name="Reprint").click()
    tablet.expect(page.locator(".slip .slip-fiscal")).to_contain_text(numbers[returned])
    tablet.expect(page.locator(".slip")).to_contain_text("RETURN")

    # Once each: no second invoice for any receipt, however the box retried while FBR was away.
    assert len(sim.invoices()) == 3
    assert sorted(r["payload"]["USIN"] for r in sim.requests() if r.get("answer", {}).get("Code") == "100") == \
        sorted(numbers)
    # The journal's documents never changed: the FBR number is a projection, not part of the sale.
    for doc in documents(tablet, "sale") + documents(tablet, "refund"):
        assert "fbr_number" not in doc
        validate_as_sent(tablet, doc)


def test_an_invoice_fbr_refuses_is_marked_failed_in_the_sales_list(rig, tablets, fbr_sim_process):
    put_fiscal(rig, mode="fbr")
    tablet = tablets().open_and_pair()
    page = tablet.page
    give_pos_id(rig, device_id(tablet), 999999)   # a POSID FBR never registered: code 102, parked at the box
    tablet_catalog_has(tablet, lambda f: 999999 in f["pos_ids"].values(), "the tablet's POSID on the tablet")
    refused = tablet.sell(["Lux Soap 130g"], cash_rs=200)
    wait_until(lambda: any(r.get("answer", {}).get("Code") == "102" for r in fbr_sim_process.requests()), 30,
               "FBR's refusal")
    open_sales(tablet)
    mark = sale_row(tablet, refused).locator(".fiscal")
    tablet.expect(mark).to_have_text("FBR: failed", timeout=30000)
    assert mark.get_attribute("data-fiscal") == "failed"
    assert fbr_sim_process.invoices() == []
    sale_row(tablet, refused).get_by_role("button", name="Reprint").click()
    fiscal = page.locator(".slip .slip-fiscal")
    tablet.expect(fiscal).to_contain_text("FBR: pending")   # no number to print; the owner sees why on /admin
    tablet.expect(fiscal.locator("img")).to_have_count(0)
