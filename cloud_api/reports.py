"""What the owner reads: the day's summary, the journal, and the sync health of the shop."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import func, select

from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .contract import CLOCK_SKEW_WARN_MS, describe_skew, receipt_number
from .ingest import missing_ranges


async def daily_summary(conn: AsyncConnection, shop_id: str, day: date) -> dict[str, Any]:
    """Sales count, gross, refunds, net, tax, by tender and by device for one business day."""
    f, t = schema.sale_facts.c, schema.tender_facts.c
    where = (f.shop_id == shop_id, f.business_date == day.isoformat())
    sales = (await conn.execute(select(func.count(), func.coalesce(func.sum(f.total), 0),
                                       func.coalesce(func.sum(f.tax), 0))
                                .where(*where, f.kind == "sale"))).one()
    by_device = dict((await conn.execute(select(f.device_code, func.sum(f.total))
                                         .where(*where).group_by(f.device_code))).all())
    by_tender = dict((await conn.execute(select(t.tender, func.sum(t.amount))
                                         .where(t.shop_id == shop_id, t.business_date == day.isoformat())
                                         .group_by(t.tender))).all())
    gross, refunds = int(sales[1]), 0   # refunds project here once the refund issue lands
    return {
        "date": day.isoformat(),
        "sales_count": int(sales[0]),
        "gross": gross,
        "refunds": refunds,
        "net": gross - refunds,
        "tax": int(sales[2]),
        "by_tender": {k: int(v) for k, v in sorted(by_tender.items())},
        "by_device": {k: int(v) for k, v in sorted(by_device.items())},
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
    """Every gateway and device: last heard, backlog, oldest unsynced, missing receipt numbers."""
    g, dv, d = schema.gateways.c, schema.devices.c, schema.documents.c
    gateways = []
    for row in (await conn.execute(select(g.id, g.name, g.last_heard_at, g.last_heartbeat)
                                   .where(g.shop_id == shop_id).order_by(g.enrolled_at))).all():
        beat = json.loads(row.last_heartbeat) if row.last_heartbeat else {}
        gateways.append({"gateway_id": row.id, "name": row.name, "last_heard_at": row.last_heard_at,
                         "backlog": beat.get("backlog"), "oldest_unsynced_at": beat.get("oldest_unsynced_at"),
                         "version": beat.get("version"), "parked": beat.get("parked", 0),
                         "parked_reasons": beat.get("parked_reasons", [])})
    devices = []
    for row in (await conn.execute(select(dv.device_id, dv.device_code, dv.last_heard_at, dv.contiguous_seq,
                                          dv.max_seq, dv.clock_skew_ms)
                                   .where(dv.shop_id == shop_id).order_by(dv.device_code))).all():
        present = (await conn.execute(select(d.seq).where(
            d.shop_id == shop_id, d.device_id == row.device_id, d.seq > row.contiguous_seq))).scalars().all()
        gaps = [f"{receipt_number(row.device_code, a)} … {receipt_number(row.device_code, b)} missing"
                if a != b else f"{receipt_number(row.device_code, a)} missing"
                for a, b in missing_ranges(row.contiguous_seq, list(present))]
        skewed = row.clock_skew_ms is not None and abs(row.clock_skew_ms) > CLOCK_SKEW_WARN_MS
        devices.append({"device_id": row.device_id, "device_code": row.device_code,
                        "last_heard_at": row.last_heard_at, "contiguous_seq": row.contiguous_seq,
                        "max_seq": row.max_seq, "gaps": gaps, "clock_skew_ms": row.clock_skew_ms,
                        "clock_warning": f"{row.device_code}'s clock is {describe_skew(row.clock_skew_ms)}"
                                         if skewed else None})
    return {"gateways": gateways, "devices": devices}
