"""What each newly stored document means for reports and stock, written in the ingest transaction.

One function per kind. Sales and refunds are facts (sale_facts, kind "sale" / "refund", amounts
positive) with their lines and payments; a refund's payments are negative tender amounts and its
goods go back into stock. Shifts are one row per shift, filled from its opening and its closing
in whichever order they arrive; cash movements are rows of their own.

`project` derives a document's rows into a `Projection`; `Projection.write` then stores the rows
of every document it holds with one multi-row statement per table, so a batch of 500 sales costs
a handful of statements, not thousands. Ingest one document at a time (its reference path) simply
writes a Projection of one document.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .contract import AnyDocument, CashMovement, Payment, Refund, Sale, ShiftClose, ShiftOpen


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

    async def write(self, conn: AsyncConnection) -> None:
        """Store every row held, one executemany per table (the driver's fast path for plain inserts)."""
        for table, rows in ((schema.sale_facts, self.sale_facts), (schema.tender_facts, self.tender_facts),
                            (schema.line_facts, self.line_facts), (schema.stock_ledger, self.stock_ledger),
                            (schema.cash_movements, self.cash_movements)):
            if rows:
                await conn.execute(table.insert(), rows)
        if self.shift_changes:
            await _write_shifts(conn, self.shop_id, self.shift_changes)


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
    s = schema.shifts.c
    ids = {change.shift_id for change in changes}
    known = {row.shift_id: dict(row._mapping) for row in (await conn.execute(
        select(schema.shifts).where(s.shop_id == shop_id, s.shift_id.in_(ids)))).all()}
    new: dict[str, dict[str, Any]] = {}
    changed: dict[str, dict[str, Any]] = {}
    for change in changes:
        row = new.get(change.shift_id) or changed.get(change.shift_id)
        if row is None and change.shift_id in known:
            row = changed[change.shift_id] = dict(known[change.shift_id])
        if row is None:
            new[change.shift_id] = {**dict.fromkeys(_SHIFT_COLUMNS), "shop_id": shop_id, "shift_id": change.shift_id,
                                    "device_code": change.device_code, "business_date": change.day, **change.values}
        elif change.opening:
            # The closing came first: the shift belongs to the day it was opened.
            row.update(business_date=change.day, **change.values)
        elif row["close_document_id"] is None:
            row.update(change.values)
    if new:
        await conn.execute(schema.shifts.insert(), list(new.values()))
    for shift_id, row in changed.items():
        if row != known[shift_id]:
            await conn.execute(update(schema.shifts).where(s.shop_id == shop_id, s.shift_id == shift_id)
                               .values({k: v for k, v in row.items() if k not in ("shop_id", "shift_id")}))
