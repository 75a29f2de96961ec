"""What a new user found in the back office's khata pages, put right (issue 10), on SQLite and PostgreSQL:
the list's footer says what is owed and what is held in advance apart (so it agrees with the age columns),
the WhatsApp / SMS text says plainly who owes whom in the customer's language, the printed statement has
the shop's letterhead and leaves out the owner's reasons, the credit report names the back office, and
money and Urdu names read right on a right-to-left page."""
from __future__ import annotations

import re
from html import unescape
from typing import Any

from cloud_api.office.customers import balance_message, is_urdu
from cloud_api.office.words import URDU
from tests.cloud.office_helpers import sign_in
from tests.cloud.test_khata_office import _days_ago, _row, _shop_with_khata

MONEY = '<bdi class="money" dir="ltr">'


async def _with_advance_and_urdu_name(client: Any, cloud_db_url: str) -> tuple[Any, dict[str, str]]:
    """_shop_with_khata (Bilal owes Rs 1,000.50, Sana nothing), then Sana paid Rs 100 ahead (an owner's
    adjustment: the shop holds it) and an Urdu-named customer who owes nothing joins."""
    shop, ids = await _shop_with_khata(client, cloud_db_url)
    added = await client.post(f"/v1/shops/{shop.shop_id}/customers/{ids['sana']}/adjustments",
                              json={"amount": -10000, "reason": "paid ahead for Eid"}, headers=shop.bearer)
    assert added.status in (200, 201), await added.text()
    made = await client.post(f"/v1/shops/{shop.shop_id}/customers", json={"name": "علی رضا", "phone": "0345 1112223"},
                             headers=shop.bearer)
    assert made.status in (200, 201), await made.text()
    return shop, {**ids, "ali": (await made.json())["customer_id"]}


def _footer(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{re.escape(testid)}">(.*?)</td>', page, re.S)
    assert found, testid
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


async def test_the_footer_shows_owed_and_advances_apart(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _with_advance_and_urdu_name(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers")).text()
    assert _row(page, ids["sana"])[2] == "-Rs 100.00"
    # Owed = the positive balances = the sum of the age columns (the netted Rs 900.50 matched neither).
    assert _footer(page, "total-owed") == "Rs 1,000.50"
    assert [_footer(page, f"total-{b}") for b in ("0-7", "8-30", "30+")] == ["Rs 200.50", "Rs 300.00", "Rs 500.00"]
    assert _footer(page, "total-advances") == "Rs 100.00"          # shown positive, named apart
    assert "Owed to the shop" in page and "Advances held" in page and "total-balance" not in page
    urdu = await (await cloud_client.get("/office/language", params={
        "to": "ur", "next": f"/office/shops/{shop.shop_id}/customers"})).text()
    assert URDU["Owed to the shop"] in urdu and URDU["Advances held"] in urdu


def test_the_message_says_who_owes_whom_in_either_language():
    owes = balance_message("en", "Bilal", "Madina Store", 284550, "2026-11-28")
    assert owes == "Bilal, you owe Rs 2,845.50 on your khata at Madina Store as of 2026-11-28. Thank you."
    ahead = balance_message("en", "Sana", "Madina Store", -10000, "2026-11-28")
    assert "we at Madina Store hold Rs 100.00 of yours in advance" in ahead
    assert "nothing is owed" not in ahead and "-Rs" not in ahead
    clear = balance_message("en", "Ali", "Madina Store", 0, "2026-11-28")
    assert "your khata at Madina Store is clear" in clear and "you owe nothing" in clear
    # Urdu: three different texts, each with the amount (never negative) and the shop.
    urdu = [balance_message("ur", "Bilal", "Madina Store", amount, "2026-11-28") for amount in (284550, -10000, 0)]
    assert len(set(urdu)) == 3 and all("Madina Store" in text and re.search(r"[\u0600-\u06FF]", text) for text in urdu)
    assert "Rs 2,845.50" in urdu[0] and "Rs 100.00" in urdu[1] and "پیشگی" in urdu[1] and "صاف" in urdu[2]


async def test_the_message_language_is_chosen_on_the_page(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _with_advance_and_urdu_name(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}/customers"
    sana = await (await cloud_client.get(f"{base}/{ids['sana']}")).text()
    message = unescape(re.search(r'data-testid="message"[^>]*>(.*?)</p>', sana, re.S).group(1))
    assert "hold Rs 100.00 of yours in advance" in message and "Madina" in message
    assert "%20hold%20Rs%20100.00%20of%20yours%20in%20advance" in sana       # the WhatsApp link says the same
    # An English screen, an Urdu customer: ?msg=ur writes the message (and its links) in Urdu.
    in_urdu = await (await cloud_client.get(f"{base}/{ids['sana']}?msg=ur")).text()
    message = unescape(re.search(r'data-testid="message" lang="ur" dir="rtl">(.*?)</p>', in_urdu, re.S).group(1))
    assert "پیشگی" in message and 'html lang="en"' in in_urdu
    assert 'href="?msg=en&amp;' in in_urdu and 'href="?msg=ur&amp;' in in_urdu
    # And the other way: an Urdu screen may send the English text.
    await cloud_client.get("/office/language", params={"to": "ur", "next": base})
    english = await (await cloud_client.get(f"{base}/{ids['bilal']}?msg=en")).text()
    assert "you owe Rs 1,000.50 on your khata at Madina" in english
    clear = await (await cloud_client.get(f"{base}/{ids['ali']}?msg=en")).text()
    assert "is clear as of" in clear
    assert (await cloud_client.get(f"{base}/{ids['ali']}?msg=xx")).status == 200   # unknown: the screen's


async def test_the_printed_statement_has_the_letterhead_and_not_the_reasons(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _with_advance_and_urdu_name(cloud_client, cloud_db_url)
    put = await cloud_client.put(f"/v1/shops/{shop.shop_id}/settings",
                                 json={"address": "Shop 4, Saddar Bazaar, Karachi", "phone": "021 3456789"},
                                 headers=shop.bearer)
    assert put.status == 200
    await sign_in(cloud_client)
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/customers/{ids['sana']}")).text()
    letterhead = re.search(r'<header class="print-only letterhead" data-testid="letterhead">(.*?)</header>', page, re.S)
    assert letterhead and "Madina" in letterhead.group(1)
    assert "Shop 4, Saddar Bazaar, Karachi" in letterhead.group(1) and "021 3456789" in letterhead.group(1)
    # The reason is on screen but in a no-print span (office.css hides .no-print in print), and the page says so.
    assert re.search(r'<span class="muted no-print" data-testid="reason">· paid ahead for Eid</span>', page)
    assert "not printed on the statement" in page
    css = await (await cloud_client.get("/office/static/office.css")).text()
    assert re.search(r"@media print \{[^}]*\.no-print", css)
    # A till's payment note is not an owner's reason: it stays printed (no no-print class).
    assert 'class="muted no-print"' not in (await (await cloud_client.get(
        f"/office/shops/{shop.shop_id}/customers/{ids['bilal']}")).text())


async def test_the_credit_report_names_the_back_office_and_the_owner(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _with_advance_and_urdu_name(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    today = _days_ago(0)[:10]   # the shop's day (Karachi), not the server's
    report = f"/office/shops/{shop.shop_id}/reports/khata?from={_days_ago(60)[:10]}&to={today}"
    page = await (await cloud_client.get(report)).text()
    office_row = [row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S) if 'data-key="device">Back office' in row]
    assert len(office_row) == 1 and 'data-key="cashier">Owner<' in office_row[0]
    assert f"{MONEY}-Rs 100.00</bdi>" in office_row[0]                        # the adjustment, an isolate
    assert 'data-key="device">T1<' in page                                  # a till's rows keep their code
    csv = await (await cloud_client.get(report + "&format=csv")).text()
    assert ",Back office,Owner," in csv
    urdu = await (await cloud_client.get("/office/language", params={"to": "ur", "next": report})).text()
    assert f'data-key="device">{URDU["Back office"]}<' in urdu and f'data-key="cashier">{URDU["Owner"]}<' in urdu


async def test_money_and_urdu_names_read_right_on_an_urdu_page(cloud_client: Any, cloud_db_url: str):
    shop, ids = await _with_advance_and_urdu_name(cloud_client, cloud_db_url)
    await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}/customers"
    urdu = await cloud_client.get("/office/language", params={"to": "ur", "next": f"{base}/{ids['sana']}"})
    page = await urdu.text()
    assert 'dir="rtl"' in page
    # Every amount is a left-to-right isolate: -Rs 100.00 and not "Rs 100.00-" on a right-to-left page.
    assert f'data-testid="balance" class="">{MONEY}-Rs 100.00</bdi>' in page
    assert f'data-testid="closing">{MONEY}-Rs 100.00</bdi>' in page
    # No bare amount left on the page: each one's tag is the isolate.
    tags = re.findall(r"(<[^<>]*>)-?Rs [0-9,.]+<", page)
    assert tags and set(tags) == {MONEY}
    # Phone numbers read left to right too (shown and typed): 0321 7654321, not "7654321 0321".
    assert re.search(r'<dd class="mono"><bdi dir="ltr">[0-9 +-]+</bdi></dd>', page)
    assert re.search(r'name="phone" value="[^"]*" maxlength="20" inputmode="tel" dir="ltr"', page)
    css = await (await cloud_client.get("/office/static/office.css")).text()
    assert re.search(r"bdi\.money \{[^}]*unicode-bidi: isolate;[^}]*direction: ltr", css)
    # An Urdu name in the list is marked lang="ur": the office's Urdu font, sized to match Latin text.
    listed = await (await cloud_client.get("/office/language", params={"to": "en", "next": base})).text()
    assert '<bdi class="name" lang="ur">علی رضا</bdi>' in listed and '<bdi class="name">Bilal Ahmed</bdi>' in listed
    assert re.search(r'html:not\(\[lang="ur"\]\) \[lang="ur"\] \{[^}]*"Noto Nastaliq Urdu"[^}]*font-size: 1\.15em', css)
    assert is_urdu("علی") and not is_urdu("Bilal") and not is_urdu(None)
