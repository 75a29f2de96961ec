"""Set-based ingest answers and stores exactly what one-at-a-time ingestion does (SQLite and PostgreSQL).

Each example makes two shops in the same database and feeds both the same documents: shop A through
the set-based path (ingest_batch's default), shop B through the one-at-a-time reference
(`set_based=False`). First a batch of what the cloud already holds, then a batch mixing fresh
documents, duplicates (already stored, and repeated in the batch), conflicting versions and invalid
documents of every kind, in a random order. The verdicts, the ingest_seq each answer carries, and
every row of the journal, quarantine, rejected documents, projections and device bookkeeping must
be the same in both shops (shop ids, surrogate keys and ingest_seq values aside).
"""
from __future__ import annotations

import uuid
from contextlib import nullcontext
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cloud_api import schema
from cloud_api.contract import JournalBatch
from cloud_api.database import create_engine
from cloud_api.ingest import ingest_batch
from cloud_api.shops import GatewayIdentity, create_shop
from tests.cloud import counter_documents as cd
from tests.cloud import khata_documents as kd

NOW = "2026-11-28T09:00:00Z"   # ingest's clock, fixed so every *_at column compares too
GATEWAY_ID = "box-1"

# Per table: the columns that name the shop or are surrogate keys (left out), and the row order
# both paths must produce (insertion order where the table has a serial key).
TABLES: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "documents": (schema.documents, ("shop_id", "ingest_seq"), ("ingest_seq",)),
    "quarantine": (schema.quarantine, ("shop_id", "pk"), ("pk",)),
    "rejected_documents": (schema.rejected_documents, ("shop_id", "pk"), ("pk",)),
    "sale_facts": (schema.sale_facts, ("shop_id",), ("document_id",)),
    "tender_facts": (schema.tender_facts, ("shop_id", "pk"), ("pk",)),
    "line_facts": (schema.line_facts, ("shop_id",), ("document_id", "line_no")),
    "stock_ledger": (schema.stock_ledger, ("shop_id", "pk"), ("pk",)),
    "shifts": (schema.shifts, ("shop_id",), ("shift_id",)),
    "cash_movements": (schema.cash_movements, ("shop_id",), ("document_id",)),
    "devices": (schema.devices, ("shop_id",), ("device_id",)),
    "customers": (schema.customers, ("shop_id",), ("customer_id",)),
    "khata_entries": (schema.khata_entries, ("shop_id",), ("entry_id",)),
}

RECEIVED_AT = [None, "2026-11-27T13:06:00Z", "2026-11-27T12:00:00Z", "2026-11-26T18:00:00Z"]


def _device_day(device_code: str, draw: Any) -> list[dict[str, Any]]:
    """One till's documents of a day: two shifts, sales, a refund, cash in and out, closings (one twice)."""
    base = {"device_code": device_code}
    docs: list[dict[str, Any]] = []
    seq = iter(range(1, 1000))
    first = cd.shift_open(next(seq), 500000, **base)
    docs.append(first)
    sales = []
    for n in range(draw(st.integers(1, 4))):
        lines = [cd.line("TAPAL-190", draw(st.integers(1, 3)), 55000),
                 cd.line("RICE-1KG", draw(st.integers(100, 2500)), 32000, unit="kg")][:draw(st.integers(1, 2))]
        tender = draw(st.sampled_from(["cash", "card", "wallet"]))
        total = sum(ln["amount"] for ln in lines)
        if tender == "cash":
            sale = cd.sale(next(seq), lines, change=draw(st.sampled_from([0, 500])), shift_id=first["id"], **base)
        else:
            payment = {"tender": tender, "amount": total, "reference": f"R{n}"}
            if tender == "wallet":
                payment.update(wallet="jazzcash", unverified=draw(st.booleans()))
            sale = cd.sale(next(seq), lines, [payment], shift_id=first["id"], **base)
        sales.append(sale)
        docs.append(sale)
    docs.append(cd.refund(next(seq), sales[0], [(0, 1)], shift_id=first["id"], reason="torn", **base))
    docs.append(cd.cash_movement(next(seq), "in", 10000, "change from the bank", shift_id=first["id"], **base))
    docs.append(cd.cash_movement(next(seq), "out", 2500, "tea", **base))
    docs.append(cd.shift_close(next(seq), first["id"], 612000, 600000, {"card": 1000}, **base))
    docs.append(cd.shift_close(next(seq), first["id"], 999999, **base))        # closed once: this one only journals
    second = cd.shift_open(next(seq), 100000, cashier_id="c2", **base)
    docs.append(second)
    docs.append(cd.shift_close(next(seq), second["id"], 100000, 100000, cashier_id="c2", **base))
    # Khata (issue 10): a customer, their details changed (later, or from a clock behind), a sale on account,
    # a payment in the shift and an adjustment; in a batch in any order, the sale may come before the customer.
    made = kd.customer(next(seq), f"Customer of {device_code}", **base)
    cid = made["customer_id"]
    docs.append(made)
    edited_at = draw(st.sampled_from(["2026-11-27T10:00:00+05:00", "2026-11-27T19:00:00+05:00"]))
    docs.append(kd.customer(next(seq), draw(st.sampled_from(["Renamed", "Renamed again"])), customer_id=cid,
                            created_at=edited_at, **base))
    docs.append(kd.sale_on_account(next(seq), cid, draw(st.integers(2, 90000)), cash=draw(st.sampled_from([0, 1])),
                                   shift_id=second["id"], **base))
    docs.append(kd.khata_payment(next(seq), cid, [{"tender": "cash", "amount": draw(st.integers(1, 5000))}],
                                 shift_id=second["id"], **base))
    docs.append(kd.khata_adjustment(next(seq), cid, draw(st.sampled_from([-700, 700])), **base))
    if draw(st.booleans()):   # a tablet that measured its clock's offset from the box
        for doc in docs:
            doc["clock_offset_ms"] = 90_000
            cd.hashed(doc)
    return docs


def _twin(doc: dict[str, Any]) -> dict[str, Any]:
    """Same id, other (valid) content: a conflict."""
    return cd.hashed({**{k: v for k, v in doc.items() if k != "hash"}, "cashier_id": "c-other"})


def _broken(doc: dict[str, Any], how: str) -> Any:
    if how == "hash":
        return {**doc, "hash": "0" * 64}
    if how == "field":
        return cd.hashed({**{k: v for k, v in doc.items() if k != "hash"}, "seq": 0})
    if how == "id":
        return cd.hashed({**{k: v for k, v in doc.items() if k not in ("hash", "id")}, "id": "NOT-A-UUID"})
    return "junk"


@st.composite
def scenarios(draw: Any) -> tuple[list[Any], list[Any], dict[str, str]]:
    """(what the cloud already holds, the batch, the batch's received_at)."""
    universe = _device_day("T1", draw) + (_device_day("T2", draw) if draw(st.booleans()) else [])
    before: list[Any] = []
    batch: list[Any] = []
    for doc in universe:
        fate = draw(st.sampled_from(["fresh", "fresh", "stored", "both", "twice", "absent"]))
        if fate in ("stored", "both"):
            before.append(doc)
        if fate in ("fresh", "both"):
            batch.append(doc)
        if fate == "twice":       # repeated in the same batch: the first copy wins
            batch += [doc, doc]
        if draw(st.integers(0, 5)) == 0:    # a conflicting version, of a stored or of a fresh document
            batch.append(_twin(doc))
        if draw(st.integers(0, 7)) == 0:
            batch.append(_broken(doc, draw(st.sampled_from(["hash", "field", "id", "junk"]))))
    batch = draw(st.permutations(batch))
    before = draw(st.permutations(before))
    received_at = {}
    for doc in batch:
        if isinstance(doc, dict) and isinstance(doc.get("id"), str):
            stamp = draw(st.sampled_from(RECEIVED_AT))
            if stamp:
                received_at[doc["id"]] = stamp
    return before, batch, received_at


async def _no_fallback(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the set-based path fell back to one document at a time")


async def _ingest_both(url: str, batches: list[tuple[list[Any], dict[str, str]]]) -> dict[str, Any]:
    """Feed the same batches to a set-based shop and a one-at-a-time shop; each shop's answers and rows."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            shops = {"set": (await create_shop(conn, "A")).shop_id, "one": (await create_shop(conn, "B")).shop_id}
        answers: dict[str, list[list[Any]]] = {"set": [], "one": []}
        with mock.patch("cloud_api.ingest.utc_now", lambda: NOW):
            for documents, received_at in batches:
                for path, shop_id in shops.items():
                    # The set-based shop must not get there by falling back to one document at a time.
                    with mock.patch("cloud_api.ingest._ingest", _no_fallback) if path == "set" else nullcontext():
                        async with engine.begin() as conn:
                            results = await ingest_batch(conn, GatewayIdentity(GATEWAY_ID, shop_id),
                                                         JournalBatch(documents=documents, received_at=received_at),
                                                         set_based=path == "set")
                    answers[path].append(results)
        out: dict[str, Any] = {}
        async with engine.connect() as conn:
            for path, shop_id in shops.items():
                d = schema.documents.c
                seqs = dict((await conn.execute(select(d.id, d.ingest_seq).where(d.shop_id == shop_id))).all())
                verdicts = []
                for results in answers[path]:
                    for r in results:
                        # ingest_seq: present for stored and duplicate, and the one the journal holds.
                        if r.status in ("stored", "duplicate"):
                            assert r.ingest_seq is not None and r.ingest_seq == seqs[r.id], r
                        else:
                            assert r.ingest_seq is None, r
                        verdicts.append((r.id, r.status, r.reason))
                rows = {}
                for name, (table, left_out, order) in TABLES.items():
                    kept = [c for c in table.columns if c.name not in left_out]
                    rows[name] = [tuple(row) for row in (await conn.execute(
                        select(*kept).where(table.c.shop_id == shop_id)
                        .order_by(*(table.c[o] for o in order)))).all()]
                out[path] = {"verdicts": verdicts, "rows": rows}
        return out
    finally:
        await engine.dispose()


def _assert_same(both: dict[str, Any]) -> None:
    assert both["set"]["verdicts"] == both["one"]["verdicts"]
    for name in TABLES:
        assert both["set"]["rows"][name] == both["one"]["rows"][name], name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(scenario=scenarios())
async def test_set_based_ingest_agrees_with_one_at_a_time(cloud_db_url: str, scenario: Any) -> None:
    before, batch, received_at = scenario
    both = await _ingest_both(cloud_db_url, [(before, {}), (batch, received_at)])
    _assert_same(both)


async def test_every_case_in_one_batch(cloud_db_url: str) -> None:
    """The mix spelled out once: every verdict, every kind, both orders of a shift's documents."""
    t1 = _device_day("T1", _FirstChoice())
    opening, sale, *rest = t1
    closing = next(doc for doc in rest if doc["kind"] == "shift_close")
    stored_before = [opening, sale]
    batch = [closing, sale, _twin(sale), *rest, rest[0], _twin(rest[1]), _broken(rest[2], "hash"),
             _broken(rest[2], "field"), _broken(sale, "id"), "junk", rest[1]]
    both = await _ingest_both(cloud_db_url, [([closing], {}), (stored_before, {}), (batch, {sale["id"]: NOW})])
    _assert_same(both)
    statuses = [status for _, status, _ in both["set"]["verdicts"]]
    assert {"stored", "duplicate", "conflict", "invalid"} <= set(statuses)
    assert len(both["set"]["rows"]["quarantine"]) == 2 and len(both["set"]["rows"]["rejected_documents"]) == 4


async def test_a_full_batch_of_fresh_sales_then_its_resend(cloud_db_url: str) -> None:
    """500 documents (the most a batch holds) from several tills, multi-line, then all again."""
    sales = [cd.sale(n // 4 + 1, [cd.line("TAPAL-190", 1 + n % 3, 55000), cd.line("SUGAR", 2, 16000)],
                     device_code=f"T{n % 4 + 1}") for n in range(500)]
    both = await _ingest_both(cloud_db_url, [(sales, {}), (sales[::-1], {})])
    _assert_same(both)
    statuses = [status for _, status, _ in both["set"]["verdicts"]]
    assert statuses == ["stored"] * 500 + ["duplicate"] * 500
    assert len(both["set"]["rows"]["line_facts"]) == 1000 and len(both["set"]["rows"]["devices"]) == 4
    assert {row[-3] for row in both["set"]["rows"]["devices"]} == {125}   # contiguous_seq of every till


class _FirstChoice:
    """A stand-in for hypothesis' `draw` that always takes the simplest value (for the fixed example)."""

    def __call__(self, strategy: Any) -> Any:
        from hypothesis import find
        return find(strategy, lambda _: True)


def test_documents_are_made_fresh_each_time() -> None:
    """Sanity for the generators above: ids never repeat across days (uuid4)."""
    a, b = _device_day("T1", _FirstChoice()), _device_day("T1", _FirstChoice())
    assert not {d["id"] for d in a} & {d["id"] for d in b}
    assert all(uuid.UUID(d["id"]) for d in a)


async def test_a_tills_gaps_open_and_close_across_batches(cloud_db_url: str) -> None:
    """The device bookkeeping over batches: in order (no journal read: only what the batch stored lies
    above the mark), a gap opened by later sales arriving first, the gap filled, in order again."""
    sales = [cd.sale(seq, [cd.line("TAPAL-190", 1, 55000)], device_code="T1") for seq in range(1, 13)]
    batches = [sales[0:3], sales[3:5], sales[7:9], sales[9:10], sales[5:7], sales[10:12], sales[4:6]]
    both = await _ingest_both(cloud_db_url, [(batch, {}) for batch in batches])
    _assert_same(both)
    devices = both["set"]["rows"]["devices"]
    assert len(devices) == 1 and devices[0][-4:-2] == (12, 12)   # contiguous_seq, max_seq: whole again
