"""A stored sale or refund as FBR's (or PRA's) PostData invoice JSON (issue 9).

Pure: no I/O. Money stays integer paisa until the very last step here, where each figure
becomes rupees with two decimals through Decimal (paisa / 100 is exact in Decimal), and
only then a JSON number. Header totals are sums of the same integers the items were made
from, so they equal the item sums to the paisa whatever the number of lines.

Why JSON numbers and not strings: FBR's samples and validators want numbers. A Python float
made from the exact Decimal "1234.56" is the double nearest to it, and json.dumps writes the
shortest text that reads back as that double, i.e. "1234.56" again: the wire carries exactly
the two-decimal figure (trailing zeros dropped: "1100.0").
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud_api.contract import DEFAULT_PCT_CODE, SERVICE_FEE, receipt_number, shop_time

# FBR's PaymentMode codes (PRA's IMS uses the same).
PAYMENT_MODES = {
    "cash": 1,
    "card": 2,
    "gift_voucher": 3,
    "loyalty_card": 4,
    "mixed": 5,
    "cheque": 6,
}
# How our tenders map to those codes. FBR has no mode for a mobile wallet (JazzCash, Easypaisa),
# Raast or a bank transfer. They are not cash: FBR's cash / non-cash split is what matters to it
# (it is how PRA taxes a sale, and why FBR asks at all), and an electronic payment through a bank
# or wallet is the same kind of documented, non-cash payment as a card. So a wallet payment is
# reported as 2 (card-like non-cash). A sale paid through tenders that map to different codes
# (cash + card, cash + wallet) is 5 mixed; card + wallet both map to 2, so it stays 2.
# On account (khata credit, issue 10) has no code of its own either. It is reported as 1 cash: no card
# or bank stands behind it, so it must not claim what a documented non-cash payment may earn (PRA taxes
# card and digital payments at a lower rate; reporting credit as 2 would claim that concession), and a
# khata is settled, almost always, in cash at the counter. So cash + on account stays 1, and card + on
# account is 5 mixed.
TENDER_MODES = {"cash": PAYMENT_MODES["cash"], "card": PAYMENT_MODES["card"], "wallet": PAYMENT_MODES["card"],
                "on_account": PAYMENT_MODES["cash"]}

INVOICE_NEW = 1
INVOICE_CREDIT = 3      # a return (credit note): FBR's InvoiceType 3, naming the sale in RefUSIN

# The authorities' PostData endpoints. Configuration only: the box posts to the URL of the
# shop's mode and environment (or to settings.fiscal_url when set, which is how every test
# points it at tests/fbr_sim.py). No test ever reaches these hosts.
ENDPOINTS = {
    ("fbr", "production"): "https://gw.fbr.gov.pk/imsp/v1/api/Live/PostData",
    ("fbr", "sandbox"): "https://esp.fbr.gov.pk:8244/FBR/v1/api/Live/PostData",
    ("pra", "production"): "https://ims.pral.com.pk/ims/production/api/Live/PostData",
    ("pra", "sandbox"): "https://ims.pral.com.pk/ims/sandbox/api/Live/PostData",
}

_HUNDRED = Decimal(100)
_THOUSAND = Decimal(1000)


class InvoiceError(ValueError):
    """The document cannot be made into an invoice (unknown mode, a return naming no sale...).
    The message is meant for the shop owner."""


def endpoint(mode: str, environment: str) -> str:
    """The PostData URL of `mode` ("fbr" / "pra") in `environment` ("sandbox" / "production")."""
    try:
        return ENDPOINTS[(mode, environment)]
    except KeyError:
        raise InvoiceError(f"no fiscal endpoint for mode {mode!r} in {environment!r}") from None


def rupees(paisa: int) -> float:
    """Integer paisa as a two-decimal rupee number (exact, see the module's docstring)."""
    return float(Decimal(paisa) / _HUNDRED)


def _number(value: Decimal) -> int | float:
    # Whole quantities stay integers (2, not 2.0); kilograms keep their decimals (0.25).
    return int(value) if value == value.to_integral_value() else float(value)


def _quantity(line: dict[str, Any]) -> Decimal:
    """Pieces, or kilograms / litres for a loose line (its qty is grams / ml): up to 3 decimals."""
    qty = Decimal(line["qty"])
    return qty / _THOUSAND if line.get("unit", "each") in ("kg", "l") else qty


def pct_code(product: dict[str, Any] | None) -> str:
    """The product's PCT heading as FBR wants it, 8 digits ("0902.3000" -> "09023000")."""
    code = (product or {}).get("pct_code") or DEFAULT_PCT_CODE
    return code.replace(".", "")


def payment_mode(payments: list[dict[str, Any]]) -> int:
    """FBR's PaymentMode for these payments: one code when they all map to it, else 5 mixed."""
    modes = {TENDER_MODES[p["tender"]] for p in payments if p.get("tender") in TENDER_MODES}
    if not modes:
        # A refund of nothing paid has no tender; it was settled in cash at the counter.
        return PAYMENT_MODES["cash"]
    return modes.pop() if len(modes) == 1 else PAYMENT_MODES["mixed"]


def ref_usin(document: dict[str, Any], original: dict[str, Any] | None) -> str:
    """The returned sale's receipt number: from the sale when the box holds it, else as the refund names it."""
    if original is not None:
        return receipt_number(original["device_code"], original["seq"])
    if document.get("original_receipt"):
        return document["original_receipt"]
    raise InvoiceError("this return does not name the receipt of its sale, and the box does not hold the sale")


def post_data(document: dict[str, Any], *, pos_id: int, mode: str, products: dict[str, dict[str, Any]], tz: str,
              original: dict[str, Any] | None = None, received_at: str | None = None) -> dict[str, Any]:
    """FBR's (mode "fbr") or PRA's (mode "pra") PostData JSON for a stored sale or refund.

    `products` maps sku -> catalog product (for its PCT code; an unknown sku reports the default).
    `original` is the refunded sale when the box holds it. `received_at` (when the box got the
    document) caps a fast tablet clock, as everywhere else the shop's time is shown.
    """
    if mode not in ("fbr", "pra"):
        raise InvoiceError(f"fiscal mode {mode!r} does not report invoices")
    kind = document.get("kind")
    if kind == "sale":
        invoice_type, ref = INVOICE_NEW, None
        fee = document.get("service_fee", 0)
    elif kind == "refund":
        invoice_type, ref = INVOICE_CREDIT, ref_usin(document, original)
        fee = 0     # the Re 1 service fee is never refunded
    else:
        raise InvoiceError(f"a {kind} document is not an invoice")
    if fee not in (0, SERVICE_FEE):
        raise InvoiceError(f"the POS service fee must be 0 or {SERVICE_FEE} paisa, not {fee}")

    items = []
    # Running integer sums (paisa, and quantity as an exact Decimal): the header is made from
    # these, never by adding up the rounded item numbers.
    sale_value = tax_charged = total_amount = discount = 0
    quantity = Decimal(0)
    for line in document["lines"]:
        amount, tax = line["amount"], line["tax"]
        line_discount = line.get("discount", 0) + line.get("cart_discount", 0)
        qty = _quantity(line)
        items.append({
            "ItemCode": line["sku"],
            "ItemName": line["name"],
            "PCTCode": pct_code(products.get(line["sku"])),
            "Quantity": _number(qty),
            "TaxRate": _number(Decimal(line["gst_bp"]) / _HUNDRED),
            "SaleValue": rupees(amount - tax),
            "TaxCharged": rupees(tax),
            "TotalAmount": rupees(amount),
            "Discount": rupees(line_discount),
            "FurtherTax": 0.0,
            "InvoiceType": invoice_type,
            "RefUSIN": ref,
        })
        sale_value += amount - tax
        tax_charged += tax
        total_amount += amount
        discount += line_discount
        quantity += qty

    invoice: dict[str, Any] = {
        "InvoiceNumber": "",
        "POSID": pos_id,
        "USIN": receipt_number(document["device_code"], document["seq"]),
        "DateTime": shop_time(document["created_at"], tz, document.get("clock_offset_ms"),
                              received_at).strftime("%Y-%m-%d %H:%M:%S"),
        # Walk-in customers: no buyer details. PRA's IMS names the buyer's tax number BuyerPNTN.
        "BuyerNTN": "",
        "BuyerCNIC": "",
        "BuyerName": "",
        "BuyerPhoneNumber": "",
        "TotalSaleValue": rupees(sale_value),
        "TotalTaxCharged": rupees(tax_charged),
        "TotalQuantity": _number(quantity),
        "Discount": rupees(discount),
        "FurtherTax": 0.0,
        "TotalBillAmount": rupees(total_amount + fee),
        "PaymentMode": payment_mode(document.get("payments", [])),
        "InvoiceType": invoice_type,
        "RefUSIN": ref,
        "Items": items,
    }
    if mode == "pra":
        invoice = {("BuyerPNTN" if key == "BuyerNTN" else key): value for key, value in invoice.items()}
    return invoice
