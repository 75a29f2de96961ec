"""The owner's back office at scale: Today and 30-day reports of a shop with 1,000,000 sales, on PostgreSQL.

The shop is tests/bench/big_shop.py's, in a database of its own (built once, topped up to today on
later runs; POSLINE_BENCH_BIG_SALES shrinks it). A real cloud process serves it; a client signed in
as the shop's owner GETs each page over HTTP, as a phone would, a few times to warm up and then
RUNS times: the figure is the median, with the p95 in the note.

Every report the back office has (cloud_api/office/reports.py's REPORTS) is measured over the last
30 days; by-day and by-item are the issue's figures, the rest show which report would miss the goal.

The floor, in the same run: one indexed aggregate (count and sum) over the rows the page reads most
of (that day's sale facts; 30 days' sale, line or tender facts) straight through asyncpg: what
merely touching the rows costs.

While a page is not built yet (it answers 404), its figure times the query functions the page will
call instead (reports.daily_summary for Today; for a report, the equivalent aggregates over the
projections, below) and says so in its note.

Which database: POSLINE_BENCH_BIG_DSN, else POSLINE_TEST_PG_DSN's server with the database
`posline_bench_big` (created if missing; never the test database itself, which the tests drop).
"""
from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from cloud_api import schema
from cloud_api.database import create_engine, reading
from cloud_api.reports import daily_summary
from gateway.demo import Service
from tests.bench.big_shop import DEFAULT_SALES, Built, ensure_big_shop, ensure_database
from tests.bench.report import Figure, percentile
from tests.e2e.conftest import free_port

BIG_DATABASE = "posline_bench_big"
RUNS = int(os.environ.get("POSLINE_BENCH_OFFICE_RUNS", "20"))
WARM_UP = 3
GOAL_MS = 300.0
REPORT_DAYS = 30


def big_dsn() -> str | None:
    """The big shop's database, or None when the bench has no PostgreSQL."""
    explicit = os.environ.get("POSLINE_BENCH_BIG_DSN")
    if explicit:
        return explicit
    test = os.environ.get("POSLINE_TEST_PG_DSN")
    if not test:
        return None
    return make_url(test.replace("postgresql+asyncpg://", "postgresql://")).set(
        database=BIG_DATABASE).render_as_string(hide_password=False)


def _millions(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n:,}"


def _timed_ms(samples: int, once: Callable[[], Any]) -> list[float]:
    for _ in range(WARM_UP):
        once()
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        once()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def _timed_ms_async(samples: int, once: Callable[[], Awaitable[Any]]) -> list[float]:
    for _ in range(WARM_UP):
        await once()
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        await once()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _signed_in(url: str, built: Built) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    response = client.post("/office/sign-in", data={"login": built.owner_login, "password": built.owner_password})
    if response.status_code not in (200, 303) or "posline_owner" not in client.cookies:
        raise RuntimeError(f"sign-in refused: {response.status_code} {response.text[:200]}")
    return client


def _page_ms(client: httpx.Client, path: str) -> list[float] | None:
    """Each timed GET of `path` in ms, or None if the page does not exist yet."""
    first = client.get(path)
    if first.status_code == 404:
        return None
    if first.status_code != 200:
        raise RuntimeError(f"GET {path}: {first.status_code} {first.text[:200]}")

    def get() -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    return _timed_ms(RUNS, get)


# Each report's floor: the projection its query reads most of (30 days of it).
_FLOOR_TABLE = {"by-item": "line_facts", "by-category": "line_facts", "gst": "line_facts", "by-tender": "tender_facts"}
_FLOOR_COLUMN = {"sale_facts": "total", "line_facts": "amount", "tender_facts": "amount"}


def _report_names() -> list[str]:
    """by-day and by-item first (the issue's figures), then every other report the back office has."""
    try:
        from cloud_api.office.reports import REPORTS
        names = list(REPORTS)
    except ImportError:   # the pages are not built yet
        names = []
    return ["by-day", "by-item"] + [name for name in names if name not in ("by-day", "by-item")]


async def _floors(url: str, shop_id: str, today: str, first: str) -> dict[str, list[float]]:
    """One indexed aggregate over the rows each page reads, through asyncpg: the floor of each figure,
    by table ("today" is the day's sale facts)."""
    import asyncpg
    conn = await asyncpg.connect(url)
    try:
        queries = {"today": ("SELECT count(*), sum(total) FROM sale_facts WHERE shop_id = $1 AND business_date = $2",
                             (shop_id, today))}
        for table, column in _FLOOR_COLUMN.items():
            queries[table] = (f"SELECT count(*), sum({column}) FROM {table} WHERE shop_id = $1 "
                              "AND business_date BETWEEN $2 AND $3", (shop_id, first, today))
        out = {}
        for name, (sql, args) in queries.items():
            statement = await conn.prepare(sql)
            out[name] = await _timed_ms_async(RUNS, lambda: statement.fetch(*args))
        return out
    finally:
        await conn.close()


async def _report_queries(conn: Any, shop_id: str, first: str, last: str, which: str) -> None:
    """What a report page must aggregate, for when the page is not built yet: by day or by item."""
    f, t, lf = schema.sale_facts.c, schema.tender_facts.c, schema.line_facts.c
    if which == "by-day":
        (await conn.execute(select(f.business_date, f.kind, func.count(), func.sum(f.total), func.sum(f.tax),
                                   func.sum(f.discount))
                            .where(f.shop_id == shop_id, f.business_date.between(first, last))
                            .group_by(f.business_date, f.kind))).all()
        (await conn.execute(select(t.business_date, t.tender, func.sum(t.amount))
                            .where(t.shop_id == shop_id, t.business_date.between(first, last))
                            .group_by(t.business_date, t.tender))).all()
    else:
        (await conn.execute(select(lf.sku, lf.name, lf.unit, func.sum(lf.qty), func.sum(lf.amount), func.sum(lf.tax))
                            .where(lf.shop_id == shop_id, lf.business_date.between(first, last))
                            .group_by(lf.sku, lf.name, lf.unit))).all()


async def _queries_ms(url: str, shop_id: str, today: date, first: date) -> dict[str, list[float]]:
    engine = create_engine(url)
    try:
        async with reading(engine) as conn:
            return {
                "today": await _timed_ms_async(RUNS, lambda: daily_summary(conn, shop_id, today)),
                "by-day": await _timed_ms_async(RUNS, lambda: _report_queries(
                    conn, shop_id, first.isoformat(), today.isoformat(), "by-day")),
                "by-item": await _timed_ms_async(RUNS, lambda: _report_queries(
                    conn, shop_id, first.isoformat(), today.isoformat(), "by-item")),
            }
    finally:
        await engine.dispose()


def bench_office(tmp: Path) -> list[Figure]:
    url = big_dsn()
    if url is None:
        return []
    sales = int(os.environ.get("POSLINE_BENCH_BIG_SALES", DEFAULT_SALES))
    ensure_database(url)
    built = ensure_big_shop(url, sales, log=lambda line: print(line, file=sys.stderr, flush=True))
    today = date.fromisoformat(built.last_day)
    first = today - timedelta(days=REPORT_DAYS - 1)
    pages = {"today": f"/office/shops/{built.shop_id}/"}
    pages.update({name: f"/office/shops/{built.shop_id}/reports/{name}?from={first}&to={today}"
                  for name in _report_names()})
    port = free_port()
    cloud = Service("cloud", [sys.executable, "-m", "cloud_api.cli", "serve", "--host", "127.0.0.1",
                              "--port", str(port)], f"http://127.0.0.1:{port}", tmp / "office-cloud.log",
                    env={"POSLINE_CLOUD_DB": url}).start(timeout_s=120)
    try:
        client = _signed_in(cloud.url, built)
        measured: dict[str, list[float] | None] = {}
        failed: dict[str, str] = {}
        try:
            for name, path in pages.items():
                try:
                    measured[name] = _page_ms(client, path)
                except (RuntimeError, AssertionError, httpx.HTTPError) as err:   # one page's fault, not the rest's
                    failed[name] = f"failed: {type(err).__name__}: {err}"[:200]
        finally:
            client.close()
    finally:
        cloud.stop()
    missing = [name for name, samples in measured.items() if samples is None]
    if missing:
        queries = asyncio.run(_queries_ms(url, built.shop_id, today, first))
        measured.update({name: queries.get(name) for name in missing})
    floors = asyncio.run(_floors(url.replace("postgresql+asyncpg://", "postgresql://"), built.shop_id,
                                 today.isoformat(), first.isoformat()))
    size = _millions(built.sales)
    figures = []
    for name, samples in measured.items():
        if samples is None:   # a report that is neither a page nor one of the fallback queries yet
            continue
        table = "today" if name == "today" else _FLOOR_TABLE.get(name, "sale_facts")
        title = (f"Owner Today page, {size} sales, PostgreSQL" if name == "today"
                 else f"30-day report {name}, {size} sales, PostgreSQL")
        floor_what = ("count+sum of the day's sale facts" if name == "today"
                      else f"count+sum of 30 days' {table.replace('_', ' ')}")
        median = statistics.median(samples)
        how = (f"GET {pages[name].split('?')[0].replace(built.shop_id, '{shop}')}, signed in"
               if name not in missing else "the page's queries in-process (the page is not built yet)")
        figures.append(Figure(
            title, "ms", median, statistics.median(floors[table]), floor_what, f"≤ {GOAL_MS:.0f} ms",
            median <= GOAL_MS, samples=samples,
            note=f"{how}; median of {len(samples)}, p95 {percentile(samples, 95):.0f} ms"))
    figures += [Figure(f"30-day report {name}, {size} sales, PostgreSQL" if name != "today"
                       else f"Owner Today page, {size} sales, PostgreSQL", "ms", None, note=why)
                for name, why in failed.items()]
    return figures
