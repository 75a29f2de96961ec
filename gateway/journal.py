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
from typing import Any

import aiosqlite

from cloud_api.service.clock import utc_now
from cloud_api.contract import DocumentResult, InvalidDocument, canonical_json, parse_document, receipt_number

from . import returns, stock
from .pairing import Device

DEAD_LETTER_ROWS = 1000                  # per tablet: far more than a real fault leaves before someone looks
DEAD_LETTER_BYTES = 8 * 1024 * 1024      # per tablet: 8 batches of junk at most


async def receive_batch(db: aiosqlite.Connection, device: Device, documents: list[Any]) -> list[DocumentResult]:
    """Store a till's batch inside the caller's transaction; answer per document."""
    now = utc_now()
    results = []
    for raw in documents:
        try:
            document = parse_document(raw)
            if document.device_id != device.device_id or document.device_code != device.device_code:
                raise InvalidDocument("document was made by another device than the one sending it", document.id)
        except InvalidDocument as err:
            await dead_letter(db, err.document_id, raw, err.reason, "till", device.device_id)
            results.append(DocumentResult(id=err.document_id, status="invalid", reason=err.reason))
            continue
        body = canonical_json(raw).decode()
        inserted = await db.execute(
            "INSERT OR IGNORE INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (document.id, document.kind, document.device_id, document.device_code, document.seq,
             document.hash, body, now))
        if inserted.rowcount == 1:
            # Projections in the same transaction: a till's next stock or return question sees this document.
            await stock.record_moves(db, document)
            await returns.record(db, document)
            results.append(DocumentResult(id=document.id, status="stored"))
            continue
        row = await (await db.execute("SELECT hash FROM journal WHERE id = ?", (document.id,))).fetchone()
        if row["hash"] == document.hash:
            results.append(DocumentResult(id=document.id, status="duplicate"))
            continue
        await db.execute("INSERT INTO conflicts (document_id, stored_hash, incoming_hash, incoming_body, device_id, at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (document.id, row["hash"], document.hash, body,
                                                        device.device_id, now))
        results.append(DocumentResult(id=document.id, status="conflict",
                                      reason="another document with this id is already stored"))
    if any(r.status == "invalid" for r in results):
        await bound_dead_letter(db, device.device_id, DEAD_LETTER_ROWS, DEAD_LETTER_BYTES)
    await db.execute("UPDATE devices SET last_seen_at = ? WHERE device_id = ?", (now, device.device_id))
    return results


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
