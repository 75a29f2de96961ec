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

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .contract import (AnyDocument, CashMovement, Customer, KhataAdjustment, KhataPayment, Payment, Refund, Sale,
                       ShiftClose, ShiftOpen, khata_entry_amounts)
from .database import insert_or_ignore, insert_rows


@dataclass
class _ShiftChange:
    shift_id: str
    opening: bool           # a shift_open (else a shift_close)
    device_code: str
    day: str
    values: dict[str, Any]


@dataclass
class Projection:
    """The projection rows of newly stored documents of one shop, in the order they were stored."""

    shop_id: str
    sale_facts: list[dict[str, Any]] = field(default_factory=list)
    tender_facts: list[dict[str, Any]] = field(default_factory=list)
    line_facts: list[dict[str, Any]] = field(default_factory=list)
    stock_ledger: list[dict[str, Any]] = field(default_factory=list)
    cash_movements: list[dict[str, Any]] = field(default_factory=list)
    shift_changes: list[_ShiftChange] = field(default_factory=list)
    khata_entries: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)   # customer documents' details

    async def write(self, conn: AsyncConnection) -> None:
        """Store every row held, one statement per table, straight through the driver (_insert)."""
        for table, rows in ((schema.sale_facts, self.sale_facts), (schema.tender_facts, self.tender_facts),
                            (schema.line_facts, self.line_facts), (schema.stock_ledger, self.stock_ledger),
                            (schema.cash_movements, self.cash_movements)):
            await _insert(conn, table, rows)
        if self.shift_changes:
            await _write_shifts(conn, self.shop_id, self.shift_changes)
        if self.customers or self.khata_entries:
            await _write_customers(conn, self.shop_id, self.customers, self.khata_entries)
        await _insert(conn, schema.khata_entries, self.khata_entries)


async def _insert(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows made here (dicts with the same keys, plain str / int / bool / None values) with
    database.insert_rows: SQLAlchemy's per-row parameter processing doubled the cost of each row."""
    if rows:
        columns = tuple(rows[0])   # every row has these keys (a missing one is a KeyError, not a NULL)
        await insert_rows(conn, table, columns, [tuple(row[c] for c in columns) for row in rows] if len(columns) == 1
                          else list(map(itemgetter(*columns), rows)))   # itemgetter of one key gives no tuple


async def project(rows: Projection, shop_id: str, document: AnyDocument, when: datetime, now: str) -> None:
    """Derive the reporting and stock facts of a newly stored document into `rows` (written by rows.write).

    `when` is the document's true time on the shop's clock (contract.shop_time): its date is the
    business day the document is filed under, its hour the by-hour chart's.

    Async, and the one call ingest makes per stored document, so a test can make it fail for one
    document as a bug in the cloud would (tests/gateway/test_poison.py).
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
    # sign: +1 money in and goods out (a sale), -1 money out and goods back (a refund).
    rows.sale_facts.append(dict(
        shop_id=shop_id, document_id=document.id, kind=document.kind, business_date=day,
        device_code=document.device_code, total=document.total, tax=document.tax,
        cashier_id=document.cashier_id, shift_id=document.shift_id, discount=discount, change=change,
        original_id=original_id, receipt=document.receipt_number, hour=hour,
        service_fee=document.service_fee if isinstance(document, Sale) else 0))
    rows.tender_facts.extend(_tender(shop_id, document.id, day, p, sign * p.amount) for p in document.payments)
    if change:   # change leaves the drawer as cash
        rows.tender_facts.append(dict(shop_id=shop_id, document_id=document.id, business_date=day, tender="cash",
                                      amount=-change, reference=None, wallet=None, unverified=False))
    rows.line_facts.extend(
        dict(shop_id=shop_id, document_id=document.id, line_no=n, business_date=day, sku=line.sku,
             unit=line.unit, qty=sign * line.qty, amount=sign * line.amount, tax=sign * line.tax,
             gst_bp=line.gst_bp, name=line.name)
        for n, line in enumerate(document.lines))
    rows.stock_ledger.extend(
        dict(shop_id=shop_id, sku=line.sku, qty=-sign * line.qty, reason=document.kind, document_id=document.id,
             created_at=now)
        for line in document.lines)


def _tender(shop_id: str, document_id: str, day: str, payment: Payment, amount: int) -> dict[str, Any]:
    return dict(shop_id=shop_id, document_id=document_id, business_date=day, tender=payment.tender, amount=amount,
                reference=payment.reference, wallet=payment.wallet, unverified=payment.unverified)


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
    async def read(cls, conn: AsyncConnection, table: Table, key: str, shop_id: str, ids: set[str]) -> "_RowsInHand":
        c = table.c
        known = {getattr(row, key): dict(row._mapping) for row in (await conn.execute(
            select(table).where(c.shop_id == shop_id, c[key].in_(ids)))).all()}
        return cls(table, key, shop_id, known)

    def get(self, key: str) -> dict[str, Any] | None:
        """The working row of `key` (made or changed by this batch, else a copy of the stored one), or None."""
        row = self.new.get(key) or self.changed.get(key)
        if row is None and key in self.known:
            row = self.changed[key] = dict(self.known[key])
        return row

    async def write(self, conn: AsyncConnection) -> None:
        c = self.table.c
        await _insert(conn, self.table, list(self.new.values()))
        for key, row in self.changed.items():
            if row != self.known[key]:
                await conn.execute(update(self.table).where(c.shop_id == self.shop_id, c[self.key] == key)
                                   .values({k: v for k, v in row.items() if k not in ("shop_id", self.key)}))


_SHIFT_COLUMNS = [c.name for c in schema.shifts.columns]


async def _write_shifts(conn: AsyncConnection, shop_id: str, changes: list[_ShiftChange]) -> None:
    """Apply shift openings and closings in order, over the rows the shifts already have.

    The rules, one document after another: the first document of a shift makes its row (with its
    device and day); an opening arriving after its closing fills the opening in and moves the
    shift to the opening's day; a shift is closed once, so a second closing (another document)
    stays in the journal but does not replace the first count. Worked out in memory over one read,
    then written: new shifts with one multi-row insert, changed ones with one update each (a shift
    has two documents, so a batch rarely changes more than a couple).
    """
    rows = await _RowsInHand.read(conn, schema.shifts, "shift_id", shop_id, {change.shift_id for change in changes})
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
    await rows.write(conn)


_CUSTOMER_DETAILS = ("name", "phone", "cnic", "ntn", "credit_limit", "updated_at", "source", "document_id")


async def _write_customers(conn: AsyncConnection, shop_id: str, documents: list[dict[str, Any]],
                           entries: list[dict[str, Any]]) -> None:
    """Customer documents over the rows held, the latest true time winning; then a placeholder row for
    any customer a khata entry names whom the cloud does not know yet (their document still on its way).

    The rule: a document's details replace the row's only if its time is later than the row's
    updated_at (an owner's edit, or another document); an older or equal one changes nothing but
    may move created_at earlier (the earliest customer document's time). Worked out in memory over
    one read, then written; tests/cloud/test_set_based_ingest.py holds it to one document at a time.
    """
    ids = {row["customer_id"] for row in documents} | {entry["customer_id"] for entry in entries}
    rows = await _RowsInHand.read(conn, schema.customers, "customer_id", shop_id, ids)
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
    await rows.write(conn)
    unknown = {}
    for entry in entries:
        if entry["customer_id"] not in rows.known and entry["customer_id"] not in rows.new:
            unknown.setdefault(entry["customer_id"], dict(
                shop_id=shop_id, customer_id=entry["customer_id"], name="", phone=None, cnic=None, ntn=None,
                credit_limit=0, created_at=entry["at"], updated_at="", source="till", document_id=None))
    if unknown:
        await conn.execute(insert_or_ignore(conn, schema.customers), list(unknown.values()))
