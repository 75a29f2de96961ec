"""Customers and khata in the cloud (issue 10), on SQLite and PostgreSQL: balances to the paisa from every
kind of khata document, the latest details winning, statements with running balances, ageing, the box's
snapshot exact for its watermark, the owner's API and its refusals, and the Z-report with credit."""
from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy import select

from cloud_api import schema
from cloud_api.database import create_engine
from cloud_api.khata import ageing, message_links, whatsapp_number
from tests.cloud.counter_documents import line, sale, shift_close, shift_open
from tests.cloud.khata_documents import (customer, khata_adjustment, khata_payment, refund_to_account,
                                         sale_on_account)
from tests.cloud.test_ingest import new_shop, post_batch


async def _stored(client: Any, shop: dict[str, Any], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = (await (await post_batch(client, shop, documents)).json())["results"]
    assert [r["status"] for r in results] == ["stored"] * len(documents), results
    return results


async def _get(client: Any, shop: dict[str, Any], path: str, status: int = 200) -> Any:
    response = await client.get(f"/v1/shops/{shop['shop_id']}{path}", headers=shop["owner"])
    assert response.status == status, await response.text()
    return await response.json()


async def _entries(cloud_db_url: str) -> list[Any]:
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        k = schema.khata_entries.c
        rows = (await conn.execute(select(schema.khata_entries).order_by(k.at, k.entry_id))).all()
    await engine.dispose()
    return rows


async def test_every_khata_document_moves_the_balance_to_the_paisa(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    # Created on T1; buys on account on T2 (Rs 1,234.56, Rs 34.56 of it in cash); returns it; buys again;
    # pays part on T1 in cash and card; the owner carries Rs 99.99 over from the paper khata at a till.
    made = customer(1, "Bilal Ahmed", device_code="T1")
    cid = made["customer_id"]
    bought = sale_on_account(1, cid, 123456, cash=3456, device_code="T2", created_at="2026-11-27T10:00:00+05:00")
    back = refund_to_account(2, bought, device_code="T2", created_at="2026-11-27T11:00:00+05:00")
    again = sale_on_account(3, cid, 55001, device_code="T2", created_at="2026-11-27T12:00:00+05:00")
    paid = khata_payment(2, cid, [{"tender": "cash", "amount": 20000},
                                  {"tender": "card", "amount": 1, "reference": "RRN-1"}],
                         device_code="T1", note="part", created_at="2026-11-27T13:00:00+05:00")
    carried = khata_adjustment(3, cid, 9999, device_code="T1", created_at="2026-11-27T14:00:00+05:00")
    await _stored(cloud_client, shop, [made, bought, back, again, paid, carried])
    # The return pays the whole Rs 1,234.56 back to the khata (its one tender), the cash part too.
    expected = 120000 - 123456 + 55001 - 20001 + 9999
    got = await _get(cloud_client, shop, f"/customers/{cid}")
    assert (got["name"], got["balance"], got["source"]) == ("Bilal Ahmed", expected, "till")
    rows = await _entries(cloud_db_url)
    assert [(r.kind, r.amount, r.device_code, r.receipt) for r in rows] == [
        ("sale", 120000, "T2", "T2-000001"), ("refund", -123456, "T2", "T2-000002"),
        ("sale", 55001, "T2", "T2-000003"), ("khata_payment", -20001, "T1", "T1-000002"),
        ("khata_adjustment", 9999, "T1", "T1-000003")]
    assert (rows[3].cash, rows[3].card, rows[3].wallet, rows[3].note) == (20000, 1, 0, "part")
    # The sales report: on_account is how the sales were paid; a khata payment is no sale (no tender).
    summary = await _get(cloud_client, shop, "/reports/summary?date=2026-11-27")
    assert summary["by_tender"] == {"cash": 3456, "on_account": 120000 - 123456 + 55001}
    assert summary["gross"] == 123456 + 55001
    # A later owner adjustment counts too, and is listed as its own entry.
    response = await cloud_client.post(f"/v1/shops/{shop['shop_id']}/customers/{cid}/adjustments",
                                       json={"amount": -9999, "reason": "carried over twice"}, headers=shop["owner"])
    assert response.status == 201, await response.text()
    assert (await response.json())["kind"] == "office_adjustment"
    assert (await _get(cloud_client, shop, f"/customers/{cid}"))["balance"] == expected - 9999


async def test_the_latest_details_win_whatever_order_they_arrive_in(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    made = customer(1, "Bilal", created_at="2026-11-27T10:00:00+05:00")
    cid = made["customer_id"]
    renamed = customer(2, "Bilal Ahmed", customer_id=cid, credit_limit=900_000, created_at="2026-11-27T11:00:00+05:00")
    stale = customer(1, "B. Ahmad", customer_id=cid, device_code="T2", created_at="2026-11-27T10:30:00+05:00")
    # The sale on account arrives before any of them: the customer is known by id until their document comes.
    bought = sale_on_account(3, cid, 10000, created_at="2026-11-27T12:00:00+05:00")
    await _stored(cloud_client, shop, [bought])
    placeholder = await _get(cloud_client, shop, f"/customers/{cid}")
    assert (placeholder["name"], placeholder["updated_at"], placeholder["balance"]) == ("", "", 10000)
    await _stored(cloud_client, shop, [renamed])
    await _stored(cloud_client, shop, [made, stale])        # older: change nothing
    got = await _get(cloud_client, shop, f"/customers/{cid}")
    assert (got["name"], got["credit_limit"], got["updated_at"]) == ("Bilal Ahmed", 900_000, "2026-11-27T06:00:00.000Z")
    assert got["created_at"] == "2026-11-27T05:00:00.000Z"
    # The owner's edit is now: a till document from before it (by true time) changes nothing.
    response = await cloud_client.put(f"/v1/shops/{shop['shop_id']}/customers/{cid}",
                                      json={"name": "Bilal Ahmed (Gali 4)", "phone": "0321 7654321"},
                                      headers=shop["owner"])
    assert response.status == 200, await response.text()
    assert (await response.json())["credit_limit"] == 900_000   # no credit_limit: kept
    later_till = customer(3, "Bilal again", customer_id=cid, created_at="2026-11-28T10:00:00+05:00")
    await _stored(cloud_client, shop, [later_till])
    got = await _get(cloud_client, shop, f"/customers/{cid}")
    assert (got["name"], got["phone"], got["source"]) == ("Bilal Ahmed (Gali 4)", "0321 7654321", "office")


async def test_a_statement_brings_the_balance_forward_and_runs_it(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    made = customer(1, "Sana")
    cid = made["customer_id"]
    docs = [made,
            sale_on_account(2, cid, 50000, created_at="2026-11-20T10:00:00+05:00"),
            sale_on_account(3, cid, 25050, created_at="2026-11-25T10:00:00+05:00"),
            khata_payment(4, cid, [{"tender": "cash", "amount": 30000}], created_at="2026-11-26T10:00:00+05:00"),
            sale_on_account(5, cid, 1, created_at="2026-11-26T11:00:00+05:00"),
            sale_on_account(6, cid, 70000, created_at="2026-11-29T10:00:00+05:00")]
    await _stored(cloud_client, shop, docs)
    got = await _get(cloud_client, shop, f"/customers/{cid}/statement?from=2026-11-25&to=2026-11-28")
    assert got["opening_balance"] == 50000
    assert [(e["kind"], e["amount"], e["balance"]) for e in got["entries"]] == [
        ("sale", 25050, 75050), ("khata_payment", -30000, 45050), ("sale", 1, 45051)]
    assert got["closing_balance"] == 45051 and got["customer"]["balance"] == 115051
    assert got["entries"][1]["paid"] == {"cash": 30000}
    everything = await _get(cloud_client, shop, f"/customers/{cid}/statement")
    assert everything["opening_balance"] == 0 and everything["closing_balance"] == 115051


def test_ageing_sets_credits_against_the_oldest_debts_first():
    today = date(2026, 11, 28)
    entries = [("2026-10-10", 100000), ("2026-11-15", 50000), ("2026-11-26", 30000), ("2026-11-27", -120000)]
    # Rs 1,200 paid: all of the October debt and Rs 200 of the 13-day-old one; what is left is newest.
    assert ageing(entries, today) == {"0-7": 30000, "8-30": 30000, "30+": 0}
    assert ageing([("2026-10-10", 100000), ("2026-11-21", 1)], today) == {"0-7": 1, "8-30": 0, "30+": 100000}
    assert ageing([("2026-11-20", 100), ("2026-11-21", 1)], today) == {"0-7": 1, "8-30": 100, "30+": 0}
    assert ageing([("2026-10-10", 100), ("2026-11-27", -500)], today) == {"0-7": 0, "8-30": 0, "30+": 0}
    assert ageing([("2026-10-29", 7), ("2026-10-28", 5)], today) == {"0-7": 0, "8-30": 7, "30+": 5}


def test_whatsapp_and_sms_links_carry_the_message_and_call_nothing():
    assert whatsapp_number("0300 1234567") == "923001234567"
    assert whatsapp_number("+92 300 1234567") == "923001234567"
    assert whatsapp_number("923001234567") == "923001234567"
    assert whatsapp_number("042 111") is None and whatsapp_number(None) is None
    links = message_links("0300-1234567", "Balance Rs 1,200.00 & thanks")
    assert links["whatsapp"] == "https://wa.me/923001234567?text=Balance%20Rs%201%2C200.00%20%26%20thanks"
    assert links["sms"] == "sms:03001234567?body=Balance%20Rs%201%2C200.00%20%26%20thanks"


async def test_the_snapshot_counts_exactly_the_documents_up_to_its_watermark(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    made = customer(1, "Bilal")
    cid = made["customer_id"]
    first = await _stored(cloud_client, shop, [made, sale_on_account(2, cid, 40000)])
    snap = await cloud_client.get("/v1/khata", headers=shop["gateway"])
    assert snap.status == 200
    body = await snap.json()
    assert body["watermark"] == first[-1]["ingest_seq"]
    assert [(c["customer_id"], c["name"], c["balance"], c["credit_limit"]) for c in body["customers"]] == [
        (cid, "Bilal", 40000, 500_000)]
    etag = snap.headers["ETag"]
    assert (await cloud_client.get("/v1/khata", headers={**shop["gateway"], "If-None-Match": etag})).status == 304
    # The box adds its own entries above the watermark: each document counted once, whichever side.
    later = await _stored(cloud_client, shop, [khata_payment(3, cid, [{"tender": "cash", "amount": 15000}])])
    box_entries = {first[-1]["ingest_seq"]: 40000, later[0]["ingest_seq"]: -15000}
    seen = box_entries[first[-1]["ingest_seq"]] + box_entries[later[0]["ingest_seq"]]
    old_view = body["customers"][0]["balance"] + sum(a for seq, a in box_entries.items() if seq > body["watermark"])
    assert old_view == seen == 25000
    # An owner adjustment changes the content (a new ETag) but not the watermark: it passes no box.
    paid_last = body["customers"][0]["last_entry_at"]   # the sale's true time, UTC
    assert paid_last is not None
    adjusted = await cloud_client.post(f"/v1/shops/{shop['shop_id']}/customers/{cid}/adjustments",
                                       json={"amount": 500, "reason": "bag charge"}, headers=shop["owner"])
    again = await cloud_client.get("/v1/khata", headers={**shop["gateway"], "If-None-Match": etag})
    assert again.status == 200 and again.headers["ETag"] != etag
    body = await again.json()
    assert body["watermark"] == later[0]["ingest_seq"] and body["customers"][0]["balance"] == 25500
    # The newest entry is the owner's adjustment, which no box sees: the box learns its time from here.
    assert body["customers"][0]["last_entry_at"] == (await adjusted.json())["at"] > paid_last
    assert (await cloud_client.get("/v1/khata", headers=shop["owner"])).status == 401


async def test_snapshots_taken_while_batches_arrive_are_exact(cloud_client, cloud_db_url):
    """Concurrent batches and snapshots: every snapshot's balance is the sum of exactly the entries of
    documents at or below its watermark (PostgreSQL commits sequence values out of order without the lock)."""
    shop = await new_shop(cloud_client, cloud_db_url)
    made = customer(1, "Bilal")
    cid = made["customer_id"]
    await _stored(cloud_client, shop, [made])
    amounts: dict[int, int] = {}

    async def send(batch: int) -> None:
        docs = [sale_on_account(10 + batch * 10 + n, cid, 100 * (batch + 1) + n) for n in range(5)]
        results = await _stored(cloud_client, shop, docs)
        for doc, result in zip(docs, results):
            amounts[result["ingest_seq"]] = doc["payments"][0]["amount"]

    snapshots: list[dict[str, Any]] = []

    async def look() -> None:
        for _ in range(6):
            snapshots.append(await (await cloud_client.get("/v1/khata", headers=shop["gateway"])).json())
            await asyncio.sleep(0)

    await asyncio.gather(*(send(b) for b in range(8)), look(), look())
    for snap in snapshots + [await (await cloud_client.get("/v1/khata", headers=shop["gateway"])).json()]:
        expected = sum(amount for seq, amount in amounts.items() if seq <= snap["watermark"])
        assert snap["customers"][0]["balance"] == expected, snap["watermark"]
    assert snap["customers"][0]["balance"] == sum(amounts.values())


async def test_the_owner_api_refuses_bad_input_with_json(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    other = await new_shop(cloud_client, cloud_db_url, name="Other")
    base = f"/v1/shops/{shop['shop_id']}/customers"
    created = await cloud_client.post(base, json={"name": "Asma", "phone": "0300 1112223"}, headers=shop["owner"])
    assert created.status == 201
    asma = await created.json()
    assert asma["credit_limit"] == 500_000 and asma["balance"] == 0 and asma["source"] == "office"
    cid = asma["customer_id"]
    for method, path, body, status in [
            ("POST", base, {"name": ""}, 400),
            ("POST", base, {"name": "X", "phone": "call me"}, 400),
            ("POST", base, {"name": "X", "cnic": "123"}, 400),
            ("POST", base, {"name": "X", "credit_limit": -1}, 400),
            ("POST", base, {"name": "X", "colour": "red"}, 400),
            ("PUT", f"{base}/{'0' * 36}", {"name": "X"}, 404),
            ("GET", f"{base}/nobody", None, 404),
            ("POST", f"{base}/{cid}/adjustments", {"amount": 0, "reason": "nothing"}, 400),
            ("POST", f"{base}/{cid}/adjustments", {"amount": 10**11, "reason": "a lot"}, 400),
            ("POST", f"{base}/{cid}/adjustments", {"amount": 5}, 400),
            ("POST", f"{base}/nobody/adjustments", {"amount": 5, "reason": "x"}, 404),
            ("GET", f"{base}/{cid}/statement?from=2026-13-01", None, 400),
            ("GET", f"{base}/{cid}/statement?from=2026-11-02&to=2026-11-01", None, 400),
            ("GET", f"{base}/{cid}/statement", None, 200),
            ("GET", f"/v1/shops/{shop['shop_id']}/reports/khata?from=2026-11-01", None, 400),
            ("GET", f"/v1/shops/{other['shop_id']}/customers", None, 403)]:
        response = await cloud_client.request(method, path, json=body, headers=shop["owner"])
        assert response.status == status, (method, path, await response.text())
        if status >= 400:
            assert "error" in await response.json()
    assert (await _get(cloud_client, shop, f"/customers/{cid}"))["balance"] == 0   # nothing refused was kept
    listed = await _get(cloud_client, shop, "/customers?q=1112")
    assert [c["name"] for c in listed["customers"]] == ["Asma"]
    assert (await _get(cloud_client, shop, "/customers?q=zzz"))["customers"] == []


async def test_the_z_report_counts_credit_apart_and_khata_cash_in_the_drawer(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    made = customer(1, "Bilal")
    cid = made["customer_id"]
    opened = shift_open(2, 500000)
    sid = opened["id"]
    cash_sale = sale(3, [line("TAPAL-190", 1, 55000)], shift_id=sid)
    credit = sale_on_account(4, cid, 80000, cash=10000, shift_id=sid)
    collected = khata_payment(5, cid, [{"tender": "cash", "amount": 30000},
                                       {"tender": "wallet", "amount": 2500, "wallet": "jazzcash", "reference": "JC-9"}],
                              shift_id=sid)
    # What the till worked out by the plan's formula: float + cash + khata cash + in - out.
    till_expected = 500000 + 55000 + 10000 + 30000
    closed = shift_close(6, sid, till_expected, expected_cash=till_expected, confirmed={"wallet": 2500})
    await _stored(cloud_client, shop, [made, opened, cash_sale, credit, collected, closed])
    (z,) = (await _get(cloud_client, shop, "/reports/shifts?date=2026-11-27"))["shifts"]
    assert z["by_tender"] == {"cash": 65000, "on_account": 70000}
    assert z["khata_collected"] == {"cash": 30000, "card": 0, "wallet": 2500}
    assert z["expected_cash"] == till_expected and z["disagrees"] is False and z["over_short"] == 0
    assert z["gross"] == 55000 + 80000   # a khata payment is no sale


async def test_credit_sales_and_collections_by_day_tablet_and_cashier(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    made = customer(1, "Bilal")
    cid = made["customer_id"]
    docs = [made, sale_on_account(1, cid, 40000, device_code="T2", cashier_id="c2"),
            sale_on_account(2, cid, 1000, device_code="T2", cashier_id="c2"),
            khata_payment(2, cid, [{"tender": "cash", "amount": 5000}, {"tender": "card", "amount": 700,
                                                                         "reference": "R1"}])]
    await _stored(cloud_client, shop, docs)
    report = await _get(cloud_client, shop, "/reports/khata?from=2026-11-27&to=2026-11-27")
    assert [(r["device"], r["cashier_id"], r["credit_sales"], r["collected_cash"], r["collected_card"],
             r["collected"], r["change"]) for r in report["rows"]] == [
        ("T1", "c1", 0, 5000, 700, 5700, -5700), ("T2", "c2", 41000, 0, 0, 0, 41000)]
