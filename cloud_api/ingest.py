"""Journal ingest: a batch in, one transaction, a result per document.

Idempotent on (shop, id): the same id with the same hash is a `duplicate`
(a success); the same id with another hash is a `conflict`, quarantined with
both versions and never overwritten. A document that fails validation is
`invalid`, kept in rejected_documents, and blocks nothing behind it.
A document the database still refuses (the contract should make that
impossible) is found by retrying the batch one document per savepoint and
answered `invalid` the same way, while the rest are stored. If nothing in the
batch could be stored (a lone document, or a database refusing everything),
nothing proves the fault is the document's: the batch fails and is resent, and
the box's uplink decides with its own proof whether to park the document.
Projections (cloud_api/projections.py: sale and refund facts, tenders, lines,
shifts, cash movements, stock ledger) are written in the same transaction as
the document, so they can never disagree with the journal. Each stored or
duplicate document is answered with its ingest_seq, the watermark that stock
snapshots (cloud_api/stock.py) count up to.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .service.clock import utc_now
from .contract import (
    AnyDocument,
    DocumentResult,
    InvalidDocument,
    JournalBatch,
    business_date,
    canonical_json,
    clock_skew_ms,
    parse_document,
)
from .database import insert_or_ignore
from .projections import project
from .shops import GatewayIdentity, shop_timezone
from .stock import hold_journal_for_ingest

log = logging.getLogger(__name__)

# Errors about one row's data. Only these make a document `invalid`; anything else (a lost
# connection, a locked or full database) fails the batch, which the gateway simply resends.
_DOCUMENT_FAULTS = (IntegrityError, DataError)


async def ingest_batch(conn: AsyncConnection, gateway: GatewayIdentity, batch: JournalBatch) -> list[DocumentResult]:
    """Store a batch from a gateway inside the caller's transaction; answer per document."""
    now = utc_now()
    # Before any ingest_seq is drawn, so stock snapshots see this batch whole or not at all.
    await hold_journal_for_ingest(conn, gateway.shop_id)
    tz = await shop_timezone(conn, gateway.shop_id)
    try:
        async with conn.begin_nested():   # the whole batch at once: the fast, usual path
            return await _ingest(conn, gateway, batch, tz, now, one_by_one=False)
    except _DOCUMENT_FAULTS as err:
        log.warning("ingest: a batch of %d failed in the database (%s); retrying one document per savepoint",
                    len(batch.documents), _db_message(err))
    return await _ingest(conn, gateway, batch, tz, now, one_by_one=True)


async def _ingest(conn: AsyncConnection, gateway: GatewayIdentity, batch: JournalBatch, tz: str, now: str,
                  one_by_one: bool) -> list[DocumentResult]:
    results: list[DocumentResult] = []
    touched: dict[str, AnyDocument] = {}
    valid, faults = 0, []
    for raw in batch.documents:
        try:
            document = parse_document(raw)
        except InvalidDocument as err:
            await _reject(conn, gateway, raw, err, now)
            results.append(DocumentResult(id=err.document_id, status="invalid", reason=err.reason))
            continue
        valid += 1
        received_at = batch.received_at.get(document.id)
        if one_by_one:
            try:
                async with conn.begin_nested():
                    status, ingest_seq = await _store(conn, gateway, document, raw, received_at, tz, now)
            except _DOCUMENT_FAULTS as err:
                faults.append(err)
                refused = InvalidDocument(f"the cloud's database cannot store it: {_db_message(err)}", document.id)
                await _reject(conn, gateway, raw, refused, now)
                results.append(DocumentResult(id=document.id, status="invalid", reason=refused.reason))
                continue
        else:
            status, ingest_seq = await _store(conn, gateway, document, raw, received_at, tz, now)
        results.append(DocumentResult(id=document.id, status=status, ingest_seq=ingest_seq))
        if status == "stored":
            touched[document.device_id] = document
    if faults and len(faults) == valid:
        # Nothing in the batch could be stored, so nothing proves the database itself works: fail
        # the batch (it is resent later) rather than file good sales as invalid for good. A lone
        # document that the database refuses comes back as a 500, and the box's uplink decides,
        # with its proof (a batch without it stored), whether to park it: parked is retried later,
        # invalid is not.
        raise faults[-1]
    for document in touched.values():
        await _advance_device(conn, gateway, document, batch.received_at.get(document.id), now)
    return results


def _db_message(err: Exception) -> str:
    """The database's own complaint, one line, short enough to keep beside the document."""
    orig = getattr(err, "orig", None) or err
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return first.replace("\x00", "")[:300]


def _as_sent(raw: Any) -> str:
    # A lone surrogate has no UTF-8 form: keep it as a JSON escape rather than fail to keep it.
    kept = json.dumps(raw, ensure_ascii=False)
    try:
        kept.encode("utf-8")
    except UnicodeEncodeError:
        kept = json.dumps(raw)
    return kept


async def _reject(conn: AsyncConnection, gateway: GatewayIdentity, raw: Any, err: InvalidDocument, now: str) -> None:
    # Kept as the gateway sent it, for the owner to inspect; never silently dropped.
    await conn.execute(schema.rejected_documents.insert().values(
        shop_id=gateway.shop_id, document_id=err.document_id, body=_as_sent(raw),
        reason=err.reason, gateway_id=gateway.gateway_id, rejected_at=now))


async def _store(conn: AsyncConnection, gateway: GatewayIdentity, document: AnyDocument,
                 raw: dict[str, Any], received_at: str | None, tz: str, now: str) -> tuple[str, int | None]:
    """Store one document: its status and, unless it is a conflict, its ingest_seq."""
    d = schema.documents.c
    day = business_date(document.created_at, tz, document.clock_offset_ms, received_at).isoformat()
    inserted = (await conn.execute(insert_or_ignore(conn, schema.documents).values(
        shop_id=gateway.shop_id, id=document.id, kind=document.kind, device_id=document.device_id,
        device_code=document.device_code, seq=document.seq, created_at=document.created_at,
        business_date=day, cashier_id=document.cashier_id, hash=document.hash,
        body=canonical_json(raw).decode(), gateway_id=gateway.gateway_id,
        received_at=received_at, ingested_at=now).returning(d.ingest_seq))).first()
    if inserted is not None:
        await project(conn, gateway.shop_id, document, day, now)
        return "stored", inserted.ingest_seq
    stored_hash, ingest_seq = (await conn.execute(
        select(d.hash, d.ingest_seq).where(d.shop_id == gateway.shop_id, d.id == document.id))).one()
    if stored_hash == document.hash:
        return "duplicate", ingest_seq
    await conn.execute(schema.quarantine.insert().values(
        shop_id=gateway.shop_id, document_id=document.id, stored_hash=stored_hash,
        incoming_hash=document.hash, incoming_body=canonical_json(raw).decode(),
        gateway_id=gateway.gateway_id, quarantined_at=now))
    return "conflict", None


async def _advance_device(conn: AsyncConnection, gateway: GatewayIdentity, document: AnyDocument,
                          received_at: str | None, now: str) -> None:
    """Keep each device's highest contiguous seq, so gaps can be reported, and its clock's skew."""
    dv, d = schema.devices.c, schema.documents.c
    key = (dv.shop_id == gateway.shop_id, dv.device_id == document.device_id)
    row = (await conn.execute(select(dv.contiguous_seq, dv.max_seq).where(*key))).first()
    if row is None:
        await conn.execute(insert_or_ignore(conn, schema.devices).values(
            shop_id=gateway.shop_id, device_id=document.device_id, device_code=document.device_code,
            gateway_id=gateway.gateway_id, first_seen_at=now, last_heard_at=now, contiguous_seq=0, max_seq=0))
        contiguous, newest = 0, 0
    else:
        contiguous, newest = row.contiguous_seq, row.max_seq
    if document.seq >= newest:   # the device's clock as its newest document found it
        skew = clock_skew_ms(document.created_at, document.clock_offset_ms, received_at)
        await conn.execute(update(schema.devices).where(*key).values(clock_skew_ms=skew))
    seqs = (await conn.execute(select(d.seq).where(
        d.shop_id == gateway.shop_id, d.device_id == document.device_id, d.seq > contiguous)
        .order_by(d.seq))).scalars().all()
    for seq in seqs:
        if seq != contiguous + 1:
            break
        contiguous = seq
    await conn.execute(update(schema.devices).where(*key).values(
        contiguous_seq=contiguous, max_seq=max([contiguous, *seqs]), last_heard_at=now,
        gateway_id=gateway.gateway_id, device_code=document.device_code))


def missing_ranges(contiguous: int, present: list[int]) -> list[tuple[int, int]]:
    """Gaps above the contiguous mark, as inclusive (first, last) seq ranges."""
    gaps, expected = [], contiguous + 1
    for seq in sorted(present):
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    return gaps
