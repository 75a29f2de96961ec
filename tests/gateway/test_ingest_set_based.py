"""The box's set-based ingest answers and projects exactly as one document at a time would.

receive_batch looks a batch's ids up in one query and writes each table with one executemany;
the reference here is the same function fed one document per call, which is the old
per-document pass. A batch mixing fresh, duplicate (held before, or twice in the batch),
conflicting, invalid and foreign documents, refunds (some over-refunding, one before its sale),
in several orders, must get the same verdicts and leave the same rows in every table.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from cloud_api.contract import document_hash
from gateway import journal
from gateway.journal import check_batch, receive_batch, write_batch, write_batches
from gateway.pairing import Device
from gateway.store import Store
from tests.conftest import make_sale
from tests.gateway.documents import make_loose_sale, make_refund

DEVICE = Device("dev-1", "T1", "Counter")

# Each projection, without the columns that only say when (or in which row) it was written.
TABLES = {
    "journal": "SELECT id, kind, device_id, device_code, seq, hash, body, cloud_state FROM journal ORDER BY rx_seq",
    "stock_moves": "SELECT document_id, sku, qty FROM stock_moves ORDER BY document_id, sku",
    "refunds": "SELECT refund_id, sale_id, receipt_number, created_at, total FROM refunds ORDER BY pk",
    "refunded_lines": "SELECT refund_id, sale_id, line_index, sku, qty, amount FROM refunded_lines "
                      "ORDER BY refund_id, line_index",
    "over_refunds": "SELECT refund_id, sale_id, line_index, qty, sold, refunded, problem, text FROM over_refunds "
                    "ORDER BY refund_id, line_index",
    "conflicts": "SELECT document_id, stored_hash, incoming_hash, incoming_body, device_id FROM conflicts "
                 "ORDER BY pk",
    "dead_letter": "SELECT document_id, body, reason, source, device_id FROM dead_letter ORDER BY pk",
}


def _documents() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(held before the batch, the batch)."""
    own = {"device_id": DEVICE.device_id, "device_code": DEVICE.device_code}
    held_sale = make_sale(seq=1, qty=3, **own)
    held_refund = make_refund(held_sale, {0: 2}, seq=2, **own)
    sales = [make_sale(seq=n, qty=2, **own) for n in range(3, 9)]
    loose = make_loose_sale(seq=9, grams=1250, **own)
    late_sale = make_sale(seq=10, qty=1, **own)
    conflicting = dict(held_sale, cashier_id="c2")
    conflicting["hash"] = document_hash(conflicting)
    in_batch_twin = dict(sales[0], cashier_id="c9")   # same id as a fresh one in this batch, other content
    in_batch_twin["hash"] = document_hash(in_batch_twin)
    broken = dict(sales[1], total=1)                  # the hash no longer matches
    foreign = make_sale(device_id="dev-2", device_code="T2", seq=1)
    batch = [
        *sales, loose,
        dict(held_sale),                              # duplicate of a held document
        conflicting,                                  # conflict with a held document
        dict(sales[2]),                               # the batch's own duplicate
        in_batch_twin,                                # conflict with a document earlier in the batch
        broken, foreign, {"kind": "sale"}, "not even an object",
        make_refund(held_sale, {0: 2}, seq=11, **own),           # past what was sold, with the held refund
        make_refund(sales[3], {0: 1}, seq=12, **own),            # fine
        make_refund(sales[3], {0: 2}, seq=13, **own),            # now past what was sold
        make_refund(late_sale, {0: 5}, seq=14, **own),           # before its sale, and past it
        make_refund(sales[4], {3: 1}, seq=15, **own),            # no such line
        make_refund(loose, {0: 500}, seq=16, **own),
        late_sale,
    ]
    return [held_sale, held_refund], batch


async def _ingest(path: Path, held: list[Any], batch: list[Any], one_at_a_time: bool) -> tuple[list, dict]:
    store = await Store.open(path)
    try:
        async with store.transaction() as db:
            await receive_batch(db, DEVICE, held)
        verdicts = []
        if one_at_a_time:
            for document in batch:
                async with store.transaction() as db:
                    verdicts += await receive_batch(db, DEVICE, [document])
        else:
            async with store.transaction() as db:
                verdicts = await receive_batch(db, DEVICE, batch)
        tables = {name: [tuple(row) for row in await store.read().execute_fetchall(sql)]
                  for name, sql in TABLES.items()}
    finally:
        await store.close()
    return [v.model_dump() for v in verdicts], tables


@pytest.mark.parametrize("order", ["as_written", "reversed", "shuffled_1", "shuffled_2", "shuffled_3"])
async def test_set_based_ingest_matches_one_at_a_time(tmp_path: Path, order: str) -> None:
    held, batch = _documents()
    if order == "reversed":
        batch.reverse()
    elif order.startswith("shuffled"):
        random.Random(order).shuffle(batch)
    verdicts, tables = await _ingest(tmp_path / "set", held, batch, one_at_a_time=False)
    expected_verdicts, expected_tables = await _ingest(tmp_path / "one", held, batch, one_at_a_time=True)
    assert verdicts == expected_verdicts
    for name in TABLES:
        assert tables[name] == expected_tables[name], name
    statuses = {v["status"] for v in verdicts}
    assert statuses == {"stored", "duplicate", "conflict", "invalid"}   # the mix is really mixed
    assert tables["over_refunds"] and len(tables["conflicts"]) == 2 and len(tables["dead_letter"]) == 4


async def _ingest_batches(path: Path, held: list[Any], batches: list[tuple[Device, list[Any]]],
                          together: bool) -> tuple[list, dict]:
    """Several tablets' batches written in one go (write_batches, as a group commit does), or one
    write_batch after another in the same transaction."""
    store = await Store.open(path)
    try:
        async with store.transaction() as db:
            await receive_batch(db, DEVICE, held)
        checked = [(device, check_batch(device, documents)) for device, documents in batches]
        async with store.transaction() as db:
            if together:
                answers = await write_batches(db, checked)
            else:
                answers = [await write_batch(db, device, one) for device, one in checked]
        tables = {name: [tuple(row) for row in await store.read().execute_fetchall(sql)]
                  for name, sql in TABLES.items()}
    finally:
        await store.close()
    return [[v.model_dump() for v in answer] for answer in answers], tables


@pytest.mark.parametrize("order", ["as_written", "reversed", "shuffled_1", "shuffled_2"])
async def test_a_groups_batches_written_together_match_one_batch_after_another(tmp_path: Path, order: str) -> None:
    """gateway/store.py writes the tablets' batches that share a commit in one go (Together): each batch
    must hear, and leave, what it would have written in its turn. Copies of one id across batches (a
    tablet resending, a conflicting version) are judged against the first, as in turn."""
    held, documents = _documents()
    if order == "reversed":
        documents.reverse()
    elif order.startswith("shuffled"):
        random.Random(order).shuffle(documents)
    other = Device("dev-2", "T2", "Counter 2")
    theirs = [make_sale(device_id="dev-2", device_code="T2", seq=n) for n in (1, 2)]
    batches = [(DEVICE, documents[:9]), (other, [*theirs, {"kind": "sale"}]), (DEVICE, documents[9:]),
               (DEVICE, documents[:4]), (other, [theirs[1], make_sale(device_id="dev-1", device_code="T1", seq=1)])]
    answers, tables = await _ingest_batches(tmp_path / "together", held, batches, together=True)
    expected_answers, expected_tables = await _ingest_batches(tmp_path / "in_turn", held, batches, together=False)
    assert answers == expected_answers
    for name in TABLES:
        assert tables[name] == expected_tables[name], name
    statuses = {v["status"] for answer in answers for v in answer}
    assert statuses == {"stored", "duplicate", "conflict", "invalid"}
    assert all(v["status"] != "stored" for v in answers[3])   # each was judged in the first batch
    assert [v["status"] for v in answers[4]] == ["duplicate", "invalid"]
    assert {row[4] for row in tables["dead_letter"]} == {"dev-1", "dev-2"}


async def test_each_tablets_dead_letter_is_bounded_when_batches_are_written_together(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    monkeypatch.setattr(journal, "DEAD_LETTER_ROWS", 2)
    store = await Store.open(tmp_path / "state")
    try:
        devices = [Device("dev-1", "T1", "One"), Device("dev-2", "T2", "Two")]
        async with store.transaction() as db:
            for n, device in enumerate(devices):
                await db.execute("INSERT INTO devices (device_id, device_code, name, token_digest, paired_at) "
                                 "VALUES (?, ?, ?, ?, '2026-11-29T10:00:00+05:00')",
                                 (device.device_id, device.device_code, device.name, f"digest-{n}"))
            junk = [{"kind": "sale", "n": n} for n in range(3)]
            await write_batches(db, [(device, check_batch(device, junk)) for device in devices])
        rows = await store.read().execute_fetchall(
            "SELECT device_id, count(*) FROM dead_letter GROUP BY device_id ORDER BY device_id")
        assert [tuple(row) for row in rows] == [("dev-1", 2), ("dev-2", 2)]   # the newest two of each
        evicted = await store.read().execute_fetchall(
            "SELECT device_id, dead_letter_evicted, last_seen_at IS NOT NULL FROM devices ORDER BY device_id")
        assert [tuple(row) for row in evicted] == [("dev-1", 1, 1), ("dev-2", 1, 1)]
    finally:
        await store.close()
