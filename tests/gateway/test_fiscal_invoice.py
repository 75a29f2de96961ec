"""A stored sale or refund as FBR's / PRA's PostData JSON (gateway/fiscal_invoice.py)."""
from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_api.contract import (
    SERVICE_FEE,
    document_hash,
    line_tax,
    loose_amount,
    parse_document,
    refund_line_amount,
    tender_tax_bp,
)
from gateway.fiscal_invoice import (
    PAYMENT_MODES,
    InvoiceError,
    endpoint,
    payment_mode,
    post_data,
    rupees,
)
from tests.conftest import make_sale
from tests.fbr_sim import validate

TZ = "Asia/Karachi"
PRODUCTS = {"TAPAL-190": {"sku": "TAPAL-190", "name": "Tapal Danedar 190g", "pct_code": "0902.3000"},
            "SUGAR-LOOSE": {"sku": "SUGAR-LOOSE", "name": "Sugar (loose)", "pct_code": None}}


def hashed(doc: dict[str, Any]) -> dict[str, Any]:
    doc["hash"] = document_hash(doc)
    parse_document(doc)     # every example is a document the contract accepts
    return doc


def discounted_sale() -> dict[str, Any]:
    """Two Tapal with Rs 10 off the line and Rs 5 of the cart's discount; 1.25 kg loose sugar with 91 paisa
    of the cart's; paid Rs 1,000 cash and the rest by card. Written in UTC: the invoice shows Karachi time."""
    return hashed({
        "id": "0b6f5d1e-8a57-4a1e-9d3c-2f1a5b6c7d8e", "kind": "sale", "device_id": "dev-1", "device_code": "T1",
        "seq": 42, "created_at": "2026-11-27T13:05:09Z", "cashier_id": "c1",
        "lines": [
            {"sku": "TAPAL-190", "name": "Tapal Danedar 190g", "qty": 2, "unit_price": 55000, "gst_bp": 1800,
             "discount": 1000, "cart_discount": 500, "amount": 108500, "tax": 16551},
            {"sku": "SUGAR-LOOSE", "name": "Sugar (loose)", "qty": 1250, "unit": "kg", "priced_by": "weight",
             "unit_price": 16000, "gst_bp": 0, "cart_discount": 91, "amount": 19909, "tax": 0},
        ],
        "payments": [{"tender": "cash", "amount": 100000}, {"tender": "card", "amount": 28409,
                                                           "reference": "AUTH-1"}],
        "total": 128409, "tax": 16551, "change": 0, "discount": 1591,
    })


def test_a_sale_with_discounts_and_a_loose_line() -> None:
    invoice = post_data(discounted_sale(), pos_id=123456, mode="fbr", products=PRODUCTS, tz=TZ)
    assert invoice == {
        "InvoiceNumber": "", "POSID": 123456, "USIN": "T1-000042", "DateTime": "2026-11-27 18:05:09",
        "BuyerNTN": "", "BuyerCNIC": "", "BuyerName": "", "BuyerPhoneNumber": "",
        "TotalSaleValue": 1118.58, "TotalTaxCharged": 165.51, "TotalQuantity": 3.25, "Discount": 15.91,
        "FurtherTax": 0.0, "TotalBillAmount": 1284.09, "PaymentMode": 5, "InvoiceType": 1, "RefUSIN": None,
        "Items": [
            {"ItemCode": "TAPAL-190", "ItemName": "Tapal Danedar 190g", "PCTCode": "09023000", "Quantity": 2,
             "TaxRate": 18, "SaleValue": 919.49, "TaxCharged": 165.51, "TotalAmount": 1085.0, "Discount": 15.0,
             "FurtherTax": 0.0, "InvoiceType": 1, "RefUSIN": None},
            {"ItemCode": "SUGAR-LOOSE", "ItemName": "Sugar (loose)", "PCTCode": "00000000", "Quantity": 1.25,
             "TaxRate": 0, "SaleValue": 199.09, "TaxCharged": 0.0, "TotalAmount": 199.09, "Discount": 0.91,
             "FurtherTax": 0.0, "InvoiceType": 1, "RefUSIN": None},
        ],
    }
    # On the wire: exactly two decimals' worth of digits, never a binary tail (1118.5800000000002).
    text = json.dumps(invoice)
    assert '"TotalSaleValue": 1118.58' in text and '"TotalBillAmount": 1284.09' in text
    assert validate(invoice, "fbr", {123456}) == []


def refund_of_discounted_sale() -> dict[str, Any]:
    sale = discounted_sale()
    tapal, sugar = refund_line_amount(108500, 2, 1), refund_line_amount(19909, 1250, 500)
    assert (tapal, sugar) == (54250, 7964)
    return hashed({
        "id": str(uuid.UUID(int=7)), "kind": "refund", "device_id": "dev-2", "device_code": "T2", "seq": 3,
        "created_at": "2026-11-28T10:00:00+05:00", "cashier_id": "c1",
        "original_id": sale["id"], "original_receipt": "T1-000042",
        "lines": [
            {"line_index": 0, "sku": "TAPAL-190", "name": "Tapal Danedar 190g", "qty": 1, "unit_price": 55000,
             "gst_bp": 1800, "amount": tapal, "tax": line_tax(tapal, 1800)},
            {"line_index": 1, "sku": "SUGAR-LOOSE", "name": "Sugar (loose)", "qty": 500, "unit": "kg",
             "unit_price": 16000, "gst_bp": 0, "amount": sugar, "tax": 0},
        ],
        "payments": [{"tender": "cash", "amount": tapal + sugar}], "total": tapal + sugar,
        "tax": line_tax(tapal, 1800),
    })


def test_a_refund_is_a_credit_note_naming_the_sale() -> None:
    refund = refund_of_discounted_sale()
    invoice = post_data(refund, pos_id=123457, mode="fbr", products=PRODUCTS, tz=TZ, original=discounted_sale())
    assert invoice == {
        "InvoiceNumber": "", "POSID": 123457, "USIN": "T2-000003", "DateTime": "2026-11-28 10:00:00",
        "BuyerNTN": "", "BuyerCNIC": "", "BuyerName": "", "BuyerPhoneNumber": "",
        "TotalSaleValue": 539.39, "TotalTaxCharged": 82.75, "TotalQuantity": 1.5, "Discount": 0.0,
        "FurtherTax": 0.0, "TotalBillAmount": 622.14, "PaymentMode": 1, "InvoiceType": 3, "RefUSIN": "T1-000042",
        "Items": [
            {"ItemCode": "TAPAL-190", "ItemName": "Tapal Danedar 190g", "PCTCode": "09023000", "Quantity": 1,
             "TaxRate": 18, "SaleValue": 459.75, "TaxCharged": 82.75, "TotalAmount": 542.5, "Discount": 0.0,
             "FurtherTax": 0.0, "InvoiceType": 3, "RefUSIN": "T1-000042"},
            {"ItemCode": "SUGAR-LOOSE", "ItemName": "Sugar (loose)", "PCTCode": "00000000", "Quantity": 0.5,
             "TaxRate": 0, "SaleValue": 79.64, "TaxCharged": 0.0, "TotalAmount": 79.64, "Discount": 0.0,
             "FurtherTax": 0.0, "InvoiceType": 3, "RefUSIN": "T1-000042"},
        ],
    }
    assert validate(invoice, "fbr", {123457}) == []


def test_a_refund_names_its_sale_from_the_sale_held_else_from_its_own_receipt_field() -> None:
    refund = refund_of_discounted_sale()
    # The sale held by the box wins (its device code and seq are the truth).
    other = dict(discounted_sale(), device_code="T9", seq=7)
    assert post_data(refund, pos_id=1, mode="fbr", products={}, tz=TZ, original=other)["RefUSIN"] == "T9-000007"
    assert post_data(refund, pos_id=1, mode="fbr", products={}, tz=TZ)["RefUSIN"] == "T1-000042"
    orphan = {k: v for k, v in refund.items() if k != "original_receipt"}
    with pytest.raises(InvoiceError, match="does not name the receipt"):
        post_data(orphan, pos_id=1, mode="fbr", products={}, tz=TZ)


def test_the_service_fee_is_on_the_bill_not_on_an_item() -> None:
    sale = make_sale(qty=1, price=50000, service_fee=SERVICE_FEE, total=50000 + SERVICE_FEE,
                     payments=[{"tender": "cash", "amount": 60000}], change=60000 - 50000 - SERVICE_FEE)
    parse_document(sale)
    invoice = post_data(sale, pos_id=123456, mode="fbr", products={}, tz=TZ)
    assert invoice["TotalBillAmount"] == 501.0
    assert [item["TotalAmount"] for item in invoice["Items"]] == [500.0]
    assert invoice["TotalSaleValue"] == 423.73 and invoice["TotalTaxCharged"] == 76.27
    assert validate(invoice, "fbr", {123456}) == []
    # A refund never returns the fee: its bill is its items.
    refund = refund_of_discounted_sale()
    credit = post_data(refund, pos_id=1, mode="fbr", products={}, tz=TZ)
    assert credit["TotalBillAmount"] == rupees(refund["total"])


def test_a_fee_that_is_not_re_1_is_refused() -> None:
    with pytest.raises(InvoiceError, match="service fee"):
        post_data(make_sale(service_fee=50), pos_id=1, mode="fbr", products={}, tz=TZ)


def test_pra_names_the_buyers_ntn_buyer_pntn_and_keeps_the_rest() -> None:
    fbr = post_data(discounted_sale(), pos_id=1, mode="fbr", products=PRODUCTS, tz=TZ)
    pra = post_data(discounted_sale(), pos_id=1, mode="pra", products=PRODUCTS, tz=TZ)
    assert "BuyerPNTN" in pra and "BuyerNTN" not in pra and pra["BuyerPNTN"] == ""
    assert {k: v for k, v in pra.items() if k != "BuyerPNTN"} == {k: v for k, v in fbr.items() if k != "BuyerNTN"}
    assert validate(pra, "pra", {1}) == []


@pytest.mark.parametrize("tender, rate", [("cash", 16), ("card", 5)])
def test_pra_tender_based_tax_is_reported_as_the_till_computed_it(tender: str, rate: int) -> None:
    # The till taxes a PRA sale by its tender (contract.tender_tax_bp); the invoice reports that rate and tax.
    gst_bp = tender_tax_bp({"cash": 1600, "card": 500}, [tender])
    assert gst_bp == rate * 100
    amount = 105000
    tax = line_tax(amount, gst_bp)
    sale = make_sale(qty=1, price=amount, tender=tender,
                     lines=[{"sku": "SHIRT", "name": "Shirt", "qty": 1, "unit_price": amount, "gst_bp": gst_bp,
                             "amount": amount, "tax": tax}], tax=tax)
    parse_document(sale)
    invoice = post_data(sale, pos_id=1, mode="pra", products={}, tz=TZ)
    assert invoice["Items"][0]["TaxRate"] == rate
    assert invoice["TotalTaxCharged"] == rupees(tax) == {"cash": 144.83, "card": 50.0}[tender]
    assert invoice["PaymentMode"] == PAYMENT_MODES[tender]


@pytest.mark.parametrize("tenders, mode", [
    (["cash"], 1), (["cash", "cash"], 1), (["card"], 2), (["wallet"], 2), (["card", "wallet"], 2),
    (["cash", "card"], 5), (["wallet", "cash"], 5), ([], 1),
    # Khata credit is reported as cash (fiscal_invoice.TENDER_MODES says why): never as card.
    (["on_account"], 1), (["cash", "on_account"], 1), (["card", "on_account"], 5),
])
def test_payment_mode(tenders: list[str], mode: int) -> None:
    assert payment_mode([{"tender": t, "amount": 100} for t in tenders]) == mode


def test_the_time_is_the_shops_corrected_by_the_clock_offset_and_capped_by_arrival() -> None:
    sale = make_sale(created_at="2026-11-27T18:05:09+05:00", clock_offset_ms=3_600_000)   # tablet an hour slow
    assert post_data(sale, pos_id=1, mode="fbr", products={}, tz=TZ)["DateTime"] == "2026-11-27 19:05:09"
    fast = make_sale(created_at="2026-11-27T18:05:09+05:00")
    assert post_data(fast, pos_id=1, mode="fbr", products={}, tz=TZ,
                     received_at="2026-11-27T12:00:00Z")["DateTime"] == "2026-11-27 17:00:00"
    assert post_data(fast, pos_id=1, mode="fbr", products={}, tz="UTC")["DateTime"] == "2026-11-27 13:05:09"


def test_only_sales_and_refunds_in_fbr_or_pra_mode() -> None:
    with pytest.raises(InvoiceError):
        post_data(make_sale(), pos_id=1, mode="off", products={}, tz=TZ)
    with pytest.raises(InvoiceError):
        post_data({"kind": "shift_open"}, pos_id=1, mode="fbr", products={}, tz=TZ)


def test_endpoints_are_the_authorities_urls() -> None:
    assert endpoint("fbr", "production") == "https://gw.fbr.gov.pk/imsp/v1/api/Live/PostData"
    assert endpoint("fbr", "sandbox") == "https://esp.fbr.gov.pk:8244/FBR/v1/api/Live/PostData"
    assert endpoint("pra", "production") == "https://ims.pral.com.pk/ims/production/api/Live/PostData"
    assert endpoint("pra", "sandbox") == "https://ims.pral.com.pk/ims/sandbox/api/Live/PostData"
    with pytest.raises(InvoiceError):
        endpoint("off", "sandbox")


# --- the property: 1,000 generated sales --------------------------------------------------------

@st.composite
def sale_lines(draw: Any) -> dict[str, Any]:
    gst_bp = draw(st.sampled_from([0, 500, 1000, 1600, 1700, 1800, 2500]) | st.integers(0, 10000))
    sku = draw(st.sampled_from(["TAPAL-190", "SUGAR-LOOSE", "MILK-1L", "SOAP"]))
    if draw(st.booleans()):
        unit, qty, unit_price = "each", draw(st.integers(1, 50)), draw(st.integers(0, 2_000_000))
        price, extra = qty * unit_price, {}
    else:
        unit, qty, unit_price = draw(st.sampled_from(["kg", "l"])), draw(st.integers(1, 50_000)), \
            draw(st.integers(1, 2_000_000))
        price, extra = loose_amount(qty, unit_price), {"priced_by": "weight"}
    discount = draw(st.integers(0, price))
    cart_discount = draw(st.integers(0, price - discount))
    amount = price - discount - cart_discount
    return {"sku": sku, "name": sku.title(), "qty": qty, "unit": unit, **extra, "unit_price": unit_price,
            "gst_bp": gst_bp, "discount": discount, "cart_discount": cart_discount, "amount": amount,
            "tax": line_tax(amount, gst_bp)}


@st.composite
def sales(draw: Any) -> dict[str, Any]:
    lines = draw(st.lists(sale_lines(), min_size=1, max_size=25))
    fee = draw(st.sampled_from([0, SERVICE_FEE]))
    total = sum(line["amount"] for line in lines) + fee
    how = draw(st.sampled_from(["cash", "card", "wallet", "split"]))
    if how == "cash":
        change = draw(st.integers(0, 500_000))
        payments = [{"tender": "cash", "amount": total + change}] if total + change else []
    elif how == "split" and total >= 2:
        change, part = 0, draw(st.integers(1, total - 1))
        payments = [{"tender": "cash", "amount": part}, {"tender": draw(st.sampled_from(["card", "wallet"])),
                                                          "amount": total - part}]
    else:
        change = 0
        payments = [{"tender": how if how != "split" else "card", "amount": total}] if total else []
    if not payments:    # a free sale still has a tender: Re 1 cash, all of it change
        payments, change = [{"tender": "cash", "amount": 100}], 100 - total
    seq = draw(st.integers(1, 10**6))
    return hashed({
        "id": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)), version=4)), "kind": "sale",
        "device_id": "dev-1", "device_code": "T1", "seq": seq, "created_at": "2026-11-27T18:05:09+05:00",
        "cashier_id": "c1", "lines": lines, "payments": payments, "total": total,
        "tax": sum(line["tax"] for line in lines), "change": change,
        "discount": sum(line["discount"] + line["cart_discount"] for line in lines), "service_fee": fee,
    })


def wire(value: float | int) -> Decimal:
    """A number as the authority reads it off the JSON text."""
    return Decimal(json.dumps(value))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sale=sales(), mode=st.sampled_from(["fbr", "pra"]))
def test_header_totals_equal_item_sums_to_the_paisa(sale: dict[str, Any], mode: str) -> None:
    invoice = json.loads(json.dumps(post_data(sale, pos_id=123456, mode=mode, products=PRODUCTS, tz=TZ)))
    items = invoice["Items"]

    def total(field: str) -> Decimal:
        return sum((wire(item[field]) for item in items), Decimal(0))

    assert wire(invoice["TotalSaleValue"]) == total("SaleValue")
    assert wire(invoice["TotalTaxCharged"]) == total("TaxCharged")
    assert wire(invoice["TotalQuantity"]) == total("Quantity")
    assert wire(invoice["Discount"]) == total("Discount")
    assert wire(invoice["TotalBillAmount"]) == total("TotalAmount") + Decimal(sale["service_fee"]) / 100
    # ... and they are the document's own integers, exactly.
    assert wire(invoice["TotalBillAmount"]) * 100 == sale["total"]
    assert wire(invoice["TotalTaxCharged"]) * 100 == sale["tax"]
    assert wire(invoice["Discount"]) * 100 == sale["discount"]
    for item in items:
        for field in ("SaleValue", "TaxCharged", "TotalAmount", "Discount"):
            assert wire(item[field]).as_tuple().exponent >= -2, (field, item[field])
        assert wire(item["SaleValue"]) + wire(item["TaxCharged"]) == wire(item["TotalAmount"])
    # The simulator (FBR's rules as we know them) takes every one of them.
    assert validate(invoice, mode, {123456}) == []
