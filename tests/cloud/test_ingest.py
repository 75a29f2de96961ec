"""Cloud ingest over HTTP, on SQLite and on PostgreSQL: idempotency, conflicts, invalid
documents, projections, gaps, and who may do what."""
from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from sqlalchemy import select, text

from cloud_api import schema
from cloud_api.database import create_engine
from tests.conftest import make_sale


async def new_shop(client: Any, cloud_db_url: str, name: str = "Madina") -> dict[str, Any]:
    """A shop with an enrolled gateway, made the way `posline-cloud create-shop` makes one."""
    from cloud_api.shops import create_shop
    engine = create_engine(cloud_db_url)
    async with engine.begin() as conn:
        shop = await create_shop(conn, name)
    await engine.dispose()
    enrolled = await client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    assert enrolled.status == 201
    body = await enrolled.json()
    return {"shop_id": shop.shop_id, "owner": {"Authorization": f"Bearer {shop.owner_token}"},
            "gateway": {"Authorization": f"Bearer {body['api_key']}"}, "enrol_token": shop.enrol_token}


async def post_batch(client: Any, shop: dict[str, Any], documents: list[Any], gzipped: bool = False) -> Any:
    if gzipped:
        body = gzip.compress(json.dumps({"documents": documents}).encode())
        return await client.post("/v1/journal:batch", data=body, headers={
            **shop["gateway"], "Content-Type": "application/json", "Content-Encoding": "gzip"})
    return await client.post("/v1/journal:batch", json={"documents": documents}, headers=shop["gateway"])


async def test_one_batch_answers_stored_duplicate_conflict_and_invalid(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    first, second = make_sale(seq=1), make_sale(seq=2)
    assert (await post_batch(cloud_client, shop, [first])).status == 200

    twin = make_sale(seq=2, doc_id=first["id"], qty=3)          # same id, other content
    broken = make_sale(seq=3)
    broken["total"] += 1                                          # fails validation (and its hash)
    response = await post_batch(cloud_client, shop, [second, first, twin, broken, "junk"], gzipped=True)
    assert response.status == 200
    results = (await response.json())["results"]
    assert [r["status"] for r in results] == ["stored", "duplicate", "conflict", "invalid", "invalid"]
    assert results[3]["id"] == broken["id"] and results[3]["reason"]

    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(schema.documents.c.id, schema.documents.c.hash))).all()
        quarantined = (await conn.execute(select(schema.quarantine))).all()
        rejected = (await conn.execute(select(schema.rejected_documents))).all()
    await engine.dispose()
    # The first version stays; the twin is kept beside it, never over it; the bad ones are kept too.
    assert dict(stored) == {first["id"]: first["hash"], second["id"]: second["hash"]}
    assert [(q.document_id, q.stored_hash, q.incoming_hash) for q in quarantined] == [
        (first["id"], first["hash"], twin["hash"])]
    assert len(rejected) == 2 and json.loads(rejected[0].body)["id"] == broken["id"]


async def test_resending_a_batch_counts_each_sale_once(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    sales = [make_sale(seq=n, qty=n) for n in range(1, 6)]
    for _ in range(3):   # a lost reply, twice
        assert (await post_batch(cloud_client, shop, sales)).status == 200
    summary = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/reports/summary?date=2026-11-27",
                                            headers=shop["owner"])).json()
    gross = sum(s["total"] for s in sales)
    assert summary == {"date": "2026-11-27", "sales_count": 5, "gross": gross, "refunds": 0, "net": gross,
                       "tax": sum(s["tax"] for s in sales), "by_tender": {"cash": gross}, "by_device": {"T1": gross},
                       "refunds_count": 0, "discounts": 0, "service_fees": 0, "paid_in": 0, "paid_out": 0,
                       "by_cashier": {"c1": {"name": None, "sales_count": 5, "gross": gross, "refunds_count": 0,
                                             "refunds": 0, "net": gross}},
                       "unverified": {"count": 0, "amount": 0}, "loose": {}}
    stock = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/stock", headers=shop["owner"])).json()
    assert stock == [{"sku": "TAPAL-190", "on_hand": -15}]
    listed = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/documents?kind=sale&from=2026-11-27"
                                           f"&to=2026-11-27&limit=2", headers=shop["owner"])).json()
    assert [d["receipt_number"] for d in listed["documents"]] == ["T1-000001", "T1-000002"]
    assert listed["next_after"] is not None


async def test_gaps_in_a_device_sequence_are_reported(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    await post_batch(cloud_client, shop, [make_sale(seq=n, device_code="T2") for n in (1, 2, 4, 7)])
    health = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/health", headers=shop["owner"])).json()
    device = health["devices"][0]
    assert (device["device_code"], device["contiguous_seq"], device["max_seq"]) == ("T2", 2, 7)
    assert device["gaps"] == ["T2-000003 missing", "T2-000005 … T2-000006 missing"]
    await post_batch(cloud_client, shop, [make_sale(seq=3, device_code="T2")])
    health = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/health", headers=shop["owner"])).json()
    assert health["devices"][0]["contiguous_seq"] == 4


async def test_sale_ids_are_scoped_to_their_shop(cloud_client, cloud_db_url):
    a = await new_shop(cloud_client, cloud_db_url, "A")
    b = await new_shop(cloud_client, cloud_db_url, "B")
    sale = make_sale()
    assert (await (await post_batch(cloud_client, a, [sale])).json())["results"][0]["status"] == "stored"
    assert (await (await post_batch(cloud_client, b, [sale])).json())["results"][0]["status"] == "stored"


async def test_no_one_reaches_a_shop_without_its_credentials(cloud_client, cloud_db_url):
    a = await new_shop(cloud_client, cloud_db_url, "A")
    b = await new_shop(cloud_client, cloud_db_url, "B")
    no_key = await cloud_client.post("/v1/journal:batch", json={"documents": []})
    assert no_key.status == 401 and (await no_key.json())["error"]["code"] == "unauthorised"
    wrong = await cloud_client.post("/v1/journal:batch", json={"documents": []},
                                    headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    other = await cloud_client.get(f"/v1/shops/{a['shop_id']}/stock", headers=b["owner"])
    assert other.status == 403 and (await other.json())["error"]["code"] == "forbidden"
    again = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": a["enrol_token"]})
    assert again.status == 401   # enrolment tokens work once


async def test_bad_input_gets_a_json_error(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    not_json = await cloud_client.post("/v1/journal:batch", data=b"{", headers=shop["gateway"])
    assert not_json.status == 400 and (await not_json.json())["error"]["code"] == "bad_request"
    too_many = await post_batch(cloud_client, shop, [make_sale(seq=n) for n in range(1, 502)])
    assert too_many.status == 400
    bad_product = await cloud_client.put(f"/v1/shops/{shop['shop_id']}/products/X", json={"name": "X", "price": 1.5,
                                                                                          "gst_bp": 1800},
                                         headers=shop["owner"])
    assert bad_product.status == 400 and "price" in (await bad_product.json())["error"]["message"]
    bad_date = await cloud_client.get(f"/v1/shops/{shop['shop_id']}/reports/summary?date=yesterday",
                                      headers=shop["owner"])
    assert bad_date.status == 400
    missing = await cloud_client.get("/v1/nothing-here")
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"


async def test_catalog_is_versioned_with_etags(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    put = await cloud_client.put(f"/v1/shops/{shop['shop_id']}/products/TAPAL-190", headers=shop["owner"],
                                 json={"name": "Tapal Danedar 190g", "price": 55000, "gst_bp": 1800})
    assert put.status == 200
    await cloud_client.put(f"/v1/shops/{shop['shop_id']}/cashiers/c1", headers=shop["owner"],
                           json={"name": "Ayesha", "pin": "135790"})
    first = await cloud_client.get("/v1/catalog", headers=shop["gateway"])
    etag = first.headers["ETag"]
    catalog = await first.json()
    assert [p["sku"] for p in catalog["products"]] == ["TAPAL-190"]
    assert "pin" not in catalog["cashiers"][0] and len(catalog["cashiers"][0]["pin_hash"]) == 64
    same = await cloud_client.get("/v1/catalog", headers={**shop["gateway"], "If-None-Match": etag})
    assert same.status == 304
    await cloud_client.put(f"/v1/shops/{shop['shop_id']}/products/TAPAL-190", headers=shop["owner"],
                           json={"name": "Tapal Danedar 190g", "price": 56000, "gst_bp": 1800})
    changed = await cloud_client.get("/v1/catalog", headers={**shop["gateway"], "If-None-Match": etag})
    assert changed.status == 200 and (await changed.json())["products"][0]["price"] == 56000


async def test_heartbeat_shows_in_health(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    beat = await cloud_client.post("/v1/heartbeat", headers=shop["gateway"],
                                   json={"version": "0.1.0", "backlog": 7, "oldest_unsynced_at": "2026-11-27T10:00:00Z"})
    assert beat.status == 200
    health = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/health", headers=shop["owner"])).json()
    assert health["gateways"][0]["backlog"] == 7
    assert health["gateways"][0]["last_heard_at"] is not None


OTHER_KINDS = {
    "refund": lambda sale: {"original_id": sale["id"], "lines": [
                                {"line_index": 0, **{k: v for k, v in sale["lines"][0].items()
                                                     if k in ("sku", "name", "qty", "unit_price", "gst_bp",
                                                              "amount", "tax")}}],
                            "payments": [{"tender": "cash", "amount": sale["total"]}],
                            "total": sale["total"], "tax": sale["tax"]},
    "shift_open": lambda sale: {"opening_float": 500000},
    "shift_close": lambda sale: {"shift_id": sale["id"], "counted_cash": 612000},
    "cash_movement": lambda sale: {"direction": "out", "amount": 20000, "reason": "tea for the staff"},
}


@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
async def test_other_kinds_are_stored_by_their_own_strict_model(cloud_client, cloud_db_url, kind):
    shop = await new_shop(cloud_client, cloud_db_url)
    from cloud_api.contract import document_hash
    sale = make_sale()
    doc = {k: sale[k] for k in ("id", "device_id", "device_code", "seq", "created_at", "cashier_id")}
    doc.update(kind=kind, **OTHER_KINDS[kind](sale))
    doc["hash"] = document_hash(doc)
    stranger = make_sale(seq=2)
    stranger = {k: stranger[k] for k in ("id", "device_id", "device_code", "seq", "created_at", "cashier_id")}
    stranger.update(kind=kind, **OTHER_KINDS[kind](sale), anything="goes?")   # no kind takes an arbitrary body
    stranger["hash"] = document_hash(stranger)
    results = (await (await post_batch(cloud_client, shop, [doc, stranger])).json())["results"]
    assert results[0]["status"] == "stored"
    assert results[1]["status"] == "invalid" and "anything" in results[1]["reason"]


async def _poison_trigger(cloud_db_url: str, condition: str, table: str = "documents") -> None:
    """Make the database itself refuse some inserts into `table` (documents, or a projection's), as a
    constraint would."""
    engine = create_engine(cloud_db_url)
    async with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            await conn.execute(text(f"CREATE TRIGGER poison BEFORE INSERT ON {table} WHEN {condition} "
                                    f"BEGIN SELECT RAISE(ABORT, 'poison {table}'); END"))
        else:
            await conn.execute(text("CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                    f"IF {condition} THEN RAISE EXCEPTION 'poison {table}' "
                                    "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$"))
            await conn.execute(text(f"CREATE TRIGGER poison BEFORE INSERT ON {table} "
                                    "FOR EACH ROW EXECUTE FUNCTION poison()"))
    await engine.dispose()


async def test_a_document_the_database_refuses_gets_its_own_verdict(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    sales = [make_sale(seq=n) for n in range(1, 6)]
    await _poison_trigger(cloud_db_url, f"NEW.id = '{sales[2]['id']}'")
    response = await post_batch(cloud_client, shop, sales)
    assert response.status == 200   # never a 500 for the whole batch
    results = (await response.json())["results"]
    assert [r["status"] for r in results] == ["stored", "stored", "invalid", "stored", "stored"]
    assert results[2]["id"] == sales[2]["id"] and "poison document" in results[2]["reason"]

    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        stored = set((await conn.execute(select(schema.documents.c.id))).scalars())
        facts = set((await conn.execute(select(schema.sale_facts.c.document_id))).scalars())
        rejected = (await conn.execute(select(schema.rejected_documents))).all()
        contiguous = (await conn.execute(select(schema.devices.c.contiguous_seq))).scalar_one()
    await engine.dispose()
    others = {s["id"] for i, s in enumerate(sales) if i != 2}
    assert stored == facts == others               # its projections went with it; the others' stayed
    assert [(r.document_id, "poison document" in r.reason) for r in rejected] == [(sales[2]["id"], True)]
    assert contiguous == 2                         # T1-000003 is a gap the owner sees
    again = await (await post_batch(cloud_client, shop, sales)).json()   # a resend: same verdicts
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "invalid", "duplicate", "duplicate"]


async def test_a_database_that_refuses_every_document_fails_the_batch_not_the_documents(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    await _poison_trigger(cloud_db_url, "1 = 1")
    response = await post_batch(cloud_client, shop, [make_sale(seq=1), make_sale(seq=2)])
    assert response.status == 500   # the gateway keeps them and sends them again later
    # A lone document proves nothing about the database either: never filed as invalid for good.
    alone = await post_batch(cloud_client, shop, [make_sale(seq=3)])
    assert alone.status == 500
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        assert (await conn.execute(select(schema.rejected_documents))).all() == []
    await engine.dispose()


async def test_the_largest_sales_keep_reports_and_stock_exact(cloud_client, cloud_db_url):
    from cloud_api.contract import MAX_PAISA, MAX_QTY
    shop = await new_shop(cloud_client, cloud_db_url)
    biggest = [make_sale(seq=n, qty=1, price=MAX_PAISA, payments=[{"tender": "card", "amount": MAX_PAISA}],
                         change=0) for n in range(1, 4)]
    bulk = make_sale(seq=4, qty=MAX_QTY, price=1, payments=[{"tender": "cash", "amount": MAX_QTY}], change=0)
    results = (await (await post_batch(cloud_client, shop, [*biggest, bulk])).json())["results"]
    assert {r["status"] for r in results} == {"stored"}
    movement = await cloud_client.post(f"/v1/shops/{shop['shop_id']}/stock-movements", headers=shop["owner"],
                                       json={"sku": "TAPAL-190", "qty": 2**62, "reason": "typo"})
    assert movement.status == 400   # bounded like a sale line
    summary = await cloud_client.get(f"/v1/shops/{shop['shop_id']}/reports/summary?date=2026-11-27",
                                     headers=shop["owner"])
    assert summary.status == 200
    body = await summary.json()
    assert body["gross"] == 3 * MAX_PAISA + MAX_QTY and body["by_tender"] == {"card": 3 * MAX_PAISA, "cash": MAX_QTY}
    stock = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/stock", headers=shop["owner"])).json()
    assert stock == [{"sku": "TAPAL-190", "on_hand": -(3 + MAX_QTY)}]
