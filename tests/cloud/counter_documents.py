"""Documents of a day at the counter, made as the till makes them (the contract's rounding rules)."""
from __future__ import annotations

import uuid
from typing import Any

from cloud_api.contract import document_hash, line_tax, loose_amount, refund_line_amount, receipt_number

DAY = "2026-11-27"
AT = "2026-11-27T18:05:09+05:00"


def _base(kind: str, seq: int, device_code: str = "T1", cashier_id: str = "c1", created_at: str = AT,
          doc_id: str | None = None) -> dict[str, Any]:
    return {"id": doc_id or str(uuid.uuid4()), "kind": kind, "device_id": f"dev-{device_code}",
            "device_code": device_code, "seq": seq, "created_at": created_at, "cashier_id": cashier_id}


def hashed(doc: dict[str, Any]) -> dict[str, Any]:
    doc["hash"] = document_hash(doc)
    return doc


def line(sku: str, qty: int, unit_price: int, *, unit: str = "each", discount: int = 0, cart_discount: int = 0,
         gst_bp: int = 1800, priced_by: str | None = None) -> dict[str, Any]:
    """A sale line; loose lines (kg / l) count grams / ml and cost loose_amount(qty, unit_price)."""
    price = qty * unit_price if unit == "each" else loose_amount(qty, unit_price)
    amount = price - discount - cart_discount
    out = {"sku": sku, "name": sku.title(), "qty": qty, "unit": unit, "unit_price": unit_price, "gst_bp": gst_bp,
           "discount": discount, "cart_discount": cart_discount, "amount": amount, "tax": line_tax(amount, gst_bp)}
    if priced_by:
        out["priced_by"] = priced_by
    return out


def sale(seq: int, lines: list[dict[str, Any]], payments: list[dict[str, Any]] | None = None, *, change: int = 0,
         shift_id: str | None = None, service_fee: int = 0, **base: Any) -> dict[str, Any]:
    """A sale of `lines`; paid in cash (plus `change`) unless `payments` says otherwise. `service_fee`
    (contract.SERVICE_FEE) is the Re 1 FBR / PRA fee: inside the total, not a line."""
    total = sum(ln["amount"] for ln in lines) + service_fee
    doc = _base("sale", seq, **base)
    if service_fee:
        doc["service_fee"] = service_fee
    doc.update(lines=lines, payments=payments or [{"tender": "cash", "amount": total + change}], total=total,
               tax=sum(ln["tax"] for ln in lines), change=change,
               discount=sum(ln["discount"] + ln["cart_discount"] for ln in lines))
    if shift_id:
        doc["shift_id"] = shift_id
    return hashed(doc)


def refund(seq: int, original: dict[str, Any], returned: list[tuple[int, int]], tender: str = "cash", *,
           shift_id: str | None = None, reason: str | None = None, **base: Any) -> dict[str, Any]:
    """Return `returned` [(line_index, qty)] of `original`, paid back in one tender."""
    lines = []
    for index, qty in returned:
        sold = original["lines"][index]
        amount = refund_line_amount(sold["amount"], sold["qty"], qty)
        lines.append({"line_index": index, "sku": sold["sku"], "name": sold["name"], "qty": qty,
                      "unit": sold.get("unit", "each"), "unit_price": sold["unit_price"], "gst_bp": sold["gst_bp"],
                      "amount": amount, "tax": line_tax(amount, sold["gst_bp"])})
    total = sum(ln["amount"] for ln in lines)
    doc = _base("refund", seq, **base)
    doc.update(original_id=original["id"], original_receipt=receipt_number(original["device_code"], original["seq"]),
               lines=lines, payments=[{"tender": tender, "amount": total}], total=total,
               tax=sum(ln["tax"] for ln in lines))
    if shift_id:
        doc["shift_id"] = shift_id
    if reason:
        doc["reason"] = reason
    return hashed(doc)


def shift_open(seq: int, opening_float: int, **base: Any) -> dict[str, Any]:
    return hashed({**_base("shift_open", seq, **base), "opening_float": opening_float})


def shift_close(seq: int, shift_id: str, counted_cash: int, expected_cash: int | None = None,
                confirmed: dict[str, int] | None = None, **base: Any) -> dict[str, Any]:
    doc = {**_base("shift_close", seq, **base), "shift_id": shift_id, "counted_cash": counted_cash,
           "confirmed": confirmed or {}}
    if expected_cash is not None:
        doc["expected_cash"] = expected_cash
    return hashed(doc)


def cash_movement(seq: int, direction: str, amount: int, reason: str, shift_id: str | None = None,
                  **base: Any) -> dict[str, Any]:
    doc = {**_base("cash_movement", seq, **base), "direction": direction, "amount": amount, "reason": reason}
    if shift_id:
        doc["shift_id"] = shift_id
    return hashed(doc)
