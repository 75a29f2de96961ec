"""Refunds and loose sales as a till writes them, for the box's stock and returns tests."""
from __future__ import annotations

import uuid
from typing import Any

from cloud_api.contract import document_hash, line_tax, loose_amount, receipt_number, refund_line_amount


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
        "id": doc_id or str(uuid.uuid4()), "kind": "refund", "device_id": device_id, "device_code": device_code,
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
        "id": str(uuid.uuid4()), "kind": "sale", "device_id": device_id, "device_code": device_code, "seq": seq,
        "created_at": "2026-11-27T18:10:00+05:00", "cashier_id": "c1",
        "lines": [{"sku": sku, "name": name, "qty": grams, "unit": "kg", "priced_by": "weight",
                   "unit_price": price_per_kg, "gst_bp": 0, "amount": amount, "tax": tax}],
        "payments": [{"tender": "cash", "amount": amount}], "total": amount, "tax": tax, "change": 0}
    doc["hash"] = document_hash(doc)
    return doc
