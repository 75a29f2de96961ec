"""The bounded contract: the box never acks what the cloud cannot store.

Limits are checked against the cloud's own columns (cloud_api/schema.py), hostile
values are refused with a reason, and a property test sends whatever the contract
accepts to the real cloud app, on SQLite and (with POSLINE_TEST_PG_DSN) PostgreSQL.
"""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import BigInteger, Integer, String

from cloud_api import schema
from cloud_api.app import create_app
from cloud_api.contract import (
    MAX_PAISA,
    MAX_QTY,
    MAX_SAFE_INTEGER,
    MAX_SEQ,
    CashMovement,
    CashierIn,
    Customer,
    CustomerRecord,
    InvalidDocument,
    JournalBatch,
    KhataAdjustment,
    KhataPayment,
    Payment,
    ProductIn,
    Refund,
    RefundLine,
    Sale,
    SaleLine,
    ShiftClose,
    ShiftOpen,
    ShopSettings,
    document_hash,
    line_tax,
    parse_document,
)
from cloud_api.settings import CloudSettings
from tests.conftest import _pg_or_skip, make_sale, new_cloud_shop

KINDS = (Sale, Refund, ShiftOpen, ShiftClose, CashMovement, Customer, KhataPayment, KhataAdjustment)

# Where the cloud stores each field of the contract (see cloud_api/ingest.py and owner_api.py).
d, f, t, s = (schema.documents.c, schema.sale_facts.c, schema.tender_facts.c, schema.stock_ledger.c)
lf, sh, cm, p, c = (schema.line_facts.c, schema.shifts.c, schema.cash_movements.c, schema.products.c,
                    schema.cashiers.c)
cu, k = schema.customers.c, schema.khata_entries.c
STORED_IN = {
    **{(kind, "id"): d.id for kind in KINDS},
    **{(kind, "kind"): d.kind for kind in KINDS},
    **{(kind, "device_id"): d.device_id for kind in KINDS},
    **{(kind, "device_code"): d.device_code for kind in KINDS},
    **{(kind, "seq"): d.seq for kind in KINDS},
    **{(kind, "created_at"): d.created_at for kind in KINDS},
    **{(kind, "cashier_id"): d.cashier_id for kind in KINDS},
    **{(kind, "hash"): d.hash for kind in KINDS},
    (Sale, "total"): f.total, (Sale, "tax"): f.tax,
    (Payment, "tender"): t.tender, (Payment, "amount"): t.amount,
    (SaleLine, "sku"): s.sku, (SaleLine, "qty"): s.qty,
    (JournalBatch, "received_at"): d.received_at,
    # A whole day at the counter (cloud_api/projections.py, catalog.py).
    (Sale, "discount"): f.discount, (Sale, "change"): f.change, (Sale, "shift_id"): f.shift_id,
    (Refund, "total"): f.total, (Refund, "tax"): f.tax, (Refund, "original_id"): f.original_id,
    (Refund, "shift_id"): f.shift_id,
    (Payment, "reference"): t.reference, (Payment, "wallet"): t.wallet,
    (SaleLine, "unit"): lf.unit, (SaleLine, "amount"): lf.amount,
    (RefundLine, "sku"): s.sku, (RefundLine, "qty"): s.qty, (RefundLine, "unit"): lf.unit,
    (RefundLine, "amount"): lf.amount,
    (ShiftOpen, "opening_float"): sh.opening_float,
    (ShiftClose, "shift_id"): sh.shift_id, (ShiftClose, "counted_cash"): sh.counted_cash,
    (ShiftClose, "expected_cash"): sh.expected_cash, (ShiftClose, "confirmed"): sh.confirmed_card,
    (CashMovement, "direction"): cm.direction, (CashMovement, "amount"): cm.amount,
    (CashMovement, "reason"): cm.reason, (CashMovement, "shift_id"): cm.shift_id,
    (ProductIn, "unit"): p.unit, (ProductIn, "name_ur"): p.name_ur, (ProductIn, "low_stock_at"): p.low_stock_at,
    (CashierIn, "max_discount_bp"): c.max_discount_bp,
    **{(ShopSettings, name): getattr(schema.shops.c, name) for name in ShopSettings.model_fields},
    # Customers and khata (cloud_api/projections.py, khata.py).
    **{(Customer, name): getattr(cu, name) for name in ("customer_id", "name", "phone", "cnic", "ntn", "credit_limit")},
    **{(CustomerRecord, name): getattr(cu, name) for name in ("customer_id", "name", "phone", "cnic", "ntn",
                                                              "credit_limit", "updated_at")},
    (Sale, "customer_id"): k.customer_id, (Refund, "customer_id"): k.customer_id,
    (KhataPayment, "customer_id"): k.customer_id, (KhataPayment, "amount"): k.amount,
    (KhataPayment, "note"): k.note, (KhataPayment, "shift_id"): k.shift_id,
    (KhataAdjustment, "customer_id"): k.customer_id, (KhataAdjustment, "amount"): k.amount,
    (KhataAdjustment, "reason"): k.note,
    (KhataPayment, "device_code"): k.device_code, (KhataPayment, "cashier_id"): k.cashier_id,
}
INTEGER_RANGE = {BigInteger: 2**63 - 1, Integer: 2**31 - 1}


def _property(model: Any, field: str) -> dict[str, Any]:
    prop = model.model_json_schema()["properties"][field]
    if "anyOf" in prop:   # optional fields: the non-null branch carries the limits
        prop = next(p for p in prop["anyOf"] if p.get("type") != "null")
    if prop.get("type") == "object":   # a map: the limits are its values'
        prop = prop["additionalProperties"]
    return prop


@pytest.mark.parametrize("model,field", sorted(STORED_IN, key=lambda k: (k[0].__name__, k[1])),
                         ids=lambda v: getattr(v, "__name__", v))
def test_no_field_allows_more_than_its_column(model, field):
    column = STORED_IN[(model, field)]
    prop = _property(model, field)
    if isinstance(column.type, String):
        longest = prop.get("maxLength") or max(len(v) for v in ([prop["const"]] if "const" in prop
                                                                  else prop["enum"]))
        assert longest <= column.type.length, f"{model.__name__}.{field} allows {longest} > {column}"
    else:
        ceiling = next(v for k, v in INTEGER_RANGE.items() if isinstance(column.type, k))
        assert -ceiling <= prop["minimum"] and prop["maximum"] <= ceiling


def _walk(node: Any, defs: dict[str, Any], path: str) -> list[str]:
    """Every string and integer in a JSON schema that is not bounded."""
    if "$ref" in node:
        return _walk(defs[node["$ref"].split("/")[-1]], defs, path)
    problems = []
    if node.get("type") == "string" and not ({"maxLength", "const", "enum"} & set(node)):
        problems.append(f"{path}: string without maxLength")
    if node.get("type") == "integer" and not (-MAX_SAFE_INTEGER <= node.get("minimum", -2**64)
                                              and node.get("maximum", 2**64) <= MAX_SAFE_INTEGER):
        problems.append(f"{path}: integer not within ±(2**53-1)")
    for key, child in node.get("properties", {}).items():
        problems += _walk(child, defs, f"{path}.{key}")
    for child in node.get("anyOf", []):
        problems += _walk(child, defs, path)
    if "items" in node:
        problems += _walk(node["items"], defs, f"{path}[]")
    return problems


@pytest.mark.parametrize("model", KINDS, ids=lambda m: m.__name__)
def test_every_string_and_integer_of_every_kind_is_bounded(model):
    schema_ = model.model_json_schema()
    assert _walk(schema_, schema_.get("$defs", {}), model.__name__) == []


def _hashed(doc: dict[str, Any]) -> dict[str, Any]:
    doc["hash"] = document_hash(doc)
    return doc


def _variant(**changes: Any) -> dict[str, Any]:
    """A valid sale with some fields changed, hashed again where the change can be hashed at all."""
    doc = make_sale()
    doc.update(changes)
    if "doc_id" in changes:
        doc["id"] = doc.pop("doc_id")
    try:
        return _hashed(doc)
    except ValueError:   # not canonical (a huge integer, a lone surrogate): the old hash stays
        return doc


def _shift_open(**extra: Any) -> dict[str, Any]:
    sale = make_sale()
    doc = {k: sale[k] for k in ("id", "device_id", "device_code", "seq", "created_at", "cashier_id")}
    return _hashed({**doc, "kind": "shift_open", "opening_float": 500000, **extra})


@pytest.mark.parametrize("raw,reason", [
    (_variant(seq=2**53), "seq"),                                              # beyond JS
    (_variant(seq=MAX_SEQ + 1), "seq"),
    (make_sale(qty=1, price=MAX_PAISA + 1), "unit_price"),                      # Rs 10 crore + 1 paisa
    (make_sale(qty=MAX_QTY + 1, price=1), "qty"),
    (_variant(clock_offset_ms=2**60), "clock_offset_ms"),
    (_variant(note=2**63), "beyond JavaScript's safe integer range"),          # even an extra field
    (_variant(note={"a": [{"b": "\ud800"}]}), "lone surrogate"),
    (_variant(created_at="2026-11-27T18:05:09"), "offset"),
    (_variant(created_at="2026-11-27 18:05:09+05:00"), "RFC 3339"),
    (_variant(created_at="1970-01-01T05:00:00+05:00"), "2000..2100"),         # a dead RTC battery
    (_variant(created_at="9999-12-31T23:59:59+05:00"), "1970..2100"),       # no device clock says that
    (_variant(created_at="2099-12-31T23:59:59+05:00", clock_offset_ms=366 * 86_400_000), "2000..2100"),
    (_variant(created_at="2026-11-27T18:05:09+05:00" + " " * 30), "created_at"),
    (_variant(cashier_id="c1\x00"), "NUL"),
    (_variant(created_at="2026-02-30T10:00:00+05:00"), "day is out of range"),
    (_variant(device_code="T1\n"), "T1, T2"),                                  # `$` would let it through
    (_variant(device_id="d" * 201), "device_id"),
    (_variant(lines=[{"sku": "S" * 201, "name": "x", "qty": 1, "unit_price": 1, "gst_bp": 0, "amount": 1,
                       "tax": 0}], total=1, tax=0, payments=[{"tender": "card", "amount": 1}], change=0), "sku"),
    (_variant(doc_id=str(uuid.uuid4()).upper()), "lower-case UUID"),
    (_variant(doc_id="{" + str(uuid.uuid4()) + "}"), "sale.id"),
    (_shift_open(float_rs=500000), "float_rs"),                                 # non-sale kinds are strict
], ids=lambda v: v if isinstance(v, str) else None)
def test_hostile_values_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidDocument, match=reason) as caught:
        parse_document(raw)
    assert caught.value.reason


def test_the_largest_values_the_contract_allows_are_accepted():
    sale = make_sale(qty=1, price=MAX_PAISA, seq=MAX_SEQ, created_at="2100-12-31T23:59:59+00:00",
                     clock_offset_ms=-10 * 365 * 24 * 3600 * 1000,
                     payments=[{"tender": "card", "amount": MAX_PAISA}], change=0)
    assert parse_document(sale).total == MAX_PAISA


def test_a_till_like_sale_fits_the_json_schema_the_till_is_checked_against():
    import jsonschema
    sale = make_sale(device_id=str(uuid.uuid4()), clock_offset_ms=None)   # as web_till/document.js makes it
    jsonschema.validate(sale, Sale.model_json_schema())
    with pytest.raises(jsonschema.ValidationError):   # the till's schema refuses upper-case ids too
        jsonschema.validate({**sale, "id": sale["id"].upper()}, Sale.model_json_schema())


def test_an_over_long_id_is_not_filed_under_it():
    raw = make_sale(doc_id="x" * 5000)
    with pytest.raises(InvalidDocument) as caught:
        parse_document(raw)
    assert caught.value.document_id is None   # rejected_documents.document_id is String(200)


# --- any document the contract accepts is stored -------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=200)
_line = st.builds(lambda sku, name, qty, price, bp: (sku, name, qty, price, bp),
                  _text, _text, st.integers(1, MAX_QTY), st.integers(0, MAX_PAISA), st.sampled_from([0, 500, 1800, 10000]))


@st.composite
def _sales(draw: Any) -> dict[str, Any]:
    lines = []
    for sku, name, qty, price, bp in draw(st.lists(_line, min_size=1, max_size=4)):
        amount = qty * price
        if amount > MAX_PAISA:   # keep the line within the contract, as a till's cart would
            qty, amount = 1, price
        lines.append({"sku": sku, "name": name, "qty": qty, "unit_price": price, "gst_bp": bp, "amount": amount,
                      "tax": line_tax(amount, bp)})
    total = sum(line["amount"] for line in lines)
    change = draw(st.integers(0, MAX_PAISA - total)) if total <= MAX_PAISA else 0
    tender = draw(st.sampled_from(["cash", "card", "wallet"])) if not change else "cash"
    paid = total + change
    moment = draw(st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 2),
                               max_value=__import__("datetime").datetime(2100, 12, 30)))
    offset = draw(st.sampled_from(["+05:00", "Z", "-11:30", "+14:00", "+00:00"]))
    doc = {"id": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))), "kind": "sale",
           "device_id": draw(_text), "device_code": f"T{draw(st.integers(1, 9999))}",
           "seq": draw(st.integers(1, MAX_SEQ)), "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S") + offset,
           "cashier_id": draw(_text), "clock_offset_ms": draw(st.none() | st.integers(-10**11, 10**11)),
           "lines": lines, "payments": [{"tender": tender, "amount": paid}] if paid else [],
           "total": total, "tax": sum(line["tax"] for line in lines), "change": change}
    if draw(st.booleans()):
        doc["note"] = draw(st.recursive(st.none() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | _text,
                                        lambda inner: st.lists(inner, max_size=3)
                                        | st.dictionaries(_text, inner, max_size=3), max_leaves=8))
    return _hashed(doc)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_any_document_the_contract_accepts_is_stored(backend, tmp_path: Path):
    # The one rule for PostgreSQL tests: skipped only outside CI, and CI fails rather than skip.
    url = f"sqlite:///{tmp_path / 'cloud.db'}" if backend == "sqlite" else _pg_or_skip()
    with asyncio.Runner() as runner:   # a loop of our own: hypothesis calls the test synchronously
        client, gateway_headers = runner.run(_cloud(url))
        try:
            @settings(max_examples=60, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
            @given(_sales())
            def check(doc: dict[str, Any]) -> None:
                # A fresh id each time: shrinking reuses ids, and a reused id is (rightly) a conflict.
                doc = _hashed({**doc, "id": str(uuid.uuid4())})
                try:
                    parse_document(doc)
                except InvalidDocument:
                    return   # (a sale without a payment, say) not this property's business
                results = runner.run(_post(client, gateway_headers, doc))
                assert len(results) == 1 and isinstance(results[0].pop("ingest_seq"), int)
                assert results == [{"id": doc["id"], "status": "stored", "reason": None}]
                stored.append(doc["id"])
            stored: list[str] = []
            check()
            assert len(stored) >= 30   # the generator makes mostly valid sales, or this test proves little
        finally:
            runner.run(client.close())


async def _cloud(url: str) -> tuple[TestClient, dict[str, str]]:
    shop = await new_cloud_shop(url, clean=True, demo=False)
    client = TestClient(TestServer(create_app(CloudSettings(db_url=url))))
    await client.start_server()
    enrolled = await (await client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token})).json()
    return client, {"Authorization": f"Bearer {enrolled['api_key']}"}


async def _post(client: TestClient, headers: dict[str, str], doc: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.post("/v1/journal:batch", json={"documents": [doc]}, headers=headers)
    assert response.status == 200, await response.text()
    return (await response.json())["results"]
