"""Z-reports: each shift worked out again from its documents, beside what the till counted and expected.

The same rules as the till's (web_till/shift.js zReport) and the box's (gateway/receipt_model.py
z_report), so `disagrees` means a document one of them lacks, never a different sum:
- by_tender holds on_account too (sales' on-account payments less refunds'): credit, not money;
- khata_collected {"cash", "card", "wallet"}: khata payments naming the shift, by tender;
- expected_cash = float + by_tender.cash + khata_collected.cash + paid in - paid out.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .khata import khata_collected
from .reports import shift_figures


def expected_cash(opening_float: int, figures: dict[str, Any]) -> int:
    """float + cash taken - change - cash refunded + khata cash received + paid in - paid out.

    by_tender's cash is already net of change and of cash refunds (cloud_api/projections.py); on-account
    sales are tender on_account, so no cash; khata payments are no sale, so they are added on their own.
    """
    return (opening_float + figures["by_tender"].get("cash", 0) + figures.get("khata_collected", {}).get("cash", 0)
            + figures["paid_in"] - figures["paid_out"])


async def shift_reports(conn: AsyncConnection, shop_id: str, day: date) -> dict[str, Any]:
    """The shifts opened on `day` (a business day), and those opened before it that are still open."""
    s = schema.shifts.c
    rows = (await conn.execute(select(schema.shifts).where(s.shop_id == shop_id, or_(
        s.business_date == day.isoformat(),
        and_(s.close_document_id.is_(None), s.business_date < day.isoformat()))))).all()
    rows = sorted(rows, key=lambda r: (r.opened_at or r.closed_at or "", r.device_code, r.shift_id))
    return {"date": day.isoformat(), "shifts": await _z_reports(conn, shop_id, rows)}


async def shifts_between(conn: AsyncConnection, shop_id: str, first: str, last: str) -> list[dict[str, Any]]:
    """The Z-report of each shift opened (or, until its opening arrives, closed) from `first` to `last`."""
    s = schema.shifts.c
    rows = (await conn.execute(select(schema.shifts).where(
        s.shop_id == shop_id, s.business_date >= first, s.business_date <= last))).all()
    rows = sorted(rows, key=lambda r: (r.business_date, r.opened_at or r.closed_at or "", r.device_code, r.shift_id))
    return await _z_reports(conn, shop_id, rows)


async def _z_reports(conn: AsyncConnection, shop_id: str, shifts: list[Any]) -> list[dict[str, Any]]:
    """The Z-report of each of `shifts` (rows of schema.shifts), their figures worked out together."""
    ids = [shift.shift_id for shift in shifts]
    figures = await shift_figures(conn, shop_id, ids)
    collected = await khata_collected(conn, shop_id, ids)
    drawers = await drawer_openings(conn, shop_id, shifts)
    return [_z_report(shift, {**figures[shift.shift_id], "khata_collected": collected[shift.shift_id]},
                      drawers.get(shift.shift_id, [])) for shift in shifts]


async def drawer_openings(conn: AsyncConnection, shop_id: str, shifts: list[Any]) -> dict[str, list[str]]:
    """The reasons given for each shift's drawer openings without a sale ("Open drawer" on a till: a
    drawer_open document naming the shift), in the till's order. Such openings are few (a handful a
    day), so the shop's since the first shift's day (less one: a late opening files a shift under its
    closing day) are read and sorted out here rather than by JSON in SQL, the same on SQLite and PostgreSQL."""
    if not shifts:
        return {}
    d = schema.documents.c
    since = (date.fromisoformat(min(shift.business_date for shift in shifts)) - timedelta(days=1)).isoformat()
    wanted = {shift.shift_id for shift in shifts}
    out: dict[str, list[str]] = {}
    for (body,) in (await conn.execute(select(d.body).where(
            d.shop_id == shop_id, d.kind == "drawer_open", d.business_date >= since).order_by(d.device_id, d.seq))):
        opened = json.loads(body)
        if opened.get("shift_id") in wanted:
            out.setdefault(opened["shift_id"], []).append(opened["reason"])
    return out


def _z_report(shift: Any, figures: dict[str, Any], drawer_reasons: list[str]) -> dict[str, Any]:
    expected = expected_cash(shift.opening_float or 0, figures)
    closed = shift.close_document_id is not None
    return {
        "shift_id": shift.shift_id,
        "device_code": shift.device_code,
        "business_date": shift.business_date,
        "open_receipt": shift.open_receipt,
        "opened_at": shift.opened_at,
        "opened_by": shift.opened_by,
        "opening_float": shift.opening_float,    # None while the opening has not arrived
        "closed": closed,
        "close_receipt": shift.close_receipt,
        "closed_at": shift.closed_at,
        "closed_by": shift.closed_by,
        **figures,
        "expected_cash": expected,
        "counted_cash": shift.counted_cash,
        "over_short": shift.counted_cash - expected if closed else None,
        "till_expected_cash": shift.expected_cash,
        # The till and the cloud worked the drawer out differently: a document one of them lacks.
        "disagrees": shift.expected_cash is not None and shift.expected_cash != expected,
        "confirmed": {k: v for k, v in (("card", shift.confirmed_card), ("wallet", shift.confirmed_wallet))
                      if v is not None},
        # "Drawer opened without a sale: N", with why each time: where cash goes missing, for the owner.
        "drawer_openings": len(drawer_reasons),
        "drawer_reasons": drawer_reasons,
    }
