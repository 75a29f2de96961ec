"""The till's JavaScript agrees with the Python contract: canonical bytes, hash, tax, schema."""
from __future__ import annotations

import hashlib
import json
import random

import jsonschema
import pytest

from cloud_api.contract import Sale, canonical_json, line_tax

pytestmark = pytest.mark.e2e

TRICKY = {"z": 1, "a": "چائے اور بسکٹ", "m": ["tab\there", "quote\"and\\slash", "\u0001", "emoji 🍵", "\u2028"],
          "nested": {"b": None, "a": True, "c": -0, "d": 9007199254740991}, "": "empty key"}


def test_canonical_json_and_hash_match_python_byte_for_byte(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    got = page.evaluate("""async (value) => {
        const m = await import("/canonical.js");
        const text = m.canonicalJson(value);
        return { text, hash: await m.sha256Hex(text) };
    }""", TRICKY)
    expected = canonical_json(TRICKY)
    assert got["text"].encode() == expected
    assert got["hash"] == hashlib.sha256(expected).hexdigest()


def test_line_tax_matches_python_on_many_amounts(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    rng = random.Random(1)
    cases = [(rng.randrange(0, 10**9), rng.choice([0, 500, 1600, 1700, 1800, 2500])) for _ in range(2000)]
    cases += [(118, 1800), (5, 10000), (-110000, 1800)]
    got = page.evaluate("""async (cases) => {
        const { lineTax } = await import("/tax.js");
        return cases.map(([amount, bp]) => lineTax(amount, bp));
    }""", cases)
    assert got == [line_tax(amount, bp) for amount, bp in cases]


def test_money_is_shown_in_rupees(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    got = page.evaluate("""async () => {
        const m = await import("/money.js");
        return [m.formatRs(123400), m.formatRs(55050), m.formatRs(0), m.parseRupees("2,000"), m.parseRupees("19.5"),
                m.parseRupees("abc"), m.parseRupees("1.234")];
    }""")
    assert got == ["Rs 1,234", "Rs 550.50", "Rs 0", 200000, 1950, None, None]


def test_what_the_till_sends_fits_the_contract_schema(rig, tablets):
    tablet = tablets().open_and_pair()
    tablet.sell(["Nestle Nido 390g", "Lay's French Cheese 50g"], tender="Card")
    tablet.wait_status(r"^Online · 0 unsynced$")
    [row] = tablet.journal()
    sent = tablet.page.evaluate("""async (doc) => (await import("/canonical.js")).withHash(doc)""", row["document"])
    jsonschema.validate(sent, Sale.model_json_schema())
    Sale.model_validate(sent)
    assert sent["payments"] == [{"tender": "card", "amount": sent["total"]}] and sent["change"] == 0
    [stored] = rig.cloud_documents()
    assert stored["hash"] == sent["hash"]
    assert json.loads(canonical_json({k: v for k, v in stored.items()
                                      if k not in ("receipt_number", "received_at", "ingested_at", "business_date")})) == sent


def test_the_returns_the_till_writes_fit_the_contract_schema(rig, tablets):
    from tests.e2e.counter_day import complete_return, documents, return_from_list, validate_as_sent
    tablet = tablets().open_and_pair()
    sold = tablet.sell(["Tapal Danedar 190g", "Tapal Danedar 190g", "Tapal Danedar 190g", "Coca-Cola 1.5L"])
    return_from_list(tablet, sold)
    complete_return(tablet, {"Tapal Danedar 190g": 1}, tender="Card", reference="TID-88231")
    return_from_list(tablet, sold)
    complete_return(tablet)   # Return all: the two Tapal left and the Coke
    first, second = documents(tablet, "refund")
    for refund in (first, second):
        validate_as_sent(tablet, refund)
    assert first["payments"] == [{"tender": "card", "amount": 55000, "reference": "TID-88231"}]
    # One of three Tapal, then the other two: round_half_up shares, together exactly what was paid.
    assert [(line["line_index"], line["qty"]) for line in second["lines"]] == [(0, 2), (1, 1)]
    assert first["lines"][0]["amount"] + second["lines"][0]["amount"] == 165000


def test_the_shift_documents_the_till_writes_fit_the_contract_schema(rig, tablets):
    from tests.e2e.counter_day import documents, move_cash, open_shift, start_close, validate_as_sent, z_figures
    tablet = tablets().open_and_pair()
    open_shift(tablet, 2500)
    move_cash(tablet, "Paid in", 500, "Float top-up")
    move_cash(tablet, "Paid out", 120.5, "Courier چائے")
    start_close(tablet, 2879.5)
    assert z_figures(tablet)["over-short"] == 0
    [opened] = documents(tablet, "shift_open")
    moves = documents(tablet, "cash_movement")
    [closed] = documents(tablet, "shift_close")
    for doc in (opened, *moves, closed):
        validate_as_sent(tablet, doc)
    assert opened["opening_float"] == 250000
    assert [(m["direction"], m["amount"], m["reason"], m["shift_id"]) for m in moves] == [
        ("in", 50000, "Float top-up", opened["id"]), ("out", 12050, "Courier چائے", opened["id"])]
    assert (closed["shift_id"], closed["counted_cash"], closed["expected_cash"]) == (opened["id"], 287950, 287950)


def test_the_tills_money_rules_match_the_contracts(rig, tablets):
    from cloud_api.contract import loose_amount, loose_qty_for_amount, percent_of, round_half_up
    page = tablets().page
    page.goto(rig.till_url)
    rng = random.Random(7)
    cases = [(rng.randrange(0, 10**7), rng.randrange(1, 10**10)) for _ in range(1000)]
    cases += [(1, 2), (3, 2), (5, 10), (10**7, 10**10), (1500, 14000), (357, 14000)]
    got = page.evaluate("""async (cases) => {
        const m = await import("/money.js");
        return cases.map(([a, b]) => [m.roundHalfUp(a, b), m.looseAmount(a, b), m.looseQtyForAmount(a, b),
                                      m.percentOf(b, a % 10001)]);
    }""", cases)
    assert got == [[round_half_up(a, b), loose_amount(a, b), loose_qty_for_amount(a, b), percent_of(b, a % 10001)]
                   for a, b in cases]
    # A cart discount shared across lines: exact to the paisa, each share within a paisa of its exact part.
    shares = page.evaluate("""async () => {
        const { sharePaisa } = await import("/money.js");
        return [sharePaisa(6450, [110000, 19000]), sharePaisa(100, [1, 1, 1]), sharePaisa(7, [5, 0, 2]),
                sharePaisa(0, [3, 4])];
    }""")
    assert shares == [[5500, 950], [34, 33, 33], [5, 0, 2], [0, 0]]


def test_sales_with_discounts_loose_lines_split_and_wallet_fit_the_contract_schema(rig, tablets):
    from cloud_api.contract import parse_document
    from .selling_steps import add_loose, as_sent, give_discount, journal_sales, put_loose_product, set_discount_limit
    put_loose_product(rig)
    set_discount_limit(rig, 1000)
    tablet = tablets().open_and_pair()
    page = tablet.page
    for name in ("Tapal Danedar 190g", "Tapal Danedar 190g", "Coca-Cola 1.5L"):
        page.get_by_role("button", name=name, exact=True).click()
    add_loose(tablet, "Basmati Chawal (loose)", "250 g")
    add_loose(tablet, "Basmati Chawal (loose)", "Rs 50")
    give_discount(tablet, "Tapal Danedar 190g", "5%")
    give_discount(tablet, "Whole cart", "2.5%")
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Wallet", exact=True).click()
    page.get_by_role("button", name="Raast", exact=True).click()
    page.get_by_role("textbox", name="Amount", exact=True).fill("300")
    page.get_by_role("textbox", name="Reference").fill("RAAST-5521")
    page.get_by_role("button", name="Split", exact=True).click()
    page.get_by_role("button", name="Card", exact=True).click()
    page.get_by_role("textbox", name="Amount", exact=True).fill("200")
    page.get_by_role("button", name="Split", exact=True).click()
    page.get_by_role("button", name="Cash", exact=True).click()
    page.get_by_role("button", name="Rs 5,000", exact=True).click()
    page.get_by_role("button", name="Complete sale").click()
    tablet.expect(page.get_by_test_id("receipt-number")).to_have_text("T1-000001")

    [doc] = journal_sales(tablet)
    sent = as_sent(tablet, doc)
    jsonschema.validate(sent, Sale.model_json_schema())
    sale = parse_document(sent)   # the totals, the loose arithmetic, the hash
    assert sale.cart_discount_bp == 250 and sale.discount > 0
    assert [line.unit for line in sale.lines] == ["each", "each", "kg", "kg"]
    assert [p.tender for p in sale.payments] == ["wallet", "card", "cash"]
    assert sale.payments[0].wallet == "raast" and sale.payments[0].reference == "RAAST-5521"
    assert sale.change == 500000 - (sale.total - 50000)
    tablet.wait_status(r"^Online · 0 unsynced$")
    [stored] = rig.cloud_documents()
    assert stored["hash"] == sent["hash"]
