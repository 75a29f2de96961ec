"""The gateway's journal: documents from tills in, per-document results out.

Same rules as the cloud (DESIGN.md section 1): idempotent on id, a different
hash for a known id is a quarantined conflict, an invalid document is kept in
the dead letter store and blocks nothing. A batch commits in one transaction
before the till hears "stored", so an acknowledged document survives kill -9.

The dead letter of each tablet is bounded. DESIGN.md says nothing is deleted
to make room, and that holds for documents: a valid one is never dropped. But
a faulty or hostile tablet can send invalid junk as fast as the LAN carries
it, and kept without end that fills the SD card and stops every other tablet
(issue 6 asks for this bound). So a tablet's own invalid documents (source
'till') keep at most DEAD_LETTER_ROWS and DEAD_LETTER_BYTES; past that the
oldest go first, and how many went is counted on the device (shown by
`posline-gateway status`). Documents the cloud refused (source 'cloud') were
valid here and are never evicted.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from cloud_api.service.clock import utc_now
from cloud_api.contract import (AnyDocument, DocumentResult, InvalidDocument, parse_document_and_body,
                                receipt_number)

from . import fiscal_jobs, khata, returns, stock
from .pairing import Device

DEAD_LETTER_ROWS = 1000                  # per tablet: far more than a real fault leaves before someone looks
DEAD_LETTER_BYTES = 8 * 1024 * 1024      # per tablet: 8 batches of junk at most


@dataclass
class CheckedBatch:
    """A till's batch validated, before any database is touched (check_batch)."""
    results: list[DocumentResult | None]             # "invalid" verdicts now; None where write_batch decides
    valid: list[tuple[int, AnyDocument, str]]        # (index in results, parsed, canonical body)
    dead: list[tuple[str | None, str, str]]          # (document id, the raw JSON, why)


def check_batch(device: Device, documents: list[Any]) -> CheckedBatch:
    """Validate every document of a till's batch: pure CPU, no database, so it runs before the
    request waits for the writer (till_api.journal_batch) and other tablets' commits are not
    held up behind this batch's parsing and hashing. parse_document_and_body is the gate that
    keeps the pipe clean; it hands back the canonical body its hash check made, the very text
    the journal stores, so nothing is encoded twice."""
    results: list[DocumentResult | None] = []
    valid: list[tuple[int, AnyDocument, str]] = []
    dead: list[tuple[str | None, str, str]] = []
    for raw in documents:
        try:
            document, body = parse_document_and_body(raw)
            if document.device_id != device.device_id or document.device_code != device.device_code:
                raise InvalidDocument("document was made by another device than the one sending it", document.id)
        except InvalidDocument as err:
            dead.append((err.document_id, json.dumps(raw, ensure_ascii=False), err.reason))
            results.append(DocumentResult(id=err.document_id, status="invalid", reason=err.reason))
            continue
        valid.append((len(results), document, body))
        results.append(None)   # filled by write_batch, in the batch's order
    return CheckedBatch(results, valid, dead)


async def receive_batch(db: aiosqlite.Connection, device: Device, documents: list[Any], *,
                        zone: str | None = None) -> list[DocumentResult]:
    """Store a till's batch inside the caller's transaction; answer per document.

    `zone`: the gateway's settings.timezone, in which a fiscal job's business day is read.
    check_batch then write_batch; the LAN route calls the two apart, the check outside the lock.
    """
    return await write_batch(db, device, check_batch(device, documents), zone=zone)


async def write_batch(db: aiosqlite.Connection, device: Device, checked: CheckedBatch, *,
                      zone: str | None = None) -> list[DocumentResult]:
    """Write a checked batch inside the caller's transaction; the per-document verdicts (write_batches)."""
    return (await write_batches(db, [(device, checked)], zone=zone))[0]


async def write_batches(db: aiosqlite.Connection, batches: Sequence[tuple[Device, CheckedBatch]], *,
                        zone: str | None = None) -> list[list[DocumentResult]]:
    """Write checked batches, of one tablet or several, inside the caller's transaction; each batch's
    per-document verdicts, exactly as writing them one after another would give.

    Set-based, so any number of batches costs a handful of statements rather than several per
    document: the ids already held are looked up in one query, and the fresh rows, conflicts, dead
    letters and projections are each written with one executemany. The verdicts are the ones a
    one-document-at-a-time pass gives: the first copy of an id, in its own batch or an earlier one, is
    the one stored and a later copy is judged against it (duplicate or conflict); the projections see
    the stored documents in that same order. The tablets' batches that share a commit are written in
    one go (gateway/store.py Together): with 10 tablets pushing, a set of statements per batch kept
    the writer's thread waiting, at every statement, for the GIL the event loop holds while it checks
    the next batches (issue 12, the box's ack). `batches` are not changed, so the same batches may be
    written again after a rolled-back attempt (store.py's group commit retries each request alone
    when its group fails).
    """
    now = utc_now()
    answers = [list(checked.results) for _, checked in batches]
    dead = [(document_id, body, reason, "till", device.device_id, now)
            for device, checked in batches for document_id, body, reason in checked.dead]
    # One query for every id of the batches, in chunks of 500 (within SQLite's bound variables). Inside
    # the writer's transaction nobody else inserts, so what it says decides each verdict; the plain
    # INSERT below would fail loudly if it did not.
    held: dict[str, str] = {}
    ids = list({document.id for _, checked in batches for _, document, _ in checked.valid})
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in await db.execute_fetchall(
                f"SELECT id, hash FROM journal WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            held[row["id"]] = row["hash"]
    fresh: list[tuple[Any, ...]] = []
    stored: list[AnyDocument] = []
    conflicts: list[tuple[Any, ...]] = []
    for (device, checked), results in zip(batches, answers):
        for index, document, body in checked.valid:
            known = held.get(document.id)
            if known is None:
                fresh.append((document.id, document.kind, document.device_id, document.device_code, document.seq,
                              document.hash, body, now))
                stored.append(document)
                held[document.id] = document.hash   # a second copy later on meets this one
                results[index] = DocumentResult(id=document.id, status="stored")
            elif known == document.hash:
                results[index] = DocumentResult(id=document.id, status="duplicate")
            else:
                conflicts.append((document.id, known, document.hash, body, device.device_id, now))
                results[index] = DocumentResult(id=document.id, status="conflict",
                                                reason="another document with this id is already stored")
    if fresh:
        # rx_seq follows the order of the rows, so the uplink still forwards in receive order.
        await db.executemany(
            "INSERT INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", fresh)
        # Projections in the same transaction: a till's next stock or return question sees these documents.
        await stock.record_moves_many(db, stored)
        await returns.record_many(db, stored)
        # A fiscal job per sale / refund while the shop reports to FBR / PRA: made with the document,
        # so none is ever missed; the queue (fiscal_queue.py) posts it later, in its own transactions.
        await fiscal_jobs.record_many(db, stored, now, zone)
        await khata.record_many(db, stored, now)   # customers' balances and the owner's khata flags
    if conflicts:
        await db.executemany("INSERT INTO conflicts (document_id, stored_hash, incoming_hash, incoming_body, "
                             "device_id, at) VALUES (?, ?, ?, ?, ?, ?)", conflicts)
    if dead:
        await db.executemany("INSERT INTO dead_letter (document_id, body, reason, source, device_id, at) "
                             "VALUES (?, ?, ?, ?, ?, ?)", dead)
        # Once per tablet, after all its rows: the same rows are kept as after each batch in turn
        # (the newest that fit the bound), and the same number counted as evicted.
        for device_id in dict.fromkeys(device.device_id for device, checked in batches if checked.dead):
            await bound_dead_letter(db, device_id, DEAD_LETTER_ROWS, DEAD_LETTER_BYTES)
    seen = list(dict.fromkeys(device.device_id for device, _ in batches))   # at most GROUP_MAX tablets
    await db.execute(f"UPDATE devices SET last_seen_at = ? WHERE device_id IN ({','.join('?' * len(seen))})",
                     (now, *seen))
    return answers   # type: ignore[return-value] - every None was filled above


async def bound_dead_letter(db: aiosqlite.Connection, device_id: str, max_rows: int, max_bytes: int) -> int:
    """Evict a tablet's oldest invalid documents past the bound, count them on the device; how many went."""
    kept = size = 0
    cut = None
    for row in await db.execute_fetchall(
            "SELECT pk, length(CAST(body AS BLOB)) AS size FROM dead_letter "
            "WHERE device_id = ? AND source = 'till' ORDER BY pk DESC", (device_id,)):
        kept, size = kept + 1, size + row["size"]
        if kept > max_rows or size > max_bytes:
            cut = row["pk"]
            break
    if cut is None:
        return 0
    evicted = (await db.execute("DELETE FROM dead_letter WHERE device_id = ? AND source = 'till' AND pk <= ?",
                                (device_id, cut))).rowcount
    await db.execute("UPDATE devices SET dead_letter_evicted = dead_letter_evicted + ? WHERE device_id = ?",
                     (evicted, device_id))
    return evicted


async def dead_letter(db: aiosqlite.Connection, document_id: str | None, raw: Any, reason: str, source: str,
                      device_id: str | None) -> None:
    """Keep a document nobody could accept, with why, for the owner to inspect and export."""
    await db.execute("INSERT INTO dead_letter (document_id, body, reason, source, device_id, at) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (document_id, json.dumps(raw, ensure_ascii=False), reason, source, device_id, utc_now()))


async def cloud_states(db: aiosqlite.Connection, device: Device, ids: list[str]) -> dict[str, Any]:
    """Where each of a till's documents stands, so the till knows what it may stop resending.

    `unknown` means this gateway does not hold it (a replaced box): the till sends it again.
    """
    states: dict[str, Any] = {"in_cloud": [], "at_gateway": [], "rejected": [], "unknown": []}
    found: dict[str, aiosqlite.Row] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in await db.execute_fetchall(
                f"SELECT id, cloud_state, cloud_reason FROM journal WHERE device_id = ? AND id IN ({marks})",
                (device.device_id, *chunk)):
            found[row["id"]] = row
    for doc_id in ids:
        row = found.get(doc_id)
        if row is None:
            states["unknown"].append(doc_id)
        elif row["cloud_state"] == "in_cloud":
            states["in_cloud"].append(doc_id)
        elif row["cloud_state"] == "rejected":
            states["rejected"].append({"id": doc_id, "reason": row["cloud_reason"]})
        else:
            states["at_gateway"].append(doc_id)
    return states


async def parked(db: aiosqlite.Connection, limit: int = 20) -> dict[str, Any]:
    """Documents the uplink set aside because the cloud would not take them (see uplink.py): how many, and why."""
    count = (await (await db.execute("SELECT count(*) FROM journal WHERE cloud_state = 'parked'")).fetchone())[0]
    rows = await db.execute_fetchall(
        "SELECT id, device_code, seq, cloud_at, cloud_reason FROM journal WHERE cloud_state = 'parked' "
        "ORDER BY rx_seq LIMIT ?", (limit,))
    return {"parked": count, "parked_documents": [
        {"id": row["id"], "receipt_number": receipt_number(row["device_code"], row["seq"]),
         "parked_at": row["cloud_at"], "reason": row["cloud_reason"]} for row in rows]}


async def backlog(db: aiosqlite.Connection) -> dict[str, Any]:
    """How much the cloud still lacks, and since when."""
    row = await (await db.execute(
        "SELECT count(*) AS n, min(received_at) AS oldest FROM journal WHERE cloud_state = 'pending'")).fetchone()
    return {"backlog": row["n"], "oldest_unsynced_at": row["oldest"]}
