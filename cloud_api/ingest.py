"""Journal ingest: a batch in, one transaction, a result per document.

Idempotent on (shop, id): the same id with the same hash is a `duplicate`
(a success); the same id with another hash is a `conflict`, quarantined with
both versions and never overwritten. A document that fails validation is
`invalid`, kept in rejected_documents, and blocks nothing behind it.
Within one batch the first copy of an id is the one that counts: a later copy
is a duplicate or a conflict of it, exactly as if they came one at a time.

The usual path is set-based: the batch's ids are looked up in one query, the
fresh documents go in with one `INSERT ... ON CONFLICT DO NOTHING RETURNING`
(multi-row VALUES on SQLite, one array per column through unnest on PostgreSQL),
each body the very JSON its hash check encoded (contract.parse_document_and_body),
quarantine and rejected rows and every projection with one multi-row insert per
table, and each device's bookkeeping once per batch. The documents and the
projection rows go straight through the driver (database.insert_rows). Storing is
plain synchronous SQLAlchemy, handed to the database at once (database.write_at_once:
on SQLite the whole transaction runs on the writer's thread).
One document at a time (`set_based=False`) is the reference implementation
the set-based path must agree with (tests/cloud/test_set_based_ingest.py), and
the fallback when the database refuses the set-based batch.

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

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ARRAY, Connection, String, and_, any_, bindparam, func, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import schema
from .service.clock import utc_now
from .contract import (
    AnyDocument,
    DocumentResult,
    InvalidDocument,
    JournalBatch,
    shop_time,
    canonical_json,
    clock_skew_ms,
    parse_document_and_body,
)
from .database import engine_lock, insert_or_ignore, insert_rows, shop_lock, write_at_once, writes_in_thread
from .projections import Projection, project
from .shops import GatewayIdentity, shop_timezone
from .stock import hold_journal_for_ingest

log = logging.getLogger(__name__)

# Errors about one row's data. Only these make a document `invalid`; anything else (a lost
# connection, a locked or full database) fails the batch, which the gateway simply resends.
_DOCUMENT_FAULTS = (IntegrityError, DataError)


_RESULTS: TypeAdapter[list[DocumentResult]] = TypeAdapter(list[DocumentResult])


class _Raced(Exception):
    """An id the look-up found free was taken before the insert: the reference path sorts it out."""


async def receive_batch(engine: AsyncEngine, gateway: GatewayIdentity, batch: JournalBatch) -> list[DocumentResult]:
    """What the cloud does with a gateway's batch (POST /v1/journal:batch): every document checked
    first, outside any transaction, then stored in one transaction with the gateway marked heard.

    Checking is most of the CPU a batch costs. Done before the transaction, it holds no database lock:
    SQLite's one writer (and PostgreSQL's per-shop ingest lock) is held only to store, so heartbeats and
    an owner's edits wait less. The next batch of a box that keeps several in flight (gateway
    uplink_window) is checked while this one is stored (PostgreSQL) or commits (SQLite): see below.
    The trade-off on SQLite: while a batch waits for the writer (behind an owner's edit, say), the next
    is not checked either; those waits are milliseconds.
    """
    # One batch checked at a time, as the CPU can only do one anyway: the first to arrive is ready
    # first, rather than all of them ready together, late.
    parse_lock = engine_lock(engine, "parse")
    await parse_lock.acquire()
    release = _Once(parse_lock.release)
    try:
        parsed = await parse_batch(batch)
        if not writes_in_thread(engine):
            # PostgreSQL (and an in-memory SQLite): storing is round trips to the server, waited for on the
            # event loop, which checks the next batch meanwhile. A shop's batches are stored one at a time
            # anyway (the advisory lock, stock.hold_journal_for_ingest); queued here, the next waits with
            # no transaction or connection of its own, where waiting in PostgreSQL each held both: four in
            # flight went 10% slower than one at a time, now as fast (tests/bench/cloud_ingest.py). Per
            # process: batches on several workers (service/workers.py) still queue in PostgreSQL.
            release()
            async with shop_lock(engine, gateway.shop_id):
                return await write_at_once(engine, _store_received, gateway, parsed, None)
        # SQLite: storing runs on the writer's thread, Python and SQL by turns, then COMMIT waits for the
        # disk. The next batch is checked during that wait, not during the storing: checked beside it,
        # the two took Python's GIL from each other at every statement and a box's batches in flight went
        # no faster than one at a time; beside COMMIT's fsync (no GIL), about a tenth faster (measured
        # in-process, tests/bench/cloud_ingest.py; in the service, other requests' bodies are still read
        # beside the statements). So this batch holds the check's turn until its rows are written.
        loop = asyncio.get_running_loop()
        return await write_at_once(engine, _store_received, gateway, parsed,
                                   lambda: loop.call_soon_threadsafe(release))
    finally:
        release()


class _Once:
    """`function` called at most once, however often this is."""

    def __init__(self, function: Any):
        self._function: Any = function

    def __call__(self) -> None:
        function, self._function = self._function, None
        if function is not None:
            function()


def _store_received(conn: Connection, gateway: GatewayIdentity, parsed: ParsedBatch,
                    written: Any) -> list[DocumentResult]:
    """store_batch and the gateway heard; `written()`, if given, once every row is written (before COMMIT)."""
    results = store_batch(conn, gateway, parsed)
    conn.execute(update(schema.gateways).where(schema.gateways.c.id == gateway.gateway_id)
                 .values(last_heard_at=utc_now()))
    if written is not None:
        try:
            written()
        except RuntimeError:   # the event loop closed meanwhile (shutting down): nobody is left to check
            pass
    return results


class ParsedBatch:
    """A batch with each document's parse (_Parsed, or the InvalidDocument it raised): parse_batch's work."""

    __slots__ = ("batch", "parsed")

    def __init__(self, batch: JournalBatch, parsed: list[_Parsed | InvalidDocument]):
        self.batch = batch
        self.parsed = parsed


# Documents checked between two turns of the event loop: ~2-3 ms of CPU on a small machine, so other
# requests (and, on PostgreSQL, the statements of a batch being stored meanwhile) wait no longer.
_PARSE_TURN = 32


async def parse_batch(batch: JournalBatch) -> ParsedBatch:
    """Check every document of a batch (contract.parse_document_and_body), giving the event loop a turn
    every _PARSE_TURN documents: a 500-document batch is tens of milliseconds of CPU, which would
    otherwise stall every other request for as long."""
    parsed: list[_Parsed | InvalidDocument] = []
    documents = batch.documents
    for start in range(0, len(documents), _PARSE_TURN):
        if start:
            await asyncio.sleep(0)
        parsed.extend(_parse(raw) for raw in documents[start:start + _PARSE_TURN])
    return ParsedBatch(batch, parsed)


async def ingest_batch(conn: AsyncConnection, gateway: GatewayIdentity, batch: JournalBatch | ParsedBatch, *,
                       set_based: bool = True) -> list[DocumentResult]:
    """Store a batch from a gateway inside the caller's (async) transaction; answer per document.

    `batch` is best parsed before the transaction (parse_batch; receive_batch does); a JournalBatch
    is parsed here. `set_based=False` stores one document at a time: the reference implementation
    (see the module's docstring), the same verdicts and rows, only slower.
    """
    if isinstance(batch, JournalBatch):
        batch = await parse_batch(batch)
    return await conn.run_sync(store_batch, gateway, batch, set_based)


def store_batch(conn: Connection, gateway: GatewayIdentity, batch: ParsedBatch,
                set_based: bool = True) -> list[DocumentResult]:
    """ingest_batch's work, as synchronous SQLAlchemy: run by write_at_once (receive_batch), or on an
    async connection through run_sync (ingest_batch)."""
    parsed, sent = batch.parsed, batch.batch
    now = utc_now()
    # Before any ingest_seq is drawn, so stock snapshots see this batch whole or not at all.
    hold_journal_for_ingest(conn, gateway.shop_id)
    tz = shop_timezone(conn, gateway.shop_id)
    try:
        with conn.begin_nested():   # the whole batch at once: the fast, usual path
            if set_based:
                return _ingest_set(conn, gateway, sent, parsed, tz, now)
            return _ingest(conn, gateway, sent, parsed, tz, now, one_by_one=False)
    except _DOCUMENT_FAULTS as err:
        log.warning("ingest: a batch of %d failed in the database (%s); retrying one document per savepoint",
                    len(sent.documents), _db_message(err))
    except _Raced:
        log.warning("ingest: a batch of %d met a concurrent writer; retrying one document per savepoint",
                    len(sent.documents))
    return _ingest(conn, gateway, sent, parsed, tz, now, one_by_one=True)


def _among(conn: Connection, column: Any, values: list[str]) -> Any:
    """column IN (values); on PostgreSQL `= ANY(array)`, one parameter and so one prepared statement."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam("among", values, type_=ARRAY(String)))
    return column.in_(values)


def _held(conn: Connection, shop_id: str, ids: list[str]) -> Any:
    """The query for what the journal holds of `ids`: (id, hash, ingest_seq).

    On PostgreSQL a join with unnest(array): one parameter whatever the batch holds, and a join the
    planner can do by hash or by the (shop_id, id) index. `id IN (500 parameters)` made a new
    statement per batch size, and `id = ANY($2)` under the generic plan that asyncpg's prepared
    statements reach after five runs compares each of the shop's rows with every id (~30 ms a batch).
    On SQLite the ids travel as one JSON array read by json_each: one statement, compiled once, where
    `IN (500 parameters)` was rendered afresh for every batch (a fifth of the batch's Python).
    """
    d = schema.documents.c
    query = select(d.id, d.hash, d.ingest_seq).where(d.shop_id == shop_id)
    if conn.dialect.name == "postgresql":
        wanted = func.unnest(bindparam("ids", ids, type_=ARRAY(String))).table_valued("id").render_derived("wanted")
        return query.join_from(wanted, schema.documents, d.id == wanted.c.id)
    listed = func.json_each(bindparam("ids", json.dumps(ids))).table_valued("value")
    return query.where(d.id.in_(select(listed.c.value)))


class _Parsed:
    """A document parse_document accepted and its canonical JSON (the stored body), encoded once."""

    __slots__ = ("document", "body")

    def __init__(self, document: AnyDocument, body: str):
        self.document = document
        self.body = body


def _parse(raw: Any) -> _Parsed | InvalidDocument:
    try:
        return _Parsed(*parse_document_and_body(raw))
    except InvalidDocument as err:
        return err


def _ingest_set(conn: Connection, gateway: GatewayIdentity, batch: JournalBatch,
                parsed: list[_Parsed | InvalidDocument], tz: str, now: str) -> list[DocumentResult]:
    """The whole batch in a few multi-row statements, answering as one-at-a-time ingestion would."""
    shop_id = gateway.shop_id
    results: list[dict[str, Any] | None] = [None] * len(parsed)   # made DocumentResults at the end, together
    rejected: list[dict[str, Any]] = []
    valid: list[tuple[int, str, AnyDocument]] = []
    for i, (raw, outcome) in enumerate(zip(batch.documents, parsed)):
        if isinstance(outcome, InvalidDocument):
            rejected.append(_rejected_row(gateway, raw, outcome, now))
            results[i] = dict(id=outcome.document_id, status="invalid", reason=outcome.reason)
        else:
            valid.append((i, outcome.body, outcome.document))

    # What the journal already holds of these ids, in one query: id -> (hash, ingest_seq).
    held: dict[str, tuple[str, int | None]] = {}
    if valid:
        ids = list({document.id for _, _, document in valid})
        held = {row.id: (row.hash, row.ingest_seq) for row in conn.execute(_held(conn, shop_id, ids)).all()}

    # Verdicts in batch order. The first copy of a fresh id is stored; later copies meet it as they
    # would meet a stored document (duplicate or conflict), and learn its ingest_seq after the insert.
    fresh: dict[str, tuple[Any, ...]] = {}   # id -> its documents row
    stored: list[tuple[AnyDocument, datetime]] = []
    awaiting_seq: list[tuple[int, str, str]] = []   # (index, id, status): answered once the insert says its seq
    quarantined: list[dict[str, Any]] = []
    for i, body, document in valid:
        if document.id not in held:
            received_at = batch.received_at.get(document.id)
            when = shop_time(document.created_at, tz, document.clock_offset_ms, received_at)
            day = when.date().isoformat()
            fresh[document.id] = (   # in _DOCUMENT_COLUMNS' order
                shop_id, document.id, document.kind, document.device_id, document.device_code, document.seq,
                document.created_at, day, document.cashier_id, document.hash, body, gateway.gateway_id,
                received_at, now)
            held[document.id] = (document.hash, None)
            stored.append((document, when))
            awaiting_seq.append((i, document.id, "stored"))
            continue
        stored_hash, ingest_seq = held[document.id]
        if stored_hash == document.hash:
            if ingest_seq is None:   # a second copy of a document fresh in this batch
                awaiting_seq.append((i, document.id, "duplicate"))
            else:
                results[i] = dict(id=document.id, status="duplicate", ingest_seq=ingest_seq)
        else:
            quarantined.append(dict(
                shop_id=shop_id, document_id=document.id, stored_hash=stored_hash, incoming_hash=document.hash,
                incoming_body=body, gateway_id=gateway.gateway_id, quarantined_at=now))
            results[i] = dict(id=document.id, status="conflict")

    if fresh:
        # ON CONFLICT DO NOTHING keeps the unique key the judge, and RETURNING hands back each new
        # row's ingest_seq.
        inserted = _insert_documents(conn, list(fresh.values()))
        if len(inserted) != len(fresh):
            # Only a writer outside the shop's lock could do this; the savepoint undoes our part.
            raise _Raced()
        for i, doc_id, status in awaiting_seq:
            results[i] = dict(id=doc_id, status=status, ingest_seq=inserted[doc_id])
        rows = Projection(shop_id)
        for document, when in stored:
            project(rows, shop_id, document, when, now)
        rows.write(conn)
    if quarantined:
        conn.execute(schema.quarantine.insert(), quarantined)
    if rejected:
        conn.execute(schema.rejected_documents.insert(), rejected)
    newest: dict[str, AnyDocument] = {}
    seqs: dict[str, list[int]] = {}
    for document, _ in stored:   # the last stored document of each device, as one-at-a-time leaves it
        newest[document.device_id] = document
        seqs.setdefault(document.device_id, []).append(document.seq)
    _advance_devices(conn, gateway, newest, seqs, batch.received_at, now)
    # One validation for the batch's answers: a DocumentResult(...) each cost a tenth of the batch's Python.
    return _RESULTS.validate_python(results)


_DOCUMENT_COLUMNS = ("shop_id", "id", "kind", "device_id", "device_code", "seq", "created_at", "business_date",
                     "cashier_id", "hash", "body", "gateway_id", "received_at", "ingested_at")


def _insert_documents(conn: Connection, rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, ingest_seq of `rows`, in their order: id -> ingest_seq.

    ingest_seq is drawn in the rows' order (the one-at-a-time order). database.insert_rows: on
    PostgreSQL one array per column through unnest (14 parameters and one prepared statement whatever
    the batch holds, where multi-row VALUES took 14 per row and most of the statement's time); on
    SQLite one multi-row VALUES statement. The values go to the driver as they are: SQLAlchemy's
    per-row parameter processing cost as much as the database's own work.
    """
    inserted = insert_rows(conn, schema.documents, _DOCUMENT_COLUMNS, rows,
                           ignore_conflicts=True, returning=("id", "ingest_seq"))
    return dict(inserted)


def _ingest(conn: Connection, gateway: GatewayIdentity, batch: JournalBatch,
            parsed: list[_Parsed | InvalidDocument], tz: str, now: str,
            one_by_one: bool) -> list[DocumentResult]:
    """One document at a time: the reference path; with `one_by_one`, each in its own savepoint."""
    results: list[DocumentResult] = []
    touched: dict[str, AnyDocument] = {}
    valid, faults = 0, []
    for raw, outcome in zip(batch.documents, parsed):
        if isinstance(outcome, InvalidDocument):
            _reject(conn, gateway, raw, outcome, now)
            results.append(DocumentResult(id=outcome.document_id, status="invalid", reason=outcome.reason))
            continue
        # The reference path encodes the body itself (canonical_json), so the equivalence test also
        # checks the set-based path's bodies, which come from the hash check's encoding.
        document = outcome.document
        valid += 1
        received_at = batch.received_at.get(document.id)
        if one_by_one:
            try:
                with conn.begin_nested():
                    status, ingest_seq = _store(conn, gateway, document, raw, received_at, tz, now)
            except _DOCUMENT_FAULTS as err:
                faults.append(err)
                refused = InvalidDocument(f"the cloud's database cannot store it: {_db_message(err)}", document.id)
                _reject(conn, gateway, raw, refused, now)
                results.append(DocumentResult(id=document.id, status="invalid", reason=refused.reason))
                continue
        else:
            status, ingest_seq = _store(conn, gateway, document, raw, received_at, tz, now)
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
        _advance_device(conn, gateway, document, batch.received_at.get(document.id), now)
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


def _rejected_row(gateway: GatewayIdentity, raw: Any, err: InvalidDocument, now: str) -> dict[str, Any]:
    # Kept as the gateway sent it, for the owner to inspect; never silently dropped.
    return dict(shop_id=gateway.shop_id, document_id=err.document_id, body=_as_sent(raw),
                reason=err.reason, gateway_id=gateway.gateway_id, rejected_at=now)


def _reject(conn: Connection, gateway: GatewayIdentity, raw: Any, err: InvalidDocument, now: str) -> None:
    conn.execute(schema.rejected_documents.insert().values(_rejected_row(gateway, raw, err, now)))


def _store(conn: Connection, gateway: GatewayIdentity, document: AnyDocument,
           raw: dict[str, Any], received_at: str | None, tz: str, now: str) -> tuple[str, int | None]:
    """Store one document: its status and, unless it is a conflict, its ingest_seq."""
    d = schema.documents.c
    when = shop_time(document.created_at, tz, document.clock_offset_ms, received_at)
    day = when.date().isoformat()
    inserted = conn.execute(insert_or_ignore(conn, schema.documents).values(
        shop_id=gateway.shop_id, id=document.id, kind=document.kind, device_id=document.device_id,
        device_code=document.device_code, seq=document.seq, created_at=document.created_at,
        business_date=day, cashier_id=document.cashier_id, hash=document.hash,
        body=canonical_json(raw).decode(), gateway_id=gateway.gateway_id,
        received_at=received_at, ingested_at=now).returning(d.ingest_seq)).first()
    if inserted is not None:
        rows = Projection(gateway.shop_id)
        project(rows, gateway.shop_id, document, when, now)
        rows.write(conn)
        return "stored", inserted.ingest_seq
    stored_hash, ingest_seq = conn.execute(
        select(d.hash, d.ingest_seq).where(d.shop_id == gateway.shop_id, d.id == document.id)).one()
    if stored_hash == document.hash:
        return "duplicate", ingest_seq
    conn.execute(schema.quarantine.insert().values(
        shop_id=gateway.shop_id, document_id=document.id, stored_hash=stored_hash,
        incoming_hash=document.hash, incoming_body=canonical_json(raw).decode(),
        gateway_id=gateway.gateway_id, quarantined_at=now))
    return "conflict", None


def _contiguous(contiguous: int, seqs: list[int]) -> tuple[int, int]:
    """(highest contiguous seq, highest seq) given the seqs above the old contiguous mark, ascending."""
    top = contiguous
    for seq in seqs:
        if seq != top + 1:
            break
        top = seq
    return top, max([top, *seqs])


def _advance_device(conn: Connection, gateway: GatewayIdentity, document: AnyDocument,
                    received_at: str | None, now: str) -> None:
    """Keep each device's highest contiguous seq, so gaps can be reported, and its clock's skew."""
    dv, d = schema.devices.c, schema.documents.c
    key = (dv.shop_id == gateway.shop_id, dv.device_id == document.device_id)
    row = conn.execute(select(dv.contiguous_seq, dv.max_seq).where(*key)).first()
    if row is None:
        conn.execute(insert_or_ignore(conn, schema.devices).values(
            shop_id=gateway.shop_id, device_id=document.device_id, device_code=document.device_code,
            gateway_id=gateway.gateway_id, first_seen_at=now, last_heard_at=now, contiguous_seq=0, max_seq=0))
        contiguous, newest = 0, 0
    else:
        contiguous, newest = row.contiguous_seq, row.max_seq
    if document.seq >= newest:   # the device's clock as its newest document found it
        skew = clock_skew_ms(document.created_at, document.clock_offset_ms, received_at)
        conn.execute(update(schema.devices).where(*key).values(clock_skew_ms=skew))
    seqs = conn.execute(select(d.seq).where(
        d.shop_id == gateway.shop_id, d.device_id == document.device_id, d.seq > contiguous)
        .order_by(d.seq)).scalars().all()
    contiguous, top = _contiguous(contiguous, list(seqs))
    conn.execute(update(schema.devices).where(*key).values(
        contiguous_seq=contiguous, max_seq=top, last_heard_at=now,
        gateway_id=gateway.gateway_id, device_code=document.device_code))


def _advance_devices(conn: Connection, gateway: GatewayIdentity, newest: dict[str, AnyDocument],
                     stored_seqs: dict[str, list[int]], received_at: dict[str, str], now: str) -> None:
    """_advance_device for every device of a batch at once: a few statements, however many devices.

    `newest` is each device's last stored document in the batch, the one whose clock is recorded;
    `stored_seqs` the seqs of every document the batch stored, by device.
    """
    if not newest:
        return
    dv, d = schema.devices.c, schema.documents.c
    shop_id, ids = gateway.shop_id, list(newest)
    known = {row.device_id: row for row in conn.execute(
        select(dv.device_id, dv.contiguous_seq, dv.max_seq, dv.clock_skew_ms)
        .where(dv.shop_id == shop_id, _among(conn, dv.device_id, ids))).all()}
    unseen = [device_id for device_id in ids if device_id not in known]
    if unseen:
        conn.execute(insert_or_ignore(conn, schema.devices), [dict(
            shop_id=shop_id, device_id=device_id, device_code=newest[device_id].device_code,
            gateway_id=gateway.gateway_id, first_seen_at=now, last_heard_at=now, contiguous_seq=0, max_seq=0)
            for device_id in unseen])
    # Every seq above each device's contiguous mark. A known device with no gap before this batch (its
    # highest seq is its contiguous mark: the usual tablet, sending in order) has above the mark only
    # what this batch stored; a device with a gap, or new here, needs the journal read (one query for
    # all such).
    above: dict[str, list[int]] = {}
    gapped = []
    for device_id in ids:
        row = known.get(device_id)
        if row is not None and row.max_seq == row.contiguous_seq:
            above[device_id] = sorted(seq for seq in stored_seqs[device_id] if seq > row.contiguous_seq)
        else:
            above[device_id] = []
            gapped.append(device_id)
    if gapped:
        for device_id, seq in conn.execute(
                select(d.device_id, d.seq)
                .join_from(schema.documents, schema.devices,
                           and_(dv.shop_id == d.shop_id, dv.device_id == d.device_id))
                .where(d.shop_id == shop_id, _among(conn, d.device_id, gapped), d.seq > dv.contiguous_seq)
                .order_by(d.device_id, d.seq)).all():
            above[device_id].append(seq)
    changes = []
    for device_id, document in newest.items():
        row = known.get(device_id)
        contiguous, top, skew = (row.contiguous_seq, row.max_seq, row.clock_skew_ms) if row else (0, 0, None)
        if document.seq >= top:   # the device's clock as its newest document found it
            skew = clock_skew_ms(document.created_at, document.clock_offset_ms, received_at.get(document.id))
        contiguous, top = _contiguous(contiguous, above[device_id])
        changes.append(dict(k_shop=shop_id, k_device=device_id, v_contiguous=contiguous, v_max=top, v_skew=skew,
                            v_heard=now, v_gateway=gateway.gateway_id, v_code=document.device_code))
    conn.execute(
        update(schema.devices).where(dv.shop_id == bindparam("k_shop"), dv.device_id == bindparam("k_device"))
        .values(contiguous_seq=bindparam("v_contiguous"), max_seq=bindparam("v_max"),
                clock_skew_ms=bindparam("v_skew"), last_heard_at=bindparam("v_heard"),
                gateway_id=bindparam("v_gateway"), device_code=bindparam("v_code")), changes)


def missing_ranges(contiguous: int, present: list[int]) -> list[tuple[int, int]]:
    """Gaps above the contiguous mark, as inclusive (first, last) seq ranges."""
    gaps, expected = [], contiguous + 1
    for seq in sorted(present):
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    return gaps
