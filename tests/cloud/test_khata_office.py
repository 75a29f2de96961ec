"""The back office's customers and khata pages (issue 10), on SQLite and PostgreSQL: the ageing list with
totals and search, a customer's statement and WhatsApp / SMS links, new customers and edits, adjustments
counted once, the credit settings in rupees, "On account" among the tenders, and Urdu."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

from tests.cloud.khata_documents import customer, khata_payment, sale_on_account
from tests.cloud.office_helpers import owned_shop, sign_in


def _days_ago(n: int) -> str:
    """A till's created_at n days before today on the shop's clock (midday, so no zone moves the day)."""
    day = datetime.now(ZoneInfo("Asia/Karachi")).date() - timedelta(days=n)
    return f"{day.isoformat()}T12:00:00+05:00"


async def _shop_with_khata(client: Any, cloud_db_url: str) -> tuple[Any, dict[str, Any]]:
    """Bilal owes Rs 1,000 from 40 days ago, Rs 300 from 10 days ago and Rs 200.50 from today, and paid
    Rs 500 (which clears the oldest first); Sana owes nothing; their phones are mobiles."""
    shop = await owned_shop(cloud_db_url)
    enrolled = await client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    key = (await enrolled.json())["api_key"]
    bilal = customer(1, "Bilal Ahmed", phone="0300 1234567", created_at=_days_ago(41))
    sana = customer(2, "Sana Khan", phone="0321-7654321", created_at=_days_ago(41))
    cid = bilal["customer_id"]
    docs = [bilal, sana,
            sale_on_account(3, cid, 100000, created_at=_days_ago(40)),
            sale_on_account(4, cid, 30000, created_at=_days_ago(10)),
            khata_payment(5, cid, [{"tender": "cash", "amount": 50000}], created_at=_days_ago(5)),
            sale_on_account(6, cid, 20050, created_at=_days_ago(0))]
    response = await client.post("/v1/journal:batch", json={"documents": docs},
                                 headers={"Authorization": f"Bearer {key}"})
    assert [r["status"] for r in (await response.json())["results"]] == ["stored"] * len(docs)
    return shop, {"bilal": cid, "sana": sana["customer_id"]}


def _row(page: str, customer_id: str) -> list[str]:
    found = re.search(rf'<tr data-customer="{customer_id}">(.*?)</tr>', page, re.S)
    assert found, customer_id
    cells = re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
    return [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


async def test_the_ageing_list_shows_balances_by_age_with_totals(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _shop_with_khata(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    response = await cloud_client.get(f"/office/shops/{shop.shop_id}/customers")
    page = await response.text()
    assert response.status == 200
    # Owed Rs 1,000.50: the payment of Rs 500 cleared half the 40-day-old credit; the rest ages as it was.
    assert _row(page, ids["bilal"])[:6] == ["Bilal Ahmed", "0300 1234567", "Rs 1,000.50", "Rs 200.50",
                                            "Rs 300.00", "Rs 500.00 overdue"]
    assert _row(page, ids["sana"])[2:6] == ["Rs 0.00", "", "", ""]
    assert page.index(ids["bilal"]) < page.index(ids["sana"])          # most owed first
    assert 'data-testid="total-owed"><bdi class="money" dir="ltr">Rs 1,000.50</bdi><' in page
    assert 'href="/office/shops/' + shop.shop_id + '/customers"' in page and 'aria-current="page"' in page
    found = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers?q=7654")).text()
    assert "Sana Khan" in found and "Bilal Ahmed" not in found
    by_name = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers?q=bilal&sort=name")).text()
    assert "Bilal Ahmed" in by_name and "Sana Khan" not in by_name
    assert (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers?sort=x")).status == 400


async def test_a_customers_statement_runs_and_the_balance_goes_by_whatsapp(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _shop_with_khata(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}/customers/{ids['bilal']}"
    page = await (await cloud_client.get(base)).text()   # the last 30 days: the oldest sale brought forward
    assert 'data-testid="opening"><bdi class="money" dir="ltr">Rs 1,000.00</bdi><' in page
    assert 'data-testid="closing"><bdi class="money" dir="ltr">Rs 1,000.50</bdi><' in page
    assert 'data-testid="balance" class=""><bdi class="money" dir="ltr">Rs 1,000.50</bdi><' in page
    assert "Payment received" in page and "Sale on account" in page
    assert ('href="https://wa.me/923001234567?text=Bilal%20Ahmed%2C%20you%20owe%20Rs%201%2C000.50%20on%20'
            'your%20khata%20at%20Madina%20') in page
    assert 'href="sms:03001234567?body=Bilal%20Ahmed' in page
    assert '<script src="/office/static/print.js"></script>' in page
    css = await (await cloud_client.get("/office/static/office.css")).text()
    assert "@media print" in css
    everything = await (await cloud_client.get(f"{base}?from=2020-01-01&to={date.today().isoformat()}")).text()
    assert 'data-testid="opening"><bdi class="money" dir="ltr">Rs 0.00</bdi><' in everything
    assert (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers/{'0' * 36}")).status == 404
    urdu = await cloud_client.get("/office/language", params={"to": "ur", "next": base})
    page = await urdu.text()
    assert 'dir="rtl"' in page and "کھاتہ" in page and "wa.me/923001234567?text=" in page


async def test_new_customers_edits_and_adjustments(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _shop_with_khata(cloud_client, cloud_db_url)
    csrf = await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}/customers"
    form = await (await cloud_client.get(f"{base}/new")).text()
    assert re.search(r'name="credit_limit_rs" value="5000.00"', form)
    bad = await cloud_client.post(f"{base}/new", data={"csrf": csrf, "name": "Asma", "phone": "call me"})
    assert bad.status == 400 and "must be a phone number" in await bad.text()
    made = await cloud_client.post(f"{base}/new", data={"csrf": csrf, "name": "Asma", "phone": "0333 1112223",
                                                        "credit_limit_rs": "2,500.50"}, allow_redirects=False)
    assert made.status == 303
    asma = made.headers["Location"].split("?")[0].rsplit("/", 1)[1]
    api = await (await cloud_client.get(f"/v1/shops/{shop.shop_id}/customers/{asma}", headers=shop.bearer)).json()
    assert (api["name"], api["credit_limit"], api["source"]) == ("Asma", 250050, "office")
    # An edit: the limit in rupees, and updated_at moves on (the box takes it over older till details).
    before = (await (await cloud_client.get(f"/v1/shops/{shop.shop_id}/customers/{ids['bilal']}",
                                            headers=shop.bearer)).json())["updated_at"]
    saved = await cloud_client.post(f"{base}/{ids['bilal']}", data={
        "csrf": csrf, "name": "Bilal Ahmed", "phone": "0300 1234567", "credit_limit_rs": "10000"},
        allow_redirects=False)
    assert saved.status == 303
    bilal = await (await cloud_client.get(f"/v1/shops/{shop.shop_id}/customers/{ids['bilal']}",
                                          headers=shop.bearer)).json()
    assert bilal["credit_limit"] == 1_000_000 and bilal["updated_at"] > before
    # An adjustment, sent twice (a double tap, a resent form): counted once.
    page = await (await cloud_client.get(f"{base}/{ids['bilal']}")).text()
    token = re.search(r'name="token" value="([0-9a-f-]{36})"', page).group(1)
    fields = {"csrf": csrf, "token": token, "direction": "less", "amount_rs": "0.50", "reason": "rounding"}
    first = await cloud_client.post(f"{base}/{ids['bilal']}/adjust", data=fields, allow_redirects=False)
    again = await cloud_client.post(f"{base}/{ids['bilal']}/adjust", data=fields, allow_redirects=False)
    assert first.headers["Location"].endswith("done=adjusted") and again.headers["Location"].endswith("done=again")
    bilal = await (await cloud_client.get(f"/v1/shops/{shop.shop_id}/customers/{ids['bilal']}",
                                          headers=shop.bearer)).json()
    assert bilal["balance"] == 100000
    zero = await cloud_client.post(f"{base}/{ids['bilal']}/adjust", data={**fields, "amount_rs": "0"})
    assert zero.status == 400 and "must be more than zero" in await zero.text()
    nul = await cloud_client.post(f"{base}/{ids['bilal']}/adjust", data={**fields, "reason": "x\x00"})
    assert nul.status == 400


async def test_the_credit_settings_are_rupees_and_reach_the_catalog(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    csrf = await sign_in(cloud_client)
    page = f"/office/shops/{shop.shop_id}/settings"
    assert 'value="5000.00"' in await (await cloud_client.get(page)).text()
    saved = await cloud_client.post(page, data={"csrf": csrf, "name": "Madina", "timezone": "Asia/Karachi",
                                                "default_credit_limit_rs": "7,500",
                                                "offline_credit_allowance_rs": "1500.25"},
                                    allow_redirects=False)
    assert saved.status == 303
    # A form without them (an older page) keeps them as they are.
    kept = await cloud_client.post(page, data={"csrf": csrf, "name": "Madina Store", "timezone": "Asia/Karachi"},
                                   allow_redirects=False)
    assert kept.status == 303
    bad = await cloud_client.post(page, data={"csrf": csrf, "name": "Madina", "timezone": "Asia/Karachi",
                                              "default_credit_limit_rs": "lots"})
    assert bad.status == 400
    enrolled = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    key = (await enrolled.json())["api_key"]
    catalog = await (await cloud_client.get("/v1/catalog", headers={"Authorization": f"Bearer {key}"})).json()
    assert (catalog["shop_name"], catalog["settings"]["default_credit_limit"],
            catalog["settings"]["offline_credit_allowance"]) == ("Madina Store", 750000, 150025)
    # The owner API alike: a PUT of the receipt settings alone (an older script) keeps the credit settings.
    put = await cloud_client.put(f"/v1/shops/{shop.shop_id}/settings", json={"address": "Saddar"}, headers=shop.bearer)
    assert put.status == 200
    assert (await put.json())["default_credit_limit"] == 750000
    put = await cloud_client.put(f"/v1/shops/{shop.shop_id}/settings", json={"offline_credit_allowance": 0},
                                 headers=shop.bearer)
    held = await put.json()
    assert (held["address"], held["default_credit_limit"], held["offline_credit_allowance"]) == ("", 750000, 0)


async def test_on_account_is_named_wherever_tenders_are_listed(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _shop_with_khata(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    today = datetime.now(ZoneInfo("Asia/Karachi")).date().isoformat()
    base = f"/office/shops/{shop.shop_id}"
    assert "On account" in await (await cloud_client.get(f"{base}/?date={today}")).text()
    tender = await (await cloud_client.get(f"{base}/reports/by-tender?from={today}&to={today}")).text()
    assert "On account" in tender and "on_account" not in tender
    listed = await (await cloud_client.get(f"{base}/sales?from={today}&to={today}&tender=on_account")).text()
    assert "T1-000006" in listed
    sale_id = re.search(r'href="/office/shops/[^/]+/sales/([0-9a-f-]{36})"[^>]*>T1-000006', listed).group(1)
    receipt = await (await cloud_client.get(f"{base}/sales/{sale_id}")).text()
    assert f'href="{base}/customers/{ids["bilal"]}">Bilal Ahmed</a>' in receipt and "On account" in receipt
    since = _days_ago(60)[:10]
    report = await (await cloud_client.get(f"{base}/reports/khata?from={since}&to={today}")).text()
    assert "Rs 1,500.50" in report and "Rs 500.00" in report   # sold on account in all, collected
