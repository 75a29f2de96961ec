"""The back office's customers list (the ageing list) of a shop with 2,000 customers and 100,000 khata entries.

    .venv/bin/python -m tests.bench.khata_list [DB_URL]

DB_URL: a PostgreSQL DSN (its public schema is DROPPED and made again: never a database you keep), else a
SQLite file in a temporary folder. The rows are written straight into customers and khata_entries (as
projections.py would from documents), spread over the last 90 days; a signed-in client then GETs
/office/shops/{id}/customers (most owed first, and a phone search) RUNS times over HTTP in-process and
prints the median and the slowest. The goal: well under a second.
"""
from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from cloud_api import schema
from cloud_api.app import create_app
from cloud_api.settings import CloudSettings
from cloud_api.database import create_engine, migrate
from tests.cloud.office_helpers import owned_shop, sign_in

CUSTOMERS, ENTRIES, RUNS = 2_000, 100_000, 5


async def _fill(url: str, shop_id: str) -> None:
    rng = random.Random(10)
    today = date.today()
    ids = [str(uuid.uuid4()) for _ in range(CUSTOMERS)]
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(schema.customers.insert(), [dict(
            shop_id=shop_id, customer_id=cid, name=f"Customer {n:04d}", phone=f"0300 {n:07d}", cnic=None, ntn=None,
            credit_limit=500000, created_at="2026-01-01T00:00:00.000Z", updated_at="2026-01-01T00:00:00.000Z",
            source="till", document_id=None) for n, cid in enumerate(ids)])
        rows = []
        for n in range(ENTRIES):
            day = today - timedelta(days=rng.randrange(90))
            paid = rng.random() < 0.3
            rows.append(dict(shop_id=shop_id, entry_id=str(uuid.uuid4()), customer_id=rng.choice(ids),
                             kind="khata_payment" if paid else "sale",
                             amount=-rng.randrange(100, 5000) * 100 if paid else rng.randrange(100, 8000) * 100,
                             business_date=day.isoformat(), at=f"{day.isoformat()}T10:{n % 60:02d}:00.000Z",
                             device_code="T1", cashier_id="c1", receipt=None, shift_id=None,
                             cash=0, card=0, wallet=0, note=None, source="till"))
            if len(rows) == 10_000:
                await conn.execute(schema.khata_entries.insert(), rows)
                rows = []
    await engine.dispose()


async def main(url: str) -> None:
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await migrate(engine)
    await engine.dispose()
    shop = await owned_shop(url, demo=False)
    started = time.perf_counter()
    await _fill(url, shop.shop_id)
    print(f"{engine.dialect.name}: {CUSTOMERS} customers, {ENTRIES} entries written in "
          f"{time.perf_counter() - started:.1f} s")
    client = TestClient(TestServer(create_app(CloudSettings(db_url=url))))
    await client.start_server()
    try:
        await sign_in(client)
        for label, query in (("the list, most owed first", {}), ("a phone search", {"q": "+92 300 000 12"})):
            times = []
            for _ in range(RUNS + 1):   # the first warms up
                began = time.perf_counter()
                response = await client.get(f"/office/shops/{shop.shop_id}/customers", params=query)
                page = await response.text()
                times.append(time.perf_counter() - began)
                assert response.status == 200 and "data-customer" in page
            times = times[1:]
            print(f"  {label}: median {statistics.median(times) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms "
                  f"({len(page) // 1024} KiB)")
    finally:
        await client.close()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(main(f"sqlite:///{Path(folder) / 'bench.db'}"))
