"""Fixes after review of the cloud's khata (issue 10), on SQLite and PostgreSQL: owner-API adjustments counted
once by their entry_id, the office's search finding a phone typed the way the till's search does, WhatsApp
only for a mobile, the ageing list's two marks told apart, and the Z-report the same on box, till and cloud."""
from __future__ import annotations

import re
import uuid
from typing import Any

from cloud_api.khata import message_links, phone_digits, phone_matches, whatsapp_number
from gateway.receipt_model import z_report
from tests.cloud.khata_documents import customer, khata_payment, sale_on_account
from tests.cloud.office_helpers import owned_shop, sign_in
from tests.cloud.test_khata_office import _days_ago, _row
from tests.cloud.test_ingest import new_shop, post_batch
from tests.gateway import print_documents


async def test_an_owner_api_adjustment_sent_twice_counts_once(cloud_client, cloud_db_url):
    shop = await new_shop(cloud_client, cloud_db_url)
    base = f"/v1/shops/{shop['shop_id']}/customers"
    made = await cloud_client.post(base, json={"name": "Asma"}, headers=shop["owner"])
    cid = (await made.json())["customer_id"]
    entry_id = str(uuid.uuid4())
    body = {"amount": 12345, "reason": "paper khata", "entry_id": entry_id}
    first = await cloud_client.post(f"{base}/{cid}/adjustments", json=body, headers=shop["owner"])
    assert first.status == 201, await first.text()
    stored = await first.json()
    assert stored["entry_id"] == entry_id
    # The answer was lost on the way: the retry answers the stored entry and the balance moved once.
    again = await cloud_client.post(f"{base}/{cid}/adjustments", json=body, headers=shop["owner"])
    assert again.status == 200, await again.text()
    assert await again.json() == stored
    # The same id with another amount, reason or customer is a mistake: 409 JSON, nothing kept.
    other = await cloud_client.post(base, json={"name": "Bilal"}, headers=shop["owner"])
    other_id = (await other.json())["customer_id"]
    for path, changed in [(f"{base}/{cid}/adjustments", {**body, "amount": 12346}),
                          (f"{base}/{cid}/adjustments", {**body, "reason": "another"}),
                          (f"{base}/{other_id}/adjustments", body)]:
        refused = await cloud_client.post(path, json=changed, headers=shop["owner"])
        assert refused.status == 409, await refused.text()
        assert (await refused.json())["error"]["code"] == "conflict"
    for who, balance in ((cid, 12345), (other_id, 0)):
        got = await cloud_client.get(f"{base}/{who}", headers=shop["owner"])
        assert (await got.json())["balance"] == balance
    # Without an entry_id every request is a new adjustment (as before); a malformed one is a 400.
    for status in (201, 201):
        plain = await cloud_client.post(f"{base}/{cid}/adjustments", json={"amount": 1, "reason": "x"},
                                        headers=shop["owner"])
        assert plain.status == status
    bad = await cloud_client.post(f"{base}/{cid}/adjustments", json={"amount": 1, "reason": "x", "entry_id": "7"},
                                  headers=shop["owner"])
    assert bad.status == 400


def test_phone_search_reads_plus_92_spaces_and_dashes_as_the_till_does():
    assert phone_digits("+92 300 123") == "0300123" == phone_digits("0300-123") == phone_digits("92300123")
    assert phone_digits("۰۳۰۰ ۱۲۳") == "0300123"          # Urdu digits, as a phone may type them
    for typed in ("+92 300 123", "0300123", "0300 123", "300-1234", "923001234567", "Bil", "bilal"):
        assert phone_matches("Bilal", "0300 1234567", typed), typed
    for typed in ("+92 301", "03", "0300123x", "042"):
        assert not phone_matches("Bilal", "0300 1234567", typed), typed
    assert not phone_matches("Bilal", None, "0300")


async def test_the_office_and_the_api_find_a_phone_typed_with_plus_92(cloud_client, cloud_db_url):
    shop = await owned_shop(cloud_db_url)
    enrolled = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    key = (await enrolled.json())["api_key"]
    bilal, sana = customer(1, "Bilal Ahmed", phone="0300 1234567"), customer(2, "Sana Khan", phone="042 35761234")
    response = await cloud_client.post("/v1/journal:batch", json={"documents": [bilal, sana]},
                                       headers={"Authorization": f"Bearer {key}"})
    assert [r["status"] for r in (await response.json())["results"]] == ["stored", "stored"]
    await sign_in(cloud_client)
    for typed in ("+92 300 123", "0300123", "92 300 1234567"):
        page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers", params={"q": typed})).text()
        assert bilal["customer_id"] in page and sana["customer_id"] not in page, typed
    api = await cloud_client.get(f"/v1/shops/{shop.shop_id}/customers", params={"q": "+92 300 123"},
                                 headers={"Authorization": f"Bearer {shop.owner_token}"})
    assert [c["name"] for c in (await api.json())["customers"]] == ["Bilal Ahmed"]
    # Sana's phone is a Lahore landline: no WhatsApp, no SMS, the text to copy and a hint saying why.
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers/{sana['customer_id']}")).text()
    assert "wa.me" not in page and "sms:" not in page and 'data-testid="not-mobile"' in page
    assert 'data-testid="message"' in page
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers/{bilal['customer_id']}")).text()
    assert "https://wa.me/923001234567?text=" in page and 'data-testid="not-mobile"' not in page


def test_only_a_mobile_gets_a_whatsapp_or_sms_link():
    for mobile in ("0300 1234567", "+92 300 1234567", "92-300-1234567", "03001234567"):
        assert whatsapp_number(mobile) == "923001234567", mobile
        assert message_links(mobile, "hi") == {"whatsapp": "https://wa.me/923001234567?text=hi",
                                               "sms": "sms:03001234567?body=hi"}
    # Landlines (Lahore, Islamabad, a UAN) and a number abroad: WhatsApp cannot reach them.
    for other in ("042 35761234", "+92 42 35761234", "051 1234567", "111 123 456", "+44 20 7946 0958", None):
        assert whatsapp_number(other) is None, other
        assert message_links(other, "hi") == {"whatsapp": None, "sms": None}, other


async def test_the_ageing_list_tells_past_the_limit_from_overdue(cloud_client, cloud_db_url):
    shop = await owned_shop(cloud_db_url)
    enrolled = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    key = (await enrolled.json())["api_key"]
    # Old owes Rs 100 from 40 days ago (within the limit); New owes Rs 6,000 from today (past Rs 5,000).
    old, new = customer(1, "Old Debt", created_at=_days_ago(41)), customer(2, "New Debt", created_at=_days_ago(41))
    docs = [old, new, sale_on_account(3, old["customer_id"], 10000, created_at=_days_ago(40)),
            sale_on_account(4, new["customer_id"], 600000, created_at=_days_ago(0))]
    response = await cloud_client.post("/v1/journal:batch", json={"documents": docs},
                                       headers={"Authorization": f"Bearer {key}"})
    assert [r["status"] for r in (await response.json())["results"]] == ["stored"] * 4
    await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}/customers"
    for lang, past, overdue in (("en", "past limit", "overdue"), ("ur", "حد سے زیادہ", "واجب الادا")):
        page = await (await cloud_client.get("/office/language", params={"to": lang, "next": base})).text()
        assert _row(page, old["customer_id"])[2] == "Rs 100.00"                  # no mark: within the limit
        assert _row(page, old["customer_id"])[5] == f"Rs 100.00 {overdue}"       # 30+ days: overdue
        assert _row(page, new["customer_id"])[2] == f"Rs 6,000.00 {past}"        # past the limit
        assert _row(page, new["customer_id"])[5] == ""
        legend = re.search(r'data-testid="legend">(.*?)</ul>', page, re.S)
        assert legend and past in legend.group(1) and overdue in legend.group(1)
        # The two marks look different: red (bad) for the limit, amber (overdue) for age.
        assert re.search(r'class="num bad"[^>]*data-testid="balance"><bdi class="money" dir="ltr">Rs 6,000', page)
        assert not re.search(r'class="num bad"><bdi class="money" dir="ltr">Rs 100', page)


async def test_the_cloud_z_report_is_the_box_and_till_z_report(cloud_client, cloud_db_url):
    # Exactly the documents tests/gateway/test_khata_receipts.py holds box == till on.
    opening, shift_docs, closing = print_documents.khata_shift_documents()
    box = z_report(opening, shift_docs, closing)
    # The till writes its own zReport's expected cash on the closing (the gateway test holds box == till); the
    # builder's closing states Rs 4,700 against the Rs 4,650 both work out, so say what a till would say.
    closing = print_documents.hashed({**{k: v for k, v in closing.items() if k != "hash"},
                                      "expected_cash": box["expected_cash"]})
    shop = await new_shop(cloud_client, cloud_db_url)
    documents = [opening, *shift_docs, closing]
    results = (await (await post_batch(cloud_client, shop, documents)).json())["results"]
    assert [r["status"] for r in results] == ["stored"] * len(documents), results
    got = await cloud_client.get(f"/v1/shops/{shop['shop_id']}/reports/shifts?date=2026-11-27", headers=shop["owner"])
    (cloud,) = (await got.json())["shifts"]
    assert cloud["expected_cash"] == box["expected_cash"] == 300000 + 120000 + 40000 + 5000
    assert cloud["disagrees"] is False and cloud["over_short"] == box["over_short"]
    assert cloud["khata_collected"] == box["khata_collected"]
    assert {k: v for k, v in cloud["by_tender"].items() if v} == {k: v for k, v in box["by_tender"].items() if v}


async def test_the_lists_aggregate_ages_exactly_as_the_entries_do(cloud_client, cloud_db_url):
    # customers_with_balances sums debits by bucket in SQL; khata.customer lays the balance over each entry.
    # Bucket edges (7/8, 30/31 days), a payment, an advance and a customer with no entries all agree.
    shop = await new_shop(cloud_client, cloud_db_url)
    people = [customer(n, f"C{n}") for n in range(1, 5)]
    ids = [p["customer_id"] for p in people]
    docs: list[dict[str, Any]] = [*people]
    seq = 10
    for days, amount in ((0, 100), (7, 200), (8, 400), (30, 800), (31, 1600), (60, 3200)):
        seq += 1
        docs.append(sale_on_account(seq, ids[0], amount * 100, created_at=_days_ago(days)))
    seq += 1
    docs.append(sale_on_account(seq, ids[1], 50000, created_at=_days_ago(31)))
    docs.append(khata_payment(seq + 1, ids[0], [{"tender": "cash", "amount": 250000}], created_at=_days_ago(1)))
    docs.append(khata_payment(seq + 2, ids[2], [{"tender": "cash", "amount": 100}], created_at=_days_ago(1)))
    results = (await (await post_batch(cloud_client, shop, docs)).json())["results"]
    assert [r["status"] for r in results] == ["stored"] * len(docs)
    listed = await cloud_client.get(f"/v1/shops/{shop['shop_id']}/customers", headers=shop["owner"])
    rows = {c["customer_id"]: c for c in (await listed.json())["customers"]}
    for cid in ids:
        one = await (await cloud_client.get(f"/v1/shops/{shop['shop_id']}/customers/{cid}",
                                            headers=shop["owner"])).json()
        assert (rows[cid]["balance"], rows[cid]["ageing"]) == (one["balance"], one["ageing"]), cid
    # Rs 6,300 owed less Rs 2,500 paid: the newest Rs 3,800 is owed: 100+200 | 400+800 | 1600+700 of 3200.
    assert rows[ids[0]]["ageing"] == {"0-7": 30000, "8-30": 120000, "30+": 230000}
    assert rows[ids[1]]["ageing"] == {"0-7": 0, "8-30": 0, "30+": 50000}
    assert rows[ids[2]]["ageing"] == {"0-7": 0, "8-30": 0, "30+": 0} and rows[ids[2]]["balance"] == -100
    assert rows[ids[3]]["balance"] == 0 and rows[ids[3]]["last_entry_at"] is None
