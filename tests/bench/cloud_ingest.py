"""Cloud ingest, fresh and duplicate documents, on SQLite and (with POSLINE_TEST_PG_DSN) PostgreSQL.

Each run: a fresh migrated database with one shop; the documents go through cloud_api's
`receive_batch` in batches of 500, one transaction each, as the cloud's batch route runs it, up to
four in flight as a box's uplink sends them; then the same batches again (all duplicates). The
floor is the same rows (documents and every
projection, read back from the database the ingest wrote) inserted with `executemany` into another
fresh database in the same state, one transaction per 500 documents' worth of rows, as the ingest
commits once per batch it answers: what the database itself costs for the same work. (A floor of one
transaction for all 2,000 would count three fewer durable commits than any ingest of four batches can
make; on SQLite that is a quarter of the floor's time.)
"""
from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from cloud_api import schema
from cloud_api.contract import JournalBatch
from cloud_api.database import create_engine, migrate
from cloud_api.ingest import receive_batch
from cloud_api.service.serving import freeze_startup_heap, quick_gil_turns
from cloud_api.shops import GatewayIdentity
from gateway.settings import GatewaySettings
from tests.bench.floors import pg_insert_rows, sqlite_insert_rows
from tests.bench.report import Figure
from tests.conftest import make_sale, new_cloud_shop

DOCS = int(os.environ.get("POSLINE_BENCH_CLOUD_DOCS", "2000"))
BATCH = 500
RUNS = 3
# Batches in flight, as the box's uplink keeps them (gateway/settings.py uplink_window).
WINDOW = GatewaySettings.model_fields["uplink_window"].default

Rows = dict[str, tuple[list[str], list[tuple]]]


def sales(n: int, device: str = "bench-tablet") -> list[dict[str, Any]]:
    return [make_sale(device_id=device, seq=i + 1) for i in range(n)]


async def _ingest_all(url: str, shop_id: str, docs: list[dict[str, Any]]) -> float:
    """Seconds to ingest `docs` in batches of BATCH as a box's uplink sends them, WINDOW in flight at once,
    each as the cloud's batch route takes it (ingest.receive_batch: checked, then stored in one
    transaction; on SQLite the next is checked while the last one commits)."""
    engine = create_engine(url)
    gateway = GatewayIdentity("bench-gateway", shop_id)
    try:
        # The connections opened before the clock, as the floor's is and a running cloud's are: the
        # engine's, and (an empty batch) the writer's that stores batches on SQLite (database.write_at_once).
        async with engine.begin():
            pass
        await receive_batch(engine, gateway, JournalBatch(documents=[]))
        in_flight = asyncio.Semaphore(WINDOW)

        async def send(documents: list[dict[str, Any]]) -> None:
            async with in_flight:
                await receive_batch(engine, gateway, JournalBatch(documents=documents))
        start = time.perf_counter()
        await asyncio.gather(*(send(docs[i:i + BATCH]) for i in range(0, len(docs), BATCH)))
        return time.perf_counter() - start
    finally:
        await engine.dispose()


def _tables() -> list[str]:
    # Parents before children, should the schema ever gain foreign keys.
    return [table.name for table in schema.metadata.sorted_tables]


async def _snapshot(url: str) -> Rows:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as db:
            out = {}
            for table in _tables():
                cursor = db.execute(f'SELECT * FROM "{table}"')
                out[table] = ([c[0] for c in cursor.description], [tuple(r) for r in cursor.fetchall()])
            return out
    import asyncpg
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        out = {}
        for table in _tables():
            records = await conn.fetch(f'SELECT * FROM "{table}"')
            columns = [a.name for a in (await conn.prepare(f'SELECT * FROM "{table}"')).get_attributes()]
            out[table] = (columns, [tuple(r.values()) for r in records])
        return out
    finally:
        await conn.close()


def _new_rows(before: Rows, after: Rows) -> Rows:
    out = {}
    for table, (columns, rows) in after.items():
        old = set(before.get(table, ([], []))[1])
        fresh = [row for row in rows if row not in old]
        if fresh:
            out[table] = (columns, fresh)
    return out


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _fresh_database(url: str) -> None:
    engine = create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await migrate(engine)
    finally:
        await engine.dispose()


async def _one_run(url: str, floor_url: str) -> tuple[float, float, float, float]:
    """(fresh docs/s, duplicate docs/s, floor fresh docs/s, floor duplicate docs/s)."""
    shop = await new_cloud_shop(url, clean=True, demo=True)
    # As the service does once it has started (cloud_api/service/serving.py): what set-up made is
    # out of the collector's sight, so a full collection's pause is not counted against the ingest.
    # Before the documents are made: a real cloud receives them later, as garbage-collected requests.
    # And its GIL's turns, as short as the service makes them.
    freeze_startup_heap()
    quick_gil_turns()
    docs = sales(DOCS)
    before = await _snapshot(url)
    fresh_s = await _ingest_all(url, shop.shop_id, docs)
    after = await _snapshot(url)
    duplicate_s = await _ingest_all(url, shop.shop_id, docs)
    rows = _new_rows(before, after)
    assert len(rows["documents"][1]) == DOCS, "the ingest did not store every document"

    # The floor: a database in the state the ingest started from, then the same new rows, one
    # transaction per batch's share of them. PostgreSQL has one database for both: the ingest's is
    # read, dropped and made again.
    await _fresh_database(floor_url)
    parts = _per_batch(rows, -(-DOCS // BATCH))
    if floor_url.startswith("sqlite"):
        path = floor_url.split("///", 1)[1]
        sqlite_insert_rows(path, before)          # the shop, the catalog: not timed
        floor_s = sqlite_insert_rows(path, *parts)
        floor_dup_s = sqlite_insert_rows(path, *parts)   # every row again: all ignored, as duplicates are
    else:
        dsn = _asyncpg_dsn(floor_url)
        await pg_insert_rows(dsn, before)
        floor_s = await pg_insert_rows(dsn, *parts)
        floor_dup_s = await pg_insert_rows(dsn, *parts)
    return DOCS / fresh_s, DOCS / duplicate_s, DOCS / floor_s, DOCS / floor_dup_s


def _per_batch(rows: Rows, batches: int) -> list[Rows]:
    """Every table's rows cut into `batches` parts in their order: one transaction's share each."""
    parts: list[Rows] = [{} for _ in range(batches)]
    for table, (columns, values) in rows.items():
        size = -(-len(values) // batches)
        for n in range(batches):
            if values[n * size:(n + 1) * size]:
                parts[n][table] = (columns, values[n * size:(n + 1) * size])
    return parts


def bench_cloud(backend: str, tmp: Path) -> list[Figure]:
    runs = []
    for n in range(RUNS):
        if backend == "SQLite":
            url, floor_url = f"sqlite:///{tmp / f'cloud-{n}.db'}", f"sqlite:///{tmp / f'floor-{n}.db'}"
        else:
            url = floor_url = os.environ["POSLINE_TEST_PG_DSN"]
        runs.append(asyncio.run(_one_run(url, floor_url)))
    fresh, duplicate, floor, floor_dup = (statistics.median(r[i] for r in runs) for i in range(4))
    where = (f"executemany, 1 transaction per {BATCH} docs' rows" if backend == "SQLite"
             else f"asyncpg executemany, ON CONFLICT DO NOTHING, 1 transaction per {BATCH} docs' rows")
    fresh_goal, fresh_met = "≥ 50% of floor", fresh >= 0.5 * floor
    if backend == "PostgreSQL":
        fresh_goal, fresh_met = "≥ 5,000 docs/s and ≥ 50% of floor", fresh >= 5000 and fresh_met
    return [
        Figure(f"Cloud ingest, fresh, {backend}", "docs/s", fresh, floor, where, fresh_goal,
               fresh_met, samples=[r[0] for r in runs],
               note=f"{DOCS} docs in batches of {BATCH}, {WINDOW} in flight, median of {RUNS}"),
        Figure(f"Cloud ingest, duplicates, {backend}", "docs/s", duplicate, floor_dup,
               f"the same, again: {where}", "≥ fresh ingest's rate", duplicate >= fresh,
               samples=[r[1] for r in runs], note=f"the same {DOCS} docs again, median of {RUNS}"),
    ]
