"""What a receipt says: the Python twin of web_till/receipt.js receiptModel (and the pieces it uses).

The box prints receipts from the documents it holds (gateway/escpos_receipt.py); the till draws the
same receipts on screen and through print.css. Both must say the same thing (issue 11: "the FBR
block and the shop's header and footer come from the same receipt model the till uses"), so this
module returns, for the same inputs, exactly the dict receiptModel returns: same keys, same values.
tests/gateway/test_receipt_model.py runs the JavaScript in Node over a set of documents and compares.

Pure: no database, no clock. Money stays integer paisa; only the printer formats it.
"""
from __future__ import annotations

import re
from typing import Any

# receipt_number: web_till/document.js receiptNumber, the USIN on a receipt; the tenders are the contract's.
from cloud_api.contract import MONEY_TENDERS, TENDERS, receipt_number

from . import fiscal_jobs

# web_till/tenders.js WALLETS: the names a wallet payment is printed by.
WALLETS = {"jazzcash": "JazzCash", "easypaisa": "Easypaisa", "raast": "Raast", "bank_transfer": "Bank transfer"}

# web_till/loose.js UNIT_WORDS, and their Urdu in web_till/i18n.js (below 1000, from 1000 on).
UNIT_WORDS = {"kg": ("g", "kg"), "l": ("ml", "l")}
URDU_UNITS = {"g": "گرام", "kg": "کلو", "ml": "ملی لیٹر", "l": "لیٹر"}

_CREATED_AT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")


def document_time(created_at: str | None) -> str:
    """web_till/receipt.js documentTime: "28/11/2026 16:05", as the document's own clock wrote it."""
    m = _CREATED_AT.match(created_at or "")
    return f"{m[3]}/{m[2]}/{m[1]} {m[4]}:{m[5]}" if m else ""


def format_qty(qty: int, unit: str | None = "each", language: str = "en") -> str:
    """web_till/loose.js formatQty: "250 g", "1.5 kg", pieces as a bare number.

    The till takes the unit's word from its current language (i18n t()); here it is a parameter.
    """
    words = UNIT_WORDS.get(unit or "each")
    if words is None:
        return str(qty)
    small, big = (URDU_UNITS[w] if language == "ur" else w for w in words)
    if qty < 1000:
        return f"{qty} {small}"
    # JavaScript's String(qty / 1000): "1.5", "2", "1.25" (thousandths are exact in a double's shortest form).
    whole, rest = divmod(qty, 1000)
    return f"{whole}{'.' + f'{rest:03d}'.rstrip('0') if rest else ''} {big}"


def cashier_name(catalog: dict[str, Any] | None, cashier_id: str) -> str:
    """web_till/receipt.js cashierName: the cashier's name from the catalog, else the id."""
    for cashier in (catalog or {}).get("cashiers") or []:
        if cashier.get("cashier_id") == cashier_id:
            return cashier.get("name") or cashier_id
    return cashier_id


def authority(catalog: dict[str, Any] | None) -> str:
    """web_till/fiscal.js authority: "FBR", "PRA" (fiscal_jobs.authority's words), or "" when the shop
    does not report."""
    mode = ((catalog or {}).get("fiscal") or {}).get("mode", "off")
    return fiscal_jobs.authority(mode) if mode in ("fbr", "pra") else ""


def fiscal_block(document: dict[str, Any], catalog: dict[str, Any] | None,
                 record: dict[str, Any] | None) -> dict[str, Any] | None:
    """web_till/fiscal.js fiscalBlock: the receipt's FBR / PRA block, or None when the shop does not report.

    `record` is what the box knows of the invoice (the shape GET /api/v1/fiscal gives a till:
    status, fbr_number, pos_id, qr), or None before anything is known.
    """
    name = authority(catalog)
    if not name or document.get("kind") not in ("sale", "refund"):
        return None
    pos_ids = ((catalog or {}).get("fiscal") or {}).get("pos_ids") or {}
    record = record or {}
    number = record.get("fbr_number") or "" if record.get("status") == "fiscalized" else ""
    qr = record.get("qr")
    qr = qr if number and isinstance(qr, str) and qr.startswith("data:image/") else ""
    return {"authority": name, "number": number, "qr": qr, "status": record.get("status") or "pending",
            "posId": record.get("pos_id") or pos_ids.get(document.get("device_id")) or None}


def _line_name(line: dict[str, Any], products: list[dict[str, Any]], language: str) -> str:
    if language != "ur":
        return line["name"]
    product = next((p for p in products if p.get("sku") == line.get("sku")), None)
    return line.get("name_ur") or (product and product.get("name_ur")) or line["name"]


def receipt_model(document: dict[str, Any], *, catalog: dict[str, Any] | None, shop_name: str = "",
                  cashier_name: str = "", language: str = "en", duplicate: bool = False,
                  fiscal: dict[str, Any] | None = None, customer: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a receipt says, from a sale, refund or khata payment document (as stored), the catalog the box holds,
    the shop's name (the till's identity.shop_name), the cashier's name and the invoice's `fiscal` record.
    `customer` ({"name", "balanceAfter", "tabletOnly"}): whose khata a document naming a customer went to (issue 10);
    the key "customer" appears only then.

    Mirrors receiptModel(doc, {catalog, identity: {shop_name}, cashierName, language, duplicate, fiscal,
    customer}) key for key; keep the two in step (the Node cross-check fails otherwise).
    """
    catalog = catalog or {}
    settings = catalog.get("settings") or {}
    products = catalog.get("products") or []
    refund = document["kind"] == "refund"
    # Money received against a khata: a slip of its own (no lines, no GST, no change), and its note.
    khata_payment = document["kind"] == "khata_payment"
    lines = document.get("lines") or []
    khata = ({"customer": {"name": customer.get("name") or "", "balanceAfter": customer.get("balanceAfter"),
                           "tabletOnly": bool(customer.get("tabletOnly"))}}
             if document.get("customer_id") and customer else {})
    return {
        **khata,
        **({"khataPayment": True, "note": document.get("note") or ""} if khata_payment else {}),
        "refund": refund,
        "duplicate": duplicate,
        "shop": catalog.get("shop_name") or shop_name or "",
        "address": settings.get("address") or "",
        "phone": settings.get("phone") or "",
        "ntn": settings.get("ntn") or "",
        "strn": settings.get("strn") or "",
        "number": receipt_number(document["device_code"], document["seq"]),
        "original": document.get("original_receipt") or "" if refund else "",
        "cashier": cashier_name or document["cashier_id"],
        "when": document_time(document.get("created_at")),
        "lines": [{
            "name": _line_name(line, products, language),
            "qty": format_qty(line["qty"], line.get("unit"), language),
            "unitPrice": line["unit_price"],
            "perUnit": line["unit"] if line.get("unit") and line["unit"] != "each" else "",
            "discount": line.get("discount") or 0,
            # The line after its own discount: the cart's discount is taken off once, below the lines.
            "amount": line["amount"] + (line.get("cart_discount") or 0),
        } for line in lines],
        "cartDiscount": sum(line.get("cart_discount") or 0 for line in lines),
        "cartDiscountBp": document.get("cart_discount_bp") or None,
        "discount": document.get("discount") or 0,
        "serviceFee": 0 if refund else document.get("service_fee") or 0,
        "tax": document.get("tax") or 0,
        "total": document["amount"] if khata_payment else document["total"],
        "payments": [{
            "tender": p["tender"],
            "wallet": WALLETS.get(p["wallet"], p["wallet"]) if p.get("wallet") else "",
            "amount": p["amount"],
            "reference": p.get("reference") or "",
            "unverified": bool(p.get("unverified")),
        } for p in document["payments"]],
        "change": document.get("change") or 0,
        "reason": document.get("reason") or "" if refund else "",
        # The shop's footer is for sales ("No returns after 7 days"): not on money received for a khata.
        "footer": "" if khata_payment else settings.get("receipt_footer") or "",
        "fiscal": fiscal_block(document, catalog, fiscal),
    }




def trade_by_tender(sales: list[dict[str, Any]], refunds: list[dict[str, Any]],
                    by_tender: dict[str, int] | None = None) -> dict[str, int]:
    """What trade brought in, by tender: sales' payments less their change (only ever cash), less what
    refunds paid back. Added into `by_tender` (a new dict when None; a tender first met is added).
    The box's one rule for it: the Z-report (z_report) and the owner's Today (dashboard.today_sales)."""
    by_tender = {} if by_tender is None else by_tender
    for sale in sales:
        for p in sale["payments"]:
            by_tender[p["tender"]] = by_tender.get(p["tender"], 0) + p["amount"]
        if sale.get("change"):
            by_tender["cash"] = by_tender.get("cash", 0) - sale["change"]
    for refund in refunds:
        for p in refund["payments"]:
            by_tender[p["tender"]] = by_tender.get(p["tender"], 0) - p["amount"]
    return by_tender


def z_report(shift_open: dict[str, Any], documents: list[dict[str, Any]],
             shift_close: dict[str, Any] | None = None) -> dict[str, Any]:
    """web_till/shift.js zReport: a shift's figures from its shift_open, the documents naming it (sales,
    refunds, cash movements, khata payments) and, once closed, its shift_close. The same dict, key for key.

    Khata (issue 10): by_tender["on_account"] is credit given (sales) less credit returned (refunds), no
    money; khata_collected is what customers paid against their balance in this shift, by tender, and
    its cash is in the drawer: expected cash = float + cash tender + khata cash + paid in - paid out."""
    mine = [d for d in documents if d.get("shift_id") == shift_open["id"] and d["kind"] != "shift_close"]
    sales = [d for d in mine if d["kind"] == "sale"]
    refunds = [d for d in mine if d["kind"] == "refund"]
    moves = [d for d in mine if d["kind"] == "cash_movement"]
    khata_collected = dict.fromkeys(MONEY_TENDERS, 0)
    for paid in (d for d in mine if d["kind"] == "khata_payment"):
        for p in paid["payments"]:
            khata_collected[p["tender"]] += p["amount"]
    by_tender = trade_by_tender(sales, refunds, dict.fromkeys(TENDERS, 0))
    by_cashier: dict[str, dict[str, int]] = {}

    def row(cashier_id: str) -> dict[str, int]:
        return by_cashier.setdefault(cashier_id, {"sales_count": 0, "sales_total": 0, "returns_count": 0,
                                                  "returns_total": 0})
    for sale in sales:
        row(sale["cashier_id"])["sales_count"] += 1
        row(sale["cashier_id"])["sales_total"] += sale["total"]
    for refund in refunds:
        row(refund["cashier_id"])["returns_count"] += 1
        row(refund["cashier_id"])["returns_total"] += refund["total"]
    paid_in = sum(m["amount"] for m in moves if m["direction"] == "in")
    paid_out = sum(m["amount"] for m in moves if m["direction"] == "out")
    expected = shift_open["opening_float"] + by_tender["cash"] + khata_collected["cash"] + paid_in - paid_out
    return {
        "shift_id": shift_open["id"],
        "opened_at": shift_open["created_at"],
        "closed_at": shift_close["created_at"] if shift_close else None,
        "opening_float": shift_open["opening_float"],
        "sales_count": len(sales),
        "sales_total": sum(s["total"] for s in sales),
        "returns_count": len(refunds),
        "returns_total": sum(r["total"] for r in refunds),
        "discounts": sum(s.get("discount") or 0 for s in sales),
        "service_fees": sum(s.get("service_fee") or 0 for s in sales),
        "tax": sum(s["tax"] for s in sales) - sum(r["tax"] for r in refunds),
        "by_tender": by_tender,
        "khata_collected": khata_collected,
        "by_cashier": by_cashier,
        "paid_in": paid_in,
        "paid_out": paid_out,
        "expected_cash": expected,
        "counted_cash": shift_close["counted_cash"] if shift_close else None,
        "over_short": shift_close["counted_cash"] - expected if shift_close else None,
        "confirmed": shift_close["confirmed"] if shift_close else None,
    }
