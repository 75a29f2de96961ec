"""The back office's Sales pages: the list of sales and returns with filters, and one receipt.

The list reads sale_facts (with the document's created_at for the time), newest first, PAGE_SIZE a
page. A receipt number searches every day (it is on a paper slip, whatever day it is); the other
filters work within the date range. A receipt's page reads that one document's body from the
journal, and lists the returns made against it (sale_facts.original_id).
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import schema
from ..contract import receipt_number
from ..database import reading
from ..gateway_api import ENGINE
from ..service.errors import NotFound
from .formats import quantity
from .ranges import TENDERS, DateRange, chosen_range, t
from .web import PREFIX, owner_shop, path_text, query_text, render, signed_in

routes = web.RouteTableDef()

PAGE_SIZE = 100
MAX_PAGE = 10_000   # a million rows back is as far as paging goes (a filter finds older ones sooner)
_RECEIPT = re.compile(r"^(T[1-9][0-9]{0,3})-?0*([0-9]{1,12})$")
_f, _d = schema.sale_facts.c, schema.documents.c


def normal_receipt(value: str) -> str | None:
    """T1-000042 however it was typed (t1-42, T1 000042), or None when it is not a receipt number."""
    found = _RECEIPT.match(re.sub(r"\s+", "-", value.strip().upper()))
    return receipt_number(found.group(1), int(found.group(2))) if found else None


@routes.get(PREFIX + "/shops/{shop_id}/sales")
async def sales_list(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    query = request.query
    chosen = chosen_range(query, shop.timezone)
    wanted = {name: query_text(request, name, 100).strip() for name in ("device", "cashier", "tender", "receipt")}
    try:
        page = min(MAX_PAGE, max(1, int(query_text(request, "page", 20, "1"))))
    except ValueError:
        page = 1
    async with reading(request.app[ENGINE]) as conn:
        rows, more = await _sales(conn, shop.shop_id, chosen, wanted, page)
        devices = (await conn.execute(select(schema.devices.c.device_code).where(
            schema.devices.c.shop_id == shop.shop_id).order_by(schema.devices.c.device_code))).scalars().all()
        cashiers = await _cashier_names(conn, shop.shop_id)
    receipt_typed = bool(wanted["receipt"])
    filters = urlencode([(k, str(v)) for k, v in (("from", chosen.first), ("to", chosen.last), *wanted.items()) if v])
    return render(request, session, "sales.html", shop=shop, section="sales", rows=rows, range=chosen,
                  wanted=wanted, devices=devices, cashiers=cashiers, tenders=TENDERS, page=page, more=more,
                  filters=filters, bad_receipt=receipt_typed and normal_receipt(wanted["receipt"]) is None)


async def _cashier_names(conn: AsyncConnection, shop_id: str) -> dict[str, str]:
    c = schema.cashiers.c
    return dict((await conn.execute(select(c.cashier_id, c.name).where(c.shop_id == shop_id)
                                    .order_by(c.name))).all())


async def _sales(conn: AsyncConnection, shop_id: str, chosen: DateRange, wanted: dict[str, str],
                 page: int) -> tuple[list[dict[str, Any]], bool]:
    """One page of the shop's sales and returns, newest first; and whether another page follows."""
    joined = schema.sale_facts.join(schema.documents, and_(_d.shop_id == _f.shop_id, _d.id == _f.document_id))
    query = select(_f.document_id, _f.kind, _f.business_date, _f.receipt, _f.device_code, _f.cashier_id, _f.total,
                   _f.tax, _f.discount, _f.original_id, _d.created_at).select_from(joined).where(_f.shop_id == shop_id)
    if wanted["receipt"]:
        # An unreadable number finds nothing rather than everything.
        query = query.where(_f.receipt == (normal_receipt(wanted["receipt"]) or ""))
    else:
        query = query.where(_f.business_date >= chosen.first.isoformat(), _f.business_date <= chosen.last.isoformat())
    if wanted["device"]:
        query = query.where(_f.device_code == wanted["device"])
    if wanted["cashier"]:
        query = query.where(_f.cashier_id == wanted["cashier"])
    if wanted["tender"]:
        tf = schema.tender_facts.c
        paid = select(tf.document_id).where(tf.shop_id == shop_id, tf.tender == wanted["tender"])
        if not wanted["receipt"]:
            paid = paid.where(tf.business_date >= chosen.first.isoformat(), tf.business_date <= chosen.last.isoformat())
        query = query.where(_f.document_id.in_(paid))
    query = query.order_by(_f.business_date.desc(), _d.created_at.desc(), _f.receipt.desc())
    rows = (await conn.execute(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE))).all()
    names = await _cashier_names(conn, shop_id)
    out = [{**row._mapping, "cashier": names.get(row.cashier_id) or row.cashier_id or ""} for row in rows[:PAGE_SIZE]]
    return out, len(rows) > PAGE_SIZE


@routes.get(PREFIX + "/shops/{shop_id}/sales/{document_id}")
async def receipt(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    document_id = path_text(request, "document_id", 100)
    async with reading(request.app[ENGINE]) as conn:
        row = (await conn.execute(select(_d.body, _d.business_date, _d.received_at, _d.ingested_at).where(
            _d.shop_id == shop.shop_id, _d.id == document_id, _d.kind.in_(("sale", "refund"))))).first()
        if row is None:
            raise NotFound(t("no sale or return with that number in this shop"))
        body = json.loads(row.body)
        returns = (await conn.execute(select(_f.document_id, _f.receipt, _f.business_date, _f.total, _f.cashier_id)
                                      .where(_f.shop_id == shop.shop_id, _f.original_id == document_id)
                                      .order_by(_f.business_date, _f.receipt))).all()
        original = None
        if body.get("original_id"):
            original = (await conn.execute(select(_f.document_id, _f.receipt).where(
                _f.shop_id == shop.shop_id, _f.document_id == body["original_id"]))).first()
        names = await _cashier_names(conn, shop.shop_id)
        # A sale or return on a customer's khata (issue 10) names them, linked to their statement.
        customer_name = None
        if body.get("customer_id"):
            cu = schema.customers.c
            customer_name = (await conn.execute(select(cu.name).where(
                cu.shop_id == shop.shop_id, cu.customer_id == body["customer_id"]))).scalar()
    number = receipt_number(body["device_code"], body["seq"])
    return render(request, session, "receipt.html", shop=shop, section="sales", doc=body, number=number,
                  business_date=row.business_date, received_at=row.received_at, ingested_at=row.ingested_at,
                  returns=returns, original=original, names=names, tenders=TENDERS,
                  returned=sum(int(r.total) for r in returns), quantity=quantity, customer_name=customer_name)
