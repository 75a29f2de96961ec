"""Refunds and loose sales as a till writes them, for the box's stock and returns tests."""
from __future__ import annotations

from typing import Any

from cloud_api.contract import document_hash, line_tax, loose_amount, receipt_number, refund_line_amount
from tests.conftest import document_id


def make_refund(sale: dict[str, Any], returned: dict[int, int], *, device_id: str, device_code: str, seq: int,
                doc_id: str | None = None, **line_overrides: Any) -> dict[str, Any]:
    """A refund of `sale`: {line_index: qty}; amounts by the contract's rule, paid back in cash."""
    lines = []
    for index, qty in returned.items():
        sold = sale["lines"][min(index, len(sale["lines"]) - 1)]
        amount = refund_line_amount(sold["amount"], sold["qty"], qty)
        line = {"line_index": index, "sku": sold["sku"], "name": sold["name"], "qty": qty,
                "unit": sold.get("unit", "each"), "unit_price": sold["unit_price"], "gst_bp": sold["gst_bp"],
                "amount": amount, "tax": line_tax(amount, sold["gst_bp"])}
        line.update(line_overrides)
        line["tax"] = line_tax(line["amount"], line["gst_bp"])
        lines.append(line)
    total = sum(line["amount"] for line in lines)
    doc: dict[str, Any] = {
        "id": doc_id or document_id(), "kind": "refund", "device_id": device_id, "device_code": device_code,
        "seq": seq, "created_at": "2026-11-27T19:00:00+05:00", "cashier_id": "c1",
        "original_id": sale["id"], "original_receipt": receipt_number(sale["device_code"], sale["seq"]),
        "lines": lines, "payments": [{"tender": "cash", "amount": total}] if total else [],
        "total": total, "tax": sum(line["tax"] for line in lines)}
    doc["hash"] = document_hash(doc)
    return doc


def make_loose_sale(*, device_id: str, device_code: str, seq: int, grams: int, sku: str = "SUGAR-LOOSE",
                    name: str = "Sugar (loose)", price_per_kg: int = 16000) -> dict[str, Any]:
    """A sale of `grams` of a product sold by the kg."""
    amount = loose_amount(grams, price_per_kg)
    tax = line_tax(amount, 0)
    doc: dict[str, Any] = {
        "id": document_id(), "kind": "sale", "device_id": device_id, "device_code": device_code, "seq": seq,
        "created_at": "2026-11-27T18:10:00+05:00", "cashier_id": "c1",
        "lines": [{"sku": sku, "name": name, "qty": grams, "unit": "kg", "priced_by": "weight",
                   "unit_price": price_per_kg, "gst_bp": 0, "amount": amount, "tax": tax}],
        "payments": [{"tender": "cash", "amount": amount}], "total": amount, "tax": tax, "change": 0}
    doc["hash"] = document_hash(doc)
    return doc


# --- khata (issue 10) -----------------------------------------------------------------------

def _khata_document(kind: str, *, device_id: str, device_code: str, seq: int, created_at: str,
                    **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": fields.pop("doc_id", None) or document_id(), "kind": kind,
                           "device_id": device_id, "device_code": device_code, "seq": seq,
                           "created_at": created_at, "cashier_id": "c1", **fields}
    doc["hash"] = document_hash(doc)
    return doc


def make_customer(name: str, *, device_id: str, device_code: str, seq: int, customer_id: str | None = None,
                  created_at: str = "2026-11-27T17:00:00+05:00", credit_limit: int = 500_000,
                  **details: Any) -> dict[str, Any]:
    """A customer document: a new customer (customer_id == its id) unless customer_id names an earlier one."""
    doc_id = document_id()
    return _khata_document("customer", device_id=device_id, device_code=device_code, seq=seq, created_at=created_at,
                           doc_id=doc_id, customer_id=customer_id or doc_id, name=name, credit_limit=credit_limit,
                           **details)


def make_credit_sale(customer_id: str, *, device_id: str, device_code: str, seq: int, qty: int = 2,
                     price: int = 55000, cash: int = 0, created_at: str = "2026-11-27T18:05:09+05:00",
                     credit_approval_id: str | None = None) -> dict[str, Any]:
    """A sale of `qty` x TAPAL-190 written to the customer's khata (less `cash` paid at the counter)."""
    amount = qty * price
    tax = line_tax(amount, 1800)
    payments = ([{"tender": "cash", "amount": cash}] if cash else []) + [{"tender": "on_account",
                                                                           "amount": amount - cash}]
    extra = {"credit_approval_id": credit_approval_id} if credit_approval_id else {}
    return _khata_document("sale", device_id=device_id, device_code=device_code, seq=seq, created_at=created_at,
                           lines=[{"sku": "TAPAL-190", "name": "Tapal Danedar 190g", "qty": qty, "unit_price": price,
                                   "gst_bp": 1800, "amount": amount, "tax": tax}],
                           payments=payments, total=amount, tax=tax, change=0, customer_id=customer_id, **extra)


def make_khata_payment(customer_id: str, payments: dict[str, int], *, device_id: str, device_code: str, seq: int,
                       created_at: str = "2026-11-27T19:30:00+05:00", shift_id: str | None = None,
                       note: str | None = None) -> dict[str, Any]:
    """Money received against a khata: {tender: paisa} (card / wallet with a reference)."""
    paid = [{"tender": tender, "amount": amount, **({"reference": "REF-1"} if tender != "cash" else {})}
            for tender, amount in payments.items()]
    extra: dict[str, Any] = {}
    if shift_id:
        extra["shift_id"] = shift_id
    if note:
        extra["note"] = note
    return _khata_document("khata_payment", device_id=device_id, device_code=device_code, seq=seq,
                           created_at=created_at, customer_id=customer_id, payments=paid,
                           amount=sum(payments.values()), **extra)


def make_adjustment(customer_id: str, amount: int, *, device_id: str, device_code: str, seq: int,
                    approval_id: str | None = None, reason: str = "Opening balance from the paper khata",
                    created_at: str = "2026-11-27T16:00:00+05:00") -> dict[str, Any]:
    extra = {"approval_id": approval_id} if approval_id else {}
    return _khata_document("khata_adjustment", device_id=device_id, device_code=device_code, seq=seq,
                           created_at=created_at, customer_id=customer_id, amount=amount, reason=reason, **extra)
