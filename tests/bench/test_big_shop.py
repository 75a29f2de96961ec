"""The bench's big shop holds what ingest would have made of its documents, and builds only once a day."""
from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from datetime import date
from pathlib import Path

from cloud_api.contract import JournalBatch
from cloud_api.database import create_engine
from cloud_api.ingest import ingest_batch
from cloud_api.shops import GatewayIdentity
from tests.bench.big_shop import ensure_big_shop
from tests.conftest import new_cloud_shop

TODAY = date(2026, 11, 28)
# Per table: the columns ingest's own bookkeeping fills (keys, shop, when it was written), left out.
SKIP = {"documents": {"ingest_seq", "shop_id", "gateway_id", "ingested_at"}, "tender_facts": {"pk", "shop_id"},
        "stock_ledger": {"pk", "shop_id", "created_at"}, "devices": {"shop_id", "gateway_id", "first_seen_at",
                                                                      "last_heard_at", "clock_skew_ms"}}
TABLES = ["documents", "sale_facts", "tender_facts", "line_facts", "stock_ledger", "cash_movements", "shifts",
          "devices"]


def _rows(path: Path, table: str) -> Counter[tuple]:
    with sqlite3.connect(path) as db:
        cursor = db.execute(f'SELECT * FROM "{table}"')
        names = [c[0] for c in cursor.description]
        keep = [i for i, name in enumerate(names) if name not in SKIP.get(table, {"shop_id"})]
        return Counter(tuple(row[i] for i in keep) for row in cursor.fetchall())


async def test_the_big_shop_is_what_ingest_makes_of_its_documents(tmp_path: Path):
    big = tmp_path / "big.db"
    built = await asyncio.to_thread(ensure_big_shop, f"sqlite:///{big}", sales=600, today=TODAY, days_back=3,
                                    log=lambda _: None)
    assert (built.sales, built.first_day, built.last_day) == (600, "2026-11-26", "2026-11-28")
    with sqlite3.connect(big) as db:
        journal = db.execute("SELECT body, received_at FROM documents ORDER BY ingest_seq").fetchall()
    assert sum(1 for body, _ in journal if json.loads(body)["kind"] == "sale") == 600

    # The same documents through the cloud's ingest, as a box would send them.
    url = f"sqlite:///{tmp_path / 'ingested.db'}"
    shop = await new_cloud_shop(url)
    engine = create_engine(url)
    try:
        for start in range(0, len(journal), 500):
            part = journal[start:start + 500]
            docs = [json.loads(body) for body, _ in part]
            async with engine.begin() as conn:
                results = await ingest_batch(conn, GatewayIdentity("box", shop.shop_id), JournalBatch(
                    documents=docs, received_at={d["id"]: received for d, (_, received) in zip(docs, part)}))
            assert {r.status for r in results} == {"stored"}
    finally:
        await engine.dispose()
    for table in TABLES:
        assert _rows(big, table) == _rows(tmp_path / "ingested.db", table), table


def test_built_once_then_only_the_new_days(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'big.db'}"
    first = ensure_big_shop(url, sales=300, today=TODAY, days_back=3, log=lambda _: None)
    again = ensure_big_shop(url, sales=300, today=TODAY, days_back=3, log=lambda _: None)
    assert again.took_s == 0 and again.shop_id == first.shop_id and again.sales == 300
    later = ensure_big_shop(url, sales=300, today=date(2026, 11, 29), days_back=3, log=lambda _: None)
    assert later.shop_id == first.shop_id and later.last_day == "2026-11-29" and later.sales == 400
    with sqlite3.connect(tmp_path / "big.db") as db:
        assert db.execute("SELECT count(*) FROM sale_facts WHERE kind = 'sale'").fetchone()[0] == 400
        # Each tablet's receipt numbers run on across the days, without a gap or a repeat.
        for code, seqs, top in db.execute("SELECT device_code, count(*), max(seq) FROM documents GROUP BY 1"):
            assert seqs == top, code
