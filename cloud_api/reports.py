"""What the owner reads: the day's summary, the journal, and the sync health of the shop."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, select
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
    if shift_id is not None:
        return (await shift_figures(conn, shop_id, [shift_id]))[shift_id]
    assert day is not None
    f, m = schema.sale_facts.c, schema.cash_movements.c
    return (await _figures_by(conn, shop_id, f.business_date, m.business_date, [day]))[day]


# Shift ids named in one statement: far below SQLite's and asyncpg's 32,766 bound parameters.
_SHIFTS_A_STATEMENT = 1000


async def shift_figures(conn: AsyncConnection, shop_id: str, shift_ids: list[str]) -> dict[str, dict[str, Any]]:
    """counter_figures of each of `shift_ids`, worked out together: a few statements however many shifts."""
    f, m = schema.sale_facts.c, schema.cash_movements.c
    out: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(shift_ids))
    for start in range(0, len(unique), _SHIFTS_A_STATEMENT):
        out.update(await _figures_by(conn, shop_id, f.shift_id, m.shift_id, unique[start:start + _SHIFTS_A_STATEMENT]))
    return out


async def _figures_by(conn: AsyncConnection, shop_id: str, fact_key: Any, move_key: Any,
                      keys: list[str]) -> dict[str, dict[str, Any]]:
    """counter_figures of each of `keys`, a business day or a shift id, grouped by the matching column of
    the sale facts (`fact_key`) and the cash movements (`move_key`)."""
    f, t, m = schema.sale_facts.c, schema.tender_facts.c, schema.cash_movements.c
    facts = (f.shop_id == shop_id, fact_key == keys[0] if len(keys) == 1 else fact_key.in_(keys))
    moves = (m.shop_id == shop_id, move_key == keys[0] if len(keys) == 1 else move_key.in_(keys))
    # One pass over the sale facts by key, cashier and kind: the totals are the sums of the cashiers'.
    rows = (await conn.execute(
        select(fact_key.label("key"), f.cashier_id, f.kind, func.count().label("n"),
               func.sum(f.total).label("total"), func.sum(f.tax).label("tax"),
               func.sum(f.discount).label("discount"), func.sum(f.service_fee).label("service_fee"),
               func.min(f.business_date).label("first"),
               func.max(f.business_date).label("last"))
        .where(*facts).group_by(fact_key, f.cashier_id, f.kind))).all()
    by_tender: dict[str, dict[str, int]] = {key: {} for key in keys}
    unverified = {key: {"count": 0, "amount": 0} for key in keys}
    if rows:
        # A payment is filed under its document's day (projections.py), so naming the days on the tender
        # facts too lets PostgreSQL join two day-sized index scans instead of looking up every sale's
        # payments one by one: 60-90 ms -> 2-8 ms a query with 1,000,000 sales (tests/bench/office_pages.py).
        first, last = min(row.first for row in rows), max(row.last for row in rows)
        # Several days' bounds are written into the statement: with them as parameters, PostgreSQL's
        # generic plan (a prepared statement's sixth run on) guesses a few rows and looks up each
        # payment's sale by key, 0.3 s -> 1 s for the shifts of 30 days with 1,000,000 sales.
        paid = (t.shop_id == shop_id, t.business_date == first) if first == last else (
            t.shop_id == shop_id, t.business_date >= literal(first, literal_execute=True),
            t.business_date <= literal(last, literal_execute=True))
        is_unverified = and_(f.kind == "sale", t.tender == "wallet", t.unverified.is_(True))
        for key, tender, amount, count, held in (await conn.execute(
                select(fact_key, t.tender, func.sum(t.amount), func.sum(case((is_unverified, 1), else_=0)),
                       func.sum(case((is_unverified, t.amount), else_=0)))
                .select_from(schema.tender_facts.join(
                    schema.sale_facts, (f.shop_id == t.shop_id) & (f.document_id == t.document_id)))
                .where(*facts, *paid).group_by(fact_key, t.tender))).all():
            by_tender[key][tender] = int(amount)
            unverified[key]["count"] += int(count or 0)
            unverified[key]["amount"] += int(held or 0)
    moved: dict[str, dict[str, int]] = {key: {} for key in keys}
    for key, direction, amount in (await conn.execute(
            select(move_key, m.direction, func.sum(m.amount)).where(*moves).group_by(move_key, m.direction))).all():
        moved[key][direction] = int(amount)
    cashiers = await _by_cashier(conn, shop_id, keys, rows)
    rows_of: dict[str, list[Any]] = {key: [] for key in keys}
    for row in rows:
        rows_of[row.key].append(row)
    out = {}
    for key in keys:
        sales, refunds = _kind_totals(rows_of[key], "sale"), _kind_totals(rows_of[key], "refund")
        out[key] = {
            "sales_count": sales["n"],
            "gross": sales["total"],
            "refunds_count": refunds["n"],
            "refunds": refunds["total"],
            "net": sales["total"] - refunds["total"],
            "discounts": sales["discount"],
            # The Re 1 FBR / PRA fees inside gross (in no item's amount), which the owner pays over.
            "service_fees": sales["service_fee"],
            "tax": sales["tax"] - refunds["tax"],
            "by_tender": dict(sorted(by_tender[key].items())),
            "by_cashier": cashiers[key],
            "paid_in": moved[key].get("in", 0),
            "paid_out": moved[key].get("out", 0),
            "unverified": unverified[key],
        }
    return out


def _kind_totals(rows: list[Any], kind: str) -> dict[str, int]:
    """Count, total, tax and discount of one key's sale facts of one kind, over its cashiers."""
    mine = [row for row in rows if row.kind == kind]
    return {field: sum(int(getattr(row, field) or 0) for row in mine)
            for field in ("n", "total", "tax", "discount", "service_fee")}


async def _by_cashier(conn: AsyncConnection, shop_id: str, keys: list[str],
                      rows: list[Any]) -> dict[str, dict[str, Any]]:
    """Each key's cashiers (by id, "" for none) from the rows grouped by key, cashier and kind."""
    c = schema.cashiers.c
    names = dict((await conn.execute(select(c.cashier_id, c.name).where(c.shop_id == shop_id))).all())
    out: dict[str, dict[str, Any]] = {key: {} for key in keys}
    for row in sorted(rows, key=lambda r: (r.cashier_id or "", r.kind)):
        entry = out[row.key].setdefault(row.cashier_id or "", {
            "name": names.get(row.cashier_id), "sales_count": 0, "gross": 0, "refunds_count": 0, "refunds": 0,
            "net": 0})
        prefix = "sales" if row.kind == "sale" else "refunds"
        entry[f"{prefix}_count"] += int(row.n)
        entry["gross" if row.kind == "sale" else "refunds"] += int(row.total)
        entry["net"] = entry["gross"] - entry["refunds"]
    return out


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
