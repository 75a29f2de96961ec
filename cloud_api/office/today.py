"""The back office's Today pages: the day's figures of all the owner's shops (/office/) or of one
(/office/shops/{shop_id}/), by tender and by hour, and each box's and tablet's sync state at a glance.

Each shop's day is today on its own clock (its time zone), unless ?date=YYYY-MM-DD names one.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web
from markupsafe import Markup

from ..database import reading
from ..gateway_api import ENGINE
from ..owners import OwnerShop
from ..range_reports import today
from ..reports import sync_health
from .charts import bar_chart
from .ranges import TENDERS, chosen_day, shop_today, sync_glance, t
from .formats import rupees
from .web import PREFIX, Session, language, owner_shop, render, signed_in
from .words import translate

routes = web.RouteTableDef()


@routes.get(PREFIX)
async def office_root(_request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(PREFIX + "/")


@routes.get(PREFIX + "/")
async def all_shops(request: web.Request) -> web.Response:
    session = await signed_in(request)
    return await _today_page(request, session, session.shops, None)


@routes.get(PREFIX + "/shops/{shop_id}/")
async def one_shop(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    return await _today_page(request, session, [shop], shop)


async def _today_page(request: web.Request, session: Session, shops: list[OwnerShop],
                      shop: OwnerShop | None) -> web.Response:
    days = {s.shop_id: chosen_day(request.query, s.timezone).isoformat() for s in shops}
    async with reading(request.app[ENGINE]) as conn:
        figures = await today(conn, [s.shop_id for s in shops], days) if shops else None
        glances = {s.shop_id: sync_glance(await sync_health(conn, s.shop_id)) for s in shops}
    chart = _hour_chart(figures["by_hour"], language(request)) if figures else ""
    context: dict[str, Any] = {"figures": figures, "glances": glances, "chart": chart, "listed": shops,
                               "days": days, "day": days[shop.shop_id] if shop else _one_day(days),
                               "tenders": TENDERS, "is_today": all(
                                   days[s.shop_id] == shop_today(s.timezone).isoformat() for s in shops)}
    if shop is not None:
        return render(request, session, "today_shop.html", shop=shop, section="today", **context)
    return render(request, session, "today_all.html", **context)


def _one_day(days: dict[str, str]) -> str | None:
    """The day shown in the heading when all shops share it (they may not, across time zones)."""
    distinct = set(days.values())
    return distinct.pop() if len(distinct) == 1 else None


def _hour_chart(hours: list[int], lang: str) -> Markup:
    points = [(f"{h:02d}", amount) for h, amount in enumerate(hours)]
    # Only the shop's open hours, with an hour either side: a 24-bar chart of mostly nothing is hard to read.
    busy = [h for h, amount in enumerate(hours) if amount]
    if busy:
        points = points[max(0, busy[0] - 1):min(24, busy[-1] + 2)]
    label = translate(t("Net sales by hour"), lang)
    every = 1 if len(points) <= 12 else 2 if len(points) <= 18 else 3
    return Markup(bar_chart(points, label, value_text=rupees, label_every=every))
