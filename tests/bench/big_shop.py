"""A big shop for the bench: one shop with 1,000,000 sales over a year, stored as ingest stores them.

Four tablets and three cashiers trade every day for DAYS days up to today (tests/bench/shop_days.py
makes each tablet's day: sales of the demo catalog, cash, card and wallet, ~2% returns, shifts).

Every document is a valid contract document (parse_document checks each, hash included), and its
rows come from cloud_api/projections.py's `project`, the function ingest calls, so the projection
tables hold exactly what ingest would have made of these documents. Only the writing differs:
COPY on PostgreSQL (asyncpg copy_records_to_table), executemany on SQLite, days in parallel on
PostgreSQL (one process per core, each with its own connection).

Built once per database: a marker table (MARKER) records the shop and the last day built, and a
later run only adds the days since (so Today always has sales). A database with the shop but no
marker (a build that was interrupted) is wiped and built again: use a scratch database.

    python -m tests.bench.big_shop --db postgresql://root@127.0.0.1:5432/posline_bench_big [--sales N] [--rebuild]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import text

from cloud_api import schema
from cloud_api.catalog import put_cashier
from cloud_api.contract import CashierIn, parse_document, shop_time
from cloud_api.database import create_engine, migrate
from cloud_api.demo_shop import seed_demo_catalog
from cloud_api.owners import attach_shop, create_owner, owner_by_login
from cloud_api.projections import Projection, project
from cloud_api.shops import create_shop, enrol_gateway
from tests.bench.shop_days import DEVICES, TZ, DevicePlan, canonical_text, documents_of_day, plan_days

DEFAULT_SALES = 1_000_000
DAYS = 365
OWNER_LOGIN, OWNER_PASSWORD = "big-bazaar@posline.pk", "chai-and-biscuits"
SHOP_NAME = "Big Bazaar (bench)"
MARKER = "posline_bench_big_shop"


@dataclass(frozen=True)
class Built:
    shop_id: str
    sales: int
    first_day: str
    last_day: str
    owner_login: str
    owner_password: str
    took_s: float          # this run's build (0 when nothing was missing)


def _utc(created_at: str) -> str:
    return datetime.fromisoformat(created_at).astimezone(timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


async def _rows_of(plans: list[DevicePlan], shop_id: str, gateway_id: str) -> tuple[list[dict[str, Any]], Projection]:
    """The journal rows and the projection of these tablet-days, as ingest derives them."""
    journal: list[dict[str, Any]] = []
    rows = Projection(shop_id)
    for plan in plans:
        for raw in documents_of_day(plan, shop_id):
            document = parse_document(raw)   # a valid contract document, or the bench is wrong
            when = shop_time(document.created_at, TZ)
            received = _utc(raw["created_at"])
            journal.append(dict(
                shop_id=shop_id, id=document.id, kind=document.kind, device_id=document.device_id,
                device_code=document.device_code, seq=document.seq, created_at=document.created_at,
                business_date=when.date().isoformat(), cashier_id=document.cashier_id, hash=document.hash,
                body=canonical_text(raw),
                gateway_id=gateway_id, received_at=received, ingested_at=received))
            project(rows, shop_id, document, when, received)
    return journal, rows


_TABLES = ("sale_facts", "tender_facts", "line_facts", "stock_ledger", "cash_movements")


def _plain_rows(journal: list[dict[str, Any]], rows: Projection) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
    """(table name, columns, rows as tuples): the journal's, then the projections' that go in as they are."""
    columns = tuple(journal[0]) if journal else ()
    out = [("documents", columns, [tuple(r[c] for c in columns) for r in journal])] if journal else []
    return out + [(table.name, cols, records) for table, cols, records in rows.plain_rows()]


async def _write_pg(url: str, plans: list[DevicePlan], shop_id: str, gateway_id: str) -> int:
    import asyncpg
    journal, rows = await _rows_of(plans, shop_id, gateway_id)
    # No wait for each commit's flush: a build that dies half-way is wiped and made again anyway.
    conn = await asyncpg.connect(_plain_dsn(url), server_settings={"synchronous_commit": "off"})
    try:
        async with conn.transaction():
            for table, columns, records in _plain_rows(journal, rows):
                await conn.copy_records_to_table(table, columns=list(columns), records=records)
    finally:
        await conn.close()
    # The shifts through Projection.write itself: the one projection that reads before it writes.
    engine = create_engine(url)
    try:
        async with engine.begin() as sa_conn:
            await sa_conn.run_sync(Projection(shop_id, shift_changes=rows.shift_changes).write)
    finally:
        await engine.dispose()
    return len(journal)


def _build_chunk_pg(url: str, plans: list[DevicePlan], shop_id: str, gateway_id: str) -> int:
    return asyncio.run(_write_pg(url, plans, shop_id, gateway_id))


async def _write_sqlite(url: str, plans: list[DevicePlan], shop_id: str, gateway_id: str) -> int:
    journal, rows = await _rows_of(plans, shop_id, gateway_id)
    db = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        for table, columns, records in _plain_rows(journal, rows):
            db.executemany(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES '
                           f'({", ".join("?" for _ in columns)})', records)
        db.execute("COMMIT")
    finally:
        db.close()
    engine = create_engine(url)
    try:
        async with engine.begin() as sa_conn:
            await sa_conn.run_sync(Projection(shop_id, shift_changes=rows.shift_changes).write)
    finally:
        await engine.dispose()
    return len(journal)


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _marker(url: str) -> dict[str, Any] | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            try:
                row = (await conn.execute(text(f"SELECT shop_id, sales, first_day, last_day FROM {MARKER}"))).first()
            except Exception:   # noqa: BLE001 -- no marker table: never built here
                return None
            return dict(row._mapping) if row else None
    finally:
        await engine.dispose()


async def _wipe_and_start(url: str) -> tuple[str, str]:
    """A clean, migrated database with the shop, its owner, catalog, cashiers and box; (shop_id, gateway_id)."""
    engine = create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await migrate(engine)
        if engine.dialect.name == "postgresql":
            # Indexes built once over the loaded rows cost a fraction of keeping them up row by row.
            async with engine.begin() as conn:
                for index in _bulk_indexes():
                    await conn.execute(text(f"DROP INDEX {index.name}"))
        async with engine.begin() as conn:
            shop = await create_shop(conn, SHOP_NAME, TZ)
            owner = await owner_by_login(conn, OWNER_LOGIN) or await create_owner(conn, OWNER_LOGIN, OWNER_PASSWORD)
            await attach_shop(conn, owner.owner_id, shop.shop_id)
            await seed_demo_catalog(conn, shop.shop_id)
            for cashier_id, name in (("c2", "Bilal"), ("c3", "Sana")):
                await put_cashier(conn, shop.shop_id, cashier_id, CashierIn(name=name, pin=f"24680{cashier_id[1]}"))
            gateway = await enrol_gateway(conn, shop.enrol_token, "Big Bazaar box")
            await conn.execute(text(f"CREATE TABLE {MARKER} (shop_id VARCHAR(36) NOT NULL, sales BIGINT NOT NULL, "
                                    "first_day VARCHAR(10) NOT NULL, last_day VARCHAR(10) NOT NULL)"))
        return shop.shop_id, gateway.gateway_id
    finally:
        await engine.dispose()


async def _finish(url: str, shop_id: str, gateway_id: str, sales: int, first_day: str, last_day: str,
                  fresh: bool) -> None:
    """Each tablet's sync bookkeeping as ingest leaves it, the marker, and fresh planner statistics."""
    engine = create_engine(url)
    dv = schema.devices.c
    try:
        async with engine.begin() as conn:
            tops = (await conn.execute(text(
                "SELECT device_id, device_code, max(seq) AS top, min(received_at) AS first, max(received_at) AS last "
                "FROM documents WHERE shop_id = :shop GROUP BY device_id, device_code"), {"shop": shop_id})).all()
            await conn.execute(schema.devices.delete().where(dv.shop_id == shop_id))
            await conn.execute(schema.devices.insert(), [dict(
                shop_id=shop_id, device_id=row.device_id, device_code=row.device_code, gateway_id=gateway_id,
                first_seen_at=row.first, last_heard_at=row.last, contiguous_seq=row.top, max_seq=row.top,
                clock_skew_ms=0) for row in tops])
            await conn.execute(schema.gateways.update().where(schema.gateways.c.id == gateway_id)
                               .values(last_heard_at=max(row.last for row in tops)))
            if fresh:
                await conn.execute(text(f"INSERT INTO {MARKER} VALUES (:shop, :sales, :first, :last)"),
                                   dict(shop=shop_id, sales=sales, first=first_day, last=last_day))
            else:
                await conn.execute(text(f"UPDATE {MARKER} SET sales = :sales, last_day = :last"),
                                   dict(sales=sales, last=last_day))
        if engine.dialect.name == "postgresql" and fresh:
            async with engine.begin() as conn:
                for index in _bulk_indexes():
                    await conn.run_sync(index.create)
        if engine.dialect.name == "postgresql":
            # VACUUM sets the visibility map (index-only scans) and ANALYZE the planner's statistics.
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in ("documents", *_TABLES, "shifts", "devices"):
                    await conn.execute(text(f"VACUUM ANALYZE {table}"))
        else:
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def _bulk_indexes() -> list[Any]:
    """The secondary indexes (not keys) of the tables the build fills, as schema.py declares them."""
    return [index for name in ("documents", *_TABLES) for index in schema.metadata.tables[name].indexes]


def ensure_big_shop(url: str, sales: int = DEFAULT_SALES, jobs: int | None = None,
                    today: date | None = None, days_back: int = DAYS, log: Any = print,
                    rebuild: bool = False) -> Built:
    """The big shop in `url`, built if missing (or `rebuild`), topped up to `today` if built on an earlier day."""
    started = time.monotonic()
    today = today or date.today()
    marker = None if rebuild else asyncio.run(_marker(url))
    if marker is not None and marker["sales"] < sales * 0.99:
        log(f"big shop: {url} holds {marker['sales']:,} sales, {sales:,} wanted: building again")
        marker = None
    if marker is None:
        if url.startswith("sqlite"):
            Path(url.split("///", 1)[1]).unlink(missing_ok=True)
        shop_id, gateway_id = asyncio.run(_wipe_and_start(url))
        days = [(today - timedelta(days=n)).isoformat() for n in range(days_back - 1, -1, -1)]
        plans = plan_days(days, sales, {}, shop_id)
        total, first_day = sales, days[0]
    else:
        shop_id, first_day, total = marker["shop_id"], marker["first_day"], marker["sales"]
        last = date.fromisoformat(marker["last_day"])
        days = [(last + timedelta(days=n)).isoformat() for n in range(1, (today - last).days + 1)]
        if not days:
            return Built(shop_id, total, first_day, marker["last_day"], OWNER_LOGIN, OWNER_PASSWORD, 0.0)
        gateway_id, seq_after = asyncio.run(_top_up_state(url, shop_id))
        span = (last - date.fromisoformat(first_day)).days + 1
        more = round(total / span * len(days))   # the same sales a day as the days already built
        plans = plan_days(days, more, seq_after, shop_id)
        total += more
    documents = _write_all(url, plans, shop_id, gateway_id, jobs, log)
    asyncio.run(_finish(url, shop_id, gateway_id, total, first_day, days[-1], marker is None))
    took = time.monotonic() - started
    # CPU beside wall time: on a machine shared with other work the wall time says little on its own.
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    log(f"big shop: {documents:,} documents ({sum(p.sales for p in plans):,} sales) written in {took:.0f} s "
        f"({cpu:.0f} s of CPU in the generator's processes, the database's not counted)")
    return Built(shop_id, total, first_day, days[-1], OWNER_LOGIN, OWNER_PASSWORD, took)


async def _top_up_state(url: str, shop_id: str) -> tuple[str, dict[int, int]]:
    engine = create_engine(url)
    dv = schema.devices.c
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(schema.devices.select().where(dv.shop_id == shop_id))).all()
    finally:
        await engine.dispose()
    codes = {code: n for n, (_, code, _) in enumerate(DEVICES)}
    return rows[0].gateway_id, {codes[row.device_code]: row.max_seq for row in rows}


def _write_all(url: str, plans: list[DevicePlan], shop_id: str, gateway_id: str, jobs: int | None,
               log: Any) -> int:
    """Write every planned tablet-day: a few days per chunk, chunks in parallel on PostgreSQL."""
    chunks = [plans[i:i + 4 * len(DEVICES)] for i in range(0, len(plans), 4 * len(DEVICES))]   # ~4 days each
    written, last_said = 0, time.monotonic()
    if url.startswith("sqlite"):   # one writer
        for chunk in chunks:
            written += asyncio.run(_write_sqlite(url, chunk, shop_id, gateway_id))
        return written
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
        for done, n in enumerate(pool.map(_build_chunk_pg, [url] * len(chunks), chunks, [shop_id] * len(chunks),
                                          [gateway_id] * len(chunks)), start=1):
            written += n
            if time.monotonic() - last_said > 15:
                log(f"big shop: {done}/{len(chunks)} chunks, {written:,} documents")
                last_said = time.monotonic()
    return written


def ensure_database(url: str) -> None:
    """CREATE DATABASE for a PostgreSQL URL whose database does not exist yet (from the `postgres` database)."""
    if not url.startswith("postgres"):
        return
    import asyncpg
    from sqlalchemy.engine import make_url
    parsed = make_url(_plain_dsn(url))

    async def create() -> None:
        conn = await asyncpg.connect(_plain_dsn(parsed.set(database="postgres").render_as_string(False)))
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database):
                await conn.execute(f'CREATE DATABASE "{parsed.database}"')
        finally:
            await conn.close()
    asyncio.run(create())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.big_shop", description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a scratch database: postgresql://... or sqlite:///file.db")
    parser.add_argument("--sales", type=int, default=int(os.environ.get("POSLINE_BENCH_BIG_SALES", DEFAULT_SALES)))
    parser.add_argument("--jobs", type=int, help="processes writing days in parallel (PostgreSQL; default: cores)")
    parser.add_argument("--rebuild", action="store_true", help="wipe the database and build the shop again")
    args = parser.parse_args(argv)
    ensure_database(args.db)
    built = ensure_big_shop(args.db, args.sales, args.jobs, log=lambda line: print(line, file=sys.stderr, flush=True),
                            rebuild=args.rebuild)
    print(json.dumps(built.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
