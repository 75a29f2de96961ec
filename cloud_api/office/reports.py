"""The back office's reports over a date range, for one shop (/office/shops/{id}/reports/{name}) or all
the owner's shops together (/office/reports/{name}), each as a page and as CSV (&format=csv).

Each report is a table described once (REPORTS: its columns, which of them the footer sums), so the
page and its CSV are drawn from the same rows and cannot disagree. In the CSV, money is rupees with
two decimals and no thousands separator (1234.50, a minus sign for money out), quantities of loose
goods are kg or litres with three decimals, and the last row is the footer's totals ("Total").
The CSV starts with a UTF-8 byte order mark, so a spreadsheet shows Urdu product names as written.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web
from markupsafe import Markup

from .. import khata, range_reports
from ..database import reading
from ..gateway_api import ENGINE
from ..owners import OwnerShop
from ..service.errors import BadRequest, NotFound
from .charts import bar_chart
from .formats import csv_safe, quantity, rupees, rupees_csv
from .ranges import TENDERS, DateRange, chosen_range, t
from .web import PREFIX, Session, language, owner_shop, render, signed_in
from .words import translate

routes = web.RouteTableDef()

DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Column:
    key: str
    label: str                 # English, marked for translation; the CSV's header as written
    kind: str = "text"   # text | money | count | qty | unit | tender | category | rate | receipt | original
    #                      | till_or_office | cashier_or_owner (the khata report: "" is the back office)
    total: bool = False        # summed in the footer


Query = Callable[..., Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class Report:
    title: str
    query: Query
    columns: list[Column]
    per_shop: bool = False     # rows belong to one shop each (so all-shops adds a Shop column)
    chart: tuple[str, str] | None = None   # (label column, value column) for a bar chart
    note: str = ""


def _sales_columns() -> list[Column]:
    return [Column("sales_count", t("Sales count"), "count", True), Column("gross", t("Sales"), "money", True),
            Column("refunds_count", t("Returns count"), "count", True), Column("refunds", t("Returns"), "money", True),
            Column("net", t("Net"), "money", True), Column("tax", t("GST"), "money", True),
            Column("discounts", t("Discounts"), "money", True)]


REPORTS: dict[str, Report] = {
    "by-day": Report(t("By day"), range_reports.by_day, [Column("day", t("Day")), *_sales_columns()],
                     chart=("day", "net")),
    "by-item": Report(t("By item"), range_reports.by_item, [
        Column("sku", t("SKU")), Column("name", t("Item")), Column("unit", t("Unit"), "unit"),
        Column("qty", t("Quantity"), "qty"), Column("amount", t("Amount"), "money", True),
        Column("tax", t("GST"), "money", True)],
        note=t("Net of returns. Loose goods are counted in kg or litres.")),
    "by-category": Report(t("By category"), range_reports.by_category, [
        Column("category", t("Category"), "category"), Column("items", t("Items sold"), "count"),
        Column("amount", t("Amount"), "money", True), Column("tax", t("GST"), "money", True)],
        note=t("Net of returns, by each product's category in the catalog today.")),
    "by-tender": Report(t("By tender"), range_reports.by_tender, [
        Column("tender", t("Tender"), "tender"), Column("taken", t("Taken"), "money", True),
        Column("refunded", t("Paid back"), "money", True), Column("net", t("Net"), "money", True)],
        note=t("Cash is net of change given.")),
    "by-device": Report(t("By till"), range_reports.by_device, [Column("device", t("Till")), *_sales_columns()],
                        per_shop=True),
    "by-cashier": Report(t("By cashier"), range_reports.by_cashier,
                         [Column("cashier", t("Cashier")), *_sales_columns()], per_shop=True),
    "returns": Report(t("Returns"), range_reports.returns, [
        Column("day", t("Day")), Column("receipt", t("Receipt"), "receipt"),
        Column("original_receipt", t("Sale returned"), "original"), Column("device", t("Till")),
        Column("cashier", t("Cashier")), Column("amount", t("Amount"), "money", True),
        Column("tax", t("GST"), "money", True)], per_shop=True),
    "shifts": Report(t("Shifts and Z-reports"), range_reports.shifts, [
        Column("business_date", t("Day")), Column("device_code", t("Till")),
        Column("opened_at", t("Opened")), Column("opened_by_name", t("Opened by")),
        Column("closed_at", t("Closed")), Column("closed_by_name", t("Closed by")),
        Column("opening_float", t("Float"), "money"), Column("net", t("Net"), "money", True),
        Column("expected_cash", t("Cash expected"), "money"), Column("counted_cash", t("Cash counted"), "money"),
        Column("over_short", t("Over / short"), "money", True),
        Column("drawer_opened", t("Drawer opened without a sale"))], per_shop=True,
        note=t("Cash expected = float + cash taken - cash paid back + khata cash received + paid in - paid out.")),
    "khata": Report(t("Credit and collections"), khata.khata_report, [
        Column("day", t("Day")), Column("device", t("Till"), "till_or_office"),
        Column("cashier", t("Cashier"), "cashier_or_owner"),
        Column("credit_sales", t("Sold on account"), "money", True),
        Column("credit_returns", t("Returned to account"), "money", True),
        Column("collected_cash", t("Collected in cash"), "money", True),
        Column("collected_card", t("Collected by card"), "money", True),
        Column("collected_wallet", t("Collected by wallet"), "money", True),
        Column("collected", t("Collected"), "money", True), Column("adjusted", t("Adjusted"), "money", True)],
        per_shop=True, note=t("Khata payments are not sales, so they are here and not in the sales reports.")),
    "gst": Report(t("GST summary"), range_reports.gst, [
        Column("gst_bp", t("GST rate"), "rate"), Column("sales", t("Sales"), "money", True),
        Column("returns", t("Returns"), "money", True), Column("amount", t("Net, with GST"), "money", True),
        Column("taxable", t("Taxable value"), "money", True), Column("tax", t("GST"), "money", True)],
        note=t("Prices include GST: taxable value = net amount - GST.")),
}


def rate(gst_bp: int) -> str:
    whole, rest = divmod(int(gst_bp), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


UNITS = {"each": t("pieces"), "kg": "kg", "l": "l"}
# range_reports.UNCATEGORISED, marked here so the page says it in the owner's language.
NO_CATEGORY = t("Uncategorised")
# Who made a khata entry from the back office: no tablet and no cashier, the owner (khata.khata_report's "").
BY_OFFICE = {"till_or_office": t("Back office"), "cashier_or_owner": t("Owner")}


def cell(column: Column, row: dict[str, Any], csv_text: bool) -> str:
    """A cell's text: the same figure on the page and in the CSV, written for each."""
    value = row.get(column.key)
    if column.kind in BY_OFFICE and not value:
        return BY_OFFICE[column.kind]   # the page translates it (report.html); a CSV keeps the English
    if value is None or value == "":
        return ""
    if column.kind == "money":
        return rupees_csv(value) if csv_text else rupees(value)
    if column.kind == "qty":
        # The same figure on the page as in the CSV: the Unit column says kg or litres.
        return quantity(value, row.get("unit", "each"), for_csv=True)
    if column.kind == "rate":
        return rate(value)
    if column.kind == "unit" and not csv_text:
        return UNITS.get(value, value)
    if column.kind == "tender" and not csv_text:
        return TENDERS.get(value, value)
    if csv_text and isinstance(value, str):
        return csv_safe(value)   # a name a spreadsheet would run as a formula gets an apostrophe
    return str(value)


async def _shops_and_range(request: web.Request, session: Session) -> tuple[list[OwnerShop], OwnerShop | None,
                                                                             DateRange]:
    shop = owner_shop(request, session) if "shop_id" in request.match_info else None
    shops = [shop] if shop else session.shops
    if not shops:
        raise NotFound(t("You hold no shop yet."))
    return shops, shop, chosen_range(request.query, shops[0].timezone, DEFAULT_DAYS)


@routes.get(PREFIX + "/shops/{shop_id}/reports")
@routes.get(PREFIX + "/reports")
async def reports_index(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shops, shop, chosen = await _shops_and_range(request, session)
    return render(request, session, "reports.html", reports=REPORTS, range=chosen, report_base=_base(shop),
                  **({"shop": shop, "section": "reports"} if shop else {}))


@routes.get(PREFIX + "/shops/{shop_id}/reports/{name}")
@routes.get(PREFIX + "/reports/{name}")
async def report_page(request: web.Request) -> web.StreamResponse:
    session = await signed_in(request)
    shops, shop, chosen = await _shops_and_range(request, session)
    report = REPORTS.get(request.match_info["name"])
    if report is None:
        raise NotFound(t("there is no such report"))
    async with reading(request.app[ENGINE]) as conn:
        rows = await report.query(conn, [s.shop_id for s in shops], chosen.first.isoformat(), chosen.last.isoformat())
    columns = list(report.columns)
    if report.per_shop and shop is None and len(shops) > 1:
        names = {s.shop_id: s.name for s in shops}
        rows = [{**row, "shop": names[row["shop_id"]]} for row in rows]
        columns.insert(0, Column("shop", t("Shop")))
    totals = range_reports.totals(rows, [c.key for c in columns if c.total])
    fmt = request.query.get("format", "html")
    if fmt == "csv":
        return _csv(request.match_info["name"], chosen, columns, rows, totals)
    if fmt != "html":
        raise BadRequest(t("a report comes as a page or as CSV (format=csv)"))
    chart = None
    if report.chart and rows:
        key, value = report.chart
        label = translate(t("Net sales by day"), language(request))
        chart = Markup(bar_chart([(str(r[key])[5:], int(r[value])) for r in rows], label, value_text=rupees,
                                 label_every=max(1, len(rows) // 10)))
    return render(request, session, "report.html", report=report, name=request.match_info["name"], range=chosen,
                  columns=columns, rows=rows, totals=totals, cell=cell, report_base=_base(shop), chart=chart,
                  **({"shop": shop, "section": "reports"} if shop else {}))


def _base(shop: OwnerShop | None) -> str:
    return f"{PREFIX}/shops/{shop.shop_id}/reports" if shop else f"{PREFIX}/reports"


def _csv(name: str, chosen: DateRange, columns: list[Column], rows: list[dict[str, Any]],
         totals: dict[str, int]) -> web.Response:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.label for c in columns])
    for row in rows:
        writer.writerow([cell(c, row, csv_text=True) for c in columns])
    footer = ["Total" if i == 0 else (rupees_csv(totals[c.key]) if c.kind == "money" else str(totals[c.key]))
              if c.key in totals else "" for i, c in enumerate(columns)]
    writer.writerow(footer)
    filename = f"posline-{name}-{chosen.first.isoformat()}-{chosen.last.isoformat()}.csv"
    return web.Response(body=out.getvalue().encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})
