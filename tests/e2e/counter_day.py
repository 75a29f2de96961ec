"""Helpers for the counter's day in the browser: the sales list, returns, shifts and the Z-report.

Every step drives the till by role and accessible name (DESIGN.md section 4), as a cashier would.
"""
from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from cloud_api.contract import CashMovement, Refund, ShiftClose, ShiftOpen, parse_document

MODELS = {"refund": Refund, "shift_open": ShiftOpen, "shift_close": ShiftClose, "cash_movement": CashMovement}


def open_sales(tablet: Any) -> None:
    page = tablet.page
    page.get_by_role("button", name="Sales", exact=True).click()
    tablet.expect(page.get_by_role("searchbox", name="Receipt number")).to_be_visible()


def sale_row(tablet: Any, number: str) -> Any:
    return tablet.page.locator(f'li.sale-row[data-receipt="{number}"]')


def return_from_list(tablet: Any, number: str) -> None:
    """Open the return screen of one of this tablet's sales from the sales list."""
    open_sales(tablet)
    sale_row(tablet, number).get_by_role("button", name="Return", exact=True).click()
    tablet.expect(tablet.page.get_by_role("button", name="Complete return")).to_be_visible()


def return_by_number(tablet: Any, number: str) -> None:
    """Type a receipt number (any tablet's) into the sales list's searchbox and press Enter."""
    open_sales(tablet)
    look_up(tablet, number)


def look_up(tablet: Any, number: str) -> None:
    """On the sales list: type or scan a receipt number, then Enter."""
    box = tablet.page.get_by_role("searchbox", name="Receipt number")
    box.fill(number)
    box.press("Enter")


def complete_return(tablet: Any, quantities: dict[str, int] | None = None, tender: str = "Cash",
                    reference: str | None = None, reason: str | None = None, says: str | None = None) -> str:
    """Choose quantities (None: Return all), pay back, complete; the refund's receipt number.
    `says`: what the return screen and its receipt tell the cashier to do with the money."""
    page = tablet.page
    if quantities is None:
        page.get_by_role("button", name="Return all").click()
    else:
        for name, qty in quantities.items():
            page.get_by_role("spinbutton", name=name, exact=True).fill(str(qty))
    page.get_by_role("button", name=tender, exact=True).click()
    if reference is not None:
        page.get_by_role("textbox", name="Reference").fill(reference)
    if reason is not None:
        page.get_by_role("textbox", name="Reason").fill(reason)
    if says is not None:
        tablet.expect(page.get_by_text(says, exact=True)).to_be_visible()
    page.get_by_role("button", name="Complete return").click()
    tablet.expect(page.get_by_role("heading", name="Return complete")).to_be_visible()
    if says is not None:
        tablet.expect(page.locator(".receipt .change")).to_have_text(says)
    number = page.get_by_test_id("receipt-number").inner_text()
    page.get_by_role("button", name="New sale").click()
    return number


def open_shift(tablet: Any, float_rs: int) -> None:
    page = tablet.page
    page.get_by_role("button", name="Open shift").click()
    page.get_by_role("textbox", name="Counted cash").fill(str(float_rs))
    page.get_by_role("button", name="Open shift").click()
    tablet.expect(page.get_by_role("button", name="Close shift")).to_be_visible()


def move_cash(tablet: Any, direction: str, amount_rs: float, reason: str) -> None:
    """direction: "Paid in" or "Paid out"."""
    page = tablet.page
    page.get_by_role("button", name=direction, exact=True).click()
    page.get_by_role("textbox", name="Amount").fill(str(amount_rs))
    page.get_by_role("textbox", name="Reason").fill(reason)
    page.get_by_role("button", name=direction, exact=True).click()
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
    # Said back on the selling screen: the cashier sees it was recorded.
    shown = f"Rs {amount_rs:,.2f}" if amount_rs % 1 else f"Rs {int(amount_rs):,}"   # as money.js formatRs
    tablet.expect(page.get_by_role("alert")).to_contain_text(f"{direction} {shown}: recorded.")


def start_close(tablet: Any, counted_rs: int | float) -> None:
    page = tablet.page
    page.get_by_role("button", name="Close shift").click()
    page.get_by_role("textbox", name="Counted cash").fill(str(counted_rs))
    page.get_by_role("button", name="Close shift").click()


def z_figures(tablet: Any) -> dict[str, int]:
    """The Z-report's figures as shown: paisa for amounts (data-paisa), counts as numbers."""
    page = tablet.page
    tablet.expect(page.get_by_test_id("z-over-short")).to_be_visible()
    figures: dict[str, int] = {}
    for el in page.locator("[data-testid^='z-']").all():
        key = el.get_attribute("data-testid")[2:]
        paisa = el.get_attribute("data-paisa")
        figures[key] = int(paisa) if paisa is not None else int(el.inner_text())
    return figures


def rupees_text_to_paisa(text: str) -> int:
    match = re.fullmatch(r"(-?)Rs ([\d,]+)(?:\.(\d\d))?", text.strip())
    assert match, text
    return (-1 if match.group(1) else 1) * (int(match.group(2).replace(",", "")) * 100 + int(match.group(3) or 0))


def documents(tablet: Any, kind: str) -> list[dict[str, Any]]:
    return [row["document"] for row in sorted(tablet.journal(), key=lambda r: r["seq"]) if row["document"]["kind"] == kind]


def validate_as_sent(tablet: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The document as the till sends it (hash added), checked against the contract's JSON Schema and model."""
    # Through JSON, as sync.js puts it on the wire: a -0 (Math.round of a small negative clock offset)
    # is written "0" there, while Playwright would hand it over as the float -0.0.
    sent = json.loads(tablet.page.evaluate(
        """async (doc) => JSON.stringify(await (await import("/canonical.js")).withHash(doc))""", document))
    model = MODELS[sent["kind"]]
    jsonschema.validate(sent, model.model_json_schema())
    parsed = parse_document(sent)   # the pydantic model, its arithmetic and the hash
    assert isinstance(parsed, model)
    return sent


def expected_z(journal_docs: list[dict[str, Any]], shift_id: str) -> dict[str, int]:
    """The Z-report worked out here, independently, from the documents the tablet holds."""
    [opened] = [d for d in journal_docs if d["kind"] == "shift_open" and d["id"] == shift_id]
    mine = [d for d in journal_docs if d.get("shift_id") == shift_id and d["kind"] != "shift_close"]
    sales = [d for d in mine if d["kind"] == "sale"]
    refunds = [d for d in mine if d["kind"] == "refund"]
    moves = [d for d in mine if d["kind"] == "cash_movement"]
    tender = {t: sum(p["amount"] for s in sales for p in s["payments"] if p["tender"] == t)
              - sum(p["amount"] for r in refunds for p in r["payments"] if p["tender"] == t)
              for t in ("cash", "card", "wallet")}
    tender["cash"] -= sum(s["change"] for s in sales)
    paid_in = sum(m["amount"] for m in moves if m["direction"] == "in")
    paid_out = sum(m["amount"] for m in moves if m["direction"] == "out")
    return {"sales-count": len(sales), "sales-total": sum(s["total"] for s in sales),
            "returns-count": len(refunds), "returns-total": sum(r["total"] for r in refunds),
            "discounts": sum(s.get("discount", 0) for s in sales),
            "tax": sum(s["tax"] for s in sales) - sum(r["tax"] for r in refunds),
            "tender-cash": tender["cash"], "tender-card": tender["card"], "tender-wallet": tender["wallet"],
            "float": opened["opening_float"], "paid-in": paid_in, "paid-out": paid_out,
            "expected-cash": opened["opening_float"] + tender["cash"] + paid_in - paid_out}


def open_customers(tablet: Any) -> None:
    page = tablet.page
    page.get_by_role("button", name="Customers", exact=True).click()
    tablet.expect(page.get_by_role("searchbox", name="Search customers")).to_be_visible()


def new_customer(tablet: Any, name: str, phone: str, cnic: str = "") -> None:
    page = tablet.page
    page.get_by_role("button", name="New customer").click()
    # Phone is optional, and the screen says why to give one.
    tablet.expect(page.get_by_text("A phone number helps find the customer later.")).to_be_visible()
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_role("textbox", name="Phone (optional)", exact=True).fill(phone)
    if cnic:
        page.get_by_role("textbox", name="CNIC (optional)").fill(cnic)
    page.get_by_role("button", name="Save customer").click()
