"""What each newly stored document means for reports and stock, written in the ingest transaction.

One function per kind. Sales and refunds are facts (sale_facts, kind "sale" / "refund", amounts
positive) with their lines and payments; a refund's payments are negative tender amounts and its
goods go back into stock. Shifts are one row per shift, filled from its opening and its closing
in whichever order they arrive; cash movements are rows of their own.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .contract import AnyDocument, CashMovement, Payment, Refund, Sale, ShiftClose, ShiftOpen
from .database import insert_or_ignore


async def project(conn: AsyncConnection, shop_id: str, document: AnyDocument, day: str, now: str) -> None:
    """Derive the reporting and stock facts of a newly stored document."""
    if isinstance(document, Sale):
        await _sale_or_refund(conn, shop_id, document, day, now, sign=1, change=document.change,
                              discount=document.discount, original_id=None)
    elif isinstance(document, Refund):
        await _sale_or_refund(conn, shop_id, document, day, now, sign=-1, change=0, discount=0,
                              original_id=document.original_id)
    elif isinstance(document, ShiftOpen):
        await _shift(conn, shop_id, document, day, dict(
            opened_at=document.created_at, opened_by=document.cashier_id, opening_float=document.opening_float,
            open_receipt=document.receipt_number))
    elif isinstance(document, ShiftClose):
        await _shift(conn, shop_id, document, day, dict(
            close_document_id=document.id, closed_at=document.created_at, closed_by=document.cashier_id,
            counted_cash=document.counted_cash, expected_cash=document.expected_cash,
            confirmed_card=document.confirmed.get("card"), confirmed_wallet=document.confirmed.get("wallet"),
            close_receipt=document.receipt_number))
    elif isinstance(document, CashMovement):
        await conn.execute(schema.cash_movements.insert().values(
            shop_id=shop_id, document_id=document.id, business_date=day, device_code=document.device_code,
            cashier_id=document.cashier_id, shift_id=document.shift_id, direction=document.direction,
            amount=document.amount, reason=document.reason))


async def _sale_or_refund(conn: AsyncConnection, shop_id: str, document: Sale | Refund, day: str, now: str,
                          sign: int, change: int, discount: int, original_id: str | None) -> None:
    # sign: +1 money in and goods out (a sale), -1 money out and goods back (a refund).
    await conn.execute(schema.sale_facts.insert().values(
        shop_id=shop_id, document_id=document.id, kind=document.kind, business_date=day,
        device_code=document.device_code, total=document.total, tax=document.tax,
        cashier_id=document.cashier_id, shift_id=document.shift_id, discount=discount, change=change,
        original_id=original_id))
    tenders: list[dict[str, Any]] = [_tender(shop_id, document.id, day, p, sign * p.amount)
                                     for p in document.payments]
    if change:   # change leaves the drawer as cash
        tenders.append(dict(shop_id=shop_id, document_id=document.id, business_date=day, tender="cash",
                            amount=-change, reference=None, wallet=None, unverified=False))
    await conn.execute(schema.tender_facts.insert(), tenders)
    await conn.execute(schema.line_facts.insert(), [
        dict(shop_id=shop_id, document_id=document.id, line_no=n, business_date=day, sku=line.sku,
             unit=line.unit, qty=sign * line.qty, amount=sign * line.amount)
        for n, line in enumerate(document.lines)])
    await conn.execute(schema.stock_ledger.insert(), [
        dict(shop_id=shop_id, sku=line.sku, qty=-sign * line.qty, reason=document.kind, document_id=document.id,
             created_at=now)
        for line in document.lines])


def _tender(shop_id: str, document_id: str, day: str, payment: Payment, amount: int) -> dict[str, Any]:
    return dict(shop_id=shop_id, document_id=document_id, business_date=day, tender=payment.tender, amount=amount,
                reference=payment.reference, wallet=payment.wallet, unverified=payment.unverified)


async def _shift(conn: AsyncConnection, shop_id: str, document: ShiftOpen | ShiftClose, day: str,
                 values: dict[str, Any]) -> None:
    shift_id = document.id if isinstance(document, ShiftOpen) else document.shift_id
    created = await conn.execute(insert_or_ignore(conn, schema.shifts).values(
        shop_id=shop_id, shift_id=shift_id, device_code=document.device_code, business_date=day, **values))
    if created.rowcount == 1:
        return
    s = schema.shifts.c
    key = (s.shop_id == shop_id, s.shift_id == shift_id)
    if isinstance(document, ShiftOpen):
        # The closing came first: the shift belongs to the day it was opened.
        await conn.execute(update(schema.shifts).where(*key).values(business_date=day, **values))
    else:
        # A shift is closed once: a second closing (another document) is kept in the journal but
        # does not replace the first count.
        await conn.execute(update(schema.shifts).where(*key, s.close_document_id.is_(None)).values(**values))
