"""What the owner reads: the day's summary, the journal, and the sync health of the shop."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import case, func, select

from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .contract import CLOCK_SKEW_WARN_MS, describe_skew, receipt_number
from .ingest import missing_ranges


async def counter_figures(conn: AsyncConnection, shop_id: str, *, day: str | None = None,
                          shift_id: str | None = None) -> dict[str, Any]:
    """Sales, refunds, discounts, tenders, cashiers and drawer movements of one business day or one shift.

    Refunds count on their own day (or shift), not their sale's; by_tender is net of change and of
    refunds, so its cash is what the drawer gained from trade.
    """
    f, t, m = schema.sale_facts.c, schema.tender_facts.c, schema.cash_movements.c
    paid: tuple[Any, ...] = ()
    if shift_id is not None:
        facts, moves = (f.shop_id == shop_id, f.shift_id == shift_id), (m.shop_id == shop_id, m.shift_id == shift_id)
    else:
        facts, moves = (f.shop_id == shop_id, f.business_date == day), (m.shop_id == shop_id, m.business_date == day)
        # A payment is filed under its document's day (projections.py), so naming the day on the tender
        # facts too lets PostgreSQL join two day-sized index scans instead of looking up every sale's
        # payments one by one: 60-90 ms -> 2-8 ms a query with 1,000,000 sales (tests/bench/office_pages.py).
        paid = (t.shop_id == shop_id, t.business_date == day)
    by_kind = {row.kind: row for row in (await conn.execute(
        select(f.kind, func.count().label("n"), func.sum(f.total).label("total"), func.sum(f.tax).label("tax"),
               func.sum(f.discount).label("discount"))
        .where(*facts).group_by(f.kind))).all()}
    sales, refunds = by_kind.get("sale"), by_kind.get("refund")
    tenders = select(t.tender, func.sum(t.amount)).join(
        schema.sale_facts, (f.shop_id == t.shop_id) & (f.document_id == t.document_id)).where(*facts, *paid)
    by_tender = dict((await conn.execute(tenders.group_by(t.tender))).all())
    unverified = (await conn.execute(
        select(func.count(), func.coalesce(func.sum(t.amount), 0))
        .select_from(schema.tender_facts.join(
            schema.sale_facts, (f.shop_id == t.shop_id) & (f.document_id == t.document_id)))
        .where(*facts, *paid, f.kind == "sale", t.tender == "wallet", t.unverified.is_(True)))).one()
    moved = dict((await conn.execute(select(m.direction, func.sum(m.amount)).where(*moves)
                                     .group_by(m.direction))).all())
    gross, refunded = _int(sales, "total"), _int(refunds, "total")
    return {
        "sales_count": sales.n if sales else 0,
        "gross": gross,
        "refunds_count": refunds.n if refunds else 0,
        "refunds": refunded,
        "net": gross - refunded,
        "discounts": _int(sales, "discount"),
        "tax": _int(sales, "tax") - _int(refunds, "tax"),
        "by_tender": {k: int(v) for k, v in sorted(by_tender.items())},
        "by_cashier": await _by_cashier(conn, shop_id, facts),
        "paid_in": int(moved.get("in", 0)),
        "paid_out": int(moved.get("out", 0)),
        "unverified": {"count": int(unverified[0]), "amount": int(unverified[1])},
    }


def _int(row: Any, field: str) -> int:
    return int(getattr(row, field) or 0) if row is not None else 0


async def _by_cashier(conn: AsyncConnection, shop_id: str, facts: tuple[Any, ...]) -> dict[str, Any]:
    f, c = schema.sale_facts.c, schema.cashiers.c
    names = dict((await conn.execute(select(c.cashier_id, c.name).where(c.shop_id == shop_id))).all())
    cashiers: dict[str, dict[str, Any]] = {}
    rows = (await conn.execute(select(f.cashier_id, f.kind, func.count(), func.sum(f.total))
                               .where(*facts).group_by(f.cashier_id, f.kind))).all()
    for cashier_id, kind, count, total in sorted(rows, key=lambda r: (r[0] or "", r[1])):
        key = cashier_id or ""
        entry = cashiers.setdefault(key, {"name": names.get(cashier_id), "sales_count": 0, "gross": 0,
                                          "refunds_count": 0, "refunds": 0, "net": 0})
        prefix = "sales" if kind == "sale" else "refunds"
        entry[f"{prefix}_count"] += int(count)
        entry["gross" if kind == "sale" else "refunds"] += int(total)
        entry["net"] = entry["gross"] - entry["refunds"]
    return cashiers


async def daily_summary(conn: AsyncConnection, shop_id: str, day: date) -> dict[str, Any]:
    """One business day: sales, refunds, net, discounts, tax, tenders, tills, cashiers, drawer, loose goods."""
    f, lf = schema.sale_facts.c, schema.line_facts.c
    figures = await counter_figures(conn, shop_id, day=day.isoformat())
    signed = case((f.kind == "refund", -f.total), else_=f.total)
    by_device = dict((await conn.execute(select(f.device_code, func.sum(signed))
                                         .where(f.shop_id == shop_id, f.business_date == day.isoformat())
                                         .group_by(f.device_code))).all())
    loose = (await conn.execute(select(lf.sku, lf.unit, func.sum(lf.qty), func.sum(lf.amount))
                                .where(lf.shop_id == shop_id, lf.business_date == day.isoformat(), lf.unit != "each")
                                .group_by(lf.sku, lf.unit).order_by(lf.sku))).all()
    return {
        "date": day.isoformat(),
        **figures,
        # Net of refunds, like by_tender: what each till took that day.
        "by_device": {k: int(v) for k, v in sorted(by_device.items())},
        # Grams (kg) or millilitres (l) sold, net of returns, and what they sold for.
        "loose": {sku: {"unit": unit, "qty": int(qty), "amount": int(amount)} for sku, unit, qty, amount in loose},
    }


async def list_documents(conn: AsyncConnection, shop_id: str, kind: str | None, first: date | None,
                         last: date | None, after: int, limit: int) -> dict[str, Any]:
    """The shop's journal in ingest order, filtered by kind and business day, paged by cursor."""
    d = schema.documents.c
    query = select(d.ingest_seq, d.body, d.received_at, d.ingested_at, d.business_date).where(
        d.shop_id == shop_id, d.ingest_seq > after)
    if kind:
        query = query.where(d.kind == kind)
    if first:
        query = query.where(d.business_date >= first.isoformat())
    if last:
        query = query.where(d.business_date <= last.isoformat())
    rows = (await conn.execute(query.order_by(d.ingest_seq).limit(limit + 1))).all()
    page = rows[:limit]
    documents = []
    for row in page:
        body = json.loads(row.body)
        # business_date: the day the cloud filed it under (its true time, contract.true_time).
        documents.append(dict(body, receipt_number=receipt_number(body["device_code"], body["seq"]),
                              received_at=row.received_at, ingested_at=row.ingested_at,
                              business_date=row.business_date))
    return {"documents": documents, "next_after": page[-1].ingest_seq if len(rows) > limit else None}


async def sync_health(conn: AsyncConnection, shop_id: str) -> dict[str, Any]:
    """Every gateway and device: last heard, backlog, oldest unsynced, missing receipt numbers, revoked."""
    g, dv, d = schema.gateways.c, schema.devices.c, schema.documents.c
    gateways = []
    seen: dict[str, dict[str, Any]] = {}   # device_id -> what a box last said of that tablet
    for row in (await conn.execute(select(g.id, g.name, g.last_heard_at, g.last_heartbeat, g.revoked_at)
                                   .where(g.shop_id == shop_id).order_by(g.enrolled_at))).all():
        beat = json.loads(row.last_heartbeat) if row.last_heartbeat else {}
        for tablet in beat.get("devices", []):
            if not isinstance(tablet, dict) or not isinstance(tablet.get("device_id"), str):
                continue
            newest = seen.get(tablet["device_id"], {})
            if str(tablet.get("last_seen_at") or "") > str(newest.get("last_seen_at") or ""):
                seen[tablet["device_id"]] = tablet
        gateways.append({"gateway_id": row.id, "name": row.name, "last_heard_at": row.last_heard_at,
                         "backlog": beat.get("backlog"), "oldest_unsynced_at": beat.get("oldest_unsynced_at"),
                         "version": beat.get("version"), "parked": beat.get("parked", 0),
                         "parked_reasons": beat.get("parked_reasons", []), "revoked_at": row.revoked_at})
    devices = []
    for row in (await conn.execute(select(dv.device_id, dv.device_code, dv.last_heard_at, dv.contiguous_seq,
                                          dv.max_seq, dv.clock_skew_ms, dv.revoked_at)
                                   .where(dv.shop_id == shop_id).order_by(dv.device_code))).all():
        present = (await conn.execute(select(d.seq).where(
            d.shop_id == shop_id, d.device_id == row.device_id, d.seq > row.contiguous_seq))).scalars().all()
        missing = [[receipt_number(row.device_code, a), receipt_number(row.device_code, b)]
                   for a, b in missing_ranges(row.contiguous_seq, list(present))]
        gaps = [f"{first} … {last} missing" if first != last else f"{first} missing" for first, last in missing]
        skewed = row.clock_skew_ms is not None and abs(row.clock_skew_ms) > CLOCK_SKEW_WARN_MS
        devices.append({"device_id": row.device_id, "device_code": row.device_code,
                        "last_heard_at": row.last_heard_at, "contiguous_seq": row.contiguous_seq,
                        "max_seq": row.max_seq, "gaps": gaps, "missing": missing, "clock_skew_ms": row.clock_skew_ms,
                        "clock_warning": f"{row.device_code}'s clock is {describe_skew(row.clock_skew_ms)}"
                                         if skewed else None, "revoked_at": row.revoked_at,
                        # A tablet talks to its box even when it sells nothing: the box's word for it.
                        "seen_by_box_at": seen.get(row.device_id, {}).get("last_seen_at"),
                        "name": seen.get(row.device_id, {}).get("name")})
    return {"gateways": gateways, "devices": devices}
