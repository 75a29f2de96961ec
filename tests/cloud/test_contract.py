"""The wire contract: canonical form, hash, tax, and what makes a sale valid."""
from __future__ import annotations

import json

import pytest

from cloud_api.contract import (
    InvalidDocument,
    Sale,
    business_date,
    canonical_json,
    document_hash,
    line_tax,
    parse_document,
    receipt_number,
)
from tests.conftest import make_sale


def test_canonical_json_sorts_keys_has_no_spaces_and_keeps_urdu():
    assert canonical_json({"b": 1, "a": ["چائے", True, None]}) == '{"a":["چائے",true,null],"b":1}'.encode()


def test_canonical_json_refuses_floats():
    with pytest.raises(ValueError, match="float"):
        canonical_json({"amount": 1.5})


def test_hash_leaves_out_the_hash_field_and_changes_with_content():
    sale = make_sale()
    assert document_hash(sale) == sale["hash"]
    assert document_hash({**sale, "total": sale["total"] + 1}) != sale["hash"]


@pytest.mark.parametrize("amount,rate,expected", [
    (118, 1800, 18),          # exactly 18 inside 118
    (110000, 1800, 16780),    # DESIGN.md's example: 16779.66 -> 16780
    (59, 1800, 9),            # 9.0 -> 9
    (1, 1800, 0),             # 0.15 rounds down
    (0, 1800, 0),
    (-110000, 1800, -16780),  # symmetric for refunds
    (10500, 500, 500),        # 5% on card in Punjab
])
def test_line_tax_rounds_half_up(amount, rate, expected):
    assert line_tax(amount, rate) == expected


def test_line_tax_rounds_an_exact_half_up():
    # 5 * 100 / 200 = 2.5 -> 3 when the rate is 100% (10000 bp)
    assert line_tax(5, 10000) == 3


def test_a_valid_sale_parses():
    document = parse_document(make_sale(seq=42))
    assert isinstance(document, Sale)
    assert document.receipt_number == receipt_number("T1", 42) == "T1-000042"


@pytest.mark.parametrize("change,reason", [
    ({"total": 1}, "total is not the sum"),
    ({"tax": 1}, "tax is not the sum"),
    ({"change": 0}, "payments less change"),
    ({"payments": [{"tender": "card", "amount": 120000}]}, "change exceeds"),
    ({"seq": 0}, "seq"),
    ({"created_at": "2026-11-27T18:05:09"}, "UTC offset"),
    ({"device_code": "X9"}, "device_code"),
    ({"id": "not-a-uuid"}, "id"),
    ({"kind": "lottery"}, "kind"),
])
def test_invalid_sales_are_refused_with_a_reason(change, reason):
    raw = make_sale(**change)
    with pytest.raises(InvalidDocument, match=reason):
        parse_document(raw)


def test_change_cannot_exceed_the_cash_received():
    raw = make_sale(payments=[{"tender": "card", "amount": 115000}, {"tender": "cash", "amount": 5000}],
                    change=10000)
    with pytest.raises(InvalidDocument, match="change exceeds"):
        parse_document(raw)


def test_a_float_amount_is_refused_even_when_it_equals_an_integer():
    raw = make_sale()
    raw["total"] = float(raw["total"])
    with pytest.raises(InvalidDocument, match="total"):
        parse_document(raw)


def test_a_tampered_document_fails_its_hash():
    raw = make_sale()
    raw["cashier_id"] = "c2"
    with pytest.raises(InvalidDocument, match="hash"):
        parse_document(raw)


def test_a_line_with_wrong_tax_is_refused():
    raw = make_sale()
    raw["lines"][0]["tax"] += 1
    raw["tax"] += 1
    raw["hash"] = document_hash(raw)
    with pytest.raises(InvalidDocument, match="GST inside"):
        parse_document(raw)


def test_business_day_is_karachi_local_date():
    assert business_date("2026-11-27T20:30:00+00:00").isoformat() == "2026-11-28"   # 01:30 in Karachi
    assert business_date("2026-11-27T23:59:00+05:00").isoformat() == "2026-11-27"


def test_json_schema_of_the_sale_is_exported():
    schema = Sale.model_json_schema()
    assert {"id", "device_code", "seq", "lines", "payments", "total", "tax", "change", "hash"} <= set(
        schema["required"])
    json.dumps(schema)   # serialisable for the till's tests
    assert schema["properties"]["kind"]["const"] == "sale"


# --- fiscal reporting (issue 9) ----------------------------------------------------------

def _with_fee(fee: int, total_extra: int) -> dict:
    sale = make_sale(qty=1, price=55000)
    sale.update(service_fee=fee, total=sale["total"] + total_extra,
                payments=[{"tender": "cash", "amount": 60000}], change=60000 - sale["total"] - total_extra)
    sale["hash"] = document_hash(sale)
    return sale


def test_the_pos_service_fee_is_re_1_inside_the_total_and_in_no_line():
    parsed = parse_document(_with_fee(100, 100))
    assert isinstance(parsed, Sale) and parsed.service_fee == 100 and parsed.total == 55100
    assert sum(line.amount for line in parsed.lines) == 55000
    for fee, extra in ((100, 0), (0, 100), (50, 50), (200, 200)):   # left out of the total, or not Re 1
        with pytest.raises(InvalidDocument):
            parse_document(_with_fee(fee, extra))


def test_a_pct_code_is_eight_digits_with_or_without_the_dot():
    from pydantic import ValidationError

    from cloud_api.contract import ProductIn
    for good in ("09023000", "0902.3000", None):
        assert ProductIn(name="Tea", price=1, gst_bp=0, pct_code=good).pct_code == good
    for bad in ("0902", "0902-3000", "09023000\n", "0902.30000", "abcd.efgh"):
        with pytest.raises(ValidationError):
            ProductIn(name="Tea", price=1, gst_bp=0, pct_code=bad)


def test_pra_taxes_a_split_sale_at_the_highest_rate_of_its_tenders():
    from cloud_api.contract import tender_tax_bp
    rates = {"cash": 1600, "card": 500}
    assert tender_tax_bp(rates, ["card"]) == 500 and tender_tax_bp(rates, ["cash", "card"]) == 1600
    assert tender_tax_bp(rates, ["wallet"]) is None and tender_tax_bp({}, ["cash"]) is None
    # Credit is taxed as cash (it is reported to PRA as cash), alone or beside another tender.
    assert tender_tax_bp(rates, ["on_account"]) == 1600 and tender_tax_bp(rates, ["card", "on_account"]) == 1600
    assert tender_tax_bp({"card": 500}, ["on_account"]) is None
