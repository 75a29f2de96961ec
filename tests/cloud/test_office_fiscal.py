"""The back office's FBR / PRA page (cloud_api/office/fiscal.py): settings with a write-only token, a POSID
per tablet, the box's per-day counts and failures, Retry; and the Re 1 fee on a sale's page. Every form
carries the session's CSRF token, and each change reaches the box's catalog (its ETag moves)."""
from __future__ import annotations

import html
import re
from typing import Any

from cloud_api.contract import document_hash
from cloud_api.office.words import URDU
from cloud_api.service.clock import utc_now
from tests.cloud.office_helpers import owned_shop, sign_in
from tests.cloud.test_office_devices import enrolled, post_batch
from tests.conftest import make_sale

TOKEN = "1298b5eb-b252-3d97-8622-a4a69d5bf818"


async def _catalog(client: Any, box: dict[str, str]) -> tuple[str, dict[str, Any]]:
    response = await client.get("/v1/catalog", headers=box)
    assert response.status == 200
    return response.headers["ETag"], await response.json()


def _settings(csrf: str, **overrides: str) -> dict[str, str]:
    return {"csrf": csrf, "mode": "fbr", "environment": "sandbox", "token": "", "service_fee": "1",
            "rate_cash": "", "rate_card": "", "rate_wallet": "", **overrides}


async def test_settings_are_saved_and_the_token_is_never_shown(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    box = await enrolled(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client)
    page_url = f"/office/shops/{shop.shop_id}/fiscal"
    first = await cloud_client.get(page_url)
    assert first.status == 200
    page = html.unescape(await first.text())
    assert f'href="{page_url}" aria-current="page"' in page   # the section menu links it
    assert "No token is set." in page and "The box has not reported on FBR / PRA invoices yet." in page
    etag, _ = await _catalog(cloud_client, box)

    saved = await cloud_client.post(page_url, data=_settings(csrf, token=f" {TOKEN} ", mode="pra",
                                                             rate_cash="16", rate_card="5"),
                                    allow_redirects=False)
    assert saved.status == 303 and saved.headers["Location"].endswith("?done=saved")
    etag2, catalog = await _catalog(cloud_client, box)
    assert etag2 != etag and catalog["fiscal_token"] == TOKEN
    assert {k: catalog["fiscal"][k] for k in ("mode", "environment", "service_fee", "tender_tax_bp")} == {
        "mode": "pra", "environment": "sandbox", "service_fee": True, "tender_tax_bp": {"cash": 1600, "card": 500}}

    page = await (await cloud_client.get(page_url + "?done=saved")).text()
    assert TOKEN not in page
    assert "A token is set. It is never shown" in html.unescape(page)
    assert re.search(r'name="rate_cash" inputmode="decimal" value="16"', page)
    assert re.search(r'<option value="pra" selected>', page)

    # An empty token field keeps the token; "Forget the token" removes it.
    kept = await cloud_client.post(page_url, data=_settings(csrf, mode="fbr"), allow_redirects=False)
    assert kept.status == 303
    _, catalog = await _catalog(cloud_client, box)
    assert catalog["fiscal_token"] == TOKEN and catalog["fiscal"]["mode"] == "fbr"
    assert catalog["fiscal"]["tender_tax_bp"] == {}
    forgot = await cloud_client.post(page_url, data=_settings(csrf, forget_token="1"), allow_redirects=False)
    assert forgot.status == 303
    _, catalog = await _catalog(cloud_client, box)
    assert catalog["fiscal_token"] is None
    page = html.unescape(await (await cloud_client.get(page_url)).text())
    assert "No token is set: the box cannot report invoices until you enter one." in page


async def test_a_bad_settings_form_is_400_names_the_field_and_saves_nothing(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    box = await enrolled(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client)
    page_url = f"/office/shops/{shop.shop_id}/fiscal"
    etag, _ = await _catalog(cloud_client, box)
    for field, value, message in (("rate_cash", "101", "must be from 0 to 100"),
                                  ("rate_card", "five", "must be a percent with up to 2 decimals"),
                                  ("mode", "gst", "must be off, FBR or PRA"),
                                  ("environment", "live", "must be sandbox or production"),
                                  ("token", "two words", "the token must be printable ASCII without spaces")):
        response = await cloud_client.post(page_url, data=_settings(csrf, **{field: value}))
        page = html.unescape(await response.text())
        assert response.status == 400 and message in page, (field, value)
        assert "Nothing was saved" in page
        assert "two words" not in page   # a typed token is never written back into the page
    # Without the session's CSRF token: refused, nothing saved.
    forged = await cloud_client.post(page_url, data=_settings("0" * 64, token=TOKEN))
    assert forged.status == 403
    retry = await cloud_client.post(page_url + "/retry", data={"csrf": "0" * 64})
    assert retry.status == 403
    etag2, catalog = await _catalog(cloud_client, box)
    assert etag2 == etag and catalog["fiscal_token"] is None and catalog["fiscal"]["mode"] == "off"


async def test_each_tablet_gets_its_posid_and_a_taken_one_is_refused(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    box = await enrolled(cloud_client, shop.enrol_token)
    assert (await post_batch(cloud_client, box, [make_sale(device_id="dev-1", device_code="T1")])).status == 200
    beat = {"version": "1", "backlog": 0, "devices": [
        {"device_id": "dev-2", "device_code": "T2", "name": "Back counter", "last_seen_at": utc_now()}]}
    assert (await cloud_client.post("/v1/heartbeat", headers=box, json=beat)).status == 200
    csrf = await sign_in(cloud_client)
    page_url = f"/office/shops/{shop.shop_id}/fiscal"
    await cloud_client.post(page_url, data=_settings(csrf, token=TOKEN), allow_redirects=False)
    page = html.unescape(await (await cloud_client.get(page_url)).text())
    assert 'data-device-id="dev-1"' in page and 'data-device-id="dev-2"' in page and "Back counter" in page
    assert "Without a POSID: T1, T2." in page   # mode is FBR: both tablets' invoices would wait

    # Typed with spaces, or on an Urdu keyboard: the same numbers.
    for device_id, pos_id in (("dev-1", "۱۲۳۴۵۶"), ("dev-2", " 123 457 ")):
        saved = await cloud_client.post(page_url + "/pos-id", data={"csrf": csrf, "device_id": device_id,
                                                                   "pos_id": pos_id}, allow_redirects=False)
        assert saved.status == 303 and saved.headers["Location"].endswith("?done=pos-id-saved")
    etag, catalog = await _catalog(cloud_client, box)
    assert catalog["fiscal"]["pos_ids"] == {"dev-1": 123456, "dev-2": 123457}
    page = html.unescape(await (await cloud_client.get(page_url)).text())
    assert "Without a POSID" not in page and 'value="123457"' in page

    taken = await cloud_client.post(page_url + "/pos-id", data={"csrf": csrf, "device_id": "dev-2",
                                                               "pos_id": "123456"})
    assert taken.status == 400 and "POSID 123456 is already T1's" in html.unescape(await taken.text())
    bad = await cloud_client.post(page_url + "/pos-id", data={"csrf": csrf, "device_id": "dev-2", "pos_id": "12a"})
    assert bad.status == 400 and "must be a whole number from 1 to 1000000000000" in await bad.text()
    assert (await _catalog(cloud_client, box))[0] == etag   # neither changed anything

    cleared = await cloud_client.post(page_url + "/pos-id", data={"csrf": csrf, "device_id": "dev-1", "pos_id": ""},
                                      allow_redirects=False)
    assert cleared.status == 303
    etag2, catalog = await _catalog(cloud_client, box)
    assert etag2 != etag and catalog["fiscal"]["pos_ids"] == {"dev-2": 123457}
    unknown = await cloud_client.post(page_url + "/pos-id", data={"csrf": csrf, "device_id": "dev-9", "pos_id": "1"})
    assert unknown.status == 404


async def test_the_boxs_counts_and_failures_show_and_retry_reaches_the_catalog(cloud_client: Any,
                                                                               cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    box = await enrolled(cloud_client, shop.enrol_token)
    sale = make_sale()
    assert (await post_batch(cloud_client, box, [sale])).status == 200
    summary = {"mode": "fbr", "stopped": "FBR refused the token (401): Invalid Credentials",
               "days": [{"date": "2026-11-26", "fiscalized": 50, "pending": 0, "failed": 0},
                        {"date": "2026-11-27", "fiscalized": 41, "pending": 3, "failed": 1}],
               "failures": [{"document_id": sale["id"], "receipt_number": "T1-000001", "kind": "sale",
                             "status": "parked", "message": "Invalid data received: Items[0].PCTCode",
                             "at": "2026-11-27T13:05:09Z"}],
               "waiting": ["T2 has no FBR POSID: set it in the back office (4 invoices waiting)"]}
    beat = {"version": "1", "backlog": 0, "fiscal": summary}
    assert (await cloud_client.post("/v1/heartbeat", headers=box, json=beat)).status == 200
    csrf = await sign_in(cloud_client)
    page_url = f"/office/shops/{shop.shop_id}/fiscal"
    page = html.unescape(await (await cloud_client.get(page_url)).text())
    assert "Reporting has stopped: FBR refused the token (401): Invalid Credentials" in page
    waiting = page[page.index('data-testid="fiscal-waiting"'):]
    assert "T2 has no FBR POSID: set it in the back office (4 invoices waiting)" in waiting.split("</ul>")[0]
    days = page[page.index('data-testid="fiscal-days"'):]
    assert days.index("2026-11-27") < days.index("2026-11-26")   # newest day first
    row = re.search(r'<tr data-date="2026-11-27">(.*?)</tr>', days, re.S)
    assert row and re.findall(r'class="num[^"]*">(\d+)</td>', row.group(1)) == ["41", "3", "1"]
    failure = page[page.index(f'data-document-id="{sale["id"]}"'):]
    assert "Invalid data received: Items[0].PCTCode" in failure and "refused" in failure
    assert f'/office/shops/{shop.shop_id}/sales/{sale["id"]}' in failure and "18:05" in failure   # Karachi time

    etag, before = await _catalog(cloud_client, box)
    retried = await cloud_client.post(page_url + "/retry", data={"csrf": csrf}, allow_redirects=False)
    assert retried.status == 303 and retried.headers["Location"].endswith("?done=retry")
    etag2, after = await _catalog(cloud_client, box)
    assert etag2 != etag and before["fiscal"]["retry_requested_at"] is None and after["fiscal"]["retry_requested_at"]


async def test_the_page_in_urdu_and_another_owners_shop(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    stranger = await owned_shop(cloud_db_url, login="03009999999", name="Other")
    await sign_in(cloud_client)
    cloud_client.session.cookie_jar.update_cookies({"posline_lang": "ur"})
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/fiscal")).text()
    assert URDU["FBR / PRA reporting"] in page and URDU["Retry failed invoices"] in page
    assert URDU["FBR / PRA"] in page   # the menu
    refused = await cloud_client.get(f"/office/shops/{stranger.shop_id}/fiscal")
    assert refused.status == 403


async def test_a_sales_page_shows_the_pos_service_fee(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    box = await enrolled(cloud_client, shop.enrol_token)
    sale = make_sale(qty=1, price=55000)
    sale.update(service_fee=100, total=55100, payments=[{"tender": "cash", "amount": 60000}], change=4900)
    sale["hash"] = document_hash(sale)
    results = (await (await post_batch(cloud_client, box, [sale])).json())["results"]
    assert [r["status"] for r in results] == ["stored"]
    await sign_in(cloud_client)
    page = html.unescape(await (await cloud_client.get(f"/office/shops/{shop.shop_id}/sales/{sale['id']}")).text())
    fee = re.search(r'<tr data-testid="service-fee">(.*?)</tr>', page, re.S)
    assert fee and "POS service fee (FBR)" in fee.group(1) and "Rs 1.00" in fee.group(1)
    assert "Rs 551.00" in page   # the total holds the fee; the line stays Rs 550
    plain = make_sale(seq=2)
    assert (await post_batch(cloud_client, box, [plain])).status == 200
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/sales/{plain['id']}")).text()
    assert 'data-testid="service-fee"' not in page
