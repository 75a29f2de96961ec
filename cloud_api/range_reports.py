"""Reports over a range of business days, for one shop or several, read from the projections.

Every function takes `shop_ids` (one or more shops of one owner) and the first and last business
day (YYYY-MM-DD, both included), and answers rows of integer paisa. Sales and refunds follow the
rules of reports.counter_figures: a refund counts on its own day, not its sale's; net = sales -
refunds; line, tax and tender facts of a refund are already negative (projections.py), so their
sums are net of returns. The day-to-day figures of one day (`today`) reuse counter_figures itself.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .reports import counter_figures
from .shift_reports import shifts_between

UNCATEGORISED = "Uncategorised"

_f, _t, _l = schema.sale_facts.c, schema.tender_facts.c, schema.line_facts.c


def _in(column: Any, shop_ids: list[str]) -> Any:
    return column == shop_ids[0] if len(shop_ids) == 1 else column.in_(shop_ids)


def _facts(shop_ids: list[str], first: str, last: str) -> tuple[Any, ...]:
    return _in(_f.shop_id, shop_ids), _f.business_date >= first, _f.business_date <= last


def _sales_columns() -> list[Any]:
    """Count, gross, refunds, net, tax and discounts of the sale_facts a query groups."""
    is_sale, is_refund = _f.kind == "sale", _f.kind == "refund"
    return [
        func.sum(case((is_sale, 1), else_=0)).label("sales_count"),
        func.sum(case((is_sale, _f.total), else_=0)).label("gross"),
        func.sum(case((is_refund, 1), else_=0)).label("refunds_count"),
        func.sum(case((is_refund, _f.total), else_=0)).label("refunds"),
        func.sum(case((is_sale, _f.tax), else_=-_f.tax)).label("tax"),
        func.sum(case((is_sale, _f.discount), else_=0)).label("discounts"),
    ]


def _sales_row(row: Any, **keys: Any) -> dict[str, Any]:
    gross, refunds = int(row.gross or 0), int(row.refunds or 0)
    return {**keys, "sales_count": int(row.sales_count or 0), "gross": gross,
            "refunds_count": int(row.refunds_count or 0), "refunds": refunds, "net": gross - refunds,
            "tax": int(row.tax or 0), "discounts": int(row.discounts or 0)}


def totals(rows: list[dict[str, Any]], fields: list[str]) -> dict[str, int]:
    """The sum of each of `fields` over `rows` (a report's footer)."""
    return {name: sum(int(row.get(name) or 0) for row in rows) for name in fields}


SALES_FIELDS = ["sales_count", "gross", "refunds_count", "refunds", "net", "tax", "discounts"]


async def by_day(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each business day with sales or refunds: counts, gross, refunds, net, GST and discounts."""
    rows = (await conn.execute(select(_f.business_date, *_sales_columns()).where(*_facts(shop_ids, first, last))
                               .group_by(_f.business_date).order_by(_f.business_date))).all()
    return [_sales_row(row, day=row.business_date) for row in rows]


async def by_item(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each product sold (sku and unit): quantity, amount and GST, net of returns, best sellers first."""
    where = (_in(_l.shop_id, shop_ids), _l.business_date >= first, _l.business_date <= last)
    rows = (await conn.execute(select(_l.sku, _l.unit, func.max(_l.name).label("name"), func.sum(_l.qty).label("qty"),
                                      func.sum(_l.amount).label("amount"), func.sum(_l.tax).label("tax"))
                               .where(*where).group_by(_l.sku, _l.unit))).all()
    items = [{"sku": r.sku, "name": r.name, "unit": r.unit, "qty": int(r.qty or 0), "amount": int(r.amount or 0),
              "tax": int(r.tax or 0)} for r in rows]
    return sorted(items, key=lambda item: (-item["amount"], item["sku"], item["unit"]))


async def by_category(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each product category (as the catalog has it now): amount and GST net of returns."""
    p = schema.products.c
    # Each product's sums first, then its category: the join meets a row per product, not per line.
    sold = (select(_l.shop_id, _l.sku, func.sum(_l.amount).label("amount"), func.sum(_l.tax).label("tax"))
            .where(_in(_l.shop_id, shop_ids), _l.business_date >= first, _l.business_date <= last)
            .group_by(_l.shop_id, _l.sku).subquery("sold"))
    joined = sold.outerjoin(schema.products, and_(p.shop_id == sold.c.shop_id, p.sku == sold.c.sku))
    rows = (await conn.execute(select(p.category, func.count(func.distinct(sold.c.sku)).label("items"),
                                      func.sum(sold.c.amount).label("amount"), func.sum(sold.c.tax).label("tax"))
                               .select_from(joined).group_by(p.category))).all()
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        # A blank category and none at all are the same thing to an owner.
        name = (row.category or "").strip() or UNCATEGORISED
        entry = merged.setdefault(name, {"category": name, "items": 0, "amount": 0, "tax": 0})
        entry["items"] += int(row.items)
        entry["amount"] += int(row.amount or 0)
        entry["tax"] += int(row.tax or 0)
    return sorted(merged.values(), key=lambda e: (-e["amount"], e["category"]))


async def by_tender(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each tender: taken by sales (net of change), paid back by refunds, and net."""
    joined = schema.tender_facts.join(schema.sale_facts,
                                      and_(_f.shop_id == _t.shop_id, _f.document_id == _t.document_id))
    rows = (await conn.execute(
        select(_t.tender, func.sum(case((_f.kind == "sale", _t.amount), else_=0)).label("taken"),
               func.sum(case((_f.kind == "refund", -_t.amount), else_=0)).label("refunded"))
        .select_from(joined)
        # A payment carries its document's day, so either table's (shop, day) index can lead the join.
        .where(*_facts(shop_ids, first, last), _in(_t.shop_id, shop_ids), _t.business_date >= first,
               _t.business_date <= last)
        .group_by(_t.tender).order_by(_t.tender))).all()
    return [{"tender": r.tender, "taken": int(r.taken or 0), "refunded": int(r.refunded or 0),
             "net": int(r.taken or 0) - int(r.refunded or 0)} for r in rows]


async def by_device(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each till (device code): its sales and refunds."""
    rows = (await conn.execute(select(_f.shop_id, _f.device_code, *_sales_columns())
                               .where(*_facts(shop_ids, first, last))
                               .group_by(_f.shop_id, _f.device_code).order_by(_f.device_code, _f.shop_id))).all()
    return [_sales_row(row, shop_id=row.shop_id, device=row.device_code) for row in rows]


async def _cashier_names(conn: AsyncConnection, shop_ids: list[str]) -> dict[tuple[str, str], str]:
    c = schema.cashiers.c
    rows = (await conn.execute(select(c.shop_id, c.cashier_id, c.name).where(_in(c.shop_id, shop_ids)))).all()
    return {(r.shop_id, r.cashier_id): r.name for r in rows}


async def by_cashier(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each cashier (named as the catalog names them now): their sales and refunds."""
    names = await _cashier_names(conn, shop_ids)
    rows = (await conn.execute(select(_f.shop_id, _f.cashier_id, *_sales_columns())
                               .where(*_facts(shop_ids, first, last)).group_by(_f.shop_id, _f.cashier_id))).all()
    out = [_sales_row(r, shop_id=r.shop_id, cashier_id=r.cashier_id or "",
                      cashier=names.get((r.shop_id, r.cashier_id)) or r.cashier_id or "") for r in rows]
    return sorted(out, key=lambda e: (-e["net"], e["cashier"], e["shop_id"]))


async def returns(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each refund on its own day: its receipt, the sale it returned, amount, GST, cashier and till."""
    sold = schema.sale_facts.alias("sold")
    joined = schema.sale_facts.outerjoin(sold, and_(sold.c.shop_id == _f.shop_id,
                                                    sold.c.document_id == _f.original_id))
    rows = (await conn.execute(
        select(_f.shop_id, _f.document_id, _f.business_date, _f.receipt, _f.original_id, _f.total, _f.tax,
               _f.cashier_id, _f.device_code, sold.c.receipt.label("original_receipt"))
        .select_from(joined).where(*_facts(shop_ids, first, last), _f.kind == "refund")
        .order_by(_f.business_date, _f.receipt))).all()
    names = await _cashier_names(conn, shop_ids)
    return [{"shop_id": r.shop_id, "document_id": r.document_id, "day": r.business_date, "receipt": r.receipt or "",
             "original_id": r.original_id, "original_receipt": r.original_receipt or "",
             "amount": int(r.total), "tax": int(r.tax), "device": r.device_code,
             "cashier": names.get((r.shop_id, r.cashier_id)) or r.cashier_id or ""} for r in rows]


async def shifts(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each shift opened in the range, as its Z-report (shift_reports.py), with its cashiers' names."""
    names = await _cashier_names(conn, shop_ids)
    out = []
    for shop_id in shop_ids:
        for z in await shifts_between(conn, shop_id, first, last):
            out.append({**z, "shop_id": shop_id,
                        "opened_by_name": names.get((shop_id, z["opened_by"])) or z["opened_by"] or "",
                        "closed_by_name": names.get((shop_id, z["closed_by"])) or z["closed_by"] or "",
                        "drawer_opened": _drawer_opened(z)})
    return sorted(out, key=lambda z: (z["business_date"], z["opened_at"] or z["closed_at"] or "", z["device_code"]))


def _drawer_opened(z: dict[str, Any]) -> str:
    """How often the shift's drawer was opened without a sale, and why: "2: Change for a customer; Check the float"."""
    reasons = "; ".join(z["drawer_reasons"])
    return f"{z['drawer_openings']}: {reasons}" if reasons else str(z["drawer_openings"])


async def gst(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Each GST rate: sales and returns (tax-inclusive), and the net taxable value (amount - tax) and tax."""
    # Sale lines count up (qty > 0), refund lines down (qty < 0): projections.py signs them.
    is_sale = _l.qty > 0
    rows = (await conn.execute(
        select(_l.gst_bp, func.sum(case((is_sale, _l.amount), else_=0)).label("sales"),
               func.sum(case((is_sale, 0), else_=-_l.amount)).label("returns"),
               func.sum(_l.amount).label("amount"), func.sum(_l.tax).label("tax"))
        .where(_in(_l.shop_id, shop_ids), _l.business_date >= first, _l.business_date <= last)
        .group_by(_l.gst_bp).order_by(_l.gst_bp))).all()
    return [{"gst_bp": int(r.gst_bp), "sales": int(r.sales or 0), "returns": int(r.returns or 0),
             "amount": int(r.amount or 0), "taxable": int(r.amount or 0) - int(r.tax or 0), "tax": int(r.tax or 0)}
            for r in rows]


async def today(conn: AsyncConnection, shop_ids: list[str], day: str | Mapping[str, str]) -> dict[str, Any]:
    """One business day of each shop (`day`, or a day per shop): figures together, by tender, by hour, per shop.

    Shops may keep different time zones, so each may be at its own date; by_hour is net sales in each
    hour 0-23 of the shop's own clock.
    """
    days = {shop_id: day if isinstance(day, str) else day[shop_id] for shop_id in shop_ids}
    per_shop: dict[str, dict[str, Any]] = {}
    for shop_id, shop_day in days.items():
        figures = await counter_figures(conn, shop_id, day=shop_day)
        per_shop[shop_id] = {"day": shop_day, **{k: figures[k] for k in SALES_FIELDS},
                             "by_tender": figures["by_tender"], "by_hour": await _by_hour(conn, shop_id, shop_day)}
    together = totals(list(per_shop.values()), SALES_FIELDS)
    tenders: dict[str, int] = {}
    for figures in per_shop.values():
        for tender, amount in figures["by_tender"].items():
            tenders[tender] = tenders.get(tender, 0) + amount
    hours = [sum(figures["by_hour"][h] for figures in per_shop.values()) for h in range(24)]
    return {**together, "by_tender": dict(sorted(tenders.items())), "by_hour": hours, "shops": per_shop}


async def _by_hour(conn: AsyncConnection, shop_id: str, day: str) -> list[int]:
    """Net sales (sales - refunds) in each hour 0-23 of the shop's clock."""
    signed = case((_f.kind == "refund", -_f.total), else_=_f.total)
    rows = (await conn.execute(select(_f.hour, func.sum(signed)).where(_f.shop_id == shop_id,
                                                                       _f.business_date == day)
                               .group_by(_f.hour))).all()
    hours = [0] * 24
    for hour, amount in rows:
        if hour is not None and 0 <= hour < 24:
            hours[hour] += int(amount or 0)
    return hours
