"""Documents, catalogs and fiscal records for the printing tests: what tills make, what the box holds."""
from __future__ import annotations

import uuid
from typing import Any

from cloud_api.contract import document_hash, line_tax, loose_amount, percent_of, refund_line_amount

DEVICE_ID = "dev-print-1"
URDU_SHOP = "کریانہ سٹور"
URDU_SUGAR = "چینی"


def _line(sku: str, name: str, qty: int, unit_price: int, gst_bp: int, *, unit: str = "each", discount: int = 0,
          cart_discount: int = 0, **extra: Any) -> dict[str, Any]:
    price = qty * unit_price if unit == "each" else loose_amount(qty, unit_price)
    amount = price - discount - cart_discount
    line = {"sku": sku, "name": name, "qty": qty, "unit": unit, "unit_price": unit_price, "gst_bp": gst_bp,
            "amount": amount, "tax": line_tax(amount, gst_bp), **extra}
    if unit != "each":
        line["priced_by"] = "weight"
    if discount:
        line["discount"] = discount
    if cart_discount:
        line["cart_discount"] = cart_discount
    return line


def sale(*, seq: int = 1, device_id: str = DEVICE_ID, device_code: str = "T1", lines: list[dict[str, Any]] | None = None,
         payments: list[dict[str, Any]] | None = None, service_fee: int = 0, cart_discount_bp: int | None = None,
         shift_id: str | None = None, cashier_id: str = "c1",
         created_at: str = "2026-11-27T18:05:09+05:00") -> dict[str, Any]:
    """A valid sale; paid in cash (with change to the next Rs 100) unless `payments` says otherwise."""
    lines = lines or [_line("TAPAL-190", "Tapal Danedar 190g", 2, 55000, 1800)]
    total = sum(line["amount"] for line in lines) + service_fee
    if payments is None:
        paid = -(-total // 10000) * 10000
        payments = [{"tender": "cash", "amount": paid}]
    change = sum(p["amount"] for p in payments) - total
    doc: dict[str, Any] = {
        "id": str(uuid.uuid4()), "kind": "sale", "device_id": device_id, "device_code": device_code, "seq": seq,
        "created_at": created_at, "cashier_id": cashier_id, "lines": lines, "payments": payments,
        "total": total, "tax": sum(line["tax"] for line in lines), "change": change}
    discount = sum(line.get("discount", 0) + line.get("cart_discount", 0) for line in lines)
    return hashed(doc, discount=discount, cart_discount_bp=cart_discount_bp, service_fee=service_fee,
                  shift_id=shift_id)


def hashed(doc: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """The document with those of its optional fields that are set, and its hash."""
    doc = {**doc, **{key: value for key, value in optional.items() if value}}
    doc["hash"] = document_hash(doc)
    return doc


def discounted_sale(**kwargs: Any) -> dict[str, Any]:
    """Tea with a line discount, loose sugar, a 10% cart discount shared over both: cash with change."""
    tea_price, sugar_price = 2 * 55000 - 5000, loose_amount(1500, 16000)
    cart = [percent_of(tea_price, 1000), percent_of(sugar_price, 1000)]
    lines = [_line("TAPAL-190", "Tapal Danedar 190g", 2, 55000, 1800, discount=5000, cart_discount=cart[0]),
             _line("SUGAR-LOOSE", "Sugar (loose)", 1500, 16000, 0, unit="kg", cart_discount=cart[1])]
    return sale(lines=lines, cart_discount_bp=1000, **kwargs)


def urdu_sale(**kwargs: Any) -> dict[str, Any]:
    """Loose sugar whose line carries its Urdu name, and oil by the litre named in the catalog."""
    lines = [_line("SUGAR-LOOSE", "Sugar (loose)", 2250, 16000, 0, unit="kg", name_ur=URDU_SUGAR),
             _line("OIL-LOOSE", "Cooking oil (loose)", 500, 60000, 1800, unit="l")]
    return sale(lines=lines, **kwargs)


def card_sale(**kwargs: Any) -> dict[str, Any]:
    line = _line("TAPAL-190", "Tapal Danedar 190g", 1, 55000, 1800)
    return sale(lines=[line], payments=[{"tender": "card", "amount": 55000, "reference": "AUTH-1234"}], **kwargs)


def wallet_split_sale(**kwargs: Any) -> dict[str, Any]:
    line = _line("TAPAL-190", "Tapal Danedar 190g", 3, 55000, 1800)
    return sale(lines=[line], payments=[{"tender": "wallet", "amount": 100000, "wallet": "jazzcash",
                                         "reference": "JC-778899", "unverified": True},
                                        {"tender": "cash", "amount": 70000}], **kwargs)


def refund(original: dict[str, Any], *, seq: int = 2, tender: str = "cash", reason: str | None = "Damaged pack",
           shift_id: str | None = None, device_id: str = DEVICE_ID) -> dict[str, Any]:
    sold = original["lines"][0]
    qty = 1 if sold.get("unit", "each") == "each" else sold["qty"]
    amount = refund_line_amount(sold["amount"], sold["qty"], qty)
    lines = [{"line_index": 0, "sku": sold["sku"], "name": sold["name"], "qty": qty, "unit": sold.get("unit", "each"),
              "unit_price": sold["unit_price"], "gst_bp": sold["gst_bp"], "amount": amount,
              "tax": line_tax(amount, sold["gst_bp"])}]
    payment: dict[str, Any] = {"tender": tender, "amount": amount}
    if tender == "card":
        payment["reference"] = "REV-1"
    doc: dict[str, Any] = {
        "id": str(uuid.uuid4()), "kind": "refund", "device_id": device_id, "device_code": original["device_code"],
        "seq": seq, "created_at": "2026-11-27T19:00:00+05:00", "cashier_id": "c2", "original_id": original["id"],
        "original_receipt": f"{original['device_code']}-{original['seq']:06d}", "lines": lines,
        "payments": [payment], "total": amount, "tax": lines[0]["tax"]}
    return hashed(doc, reason=reason, shift_id=shift_id)


def catalog(*, mode: str = "off", pos_ids: dict[str, int] | None = None, shop_name: str = "Karachi Kiryana",
            **settings: Any) -> dict[str, Any]:
    return {
        "shop_id": "s1", "shop_name": shop_name, "version": 3,
        "products": [{"sku": "TAPAL-190", "name": "Tapal Danedar 190g", "price": 55000, "gst_bp": 1800},
                     {"sku": "SUGAR-LOOSE", "name": "Sugar (loose)", "price": 16000, "gst_bp": 0, "unit": "kg"},
                     {"sku": "OIL-LOOSE", "name": "Cooking oil (loose)", "price": 60000, "gst_bp": 1800, "unit": "l",
                      "name_ur": "کوکنگ آئل"}],
        "cashiers": [{"cashier_id": "c1", "name": "Ayesha"}, {"cashier_id": "c2", "name": "Bilal"}],
        "settings": {"address": "Shop 4, Tariq Road", "phone": "021-3456789", "ntn": "1234567-8",
                     "strn": "", "receipt_footer": "Thank you! No returns after 7 days.", **settings},
        "fiscal": {"mode": mode, "environment": "sandbox", "pos_ids": pos_ids or {}, "service_fee": mode != "off",
                   "tender_tax_bp": {}},
    }


FBR_NUMBER = "123456261127180509*test*1"


def fiscalized_record(number: str = FBR_NUMBER, pos_id: int = 123456) -> dict[str, Any]:
    return {"status": "fiscalized", "fbr_number": number, "pos_id": pos_id,
            "qr": "data:image/svg+xml,%3Csvg%3E%3C/svg%3E"}


def shift_documents(device_id: str = DEVICE_ID) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """A shift: its opening, two sales (cash, card), a cash refund, a paid-out, and its closing."""
    shift_id = str(uuid.uuid4())

    def doc(kind: str, seq: int, **body: Any) -> dict[str, Any]:
        return hashed({"id": str(uuid.uuid4()), "kind": kind, "device_id": device_id, "device_code": "T1", "seq": seq,
                       "created_at": f"2026-11-27T{9 + seq:02d}:00:00+05:00", "cashier_id": "c1", **body})
    opening = doc("shift_open", 1, opening_float=500000, id=shift_id)
    first = sale(seq=2, shift_id=shift_id, created_at="2026-11-27T11:00:00+05:00", device_id=device_id)
    second = card_sale(seq=3, shift_id=shift_id, created_at="2026-11-27T12:00:00+05:00", device_id=device_id)
    back = refund(first, seq=4, shift_id=shift_id, device_id=device_id)
    out = doc("cash_movement", 5, direction="out", amount=20000, reason="Tea for the staff", shift_id=shift_id)
    closing = doc("shift_close", 6, shift_id=shift_id, counted_cash=550000, expected_cash=580000,
                  confirmed={"card": 55000, "wallet": 0})
    return opening, [first, second, back, out], closing


# --- khata (issue 10) -----------------------------------------------------------------------

CUSTOMER_ID = "7d1c0a52-3b8e-4f6a-9c2d-1e5f7a9b3c4d"


def credit_sale(*, seq: int = 1, cash: int = 0, shift_id: str | None = None, device_id: str = DEVICE_ID,
                customer_id: str = CUSTOMER_ID, created_at: str = "2026-11-27T18:05:09+05:00") -> dict[str, Any]:
    """Two packs of tea written to a customer's khata, less `cash` paid at the counter."""
    line = _line("TAPAL-190", "Tapal Danedar 190g", 2, 55000, 1800)
    payments = ([{"tender": "cash", "amount": cash}] if cash else []) + [
        {"tender": "on_account", "amount": line["amount"] - cash}]
    doc = sale(seq=seq, lines=[line], payments=payments, shift_id=shift_id, device_id=device_id, created_at=created_at)
    return hashed({**{k: v for k, v in doc.items() if k != "hash"}, "customer_id": customer_id})


def khata_payment(*, seq: int = 1, payments: list[dict[str, Any]] | None = None, note: str | None = None,
                  device_id: str = DEVICE_ID, customer_id: str = CUSTOMER_ID,
                  created_at: str = "2026-11-27T18:05:09+05:00") -> dict[str, Any]:
    """Money a customer paid against their khata at the counter: Rs 500 in cash unless `payments` says."""
    payments = payments or [{"tender": "cash", "amount": 50000}]
    doc = {"id": str(uuid.uuid4()), "kind": "khata_payment", "device_id": device_id, "device_code": "T1", "seq": seq,
           "created_at": created_at, "cashier_id": "c1", "customer_id": customer_id, "payments": payments,
           "amount": sum(p["amount"] for p in payments)}
    return hashed(doc, note=note)


def khata_shift_documents(device_id: str = DEVICE_ID) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """A shift with khata: a cash sale, a credit sale (part cash), a return of one pack put back on account,
    khata payments in cash and by card, a paid-in; and its closing."""
    shift_id = str(uuid.uuid4())

    def doc(kind: str, seq: int, **body: Any) -> dict[str, Any]:
        return hashed({"id": str(uuid.uuid4()), "kind": kind, "device_id": device_id, "device_code": "T1", "seq": seq,
                       "created_at": f"2026-11-27T{9 + seq:02d}:00:00+05:00", "cashier_id": "c1", **body})
    opening = doc("shift_open", 1, opening_float=300000, id=shift_id)
    cash_sale = sale(seq=2, shift_id=shift_id, device_id=device_id)
    on_credit = credit_sale(seq=3, cash=10000, shift_id=shift_id, device_id=device_id)
    back = refund(on_credit, seq=4, shift_id=shift_id, device_id=device_id, tender="on_account", reason=None)
    back = hashed({**{k: v for k, v in back.items() if k != "hash"}, "customer_id": CUSTOMER_ID})
    paid_cash = doc("khata_payment", 5, customer_id=CUSTOMER_ID, payments=[{"tender": "cash", "amount": 40000}],
                    amount=40000, shift_id=shift_id)
    paid_card = doc("khata_payment", 6, customer_id=CUSTOMER_ID,
                    payments=[{"tender": "card", "amount": 25000, "reference": "AUTH-9"}], amount=25000,
                    shift_id=shift_id)
    other_shift = doc("khata_payment", 7, customer_id=CUSTOMER_ID, payments=[{"tender": "cash", "amount": 99900}],
                      amount=99900, shift_id=str(uuid.uuid4()))
    paid_in = doc("cash_movement", 8, direction="in", amount=5000, reason="Float top-up", shift_id=shift_id)
    closing = doc("shift_close", 9, shift_id=shift_id, counted_cash=470000, expected_cash=470000,
                  confirmed={"card": 25000, "wallet": 0})
    return opening, [cash_sale, on_credit, back, paid_cash, paid_card, other_shift, paid_in], closing
