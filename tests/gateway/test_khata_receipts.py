"""Khata on paper: the box's receipt and Z-report models agree with the till's (Node), and the slips say it."""
from __future__ import annotations

from typing import Any


from gateway import print_jobs
from gateway.journal import receive_batch
from gateway.pairing import Device
from gateway.receipt_model import cashier_name, receipt_model, z_report
from gateway.slip import receipt_rows, z_report_rows
from tests.gateway import print_documents as docs
from tests.gateway.documents import make_customer
from tests.gateway.test_minify import node_or_skip
from tests.gateway.test_receipt_model import Z_JS, run_node

RECEIPTS_JS = """
globalThis.document = { documentElement: {} };
const { receiptModel, cashierName } = await import("./web_till/receipt.js");
const { setLanguage } = await import("./web_till/i18n.js");
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map((c) => {
  setLanguage(c.language);
  return receiptModel(c.doc, { catalog: c.catalog, identity: { shop_name: "Box Shop" },
    cashierName: cashierName(c.catalog, c.doc.cashier_id), language: c.language, duplicate: false,
    customer: c.customer === null ? undefined : c.customer });
});
process.stdout.write(JSON.stringify(out));
"""


def test_credit_receipts_agree_with_the_till() -> None:
    node_or_skip()
    catalog = docs.catalog()
    sold = docs.credit_sale(cash=10000)
    cases = [
        {"doc": sold, "catalog": catalog, "language": "en", "customer": {"name": "Ali Raza", "balanceAfter": 150000}},
        {"doc": sold, "catalog": catalog, "language": "ur", "customer": {"name": "علی", "balanceAfter": None}},
        {"doc": sold, "catalog": catalog, "language": "en", "customer": None},        # no customer known: no block
        {"doc": docs.sale(), "catalog": catalog, "language": "en",                     # a cash sale names nobody
         "customer": {"name": "Ali Raza", "balanceAfter": 0}},
    ]
    expected = run_node(RECEIPTS_JS, cases)
    for case, till in zip(cases, expected, strict=True):
        box = receipt_model(case["doc"], catalog=case["catalog"], shop_name="Box Shop",
                            cashier_name=cashier_name(case["catalog"], case["doc"]["cashier_id"]),
                            language=case["language"], customer=case["customer"])
        assert box == till
    assert expected[0]["customer"] == {"name": "Ali Raza", "balanceAfter": 150000, "tabletOnly": False}
    assert [p["tender"] for p in expected[0]["payments"]] == ["cash", "on_account"]
    assert "customer" not in expected[2] and "customer" not in expected[3]


def test_khata_z_reports_agree_with_the_till_and_count_khata_cash() -> None:
    node_or_skip()
    opening, shift_docs, closing = docs.khata_shift_documents()
    cases = [{"open": opening, "docs": shift_docs, "close": closing},
             {"open": opening, "docs": shift_docs, "close": None}]
    expected = run_node(Z_JS, cases)
    for case, till in zip(cases, expected, strict=True):
        assert z_report(case["open"], case["docs"], case["close"]) == till
    report = expected[0]
    # Cash sale 1,100 + the credit sale's Rs 100 in cash; on account 1,000 less the 550 returned to the khata.
    assert report["by_tender"] == {"cash": 120000, "card": 0, "wallet": 0, "on_account": 45000}
    # Khata payments of this shift only (another shift's Rs 999 is not in this drawer).
    assert report["khata_collected"] == {"cash": 40000, "card": 25000, "wallet": 0}
    assert report["expected_cash"] == 300000 + 120000 + 40000 + 5000
    assert report["over_short"] == 470000 - 465000


def test_slips_print_on_account_the_customer_and_khata_collected() -> None:
    sold = docs.credit_sale(cash=10000)
    model = receipt_model(sold, catalog=docs.catalog(), customer={"name": "Ali Raza", "balanceAfter": 150000})
    rows = [(r.kind, r.text, r.value) for r in receipt_rows(model)]
    assert ("pair", "On account", "Rs 1,000") in rows and ("pair", "Cash", "Rs 100") in rows
    assert rows.index(("pair", "Customer", "Ali Raza")) + 1 == rows.index(("pair", "Balance after", "Rs 1,500"))
    urdu = [(r.text, r.value) for r in receipt_rows(model, "ur")]
    assert ("ادھار کھاتے میں", "Rs 1,000") in urdu and ("گاہک", "Ali Raza") in urdu

    opening, shift_docs, closing = docs.khata_shift_documents()
    report = z_report(opening, shift_docs, closing)
    z = [(r.kind, r.text, r.value) for r in z_report_rows(report, shop_name="Shop", device_code="T1", number="T1-9",
                                                          cashier_names=lambda c: c)]
    start = z.index(("text", "Khata payments received", ""))
    assert ("pair", "On account", "Rs 450") in z[:start]
    assert z[start + 1:start + 4] == [("pair", "Cash", "Rs 400"), ("pair", "Card", "Rs 250"), ("pair", "Wallet", "Rs 0")]
    assert ("pair", "Expected cash", "Rs 4,650") in z
    z_ur = [r.text for r in z_report_rows(report, shop_name="Shop", device_code="T1", number="", language="ur",
                                          cashier_names=lambda c: c)]
    assert "کھاتے کی وصولیاں" in z_ur


async def test_the_box_prints_the_customers_name_and_balance_after(store, monkeypatch) -> None:
    """render_receipt takes the customer from the box's customers; the Z-report counts khata payments."""
    till = Device(docs.DEVICE_ID, "T1", "Counter")
    customer = make_customer("Ali Raza", device_id=till.device_id, device_code="T1", seq=20,
                             customer_id=docs.CUSTOMER_ID)
    first = docs.credit_sale(seq=30)                       # + 110000
    second = docs.credit_sale(seq=31, cash=10000)          # + 100000
    async with store.transaction() as db:
        results = await receive_batch(db, till, [customer, first, second])
    assert {r.status for r in results} == {"stored"}
    seen: list[Any] = []
    monkeypatch.setattr(print_jobs, "slip_bytes", lambda rows, **_: seen.append(rows) or b"")
    for document in (first, second):
        await print_jobs.render_receipt(store.read(), document["id"], shop_name="Shop", duplicate=False,
                                        language="en", width_dots=576, fonts=None)   # type: ignore[arg-type]
    blocks = [[(r.text, r.value) for r in rows if r.text in ("Customer", "Balance after")] for rows in seen]
    # The first sale's balance after it leaves out the second sale, received later.
    assert blocks == [[("Customer", "Ali Raza"), ("Balance after", "Rs 1,100")],
                      [("Customer", "Ali Raza"), ("Balance after", "Rs 2,100")]]

    opening, shift_docs, closing = docs.khata_shift_documents()
    async with store.transaction() as db:
        await receive_batch(db, till, [opening, *shift_docs, closing])
    seen.clear()
    await print_jobs.render_z_report(store.read(), opening["id"], shop_name="Shop", language="en", width_dots=576,
                                     fonts=None)   # type: ignore[arg-type]
    z = [(r.text, r.value) for r in seen[0]]
    assert ("Expected cash", "Rs 4,650") in z and ("Khata payments received", "") in z
