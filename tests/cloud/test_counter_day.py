"""A whole day at the counter in the cloud, on SQLite and PostgreSQL: refunds, discounts, tenders with
references, loose goods, shifts and Z-reports, cash movements, the stock snapshot and its watermark,
and the catalog's units, Urdu names, cashier permissions and receipt settings."""
from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, text

from cloud_api import schema
from cloud_api.contract import JournalBatch, ShopSettings
from cloud_api.database import create_engine, migrate
from cloud_api.ingest import ingest_batch
from cloud_api.shops import GatewayIdentity
from tests.cloud.counter_documents import (DAY, cash_movement, line, refund, sale, shift_close, shift_open)
from tests.cloud.test_ingest import new_shop, post_batch
from tests.conftest import cloud_at_revision, make_sale


async def _get(client: Any, shop: dict[str, Any], path: str, who: str = "owner") -> Any:
    response = await client.get(path, headers=shop[who])
    assert response.status == 200, await response.text()
    return await response.json()


async def _summary(client: Any, shop: dict[str, Any], day: str = DAY) -> dict[str, Any]:
    return await _get(client, shop, f"/v1/shops/{shop['shop_id']}/reports/summary?date={day}")


async def _shifts(client: Any, shop: dict[str, Any], day: str = DAY) -> list[dict[str, Any]]:
    return (await _get(client, shop, f"/v1/shops/{shop['shop_id']}/reports/shifts?date={day}"))["shifts"]


async def _stored(client: Any, shop: dict[str, Any], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = (await (await post_batch(client, shop, documents)).json())["results"]
    assert [r["status"] for r in results] == ["stored"] * len(documents), results
    return results


async def test_stored_and_duplicate_results_carry_the_ingest_seq(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    first, second = make_sale(seq=1), make_sale(seq=2)
    stored = await _stored(cloud_client, shop, [first, second])
    assert stored[0]["ingest_seq"] < stored[1]["ingest_seq"]
    twin = make_sale(seq=3, doc_id=first["id"], qty=5)
    again = (await (await post_batch(cloud_client, shop, [second, twin, "junk"])).json())["results"]
    assert [(r["status"], r["ingest_seq"]) for r in again] == [
        ("duplicate", stored[1]["ingest_seq"]), ("conflict", None), ("invalid", None)]


async def test_a_refund_is_projected_on_its_own_day_with_stock_back_in(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    sold = sale(1, [line("TAPAL-190", 3, 55000), line("COKE-1500", 2, 21000)], change=5000)
    back = refund(2, sold, [(0, 1)], tender="card", reason="damaged", cashier_id="c2",
                  created_at="2026-11-28T10:00:00+05:00")
    await _stored(cloud_client, shop, [sold, back])
    first_day, second_day = await _summary(cloud_client, shop), await _summary(cloud_client, shop, "2026-11-28")
    assert (first_day["gross"], first_day["refunds"], first_day["net"]) == (207000, 0, 207000)
    assert first_day["by_tender"] == {"cash": 207000}
    assert second_day["refunds"] == back["total"] == 55000 and second_day["refunds_count"] == 1
    assert second_day["net"] == -55000 and second_day["tax"] == -back["tax"]
    assert second_day["by_tender"] == {"card": -55000} and second_day["by_device"] == {"T1": -55000}
    assert second_day["by_cashier"]["c2"]["refunds"] == 55000
    stock = await _get(cloud_client, shop, f"/v1/shops/{shop['shop_id']}/stock")
    assert stock == [{"sku": "COKE-1500", "on_hand": -2}, {"sku": "TAPAL-190", "on_hand": -2}]
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        s = schema.stock_ledger.c
        reasons = (await conn.execute(select(s.reason, s.qty).where(s.document_id == back["id"]))).all()
        original = (await conn.execute(select(schema.sale_facts.c.original_id)
                                       .where(schema.sale_facts.c.document_id == back["id"]))).scalar_one()
    await engine.dispose()
    assert [tuple(r) for r in reasons] == [("refund", 1)] and original == sold["id"]
    listed = await _get(cloud_client, shop, f"/v1/shops/{shop['shop_id']}/documents?kind=refund")
    assert [(d["receipt_number"], d["original_receipt"], d["reason"]) for d in listed["documents"]] == [
        ("T1-000002", "T1-000001", "damaged")]


async def test_discounts_split_tenders_references_and_unverified_wallets(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    lines = [line("TAPAL-190", 2, 55000, discount=11000), line("LUX-SOAP", 1, 17000, cart_discount=1700)]
    total = sum(ln["amount"] for ln in lines)     # 110000 - 11000 + 17000 - 1700 = 114300
    split = sale(1, lines, [{"tender": "card", "amount": 50000, "reference": "RRN-77812"},
                            {"tender": "wallet", "amount": 40000, "wallet": "jazzcash", "reference": "JC-1",
                             "unverified": True},
                            {"tender": "cash", "amount": total - 90000 + 700}], change=700)
    checked = sale(2, [line("COKE-1500", 1, 21000)], [{"tender": "wallet", "amount": 21000, "wallet": "raast",
                                                       "reference": "RAAST-9"}])
    await _stored(cloud_client, shop, [split, checked])
    summary = await _summary(cloud_client, shop)
    assert summary["discounts"] == 12700 and summary["gross"] == total + 21000
    assert summary["by_tender"] == {"card": 50000, "cash": total - 90000, "wallet": 61000}
    assert summary["unverified"] == {"count": 1, "amount": 40000}
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        t = schema.tender_facts.c
        kept = (await conn.execute(select(t.tender, t.reference, t.wallet, t.unverified, t.amount)
                                   .where(t.document_id == split["id"]).order_by(t.pk))).all()
    await engine.dispose()
    assert [tuple(r) for r in kept] == [("card", "RRN-77812", None, False, 50000),
                                        ("wallet", "JC-1", "jazzcash", True, 40000),
                                        ("cash", None, None, False, total - 90000 + 700),
                                        ("cash", None, None, False, -700)]


async def test_loose_goods_move_stock_and_report_by_the_gram(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    sugar = line("SUGAR-LOOSE", 1500, 16000, unit="kg")                       # 1.5 kg at Rs 160/kg
    oil = line("OIL-LOOSE", 313, 52000, unit="l", priced_by="amount")         # "Rs 162.76 of oil"
    sold = sale(1, [sugar, oil, line("TAPAL-190", 1, 55000)])
    back = refund(2, sold, [(0, 500)])
    await _stored(cloud_client, shop, [sold, back])
    summary = await _summary(cloud_client, shop)
    assert summary["loose"] == {
        "OIL-LOOSE": {"unit": "l", "qty": 313, "amount": oil["amount"]},
        "SUGAR-LOOSE": {"unit": "kg", "qty": 1000, "amount": sugar["amount"] - back["total"]}}
    assert back["total"] == 8000   # a third of 24000
    stock = {row["sku"]: row["on_hand"] for row in await _get(cloud_client, shop, f"/v1/shops/{shop['shop_id']}/stock")}
    assert stock == {"OIL-LOOSE": -313, "SUGAR-LOOSE": -1000, "TAPAL-190": -1}


async def test_a_shift_z_report_is_worked_out_from_its_documents(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    opened = shift_open(1, 500000, created_at="2026-11-27T09:00:00+05:00")
    sid = opened["id"]
    cash_sale = sale(2, [line("TAPAL-190", 2, 55000, discount=5500)], change=3000, shift_id=sid)   # 104500 cash
    card_sale = sale(3, [line("COKE-1500", 1, 21000)], [{"tender": "card", "amount": 21000, "reference": "R1"}],
                     shift_id=sid, cashier_id="c2")
    cash_back = refund(4, cash_sale, [(0, 1)], shift_id=sid)                                     # 52250 cash
    paid_in = cash_movement(5, "in", 100000, "change from the bank", shift_id=sid)
    paid_out = cash_movement(6, "out", 20000, "tea for the staff", shift_id=sid)
    other_shift_sale = sale(7, [line("LUX-SOAP", 1, 17000)], shift_id="00000000-0000-4000-8000-000000000000")
    expected = 500000 + 104500 - 52250 + 100000 - 20000
    assert expected == 632250
    closed = shift_close(8, sid, counted_cash=632000, expected_cash=632250, confirmed={"card": 21000},
                         created_at="2026-11-27T21:00:00+05:00")
    # The closing may reach the cloud before the opening (another batch): the shift is the same.
    await _stored(cloud_client, shop, [closed, cash_sale, card_sale, cash_back, paid_in, paid_out, other_shift_sale])
    await _stored(cloud_client, shop, [opened])
    reports = [r for r in await _shifts(cloud_client, shop) if r["shift_id"] == sid]
    assert len(reports) == 1
    z = reports[0]
    assert (z["device_code"], z["opened_by"], z["opened_at"], z["opening_float"]) == (
        "T1", "c1", "2026-11-27T09:00:00+05:00", 500000)
    assert (z["closed"], z["closed_at"], z["close_receipt"], z["open_receipt"]) == (
        True, "2026-11-27T21:00:00+05:00", "T1-000008", "T1-000001")
    assert (z["sales_count"], z["gross"], z["refunds_count"], z["refunds"], z["discounts"]) == (
        2, 104500 + 21000, 1, 52250, 5500)
    assert z["by_tender"] == {"card": 21000, "cash": 104500 - 52250}
    assert z["by_cashier"]["c2"]["gross"] == 21000 and z["by_cashier"]["c1"]["refunds"] == 52250
    assert (z["paid_in"], z["paid_out"]) == (100000, 20000)
    assert (z["expected_cash"], z["counted_cash"], z["over_short"]) == (632250, 632000, -250)
    assert (z["till_expected_cash"], z["disagrees"], z["confirmed"]) == (632250, False, {"card": 21000})
    summary = await _summary(cloud_client, shop)
    assert (summary["paid_in"], summary["paid_out"]) == (100000, 20000)
    listed = await _get(cloud_client, shop, f"/v1/shops/{shop['shop_id']}/documents?kind=shift_close")
    assert [d["receipt_number"] for d in listed["documents"]] == ["T1-000008"]


async def test_the_z_report_flags_a_till_that_worked_the_drawer_out_differently(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    opened = shift_open(1, 100000)
    sold = sale(2, [line("TAPAL-190", 1, 55000)], shift_id=opened["id"])
    # The till missed nothing but claims Rs 10 more than its documents add up to.
    closed = shift_close(3, opened["id"], counted_cash=155000, expected_cash=156000)
    await _stored(cloud_client, shop, [opened, sold, closed])
    z = (await _shifts(cloud_client, shop))[0]
    assert (z["expected_cash"], z["till_expected_cash"], z["disagrees"], z["over_short"]) == (
        155000, 156000, True, 0)


async def test_the_shifts_report_lists_that_days_shifts_and_those_still_open(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    still_open = shift_open(1, 1000, created_at="2026-11-26T09:00:00+05:00")
    closed_yesterday = shift_open(1, 2000, device_code="T2", created_at="2026-11-26T09:00:00+05:00")
    today = shift_open(2, 3000, device_code="T2", created_at="2026-11-27T09:00:00+05:00")
    tomorrow = shift_open(2, 4000, created_at="2026-11-28T09:00:00+05:00")
    await _stored(cloud_client, shop, [still_open, closed_yesterday, today, tomorrow,
                                       shift_close(3, closed_yesterday["id"], 2000, device_code="T2",
                                                   created_at="2026-11-26T20:00:00+05:00")])
    listed = await _shifts(cloud_client, shop)
    assert sorted(r["opening_float"] for r in listed) == [1000, 3000]
    open_one = next(r for r in listed if r["opening_float"] == 1000)
    assert (open_one["closed"], open_one["over_short"], open_one["expected_cash"]) == (False, None, 1000)
    bad = await cloud_client.get(f"/v1/shops/{shop['shop_id']}/reports/shifts?date=27-11-2026", headers=shop["owner"])
    assert bad.status == 400 and "YYYY-MM-DD" in (await bad.json())["error"]["message"]
    other = await new_shop(cloud_client, cloud_db_url, "Other")
    assert (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/reports/shifts?date={DAY}",
                                   headers=other["owner"])).status == 403


# --- the stock snapshot a box builds on ---------------------------------------------------

async def test_the_stock_snapshot_counts_up_to_its_watermark(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    assert (await cloud_client.get("/v1/stock")).status == 401
    assert (await cloud_client.get("/v1/stock", headers=shop["owner"])).status == 401   # a gateway's key only
    # Stock moves only for a product the shop has (an unknown SKU is refused).
    await cloud_client.put(f"/v1/shops/{shop['shop_id']}/products/SUGAR-LOOSE", headers=shop["owner"],
                           json={"name": "Sugar (loose)", "price": 16000, "gst_bp": 0, "unit": "kg"})
    received = await cloud_client.post(f"/v1/shops/{shop['shop_id']}/stock-movements", headers=shop["owner"],
                                       json={"sku": "SUGAR-LOOSE", "qty": 50000, "reason": "received"})
    assert received.status == 201
    empty = await _get(cloud_client, shop, "/v1/stock", "gateway")
    assert empty == {"watermark": 0, "stock": {"SUGAR-LOOSE": 50000}}
    first = await _stored(cloud_client, shop, [sale(1, [line("SUGAR-LOOSE", 2250, 16000, unit="kg")])])
    before = await _get(cloud_client, shop, "/v1/stock", "gateway")
    assert before == {"watermark": first[0]["ingest_seq"], "stock": {"SUGAR-LOOSE": 47750}}
    # A document above the watermark is not in that snapshot; the next one moves past it and counts it.
    later = await _stored(cloud_client, shop, [make_sale(seq=2, qty=3)])
    assert later[0]["ingest_seq"] > before["watermark"]
    after = await _get(cloud_client, shop, "/v1/stock", "gateway")
    assert after == {"watermark": later[0]["ingest_seq"], "stock": {"SUGAR-LOOSE": 47750, "TAPAL-190": -3}}
    other = await new_shop(cloud_client, cloud_db_url, "Other")
    assert await _get(cloud_client, other, "/v1/stock", "gateway") == {"watermark": 0, "stock": {}}


async def test_the_stock_snapshot_has_an_etag_that_any_change_moves(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)

    async def etag_after(held: str | None) -> tuple[int, str]:
        response = await cloud_client.get("/v1/stock", headers={**shop["gateway"],
                                                                **({"If-None-Match": held} if held else {})})
        return response.status, response.headers["ETag"]
    status, etag = await etag_after(None)
    assert status == 200 and await etag_after(etag) == (304, etag)
    await _stored(cloud_client, shop, [make_sale(seq=1)])
    status, after_sale = await etag_after(etag)
    assert status == 200 and after_sale != etag
    # An owner's count moves the figures but not the watermark: the ETag still moves.
    await cloud_client.put(f"/v1/shops/{shop['shop_id']}/products/TAPAL-190", headers=shop["owner"],
                           json={"name": "Tapal Danedar 190g", "price": 55000, "gst_bp": 1800})
    await cloud_client.post(f"/v1/shops/{shop['shop_id']}/stock-movements", headers=shop["owner"],
                            json={"sku": "TAPAL-190", "qty": 24, "reason": "received"})
    status, after_count = await etag_after(after_sale)
    assert status == 200 and after_count not in (etag, after_sale)


async def test_a_snapshot_taken_during_an_ingest_never_counts_half_of_it(cloud_client, cloud_db_url):
    """The watermark rule under concurrency: an ingest not yet committed is either wholly in the snapshot
    (PostgreSQL waits for it, under the shared advisory lock) or wholly above its watermark (SQLite's
    snapshot), never counted under a watermark below it nor missed under one above it."""
    shop = await new_shop(cloud_client, cloud_db_url)
    await _stored(cloud_client, shop, [make_sale(seq=1, qty=1)])
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        gateway_id, shop_id = (await conn.execute(select(schema.gateways.c.id, schema.gateways.c.shop_id))).first()
    pending = make_sale(seq=2, qty=4)
    async with engine.connect() as conn:
        await conn.begin()
        results = await ingest_batch(conn, GatewayIdentity(gateway_id, shop_id), JournalBatch(documents=[pending]))
        snapshot = asyncio.ensure_future(cloud_client.get("/v1/stock", headers=shop["gateway"]))
        await asyncio.sleep(0.5)
        waited = not snapshot.done()
        await conn.commit()
    await engine.dispose()
    answer = await (await snapshot).json()
    counted = answer["stock"]["TAPAL-190"] == -5
    assert counted == (answer["watermark"] >= results[0].ingest_seq)
    assert answer["stock"]["TAPAL-190"] in (-1, -5)
    if engine.dialect.name == "postgresql":
        assert waited and counted   # the shared lock waited for the ingest, then counted it


# --- the catalog the till needs -----------------------------------------------------------

async def test_the_catalog_carries_units_urdu_names_permissions_and_settings(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    base = f"/v1/shops/{shop['shop_id']}"
    put = await cloud_client.put(f"{base}/products/DAAL", headers=shop["owner"], json={
        "name": "Daal Chana (loose)", "price": 30000, "gst_bp": 0, "unit": "kg", "name_ur": "دال چنا",
        "low_stock_at": 2000})
    assert put.status == 200 and (await put.json())["unit"] == "kg"
    assert (await cloud_client.put(f"{base}/products/SALT", headers=shop["owner"],
                                   json={"name": "Salt", "price": 9000, "gst_bp": 1800})).status == 200
    cashier = await cloud_client.put(f"{base}/cashiers/c2", headers=shop["owner"], json={
        "name": "Bilal", "pin": "246810", "max_discount_bp": 1000, "can_refund": False})
    assert await cashier.json() == {"cashier_id": "c2", "name": "Bilal", "max_discount_bp": 1000,
                                    "can_refund": False}
    assert (await cloud_client.put(f"{base}/cashiers/c3", headers=shop["owner"],
                                   json={"name": "Zara", "pin": "135791"})).status == 200
    catalog = await _get(cloud_client, shop, "/v1/catalog", "gateway")
    products = {p["sku"]: p for p in catalog["products"]}
    assert (products["DAAL"]["unit"], products["DAAL"]["name_ur"], products["DAAL"]["low_stock_at"]) == (
        "kg", "دال چنا", 2000)
    assert (products["SALT"]["unit"], products["SALT"]["name_ur"], products["SALT"]["low_stock_at"]) == (
        "each", None, None)
    cashiers = {c["cashier_id"]: c for c in catalog["cashiers"]}
    assert (cashiers["c2"]["max_discount_bp"], cashiers["c2"]["can_refund"]) == (1000, False)
    assert (cashiers["c3"]["max_discount_bp"], cashiers["c3"]["can_refund"]) == (0, True)
    assert catalog["settings"] == ShopSettings().model_dump()
    for bad in ({"name": "x", "price": 1, "gst_bp": 0, "unit": "dozen"},
                {"name": "x", "price": 1, "gst_bp": 0, "low_stock_at": -1}):
        assert (await cloud_client.put(f"{base}/products/X", headers=shop["owner"], json=bad)).status == 400
    refused = await cloud_client.put(f"{base}/cashiers/c4", headers=shop["owner"],
                                     json={"name": "Y", "pin": "135792", "max_discount_bp": 10001})
    assert refused.status == 400 and "max_discount_bp" in (await refused.json())["error"]["message"]


async def test_receipt_settings_change_the_catalog_etag(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    url = f"/v1/shops/{shop['shop_id']}/settings"
    first = await cloud_client.get("/v1/catalog", headers=shop["gateway"])
    etag = first.headers["ETag"]
    settings = {"address": "12 Liberty Market, Gulberg III, Lahore", "phone": "042-35712345", "ntn": "1234567-8",
                "strn": "3277876123456", "receipt_footer": "شکریہ! Thank you",
                "default_credit_limit": 750000, "offline_credit_allowance": 100000}   # khata (issue 10)
    saved = await cloud_client.put(url, headers=shop["owner"], json=settings)
    assert saved.status == 200 and await saved.json() == settings
    unchanged = await cloud_client.get("/v1/catalog", headers={**shop["gateway"], "If-None-Match": etag})
    assert unchanged.status == 200 and unchanged.headers["ETag"] != etag
    assert (await unchanged.json())["settings"] == settings
    for bad in ({"ntn": "1" * 21}, {"address": 12}, {"footer": "typo"}, {"phone": "a\x00b"}, []):
        refused = await cloud_client.put(url, headers=shop["owner"], json=bad)
        assert refused.status == 400, bad
        assert (await refused.json())["error"]["message"]
    assert (await cloud_client.put(url, json=settings)).status == 401
    other = await new_shop(cloud_client, cloud_db_url, "Other")
    assert (await cloud_client.put(url, headers=other["owner"], json=settings)).status == 403
    catalog = await _get(cloud_client, shop, "/v1/catalog", "gateway")
    assert catalog["settings"] == settings   # nothing refused was stored


async def test_the_demo_shop_sells_loose_goods_in_urdu_with_a_discounting_cashier(cloud_client, cloud_db_url):
    from cloud_api.demo_shop import CASHIER_PIN, PRODUCTS, seed_demo_catalog
    shop = await new_shop(cloud_client, cloud_db_url)
    engine = create_engine(cloud_db_url)
    async with engine.begin() as conn:
        assert (await seed_demo_catalog(conn, shop["shop_id"]))["cashier_pin"] == CASHIER_PIN
    await engine.dispose()
    catalog = await _get(cloud_client, shop, "/v1/catalog", "gateway")
    assert len(catalog["products"]) == len(PRODUCTS)
    assert all(p["name_ur"] and p["category"] for p in catalog["products"])
    assert {p["sku"]: p["unit"] for p in catalog["products"] if p["unit"] != "each"} == {
        "SUGAR-LOOSE": "kg", "DAAL-MASOOR-LOOSE": "kg", "OIL-LOOSE": "l"}
    names = [p["name"] for p in catalog["products"]]
    # Browser tests find tiles by (part of) a name: no product's name may hold another's.
    assert not [(a, b) for a in names for b in names if a != b and a.lower() in b.lower()]
    assert [(c["name"], c["max_discount_bp"], c["can_refund"]) for c in catalog["cashiers"]] == [
        ("Ayesha", 1000, True)]
    assert "Lahore" in catalog["settings"]["address"] and catalog["settings"]["ntn"] and catalog["settings"]["strn"]


async def test_migration_0003_keeps_rows_of_the_previous_version_valid(cloud_db_url):
    engine = await cloud_at_revision(cloud_db_url, "0002")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO shops VALUES ('s', 'Madina', 'digest', 'Asia/Karachi', 3, 'x')"))
        await conn.execute(text("INSERT INTO products VALUES ('s', 'TAPAL-190', 'Tapal', 55000, 1800, NULL, NULL, "
                                "'x')"))
        await conn.execute(text("INSERT INTO cashiers VALUES ('s', 'c1', 'Ayesha', 'salt', 'hash', 1200000, 'x')"))
        await conn.execute(text(
            "INSERT INTO documents (shop_id, id, kind, device_id, device_code, seq, created_at, business_date, "
            "cashier_id, hash, body, ingested_at) VALUES ('s', 'd1', 'sale', 'dev', 'T1', 1, 'x', '2026-11-27', "
            "'c7', 'h', '{}', 'x')"))
        await conn.execute(text("INSERT INTO sale_facts VALUES ('s', 'd1', 'sale', '2026-11-27', 'T1', 110000, 16780)"))
    await migrate(engine, "0003")   # the journal row is a stand-in ('{}'): 0004 reads real bodies
    async with engine.connect() as conn:
        product = (await conn.execute(text("SELECT unit, name_ur, low_stock_at FROM products"))).one()
        cashier = (await conn.execute(select(schema.cashiers.c.max_discount_bp, schema.cashiers.c.can_refund))).one()
        shop = (await conn.execute(text("SELECT address, ntn, catalog_version FROM shops"))).one()
        fact = (await conn.execute(text("SELECT cashier_id, discount, change, shift_id FROM sale_facts"))).one()
    await engine.dispose()
    assert tuple(product) == ("each", None, None)
    assert tuple(cashier) == (0, True)
    assert tuple(shop) == ("", "", 3)
    assert tuple(fact) == ("c7", 0, 0, None)   # who rang it up, from the journal
