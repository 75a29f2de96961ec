"""Migration 0004 (the back office): facts stored before it get their receipt, hour, GST and name
from the journal, so a report reads the same for a sale that arrived before the upgrade."""
from __future__ import annotations

import json

from sqlalchemy import text

from cloud_api.database import migrate
from tests.conftest import cloud_at_revision, make_sale


async def test_migration_0004_fills_in_facts_stored_before_it(cloud_db_url: str):
    engine = await cloud_at_revision(cloud_db_url, "0003")
    sale = make_sale(device_code="T2", seq=42, created_at="2026-11-27T21:05:09+05:00")
    line = sale["lines"][0]
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO shops (id, name, owner_token_digest, timezone, catalog_version, "
                                "created_at) VALUES ('s', 'Madina', 'digest', 'Asia/Karachi', 1, 'x')"))
        await conn.execute(text(
            "INSERT INTO documents (shop_id, id, kind, device_id, device_code, seq, created_at, business_date, "
            "cashier_id, hash, body, ingested_at) VALUES ('s', :id, 'sale', 'dev-1', 'T2', 42, :created, "
            "'2026-11-27', 'c1', :hash, :body, 'x')"),
            dict(id=sale["id"], created=sale["created_at"], hash=sale["hash"], body=json.dumps(sale)))
        await conn.execute(text("INSERT INTO sale_facts (shop_id, document_id, kind, business_date, device_code, "
                                "total, tax) VALUES ('s', :id, 'sale', '2026-11-27', 'T2', :total, :tax)"),
                           dict(id=sale["id"], total=sale["total"], tax=sale["tax"]))
        await conn.execute(text("INSERT INTO line_facts (shop_id, document_id, line_no, business_date, sku, unit, "
                                "qty, amount) VALUES ('s', :id, 0, '2026-11-27', :sku, 'each', :qty, :amount)"),
                           dict(id=sale["id"], sku=line["sku"], qty=line["qty"], amount=line["amount"]))
    await migrate(engine)
    async with engine.connect() as conn:
        fact = (await conn.execute(text("SELECT receipt, hour FROM sale_facts"))).one()
        line_fact = (await conn.execute(text("SELECT tax, gst_bp, name FROM line_facts"))).one()
        owners = (await conn.execute(text("SELECT count(*) FROM owners"))).scalar_one()
        archived = (await conn.execute(text("SELECT count(*) FROM products WHERE archived"))).scalar_one()
    await engine.dispose()
    assert tuple(fact) == ("T2-000042", 21)   # 21:05 in Karachi
    assert tuple(line_fact) == (line["tax"], 1800, "Tapal Danedar 190g")
    assert owners == 0 and archived == 0
