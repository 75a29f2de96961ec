"""The back office's stock pages: on hand per product, the low-stock list, and a product's page with
goods received, adjustments, stock counts and its recent movements.

Each form carries a one-time token, the idempotency key of the movement it records
(cloud_api/stock_movements.py), so a double tap or a browser that resends the form counts once.

A count sets on hand to what was counted, against the cloud's ledger. While sales are still on
their way from the shop (a box's backlog, a tablet's missing receipt numbers: still_on_the_way),
the page warns before the count and records it only with the owner's tick.
"""
from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from .. import schema
from ..contract import MAX_QTY
from ..database import reading
from ..gateway_api import ENGINE
from ..reports import sync_health
from ..service.errors import NotFound
from ..stock import on_hand
from ..stock_movements import Movement, record_count, record_movement, request_hash
from .formats import local_time, quantity
from .web import PREFIX, owner_shop, page_context, query_text, render, shop_form, signed_in

routes = web.RouteTableDef()

HISTORY = 50
KINDS = ("received", "adjust", "count")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SCALE = {"each": 1, "kg": 1000, "l": 1000}   # loose goods are kept in grams / millilitres


def parse_quantity(text: str, unit: str, signed: bool) -> int | None:
    """Units from what the owner typed (kg / litres with up to 3 decimals for loose goods), or None."""
    text = text.strip().replace(",", "")
    if unit == "each" and not re.fullmatch(r"[+-]?[0-9]{1,9}", text):
        return None
    try:
        value = Decimal(text) * _SCALE[unit]
    except (InvalidOperation, KeyError):
        return None
    if not value.is_finite() or value != value.to_integral_value() or (value < 0 and not signed):
        return None
    units = int(value)
    return units if abs(units) <= MAX_QTY else None


def new_token() -> str:
    return secrets.token_urlsafe(18)


async def _products(conn: Any, shop_id: str, sku: str | None = None) -> list[Any]:
    p = schema.products.c
    query = select(p.sku, p.name, p.name_ur, p.unit, p.low_stock_at, p.archived).where(p.shop_id == shop_id)
    if sku is not None:
        query = query.where(p.sku == sku)
    return list((await conn.execute(query.order_by(p.name, p.sku))).all())


def _line(product: Any, stock: dict[str, int], lang: str) -> dict[str, Any]:
    qty = stock.get(product.sku, 0)
    low = product.low_stock_at is not None and qty <= product.low_stock_at
    return {"sku": product.sku, "name": (product.name_ur if lang == "ur" and product.name_ur else product.name),
            "unit": product.unit, "on_hand": qty, "shown": quantity(qty, product.unit), "low": low,
            "low_at": quantity(product.low_stock_at, product.unit) if product.low_stock_at is not None else "",
            "archived": product.archived}


def item_url(shop_id: str, sku: str, **query: str) -> str:
    return f"{PREFIX}/shops/{shop_id}/stock/item?{urlencode({'sku': sku, **query})}"


@routes.get(PREFIX + "/shops/{shop_id}/stock")
async def stock_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    lang = page_context(request, session)["lang"]
    search = request.query.get("q", "").strip()[:100]
    async with reading(request.app[ENGINE]) as conn:
        products, stock = await _products(conn, shop.shop_id), await on_hand(conn, shop.shop_id)
    # Archived products leave the list unless something is still on hand.
    lines = [_line(p, stock, lang) for p in products if not p.archived or stock.get(p.sku, 0)]
    if search:
        needle = search.casefold()
        lines = [x for x in lines if needle in x["name"].casefold() or needle in x["sku"].casefold()]
    low = [x for x in lines if x["low"] and not x["archived"]]
    return render(request, session, "stock.html", shop=shop, section="stock", lines=lines, low=low, q=search,
                  item_url=lambda sku: item_url(shop.shop_id, sku))


async def still_on_the_way(conn: Any, shop_id: str) -> int:
    """How many sales and records the shop's boxes and tablets hold that the cloud has not yet got.

    The cloud's on hand lacks what was sold while a box could not reach it (a power or internet
    cut), so a count taken now would record those sales as a shortage, and when they arrive on
    hand would fall by them a second time. A box says what it still has to send on every heartbeat
    (backlog; oldest_unsynced_at means at least one); a tablet with receipt numbers missing at the
    cloud is behind by them. Revoked boxes and tablets are left out: they send nothing more.
    """
    health = await sync_health(conn, shop_id)
    waiting = 0
    for box in health["gateways"]:
        if box.get("revoked_at"):
            continue
        backlog = box.get("backlog") if isinstance(box.get("backlog"), int) else 0
        waiting += max(backlog, 1 if box.get("oldest_unsynced_at") else 0)
    for device in health["devices"]:
        if not device.get("revoked_at"):
            waiting += sum(_seq(last) - _seq(first) + 1 for first, last in device["missing"])
    return waiting


def _seq(receipt: str) -> int:
    """The sequence number in a receipt number (T1-000042 -> 42)."""
    return int(receipt.rsplit("-", 1)[1])


async def _item(request: web.Request, shop_id: str, sku: str, lang: str, tz: str) -> dict[str, Any]:
    s = schema.stock_ledger.c
    async with reading(request.app[ENGINE]) as conn:
        found = await _products(conn, shop_id, sku)
        if not found:
            raise NotFound("this shop has no product with that SKU")
        stock = await on_hand(conn, shop_id)
        waiting = await still_on_the_way(conn, shop_id)
        rows = (await conn.execute(select(s.qty, s.reason, s.created_at, s.document_id)
                                   .where(s.shop_id == shop_id, s.sku == sku)
                                   .order_by(s.pk.desc()).limit(HISTORY))).all()
    line = _line(found[0], stock, lang)
    history = [{"qty": quantity(r.qty, line["unit"]), "in": r.qty >= 0, "reason": r.reason,
                "at": local_time(r.created_at, tz)} for r in rows]
    return {"item": line, "history": history, "waiting": waiting}


@routes.get(PREFIX + "/shops/{shop_id}/stock/item")
async def item_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    lang = page_context(request, session)["lang"]
    sku = query_text(request, "sku", 200)
    if not sku:   # no product named: the list to choose one from
        raise web.HTTPSeeOther(f"{PREFIX}/shops/{shop.shop_id}/stock")
    details = await _item(request, shop.shop_id, sku, lang, shop.timezone)
    return render(request, session, "stock_item.html", shop=shop, section="stock", **details,
                  tokens={kind: new_token() for kind in KINDS}, done=request.query.get("done", ""),
                  error=None, values={}, action=item_url(shop.shop_id, sku))


@routes.post(PREFIX + "/shops/{shop_id}/stock/item")
async def record(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    context = page_context(request, session)
    t, lang = context["t"], context["lang"]
    sku = query_text(request, "sku", 200)
    kind, token = str(form.get("kind", "")), str(form.get("token", ""))
    typed, reason = str(form.get("qty", "")), " ".join(str(form.get("reason", "")).split())
    details = await _item(request, shop.shop_id, sku, lang, shop.timezone)
    unit = details["item"]["unit"]
    qty = parse_quantity(typed, unit, signed=kind == "adjust")
    error = None
    if kind not in KINDS or not _TOKEN.match(token):
        error = t("This form is out of date: open the page again.")
    elif qty is None:
        error = t("Enter a number of pieces.") if unit == "each" else t("Enter kg or litres, up to 3 decimals.")
    elif kind == "received" and qty <= 0:
        error = t("Goods received must be more than zero.")
    elif kind == "adjust" and (qty == 0 or not reason or len(reason) > 64):
        error = t("An adjustment needs a quantity other than zero and a reason (up to 64 characters).")
    elif kind == "count" and details["waiting"] and form.get("anyway") != "yes":
        # The warning was on the page; recording the count needs the owner's tick (stock_item.html).
        error = t("Not recorded: sales are still on their way from the shop. Tick the box to record the count anyway.")
    if error:
        tokens = {k: new_token() for k in KINDS}
        return render(request, session, "stock_item.html", status=400, shop=shop, section="stock", **details,
                      tokens=tokens, done="", error=error,
                      values={kind: {"qty": typed, "reason": reason, "anyway": form.get("anyway") == "yes"}},
                      action=item_url(shop.shop_id, sku))
    assert qty is not None
    key = f"office:{token}"
    # The key's content is what the form said, so resending the form is a replay, never a second count.
    digest = request_hash({"kind": kind, "sku": sku, "qty": qty, "reason": reason})
    async with request.app[ENGINE].begin() as conn:
        if kind == "count":
            recorded = await record_count(conn, shop.shop_id, sku, qty, key=key, digest=digest)
        else:
            movement = Movement(sku, qty, "received" if kind == "received" else reason)
            recorded = await record_movement(conn, shop.shop_id, movement, key=key, digest=digest)
    raise web.HTTPSeeOther(item_url(shop.shop_id, sku, done=kind if recorded.created else "again"))
