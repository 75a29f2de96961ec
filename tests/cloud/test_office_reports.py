"""The back office's Today, Sales and Reports pages, on SQLite and PostgreSQL: documents posted as a box
posts them; each report's figures equal sums worked out here from those documents; CSV parses back
to the page's figures; another owner's shop is refused on every page; dates are checked."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from cloud_api.contract import receipt_number
from cloud_api.office.charts import bar_chart
from tests.cloud.counter_documents import line, refund, sale, shift_close, shift_open
from tests.cloud.office_helpers import owned_shop, sign_in

DAY1, DAY2 = "2026-11-26", "2026-11-27"
REPORT_NAMES = ["by-day", "by-item", "by-category", "by-tender", "by-device", "by-cashier", "returns", "shifts",
                "khata", "gst"]


def the_documents() -> dict[str, Any]:
    """Two days, two tills, three tenders, a loose line, a 0% line, an unknown SKU, a return and a shift."""
    a = sale(1, [line("TAPAL-190", 2, 55000), line("SUGAR-LOOSE", 1250, 16000, unit="kg"),
                 line("MYSTERY-ITEM", 1, 9900, gst_bp=0)], change=5000, device_code="T1",
             created_at=f"{DAY1}T10:15:00+05:00")
    # 3 x 210 - 30 + 170 = Rs 770: Rs 400 by card and Rs 370 in cash.
    b = sale(1, [line("COKE-1500", 3, 21000, discount=3000), line("LUX-SOAP", 1, 17000)],
             payments=[{"tender": "card", "amount": 40000, "reference": "4421"}, {"tender": "cash", "amount": 37000}],
             device_code="T2", cashier_id="c2", created_at=f"{DAY1}T21:05:00+05:00")
    opened = shift_open(2, 500000, device_code="T1", created_at=f"{DAY2}T09:00:00+05:00")
    c = sale(3, [line("OLPERS-1L", 4, 33000)],
             payments=[{"tender": "wallet", "amount": 132000, "wallet": "jazzcash", "reference": "JC-77"}],
             device_code="T1", created_at=f"{DAY2}T19:40:00+05:00", shift_id=opened["id"])
    r = refund(2, a, [(0, 1), (1, 500)], device_code="T2", cashier_id="c2", created_at=f"{DAY2}T19:50:00+05:00",
               reason="Spoilt")
    closed = shift_close(4, opened["id"], counted_cash=500000, device_code="T1", created_at=f"{DAY2}T22:00:00+05:00")
    return {"a": a, "b": b, "open": opened, "c": c, "r": r, "close": closed}


async def shop_with_documents(client: Any, cloud_db_url: str, login: str = "03001234567",
                              name: str = "Madina") -> tuple[Any, dict[str, Any]]:
    shop = await owned_shop(cloud_db_url, login=login, name=name)
    enrolled = await client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    assert enrolled.status == 201
    key = (await enrolled.json())["api_key"]
    docs = the_documents()
    response = await client.post("/v1/journal:batch", json={"documents": list(docs.values())},
                                 headers={"Authorization": f"Bearer {key}"})
    results = (await response.json())["results"]
    assert [x["status"] for x in results] == ["stored"] * len(docs), results
    return shop, docs


class _Table(HTMLParser):
    """The rows of a page's table.report (or table.sync): {data-key: text} for tbody and tfoot."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.footer: dict[str, str] = {}
        self.part = ""
        self.key: str | None = None
        self.row: dict[str, str] = {}
        self.html = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("tbody", "tfoot"):
            self.part = tag
        elif tag == "tr":
            self.row = {}
        elif tag == "td":
            self.key = dict(attrs).get("data-key")
            if self.key:
                self.row[self.key] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.key = None
        elif tag == "tr" and self.row:
            if self.part == "tfoot":
                self.footer = self.row
            else:
                self.rows.append(self.row)

    def handle_data(self, data: str) -> None:
        if self.key:
            self.row[self.key] += data.strip()


def paisa(text: str) -> int:
    """Rs 1,234.50 or 1234.50 -> 123450."""
    return int(Decimal(text.replace("Rs", "").replace(",", "").strip() or "0") * 100)


def figure(page: str, name: str) -> int:
    # Money on a page is a left-to-right isolate (<bdi class="money" dir="ltr">), so Urdu pages keep -Rs.
    found = re.search(rf'data-figure="{name}">(?:<bdi class="money" dir="ltr">)?([^<]*)<', page)
    assert found, name
    return paisa(found.group(1))


async def report(client: Any, shop_id: str, name: str, first: str = DAY1, last: str = DAY2) -> _Table:
    response = await client.get(f"/office/shops/{shop_id}/reports/{name}?from={first}&to={last}")
    assert response.status == 200, await response.text()
    table = _Table()
    table.html = await response.text()
    table.feed(table.html)
    return table


def by(rows: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    return {row[key]: row for row in rows}


async def test_each_report_equals_the_sums_of_the_documents(cloud_client: Any, cloud_db_url: str):
    shop, d = await shop_with_documents(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    sales, r = [d["a"], d["b"], d["c"]], d["r"]
    gross, refunded = sum(s["total"] for s in sales), r["total"]

    days = by((await report(cloud_client, shop.shop_id, "by-day")).rows, "day")
    assert sorted(days) == [DAY1, DAY2]
    assert paisa(days[DAY1]["gross"]) == d["a"]["total"] + d["b"]["total"]
    assert paisa(days[DAY2]["gross"]) == d["c"]["total"] and paisa(days[DAY2]["refunds"]) == refunded
    assert paisa(days[DAY2]["net"]) == d["c"]["total"] - refunded
    assert paisa(days[DAY1]["discounts"]) == 3000
    footer = (await report(cloud_client, shop.shop_id, "by-day")).footer
    assert paisa(footer["net"]) == gross - refunded
    assert paisa(footer["tax"]) == sum(s["tax"] for s in sales) - r["tax"]

    items = by((await report(cloud_client, shop.shop_id, "by-item")).rows, "sku")
    assert items["TAPAL-190"]["qty"] == "1"   # two sold, one returned
    assert paisa(items["TAPAL-190"]["amount"]) == d["a"]["lines"][0]["amount"] - r["lines"][0]["amount"]
    assert items["SUGAR-LOOSE"]["qty"] == "0.750"   # 1.250 kg sold, 0.500 kg returned
    assert paisa(items["COKE-1500"]["amount"]) == 3 * 21000 - 3000

    categories = by((await report(cloud_client, shop.shop_id, "by-category")).rows, "category")
    assert paisa(categories["Uncategorised"]["amount"]) == 9900
    assert paisa(categories["Tea"]["amount"]) == 55000
    assert sum(paisa(c["amount"]) for c in categories.values()) == gross - refunded

    tenders = by((await report(cloud_client, shop.shop_id, "by-tender")).rows, "tender")
    cash_taken = sum(p["amount"] for s in sales for p in s["payments"] if p["tender"] == "cash") - d["a"]["change"]
    assert paisa(tenders["Cash"]["taken"]) == cash_taken
    assert paisa(tenders["Cash"]["refunded"]) == refunded
    assert paisa(tenders["Card"]["net"]) == 40000 and paisa(tenders["Wallet"]["net"]) == 132000
    assert sum(paisa(x["net"]) for x in tenders.values()) == gross - refunded

    devices = by((await report(cloud_client, shop.shop_id, "by-device")).rows, "device")
    assert paisa(devices["T1"]["net"]) == d["a"]["total"] + d["c"]["total"]
    assert paisa(devices["T2"]["net"]) == d["b"]["total"] - refunded and devices["T2"]["refunds_count"] == "1"

    cashiers = (await report(cloud_client, shop.shop_id, "by-cashier")).rows
    assert sum(paisa(c["net"]) for c in cashiers) == gross - refunded and len(cashiers) == 2

    returns = (await report(cloud_client, shop.shop_id, "returns")).rows
    assert [(x["receipt"], x["original_receipt"], paisa(x["amount"]), x["day"]) for x in returns] == [
        (receipt_number("T2", 2), receipt_number("T1", 1), refunded, DAY2)]

    shifts = (await report(cloud_client, shop.shop_id, "shifts")).rows
    assert len(shifts) == 1 and shifts[0]["device_code"] == "T1" and paisa(shifts[0]["net"]) == d["c"]["total"]
    assert paisa(shifts[0]["expected_cash"]) == 500000 and paisa(shifts[0]["over_short"]) == 0

    gst = by((await report(cloud_client, shop.shop_id, "gst")).rows, "gst_bp")
    lines = [ln for s in sales for ln in s["lines"]]
    eighteen = [ln for ln in lines if ln["gst_bp"] == 1800]
    assert paisa(gst["18%"]["sales"]) == sum(ln["amount"] for ln in eighteen)
    assert paisa(gst["18%"]["returns"]) == refunded
    assert paisa(gst["18%"]["tax"]) == sum(ln["tax"] for ln in eighteen) - r["tax"]
    assert paisa(gst["18%"]["taxable"]) == paisa(gst["18%"]["amount"]) - paisa(gst["18%"]["tax"])
    assert paisa(gst["0%"]["taxable"]) == 9900 and paisa(gst["0%"]["tax"]) == 0

    # One day only: the range is honoured.
    only = (await report(cloud_client, shop.shop_id, "by-day", DAY2, DAY2)).rows
    assert [x["day"] for x in only] == [DAY2]


async def test_csv_parses_back_to_the_pages_figures(cloud_client: Any, cloud_db_url: str):
    shop, _ = await shop_with_documents(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    for name in REPORT_NAMES:
        page = await report(cloud_client, shop.shop_id, name)
        # The page's own download link, as the owner follows it.
        link = re.search(r'href="([^"]*format=csv)"', page.html)
        assert link, name
        response = await cloud_client.get(link.group(1).replace("&amp;", "&"))
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
        body, total = rows[1:-1], rows[-1]
        assert total[0] == "Total" and len(body) == len(page.rows), name
        keys = list(page.rows[0]) if page.rows else []
        for shown, written in zip(page.rows, body):
            for key, value in zip(keys, written):
                if value[:1].isdigit() or value[:1] == "-":
                    if shown[key].startswith("Rs") or shown[key].startswith("-Rs"):
                        assert paisa(shown[key].replace("-Rs", "-")) == paisa(value), (name, key)
                    else:
                        assert shown[key] == value, (name, key)
        for key, value in zip(keys, total):
            if page.footer.get(key) and key != keys[0]:
                assert paisa(page.footer[key].replace("-Rs", "-")) == paisa(value), (name, key)


async def test_today_shows_the_days_figures_and_each_shop(cloud_client: Any, cloud_db_url: str):
    shop, d = await shop_with_documents(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/?date={DAY2}")).text()
    assert figure(page, "gross") == d["c"]["total"] and figure(page, "refunds") == d["r"]["total"]
    assert figure(page, "net") == d["c"]["total"] - d["r"]["total"]
    assert figure(page, "tax") == d["c"]["tax"] - d["r"]["tax"]
    assert 'role="img"' in page and f"19: {_rs(d['c']['total'] - d['r']['total'])}" in page
    assert "Up to date" in page   # the box has no heartbeat yet, but the tablets have no gaps
    everywhere = await (await cloud_client.get(f"/office/?date={DAY1}")).text()
    assert figure(everywhere, "gross") == d["a"]["total"] + d["b"]["total"] and "Madina" in everywhere
    # Any other day, for all shops too: a date picker showing the day on screen.
    assert '<form class="filters" method="get" action="/office/">' in everywhere
    assert f'<input id="date" name="date" type="date" value="{DAY1}">' in everywhere
    assert "style=" not in everywhere   # the CSP allows no inline style


def _rs(value: int) -> str:
    whole, cents = divmod(value, 100)
    return f"Rs {whole:,}.{cents:02d}"


async def test_sales_list_filters_and_a_receipt_with_its_return(cloud_client: Any, cloud_db_url: str):
    shop, d = await shop_with_documents(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}/sales"
    found = await (await cloud_client.get(base, params={"receipt": "t1-1"})).text()
    assert found.count(f"{base}/") == 1 and f"{base}/{d['a']['id']}" in found
    listed = await (await cloud_client.get(base, params={"from": DAY1, "to": DAY2})).text()
    assert all(f"{base}/{d[k]['id']}" in listed for k in ("a", "b", "c", "r"))
    card = await (await cloud_client.get(base, params={"from": DAY1, "to": DAY2, "tender": "card"})).text()
    assert f"{base}/{d['b']['id']}" in card and f"{base}/{d['a']['id']}" not in card
    till = await (await cloud_client.get(base, params={"from": DAY1, "to": DAY2, "device": "T2"})).text()
    assert f"{base}/{d['r']['id']}" in till and f"{base}/{d['c']['id']}" not in till
    receipt = await (await cloud_client.get(f"{base}/{d['a']['id']}")).text()
    assert f"{base}/{d['r']['id']}" in receipt and "Tapal" in receipt.title()
    back = await (await cloud_client.get(f"{base}/{d['r']['id']}")).text()
    assert f"{base}/{d['a']['id']}" in back and "Spoilt" in back
    assert (await cloud_client.get(f"{base}/{d['open']['id']}")).status == 404


async def test_another_owners_shop_is_refused_on_every_page(cloud_client: Any, cloud_db_url: str):
    theirs, d = await shop_with_documents(cloud_client, cloud_db_url, login="someone@else.pk", name="Other")
    await owned_shop(cloud_db_url)
    await sign_in(cloud_client)
    base = f"/office/shops/{theirs.shop_id}"
    paths = [f"{base}/", f"{base}/sales", f"{base}/sales/{d['a']['id']}", f"{base}/reports"]
    paths += [f"{base}/reports/{name}?from={DAY1}&to={DAY2}" for name in REPORT_NAMES]
    paths += [f"{base}/reports/{name}?from={DAY1}&to={DAY2}&format=csv" for name in REPORT_NAMES]
    for path in paths:
        response = await cloud_client.get(path)
        assert response.status == 403, path
        assert "this shop is not one of yours" in await response.text()
    # All-shops pages hold only the owner's own shops.
    combined = await (await cloud_client.get(f"/office/reports/by-day?from={DAY1}&to={DAY2}")).text()
    assert "Nothing in these dates." in combined


async def test_bad_dates_are_a_clear_400(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}/reports/by-day"
    for query, message in (("from=27-11-2026&to=2026-11-27", "write dates as YYYY-MM-DD"),
                           ("from=2026-02-30&to=2026-03-01", "that date does not exist"),
                           ("from=2026-11-27&to=2026-11-01", "the end of the range is before its start"),
                           ("from=2024-01-01&to=2026-11-27", "at most 366 days")):
        response = await cloud_client.get(f"{base}?{query}")
        page = await response.text()
        assert response.status == 400 and message in page, query
        # Back to the report, opened afresh, to choose the dates again.
        assert f'<a href="{base}">Choose again</a>' in page, query
    # Nothing was chosen on a page opened without a query: no way back to it offered, only the office.
    missing = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/reports/nonsense")).text()
    assert "Choose again" not in missing
    assert (await cloud_client.get(f"/office/shops/{shop.shop_id}/?date=yesterday")).status == 400
    assert (await cloud_client.get(f"/office/shops/{shop.shop_id}/reports/nonsense")).status == 404


def test_the_bar_chart_is_accessible_svg_without_style():
    svg = bar_chart([("09", 1500), ("10", 0), ("11", -200)], "Net <by> hour", value_text=str)
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-label="Net &lt;by&gt; hour"' in svg
    assert svg.count("<rect") == 3 and "<title>09: 1500</title>" in svg and "style" not in svg


async def test_every_page_reads_in_urdu(cloud_client: Any, cloud_db_url: str):
    shop, d = await shop_with_documents(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    await cloud_client.get("/office/language", params={"to": "ur", "next": "/office/"})
    base = f"/office/shops/{shop.shop_id}"
    paths = [f"/office/?date={DAY2}", f"{base}/?date={DAY2}", f"{base}/sales?from={DAY1}&to={DAY2}",
             f"{base}/sales/{d['a']['id']}", f"{base}/reports"]
    paths += [f"{base}/reports/{name}?from={DAY1}&to={DAY2}" for name in REPORT_NAMES]
    for path in paths:
        response = await cloud_client.get(path)
        page = await response.text()
        assert response.status == 200 and 'dir="rtl"' in page, path
    assert "بغیر زمرہ" in await (await cloud_client.get(f"{base}/reports/by-category?from={DAY1}&to={DAY2}")).text()
    assert "خالص" in await (await cloud_client.get(f"{base}/?date={DAY2}")).text()


async def test_all_shops_together_add_up_each_shop(cloud_client: Any, cloud_db_url: str):
    first, d = await shop_with_documents(cloud_client, cloud_db_url)
    second, _ = await shop_with_documents(cloud_client, cloud_db_url, name="Branch")
    await sign_in(cloud_client)
    gross = d["a"]["total"] + d["b"]["total"]
    everywhere = await (await cloud_client.get(f"/office/?date={DAY1}")).text()
    assert figure(everywhere, "gross") == 2 * gross and "Branch" in everywhere
    combined = _Table()
    combined.feed(await (await cloud_client.get(f"/office/reports/by-device?from={DAY1}&to={DAY2}")).text())
    assert sorted((row["shop"], row["device"]) for row in combined.rows) == [
        ("Branch", "T1"), ("Branch", "T2"), ("Madina", "T1"), ("Madina", "T2")]
    one = await report(cloud_client, first.shop_id, "by-device")
    assert paisa(combined.footer["net"]) == 2 * paisa(one.footer["net"])
    csv_text = await (await cloud_client.get(f"/office/reports/gst?from={DAY1}&to={DAY2}&format=csv")).text()
    assert csv_text.splitlines()[-1].startswith("Total,")
    assert second.shop_id != first.shop_id


def test_sync_at_a_glance_says_what_needs_the_owner():
    from datetime import datetime, timedelta, timezone

    from cloud_api.office.ranges import sync_glance
    now = datetime.now(timezone.utc)
    ago = lambda minutes: (now - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    health = {
        "gateways": [
            {"name": "box", "last_heard_at": ago(1), "backlog": 0, "oldest_unsynced_at": None, "parked": 0},
            {"name": "old box", "last_heard_at": ago(90), "backlog": 12, "oldest_unsynced_at": ago(80), "parked": 2},
            {"name": "gone", "last_heard_at": ago(1), "backlog": 0, "oldest_unsynced_at": None, "parked": 0,
             "revoked_at": ago(5)}],
        "devices": [
            {"device_code": "T1", "last_heard_at": ago(300), "seen_by_box_at": ago(2), "gaps": [],
             "clock_skew_ms": None, "clock_warning": None, "name": "Counter"},
            {"device_code": "T2", "last_heard_at": ago(3), "gaps": ["T2-000004 missing"], "clock_skew_ms": 600000,
             "clock_warning": "T2's clock is 10 min fast"}],
    }
    rows = {row["name"]: row for row in sync_glance(health)}
    assert set(rows) == {"box", "old box", "T1 · Counter", "T2"}
    assert rows["box"]["state"] == ("Up to date", 0) and not rows["box"]["bad"]
    old = rows["old box"]
    assert old["state"] == ("{n} waiting", 12) and old["bad"] and old["heard"]["quiet"]
    assert ("{n} held back: see Devices", 2) in old["notes"] and old["notes"][0] == ("the oldest has waited {n} min", 80)
    assert rows["T1 · Counter"]["heard"] == {"phrase": "{n} min ago", "n": 2, "quiet": False}
    assert rows["T2"]["state"] == ("{n} receipt numbers missing", 1) and rows["T2"]["bad"]
    assert ("clock is off by {n} min", 10) in rows["T2"]["notes"]
