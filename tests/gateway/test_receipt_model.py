"""The box's receipt model and Z-report are the till's, value for value (gateway/receipt_model.py).

Each case runs web_till/receipt.js receiptModel (and shift.js zReport) in Node over the same inputs
and compares the JSON both give: a printed receipt and the till's screen say the same thing.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.dashboard import format_rs
from gateway.receipt_model import cashier_name, format_qty, receipt_model, z_report
from tests.gateway import print_documents as docs
from tests.gateway.test_minify import node_or_skip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def node() -> str:
    """Node runs the till's own model: a machine without it skips, CI fails (it has Node 20)."""
    return node_or_skip()

# Reads [{doc, catalog, shop_name, cashier_id, language, duplicate, fiscal}] on stdin, prints the models.
RECEIPTS_JS = """
globalThis.document = { documentElement: {} };   // i18n.setLanguage sets lang and dir on the page
const { receiptModel, cashierName } = await import("./web_till/receipt.js");
const { setLanguage } = await import("./web_till/i18n.js");
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map((c) => {
  setLanguage(c.language);   // formatQty takes its unit words from the till's language, as on screen
  const catalog = c.catalog === null ? undefined : c.catalog;
  return receiptModel(c.doc, { catalog, identity: { shop_name: c.shop_name },
    cashierName: cashierName(catalog, c.doc.cashier_id), language: c.language, duplicate: c.duplicate,
    fiscal: c.fiscal === null ? undefined : c.fiscal, customer: c.customer ?? null });
});
process.stdout.write(JSON.stringify(out));
"""

Z_JS = """
globalThis.document = { documentElement: {} };
const { zReport } = await import("./web_till/shift.js");
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map((c) => zReport(c.open, c.docs, c.close));
process.stdout.write(JSON.stringify(out));
"""


def run_node(script: str, payload: Any) -> Any:
    done = subprocess.run([node_or_skip(), "--input-type=module", "-e", script], input=json.dumps(payload), cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _cases() -> list[dict[str, Any]]:
    plain = docs.catalog()
    fbr = docs.catalog(mode="fbr", pos_ids={docs.DEVICE_ID: 998877})
    pra = docs.catalog(mode="pra")
    sold = docs.discounted_sale()
    case = {"shop_name": "Box Shop", "language": "en", "duplicate": False, "fiscal": None, "customer": None}
    ayesha = {"name": "Ayesha Bibi", "balanceAfter": 75000, "tabletOnly": False}
    return [
        {**case, "doc": sold, "catalog": plain},                                       # discounts, a loose line
        {**case, "doc": sold, "catalog": plain, "duplicate": True},                    # a reprint
        {**case, "doc": docs.urdu_sale(), "catalog": plain, "language": "ur"},         # Urdu names and units
        {**case, "doc": docs.urdu_sale(), "catalog": plain},                           # the same in English
        {**case, "doc": docs.refund(sold), "catalog": plain},                          # a return, with why
        {**case, "doc": docs.refund(docs.card_sale(), tender="card", reason=None), "catalog": plain},
        {**case, "doc": docs.wallet_split_sale(), "catalog": plain},                   # wallet unverified + cash
        {**case, "doc": docs.sale(service_fee=100), "catalog": fbr},                   # FBR pending, POSID from catalog
        {**case, "doc": docs.sale(service_fee=100), "catalog": fbr, "fiscal": docs.fiscalized_record()},
        {**case, "doc": docs.sale(service_fee=100), "catalog": fbr, "duplicate": True, "language": "ur",
         "fiscal": docs.fiscalized_record()},
        {**case, "doc": docs.refund(docs.sale(service_fee=100)), "catalog": fbr,       # a refund has no fee
         "fiscal": {"status": "pending", "fbr_number": None, "pos_id": None, "qr": None}},
        {**case, "doc": docs.card_sale(), "catalog": pra,                              # failed: no number printed
         "fiscal": {"status": "failed", "fbr_number": None, "pos_id": 5, "qr": None}},
        {**case, "doc": docs.card_sale(), "catalog": None},                            # before any catalog
        {**case, "doc": docs.sale(cashier_id="nobody"), "catalog": plain},             # a cashier the catalog lost
        # Khata: a sale on account with its customer, and money received against a khata (issue 10).
        {**case, "doc": docs.credit_sale(cash=10000), "catalog": plain, "customer": ayesha},
        {**case, "doc": docs.khata_payment(note="Paid for November"), "catalog": plain, "customer": ayesha},
        {**case, "doc": docs.khata_payment(payments=[{"tender": "wallet", "wallet": "easypaisa", "amount": 120000,
                                                      "reference": "EP-77", "unverified": True}]),
         "catalog": fbr, "language": "ur", "customer": {**ayesha, "balanceAfter": None}},
        {**case, "doc": docs.khata_payment(), "catalog": plain, "duplicate": True,
         "customer": {**ayesha, "tabletOnly": True}},
    ]


def test_receipt_models_agree_with_the_till() -> None:
    cases = _cases()
    expected = run_node(RECEIPTS_JS, cases)
    for case, till in zip(cases, expected, strict=True):
        box = receipt_model(case["doc"], catalog=case["catalog"], shop_name=case["shop_name"],
                            cashier_name=cashier_name(case["catalog"], case["doc"]["cashier_id"]),
                            language=case["language"], duplicate=case["duplicate"], fiscal=case["fiscal"],
                            customer=case["customer"])
        assert box == till, case["doc"]["kind"]
    # The comparison saw what matters: the fiscal block, Urdu units, the discount and the duplicate mark.
    assert expected[8]["fiscal"]["number"] == docs.FBR_NUMBER and expected[7]["fiscal"]["posId"] == 998877
    assert expected[2]["lines"][0]["name"] == docs.URDU_SUGAR and expected[2]["lines"][0]["qty"] == "2.25 کلو"
    assert expected[0]["cartDiscount"] > 0 and expected[1]["duplicate"] is True
    # A khata payment: what was received, with its note and customer; no GST, no lines, no FBR block.
    paid = expected[15]
    assert paid["khataPayment"] is True and paid["total"] == 50000 and paid["note"] == "Paid for November"
    assert paid["customer"] == {"name": "Ayesha Bibi", "balanceAfter": 75000, "tabletOnly": False}
    assert paid["lines"] == [] and paid["tax"] == 0 and expected[16]["fiscal"] is None
    assert "khataPayment" not in expected[14] and expected[14]["customer"]["name"] == "Ayesha Bibi"
    assert expected[13]["cashier"] == "nobody"


def test_z_reports_agree_with_the_till() -> None:
    opening, shift_docs, closing = docs.shift_documents()
    cases = [{"open": opening, "docs": shift_docs, "close": closing},
             {"open": opening, "docs": shift_docs, "close": None},
             {"open": opening, "docs": [], "close": None}]
    expected = run_node(Z_JS, cases)
    for case, till in zip(cases, expected, strict=True):
        assert z_report(case["open"], case["docs"], case["close"]) == till
    assert expected[0]["sales_count"] == 2 and expected[0]["returns_count"] == 1
    assert expected[0]["over_short"] is not None and expected[1]["over_short"] is None


@pytest.mark.parametrize("qty,unit,language,text", [
    (250, "kg", "en", "250 g"), (1500, "kg", "en", "1.5 kg"), (1001, "l", "en", "1.001 l"),
    (2000, "l", "ur", "2 لیٹر"), (7, "each", "ur", "7"), (3, None, "en", "3")])
def test_format_qty(qty: int, unit: str | None, language: str, text: str) -> None:
    assert format_qty(qty, unit, language) == text


def test_format_rs_matches_the_till() -> None:
    # Every length of the leading group of digits ("12,345", "123,456", "1,234,567") and each step
    # from 999... to 1,000...: in paisa, so Rs 999 is 99900.
    amounts = [0, 5, -5, 100, 99900, 100000, 1234500, 12345600, 99999900, 100000000, 123456789,
               100050, -250000, 123456789012345]
    script = ("const { formatRs } = await import('./web_till/money.js');"
              f"process.stdout.write(JSON.stringify({json.dumps(amounts)}.map(formatRs)));")
    assert [format_rs(a) for a in amounts] == run_node(script, None)
