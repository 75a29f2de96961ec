"""What each newly stored document means for reports and stock, written in the ingest transaction.

One function per kind. Sales and refunds are facts (sale_facts, kind "sale" / "refund", amounts
positive) with their lines and payments; a refund's payments are negative tender amounts and its
goods go back into stock. Shifts are one row per shift, filled from its opening and its closing
in whichever order they arrive; cash movements are rows of their own.

Khata (issue 10): every document contract.khata_entry_amounts() gives an amount writes one
khata_entries row (a sale's on_account payment is also a tender fact, tender "on_account": it is how
the sale was paid; a khata payment's money is not sale trade, so it is no tender fact). A customer
document sets its customer's details when it is newer (by true time) than the details held.

`project` derives a document's rows into a `Projection`; `Projection.write` then stores the rows
of every document it holds with one statement per table, straight through the driver
(database.insert_rows), so a batch of 500 sales costs a handful of statements, not thousands.
Ingest one document at a time (its reference path) simply writes a Projection of one document.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, select, update

from . import schema
from .contract import (AnyDocument, CashMovement, Customer, KhataAdjustment, KhataPayment, Refund, Sale,
                       ShiftClose, ShiftOpen, khata_entry_amounts)
from .database import insert_or_ignore, insert_rows


@dataclass
class _ShiftChange:
    shift_id: str
    opening: bool           # a shift_open (else a shift_close)
    device_code: str
    day: str
    values: dict[str, Any]


# The fact tables every sale and refund writes, several rows each: their rows are made as tuples in
# these columns' order and go to the driver as they are (dicts cost a third of a batch's projection).
SALE_FACT_COLUMNS = ("shop_id", "document_id", "kind", "business_date", "device_code", "total", "tax", "cashier_id",
                     "shift_id", "discount", "change", "original_id", "receipt", "hour", "service_fee")
TENDER_FACT_COLUMNS = ("shop_id", "document_id", "business_date", "tender", "amount", "reference", "wallet",
                       "unverified")
LINE_FACT_COLUMNS = ("shop_id", "document_id", "line_no", "business_date", "sku", "unit", "qty", "amount", "tax",
                     "gst_bp", "name")
STOCK_LEDGER_COLUMNS = ("shop_id", "sku", "qty", "reason", "document_id", "created_at")


@dataclass
class Projection:
    """The projection rows of newly stored documents of one shop, in the order they were stored.

    The fact tables' rows are tuples in their *_COLUMNS order; the rest are dicts of their columns.
    """

    shop_id: str
    sale_facts: list[tuple[Any, ...]] = field(default_factory=list)
    tender_facts: list[tuple[Any, ...]] = field(default_factory=list)
    line_facts: list[tuple[Any, ...]] = field(default_factory=list)
    stock_ledger: list[tuple[Any, ...]] = field(default_factory=list)
    cash_movements: list[dict[str, Any]] = field(default_factory=list)
    shift_changes: list[_ShiftChange] = field(default_factory=list)
    khata_entries: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)   # customer documents' details

    def plain_rows(self) -> list[tuple[Table, tuple[str, ...], list[tuple[Any, ...]]]]:
        """(table, columns, rows as tuples) of every table whose rows are inserted as they are: all but
        shifts and customers, which are worked out over the rows already stored (write)."""
        out = [(schema.sale_facts, SALE_FACT_COLUMNS, self.sale_facts),
               (schema.tender_facts, TENDER_FACT_COLUMNS, self.tender_facts),
               (schema.line_facts, LINE_FACT_COLUMNS, self.line_facts),
               (schema.stock_ledger, STOCK_LEDGER_COLUMNS, self.stock_ledger)]
        out += [(table, *_as_tuples(rows)) for table, rows in ((schema.cash_movements, self.cash_movements),
                                                               (schema.khata_entries, self.khata_entries))]
        return [(table, columns, rows) for table, columns, rows in out if rows]

    def write(self, conn: Connection) -> None:
        """Store every row held, one statement per table, straight through the driver (database.insert_rows:
        SQLAlchemy's per-row parameter processing doubled the cost of each row). Khata entries go after
        the customers they name (a placeholder for one not known yet)."""
        for table, columns, rows in self.plain_rows():
            if table is not schema.khata_entries:
                insert_rows(conn, table, columns, rows)
        if self.shift_changes:
            _write_shifts(conn, self.shop_id, self.shift_changes)
        if self.customers or self.khata_entries:
            _write_customers(conn, self.shop_id, self.customers, self.khata_entries)
        if self.khata_entries:
            insert_rows(conn, schema.khata_entries, *_as_tuples(self.khata_entries))


def _as_tuples(rows: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """(columns, rows as tuples) of rows made here as dicts with the same keys (plain values)."""
    if not rows:
        return (), []
    columns = tuple(rows[0])   # every row has these keys (a missing one is a KeyError, not a NULL)
    return columns, ([tuple(row[c] for c in columns) for row in rows] if len(columns) == 1
                     else list(map(itemgetter(*columns), rows)))   # itemgetter of one key gives no tuple


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows made here as dicts (see _as_tuples) with database.insert_rows."""
    if rows:
        insert_rows(conn, table, *_as_tuples(rows))


def project(rows: Projection, shop_id: str, document: AnyDocument, when: datetime, now: str) -> None:
    """Derive the reporting and stock facts of a newly stored document into `rows` (written by rows.write).

    `when` is the document's true time on the shop's clock (contract.shop_time): its date is the
    business day the document is filed under, its hour the by-hour chart's.

    The one call ingest makes per stored document, so a test can make it fail for one document as a
    bug in the cloud would (tests/gateway/test_poison.py).
    """
    day = when.date().isoformat()
    if isinstance(document, Sale):
        _sale_or_refund(rows, shop_id, document, day, when.hour, now, sign=1, change=document.change,
                        discount=document.discount, original_id=None)
    elif isinstance(document, Refund):
        _sale_or_refund(rows, shop_id, document, day, when.hour, now, sign=-1, change=0, discount=0,
                        original_id=document.original_id)
    elif isinstance(document, ShiftOpen):
        rows.shift_changes.append(_ShiftChange(document.id, True, document.device_code, day, dict(
            opened_at=document.created_at, opened_by=document.cashier_id, opening_float=document.opening_float,
            open_receipt=document.receipt_number)))
    elif isinstance(document, ShiftClose):
        rows.shift_changes.append(_ShiftChange(document.shift_id, False, document.device_code, day, dict(
            close_document_id=document.id, closed_at=document.created_at, closed_by=document.cashier_id,
            counted_cash=document.counted_cash, expected_cash=document.expected_cash,
            confirmed_card=document.confirmed.get("card"), confirmed_wallet=document.confirmed.get("wallet"),
            close_receipt=document.receipt_number)))
    elif isinstance(document, CashMovement):
        rows.cash_movements.append(dict(
            shop_id=shop_id, document_id=document.id, business_date=day, device_code=document.device_code,
            cashier_id=document.cashier_id, shift_id=document.shift_id, direction=document.direction,
            amount=document.amount, reason=document.reason))
    elif isinstance(document, Customer):
        rows.customers.append(dict(
            shop_id=shop_id, customer_id=document.customer_id, name=document.name, phone=document.phone,
            cnic=document.cnic, ntn=document.ntn, credit_limit=document.credit_limit, created_at=utc_text(when),
            updated_at=utc_text(when), source="till", document_id=document.id))
    _khata_entry(rows, shop_id, document, day, when)


def utc_text(when: datetime) -> str:
    """A true time as the cloud stores times (service/clock.py: UTC, milliseconds, Z), so a customer
    document's time and an owner's edit (utc_now) compare as text."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _khata_entry(rows: Projection, shop_id: str, document: AnyDocument, day: str, when: datetime) -> None:
    """The khata row of a document that writes to a customer's khata (contract.khata_entry_amounts)."""
    entry = khata_entry_amounts(document)
    if entry is None:
        return
    customer_id, amount = entry
    paid = {"cash": 0, "card": 0, "wallet": 0}
    note = None
    if isinstance(document, KhataPayment):
        for payment in document.payments:
            paid[payment.tender] += payment.amount
        note = document.note
    elif isinstance(document, KhataAdjustment):
        note = document.reason
    rows.khata_entries.append(dict(
        shop_id=shop_id, entry_id=document.id, customer_id=customer_id, kind=document.kind, amount=amount,
        business_date=day, at=utc_text(when), device_code=document.device_code, cashier_id=document.cashier_id,
        receipt=document.receipt_number, shift_id=getattr(document, "shift_id", None), **paid, note=note,
        source="till"))


def _sale_or_refund(rows: Projection, shop_id: str, document: Sale | Refund, day: str, hour: int, now: str,
                    sign: int, change: int, discount: int, original_id: str | None) -> None:
    # sign: +1 money in and goods out (a sale), -1 money out and goods back (a refund). Tuples in the
    # *_COLUMNS orders above.
    doc_id, kind = document.id, document.kind
    rows.sale_facts.append((
        shop_id, doc_id, kind, day, document.device_code, document.total, document.tax, document.cashier_id,
        document.shift_id, discount, change, original_id, document.receipt_number, hour,
        document.service_fee if kind == "sale" else 0))
    tenders = rows.tender_facts
    for p in document.payments:
        tenders.append((shop_id, doc_id, day, p.tender, sign * p.amount, p.reference, p.wallet, p.unverified))
    if change:   # change leaves the drawer as cash
        tenders.append((shop_id, doc_id, day, "cash", -change, None, None, False))
    lines, ledger = rows.line_facts, rows.stock_ledger
    for n, line in enumerate(document.lines):
        qty = sign * line.qty
        lines.append((shop_id, doc_id, n, day, line.sku, line.unit, qty, sign * line.amount, sign * line.tax,
                      line.gst_bp, line.name))
        ledger.append((shop_id, line.sku, -qty, kind, doc_id, now))


@dataclass
class _RowsInHand:
    """The rows of one keyed table (shifts, customers) a batch of documents works on, read once: those
    stored (`known`), those the batch makes (`new`) and copies of the stored ones it may change
    (`changed`). The rules of each table change the rows in memory; `write` then stores them: new rows
    with one multi-row insert, each changed one with an update only if it differs from what was read."""

    table: Table
    key: str
    shop_id: str
    known: dict[str, dict[str, Any]]
    new: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, conn: Connection, table: Table, key: str, shop_id: str, ids: set[str]) -> "_RowsInHand":
        c = table.c
        known = {getattr(row, key): dict(row._mapping) for row in conn.execute(
            select(table).where(c.shop_id == shop_id, c[key].in_(ids))).all()}
        return cls(table, key, shop_id, known)

    def get(self, key: str) -> dict[str, Any] | None:
        """The working row of `key` (made or changed by this batch, else a copy of the stored one), or None."""
        row = self.new.get(key) or self.changed.get(key)
        if row is None and key in self.known:
            row = self.changed[key] = dict(self.known[key])
        return row

    def write(self, conn: Connection) -> None:
        c = self.table.c
        _insert(conn, self.table, list(self.new.values()))
        for key, row in self.changed.items():
            if row != self.known[key]:
                conn.execute(update(self.table).where(c.shop_id == self.shop_id, c[self.key] == key)
                                   .values({k: v for k, v in row.items() if k not in ("shop_id", self.key)}))


_SHIFT_COLUMNS = [c.name for c in schema.shifts.columns]


def _write_shifts(conn: Connection, shop_id: str, changes: list[_ShiftChange]) -> None:
    """Apply shift openings and closings in order, over the rows the shifts already have.

    The rules, one document after another: the first document of a shift makes its row (with its
    device and day); an opening arriving after its closing fills the opening in and moves the
    shift to the opening's day; a shift is closed once, so a second closing (another document)
    stays in the journal but does not replace the first count. Worked out in memory over one read,
    then written: new shifts with one multi-row insert, changed ones with one update each (a shift
    has two documents, so a batch rarely changes more than a couple).
    """
    rows = _RowsInHand.read(conn, schema.shifts, "shift_id", shop_id, {change.shift_id for change in changes})
    for change in changes:
        row = rows.get(change.shift_id)
        if row is None:
            rows.new[change.shift_id] = {**dict.fromkeys(_SHIFT_COLUMNS), "shop_id": shop_id,
                                         "shift_id": change.shift_id, "device_code": change.device_code,
                                         "business_date": change.day, **change.values}
        elif change.opening:
            # The closing came first: the shift belongs to the day it was opened.
            row.update(business_date=change.day, **change.values)
        elif row["close_document_id"] is None:
            row.update(change.values)
    rows.write(conn)


_CUSTOMER_DETAILS = ("name", "phone", "cnic", "ntn", "credit_limit", "updated_at", "source", "document_id")


def _write_customers(conn: Connection, shop_id: str, documents: list[dict[str, Any]],
                     entries: list[dict[str, Any]]) -> None:
    """Customer documents over the rows held, the latest true time winning; then a placeholder row for
    any customer a khata entry names whom the cloud does not know yet (their document still on its way).

    The rule: a document's details replace the row's only if its time is later than the row's
    updated_at (an owner's edit, or another document); an older or equal one changes nothing but
    may move created_at earlier (the earliest customer document's time). Worked out in memory over
    one read, then written; tests/cloud/test_set_based_ingest.py holds it to one document at a time.
    """
    ids = {row["customer_id"] for row in documents} | {entry["customer_id"] for entry in entries}
    rows = _RowsInHand.read(conn, schema.customers, "customer_id", shop_id, ids)
    for doc in documents:
        row = rows.get(doc["customer_id"])
        if row is None:
            rows.new[doc["customer_id"]] = dict(doc)
            continue
        if row["updated_at"] == "":
            # A placeholder (a khata entry came first): its first document says who and since when, so
            # the row ends the same whichever order a batch or batches brought them in.
            row.update({name: doc[name] for name in (*_CUSTOMER_DETAILS, "created_at")})
        elif doc["updated_at"] > row["updated_at"]:
            row.update({name: doc[name] for name in _CUSTOMER_DETAILS})
        if row["created_at"] > doc["created_at"]:
            row["created_at"] = doc["created_at"]
    rows.write(conn)
    unknown = {}
    for entry in entries:
        if entry["customer_id"] not in rows.known and entry["customer_id"] not in rows.new:
            unknown.setdefault(entry["customer_id"], dict(
                shop_id=shop_id, customer_id=entry["customer_id"], name="", phone=None, cnic=None, ntn=None,
                credit_limit=0, created_at=entry["at"], updated_at="", source="till", document_id=None))
    if unknown:
        conn.execute(insert_or_ignore(conn, schema.customers), list(unknown.values()))
