"""Migration 0004 (the back office): facts stored before it get their receipt, hour, GST and name
from the journal, so a report reads the same for a sale that arrived before the upgrade."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

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


async def test_migration_0004_fills_in_every_fact_chunk_by_chunk(cloud_db_url: str, monkeypatch):
    # Several hundred sales and refunds in two shops (two time zones), read 64 documents at a time:
    # every sale fact and every line fact is filled in, refunds' line tax signed, other kinds skipped.
    monkeypatch.setattr("cloud_api.migrations.JOURNAL_CHUNK", 64)
    engine = await cloud_at_revision(cloud_db_url, "0003")
    zones = {"karachi": "Asia/Karachi", "dubai": "Asia/Dubai"}
    documents, sale_facts, line_facts, expected_sales, expected_lines = [], [], [], {}, {}
    for n in range(420):
        shop = "karachi" if n % 3 else "dubai"
        code, seq = f"T{n % 4 + 1}", n + 1
        created = f"2026-11-{n % 28 + 1:02d}T{n % 24:02d}:{n % 60:02d}:09+05:00"
        refund = n % 7 == 6
        doc = make_sale(device_code=code, seq=seq, created_at=created, **({"kind": "refund"} if refund else {}))
        doc["lines"].append({**doc["lines"][0], "sku": f"SKU-{n}", "name": f"Item {n}", "gst_bp": n % 3 * 500,
                             "tax": n})
        documents.append(dict(shop=shop, id=doc["id"], kind=doc["kind"], code=code, seq=seq, created=created,
                              hash=doc["hash"], body=json.dumps(doc)))
        sale_facts.append(dict(shop=shop, id=doc["id"], kind=doc["kind"], code=code))
        sign = -1 if refund else 1
        hour = datetime.fromisoformat(created).astimezone(ZoneInfo(zones[shop])).hour
        expected_sales[doc["id"]] = (f"{code}-{seq:06d}", hour)
        for line_no, line in enumerate(doc["lines"]):
            line_facts.append(dict(shop=shop, id=doc["id"], n=line_no, sku=line["sku"], qty=line["qty"],
                                   amount=line["amount"]))
            expected_lines[(doc["id"], line_no)] = (sign * line["tax"], line["gst_bp"], line["name"])
    shift = make_sale(device_code="T1", seq=999, kind="shift_open")   # not a sale: the fill skips it
    documents.append(dict(shop="karachi", id=shift["id"], kind="shift_open", code="T1", seq=999,
                          created=shift["created_at"], hash=shift["hash"], body=json.dumps(shift)))
    async with engine.begin() as conn:
        for shop, zone in zones.items():
            await conn.execute(text("INSERT INTO shops (id, name, owner_token_digest, timezone, catalog_version, "
                                    "created_at) VALUES (:id, :id, :id, :zone, 1, 'x')"), dict(id=shop, zone=zone))
        await conn.execute(text(
            "INSERT INTO documents (shop_id, id, kind, device_id, device_code, seq, created_at, business_date, "
            "cashier_id, hash, body, ingested_at) VALUES (:shop, :id, :kind, 'dev-1', :code, :seq, :created, "
            "'2026-11-27', 'c1', :hash, :body, 'x')"), documents)
        await conn.execute(text("INSERT INTO sale_facts (shop_id, document_id, kind, business_date, device_code, "
                                "total, tax) VALUES (:shop, :id, :kind, '2026-11-27', :code, 0, 0)"), sale_facts)
        await conn.execute(text("INSERT INTO line_facts (shop_id, document_id, line_no, business_date, sku, unit, "
                                "qty, amount) VALUES (:shop, :id, :n, '2026-11-27', :sku, 'each', :qty, :amount)"),
                           line_facts)
    await migrate(engine)
    async with engine.connect() as conn:
        sales = {r.document_id: (r.receipt, r.hour) for r in
                 await conn.execute(text("SELECT document_id, receipt, hour FROM sale_facts"))}
        lines = {(r.document_id, r.line_no): (r.tax, r.gst_bp, r.name) for r in
                 await conn.execute(text("SELECT document_id, line_no, tax, gst_bp, name FROM line_facts"))}
    await engine.dispose()
    assert len(expected_sales) == 420 and len(expected_lines) == 840 and 420 > 6 * 64
    assert sales == expected_sales
    assert lines == expected_lines
