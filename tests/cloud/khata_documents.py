"""Khata documents as a till makes them (issue 10): customers, sales on account, khata payments, adjustments."""
from __future__ import annotations

import uuid
from typing import Any

from tests.cloud.counter_documents import AT, _base, hashed, line, refund, sale


def customer(seq: int, name: str, *, customer_id: str | None = None, phone: str | None = "0300 1234567",
             credit_limit: int = 500_000, **base: Any) -> dict[str, Any]:
    """A customer document; a new customer (no customer_id given) is named by the document's own id."""
    doc = _base("customer", seq, **base)
    doc.update(customer_id=customer_id or doc["id"], name=name, credit_limit=credit_limit)
    if phone:
        doc["phone"] = phone
    return hashed(doc)


def sale_on_account(seq: int, customer_id: str, price: int, *, cash: int = 0, shift_id: str | None = None,
                    **base: Any) -> dict[str, Any]:
    """A sale of one Tapal at `price`, `cash` of it paid in cash and the rest on account."""
    payments = [{"tender": "on_account", "amount": price - cash}]
    if cash:
        payments.insert(0, {"tender": "cash", "amount": cash})
    doc = sale(seq, [line("TAPAL-190", 1, price)], payments, shift_id=shift_id, **base)
    doc["customer_id"] = customer_id
    return hashed(doc)


def refund_to_account(seq: int, original: dict[str, Any], **base: Any) -> dict[str, Any]:
    doc = refund(seq, original, [(0, 1)], tender="on_account", **base)
    doc["customer_id"] = original["customer_id"]
    return hashed(doc)


def khata_payment(seq: int, customer_id: str, payments: list[dict[str, Any]], *, shift_id: str | None = None,
                  note: str | None = None, **base: Any) -> dict[str, Any]:
    doc = _base("khata_payment", seq, **base)
    doc.update(customer_id=customer_id, payments=payments, amount=sum(p["amount"] for p in payments))
    if shift_id:
        doc["shift_id"] = shift_id
    if note:
        doc["note"] = note
    return hashed(doc)


def khata_adjustment(seq: int, customer_id: str, amount: int, reason: str = "opening balance from the paper khata",
                     **base: Any) -> dict[str, Any]:
    doc = _base("khata_adjustment", seq, **base)
    doc.update(customer_id=customer_id, amount=amount, reason=reason, approval_id=str(uuid.uuid4()))
    return hashed(doc)


__all__ = ["AT", "customer", "khata_adjustment", "khata_payment", "refund_to_account", "sale_on_account"]
