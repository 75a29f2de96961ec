"""The till's khata rules (web_till/khata.js, tenders.js, shift.js), run in Node without a browser, and
checked against the contract (cloud_api/contract.py khata_entry_amounts) on the same documents."""
from __future__ import annotations

import json
from typing import Any

from cloud_api import contract
from cloud_api.contract import document_hash, khata_entry_amounts, line_tax, parse_document
from tests.conftest import make_sale

from .test_urdu import run_node

CUSTOMER = "c0000000-0000-4000-8000-000000000001"
BASE = {"device_id": "d1", "device_code": "T1", "created_at": "2026-11-28T10:00:00+05:00", "cashier_id": "c1"}


def hashed(doc: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k != "hash"}
    return {**doc, "hash": document_hash(doc)}


def documents() -> list[dict[str, Any]]:
    """One of each kind the khata reads, every one accepted by the contract."""
    sale = make_sale(seq=1)                                                   # cash: no khata entry
    total = sale["total"]
    half_tax = line_tax(total // 2, 1800)
    on_account = hashed({**sale, "id": "50000000-0000-4000-8000-000000000002", "seq": 2, "customer_id": CUSTOMER,
                         "payments": [{"tender": "cash", "amount": 100}, {"tender": "on_account", "amount": total - 100}],
                         "change": 0})
    refund = hashed({**BASE, "id": "50000000-0000-4000-8000-000000000005", "seq": 5, "kind": "refund",
                     "original_id": on_account["id"], "original_receipt": "T1-000002", "customer_id": CUSTOMER,
                     "lines": [{**sale["lines"][0], "line_index": 0, "qty": 1, "amount": total // 2,
                                "tax": half_tax, "unit": "each"}],
                     "payments": [{"tender": "on_account", "amount": total // 2}], "total": total // 2, "tax": half_tax})
    paid = hashed({**BASE, "id": "50000000-0000-4000-8000-000000000003", "seq": 3, "kind": "khata_payment",
                   "customer_id": CUSTOMER, "payments": [{"tender": "cash", "amount": 70000}], "amount": 70000})
    adjusted = hashed({**BASE, "id": "50000000-0000-4000-8000-000000000004", "seq": 4, "kind": "khata_adjustment",
                       "customer_id": CUSTOMER, "amount": -2500, "reason": "rounded off"})
    return [sale, on_account, paid, adjusted, refund]


def node(body: str, payload: Any = None) -> Any:
    return run_node(f"const input = {json.dumps(payload)};\n" + body)


def test_khata_entries_are_the_contracts() -> None:
    docs = documents()
    for doc in docs:
        parse_document(doc)   # each one is a document the box and the cloud accept
    till = node("""
      const { khataEntry } = await import(till + "khata.js");
      process.stdout.write(JSON.stringify(input.map((d) => khataEntry(d))));""", docs)
    contract = [khata_entry_amounts(parse_document(d)) for d in docs]
    assert [tuple(e) if e else None for e in till] == contract
    assert contract[0] is None and contract[1][1] > 0 and contract[2] == (CUSTOMER, -70000)
    assert contract[4][1] < 0   # a return paid back on account comes off the khata


def test_what_the_cached_balance_leaves_out() -> None:
    # The box's answer counts this tablet's documents up to its device_seq (read with the balances):
    # seq 7 is in an answer with device_seq 7, seq 8 is not, whatever the clocks said. Refused ones count
    # nowhere. An answer without device_seq (an older box): only pending documents are left out.
    got = node("""
      const { notInCache } = await import(till + "khata.js");
      const rows = [{ seq: 8, state: "pending" }, { seq: 7, state: "at_gateway", at_box_at: 900 },
                    { seq: 8, state: "in_cloud", at_box_at: 1 }, { seq: 9, state: "dead" }, { seq: 3, state: "pending" }];
      process.stdout.write(JSON.stringify([rows.map((r) => notInCache(r, 7)), rows.map((r) => notInCache(r, null)),
                                           notInCache(rows[1], 0)]));""")
    assert got == [[True, False, True, False, False], [True, False, False, False, True], True]


def test_phone_and_cnic_patterns_are_the_contracts() -> None:
    # khata.js copies the contract's patterns: a copy that drifts would refuse (or let through) what the
    # box and the cloud do not.
    got = node("""
      const { PHONE, CNIC } = await import(till + "khata.js");
      process.stdout.write(JSON.stringify([PHONE.source, CNIC.source, PHONE.flags, CNIC.flags]));""")
    assert got == [contract.PHONE, contract.CNIC, "", ""]


# The credit check against a box that answers as told (fetch replaced), with a journal of one customer.
CREDIT_JS = """
  globalThis.document = { documentElement: {} };
  const { state, update } = await import(till + "store.js");
  const { ctx } = await import(till + "context.js");
  const khata = await import(till + "khata.js");
  const asked = [];
  globalThis.fetch = async (url, init) => {
    const body = init.body ? JSON.parse(init.body) : null;
    asked.push({ url, body });
    const answer = input.answers[Math.min(asked.length - 1, input.answers.length - 1)];
    if (answer === "cut") throw new TypeError("Failed to fetch");
    if (answer === "timeout") { const e = new Error("timed out"); e.name = "TimeoutError"; throw e; }
    return new Response(JSON.stringify(answer.json), { status: answer.status,
      headers: { "Content-Type": "application/json" } });
  };
  const rows = (input.rows || []);
  ctx.journal = {
    customers: async () => [{ customer_id: "C", name: "Bilal", credit_limit: 500000, balance: 100000 }],
    customerDocuments: async () => rows, ofCustomer: async () => rows,
    getMeta: async () => ({ asked_at: 1, device_seq: 5 }),
  };
  update({ link: input.link || "online", identity: { token: "tok", device_id: "d", device_code: "T1" },
           catalog: { settings: { offline_credit_allowance: 200000 } } });
  const out = await khata.creditCheck("C", input.amount);
  const pin = input.pin ? await khata.askApproval("C", input.amount, "credit", input.pin) : null;
  process.stdout.write(JSON.stringify({ out, pin, asked }));
"""
NEEDED = {"status": 403, "json": {"error": {"code": "owner_approval_needed", "message": "Past the limit."},
                                  "balance": 480000, "credit_limit": 500000}}


def credit(answers: list[Any], amount: int = 50000, **more: Any) -> Any:
    return node(CREDIT_JS, {"answers": answers, "amount": amount, **more})


def test_the_box_approves_credit_within_the_limit_without_a_pin() -> None:
    got = credit([{"status": 201, "json": {"approval_id": "A1", "approved_at": "x", "balance": 100000,
                                           "credit_limit": 500000, "by": "box"}}])
    assert got["out"] == {"ok": True, "approvalId": "A1", "balanceAfter": 150000}
    [asked] = got["asked"]
    assert asked["url"] == "/api/v1/khata/approvals"
    assert asked["body"] == {"customer_id": "C", "amount": 50000, "purpose": "credit"}   # no PIN


def test_past_the_limit_the_owner_approves_and_a_revoked_tablet_is_not_a_wrong_pin() -> None:
    got = credit([NEEDED, {"status": 403, "json": {"error": {"code": "wrong_pin", "message": "no"}}}], pin="111111")
    assert got["out"] == {"approve": {"balance": 480000, "limit": 500000, "name": "Bilal"}}
    assert got["pin"] == {"problem": "That is not the owner's PIN."}
    assert got["asked"][1]["body"]["pin"] == "111111"
    revoked = credit([NEEDED, {"status": 401, "json": {"error": {"code": "unauthorized", "message": "no"}}}], pin="246810")
    assert "not paired" in revoked["pin"]["problem"] and "PIN" not in revoked["pin"]["problem"]
    at_check = credit([{"status": 401, "json": {"error": {"code": "unauthorized", "message": "no"}}}])
    assert "not paired" in at_check["out"]["refused"]


def test_only_a_box_that_cannot_be_reached_means_cut_off() -> None:
    # A box that answers 404, 500, 503 or too late refuses with its reason; it never falls back to the
    # offline rules (which would sell on a cached balance while the box is there).
    for status in (404, 500, 503):
        got = credit([{"status": status, "json": {"error": {"code": "x", "message": f"box said {status}"}}}])
        assert f"box said {status}" in got["out"]["refused"], status
        assert "ok" not in got["out"]
    late = credit(["timeout"])
    assert "did not answer in time" in late["out"]["refused"]
    # Cut off: the offline rules, on the cached balance (Rs 1,000) and this tablet's own credit since
    # device_seq 5 (seq 6, Rs 1,500; seq 4 is already in the box's balance).
    rows = [{"seq": 4, "state": "at_gateway", "document": {"kind": "sale", "customer_id": "C",
                                                           "payments": [{"tender": "on_account", "amount": 90000}]}},
            {"seq": 6, "state": "at_gateway", "document": {"kind": "sale", "customer_id": "C",
                                                           "payments": [{"tender": "on_account", "amount": 150000}]}}]
    cut = credit(["cut"], amount=40000, rows=rows)
    assert cut["out"]["ok"] is True and cut["out"]["approvalId"] is None and cut["out"]["balanceAfter"] == 290000
    over = credit(["cut"], amount=60000, rows=rows)                 # Rs 1,500 + Rs 600 > Rs 2,000 allowance
    assert "may put at most Rs 2,000" in over["out"]["refused"]


def test_returns_are_capped_by_what_went_on_account_and_what_was_paid_in_money() -> None:
    # Rs 1,800: Rs 300 cash (Rs 500 handed over, Rs 200 change) and Rs 1,500 on account.
    sale = {"payments": [{"tender": "cash", "amount": 50000}, {"tender": "on_account", "amount": 150000}],
            "change": 20000}
    earlier = [{"payments": [{"tender": "on_account", "amount": 100000}]}, {"payments": [{"tender": "cash", "amount": 10000}]}]
    got = node("""
      globalThis.document = { documentElement: {} };
      const { refundCaps, capProblem } = await import(till + "returns.js");
      const caps = refundCaps(input.sale, input.earlier);
      const box = refundCaps(input.sale, [{ id: "r", total: 5000 }]);   // the box's summary: no payments
      process.stdout.write(JSON.stringify({ caps: [caps.onAccount, caps.money], box: [box.onAccount, box.money],
        ok: [capProblem(caps, "on_account", 50000), capProblem(caps, "cash", 20000)],
        over: [capProblem(caps, "on_account", 50001), capProblem(caps, "card", 20001)] }));""",
        {"sale": sale, "earlier": earlier})
    assert got["caps"] == [50000, 20000] and got["box"] == [145000, 25000]
    assert got["ok"] == ["", ""]
    assert got["over"][0].startswith("At most Rs 500 can go back on account")
    assert got["over"][1].startswith("At most Rs 200 can be paid back in money")


def test_customers_are_found_by_name_or_phone() -> None:
    got = node("""
      const { matches, phoneDigits } = await import(till + "khata.js");
      const bilal = { name: "Bilal Ahmed", phone: "0300 1234567" };
      const salma = { name: "سلمیٰ بی بی", phone: null };
      process.stdout.write(JSON.stringify({
        digits: [phoneDigits("+92 300-1234567"), phoneDigits("۰۳۰۰ ۱۲۳")],
        bilal: ["bilal", "AHMED", "0300 123", "+92300123", "۰۳۰۰۱۲", "4567", "salma", "12"].map((q) => matches(bilal, q)),
        salma: ["سلمیٰ", "بی", "0300", ""].map((q) => matches(salma, q)),
      }));""")
    assert got == {"digits": ["03001234567", "0300123"],
                   "bilal": [True, True, True, True, True, True, False, False],   # "12": too short to be a phone search
                   "salma": [True, True, False, True]}


def test_on_account_is_taken_once_and_pays_exactly() -> None:
    got = node("""
      const { settle, splitOff } = await import(till + "tenders.js");
      const onAccount = { tender: "on_account", amount: null, reference: "ignored" };
      process.stdout.write(JSON.stringify({
        whole: settle(1000, [], onAccount, true),
        over: settle(1000, [], { ...onAccount, amount: 1200 }, true),
        rest: settle(1000, [{ tender: "cash", amount: 400 }], onAccount, true),
        twice: settle(1000, [{ tender: "on_account", amount: 400 }], onAccount, true),
        split: splitOff(1000, [{ tender: "on_account", amount: 400 }], { ...onAccount, amount: 100 }, true),
      }));""")
    assert got["whole"] == {"payments": [{"tender": "on_account", "amount": 1000}], "change": 0}   # no reference
    assert got["over"] is None and got["twice"] is None
    assert got["rest"]["payments"][-1] == {"tender": "on_account", "amount": 600}
    assert "once" in got["split"]["problem"]


def test_z_report_counts_khata_cash_and_leaves_credit_out() -> None:
    shift = "5a000000-0000-4000-8000-000000000001"
    opened = {"id": shift, "kind": "shift_open", "created_at": "2026-11-28T09:00:00+05:00", "opening_float": 100000}
    docs = [
        {"kind": "sale", "shift_id": shift, "cashier_id": "c1", "total": 55000, "tax": 0, "change": 45000,
         "payments": [{"tender": "cash", "amount": 100000}]},
        {"kind": "sale", "shift_id": shift, "cashier_id": "c1", "total": 125000, "tax": 0, "change": 0,
         "customer_id": CUSTOMER, "payments": [{"tender": "cash", "amount": 25000}, {"tender": "on_account", "amount": 100000}]},
        {"kind": "khata_payment", "shift_id": shift, "amount": 50000, "payments": [{"tender": "cash", "amount": 50000}]},
        {"kind": "khata_payment", "shift_id": shift, "amount": 20000, "payments": [{"tender": "card", "amount": 20000}]},
        {"kind": "khata_payment", "shift_id": "another", "amount": 99900, "payments": [{"tender": "cash", "amount": 99900}]},
    ]
    report = node("""
      globalThis.document = { documentElement: {} };
      const { zReport } = await import(till + "shift.js");
      process.stdout.write(JSON.stringify(zReport(input.open, input.docs)));""", {"open": opened, "docs": docs})
    assert report["by_tender"] == {"cash": 80000, "card": 0, "wallet": 0, "on_account": 100000}
    assert report["khata_collected"] == {"cash": 50000, "card": 20000, "wallet": 0}
    # 1,000 float + 550 + 250 cash from sales + 500 khata cash; the Rs 1,000 on account is not in the drawer.
    assert report["expected_cash"] == 100000 + 80000 + 50000


def test_past_the_limit_and_words_that_follow_a_language_switch() -> None:
    got = node("""
      const { pastLimit, pastLimitWords } = await import(till + "customers.js");
      globalThis.document = { documentElement: {} };   // setLanguage marks the page's lang and dir
      const i18n = await import(till + "i18n.js");
      const urdu = () => { i18n.setLanguage("ur"); const said = i18n.t("Type the amount, e.g. 500."); i18n.setLanguage("en"); return said; };
      const said = urdu();
      process.stdout.write(JSON.stringify({
        past: [pastLimit({ balance: 600000, credit_limit: 500000 }), pastLimit({ balance: 500000, credit_limit: 500000 }),
               pastLimit({ balance: -100, credit_limit: 0 })],
        words: pastLimitWords(100000),
        // Urdu words left on screen are said again in English; words with figures in them are cleared.
        again: [i18n.retranslate(said, "ur"), i18n.retranslate("Received Rs 500 from Bilal.", "en"),
                i18n.retranslate("نامعلوم", "ur")],
        balanceUr: i18n.URDU["Balance"], changeUr: i18n.URDU["Change"],
      }));""")
    assert got["past"] == [100000, 0, 0]
    assert got["words"] == "⚠ Past the limit by Rs 1,000"          # a sign, not a colour only
    assert got["again"] == ["Type the amount, e.g. 500.", "", ""]
    # The khata's balance and a sale's change are different words in Urdu.
    assert got["balanceUr"] != got["changeUr"] and "بقایا" not in got["balanceUr"]


def test_a_khata_document_once_in_the_journal_is_saved_whatever_fails_after() -> None:
    # The journal took the payment; counting or reading the customers then fails (a storage hiccup).
    # record() gives the stored document back: a "NOT saved" would have the cashier take the money twice.
    got = node("""
      const { ctx } = await import(till + "context.js");
      const { record } = await import(till + "khata.js");
      const { state } = await import(till + "store.js");
      const errors = [];
      console.error = (...args) => errors.push(String(args[0]));
      ctx.journal = {
        complete: async (doc) => ({ ...doc, seq: 9 }),
        countUnsynced: async () => { throw new Error("storage hiccup"); },
      };
      const done = await record({ id: "x", kind: "khata_payment" }).catch((err) => ({ failed: String(err) }));
      ctx.journal = { complete: async () => { throw new Error("disk full"); } };
      const refused = await record({ id: "y", kind: "khata_payment" }).catch((err) => ({ failed: String(err) }));
      process.stdout.write(JSON.stringify({ done, refused, errors, unsynced: state.unsynced }));""")
    assert got["done"] == {"id": "x", "kind": "khata_payment", "seq": 9}
    assert got["errors"] == ["after a khata document was saved"] and got["unsynced"] == 0
    assert got["refused"] == {"failed": "Error: disk full"}   # not stored: the caller says so
