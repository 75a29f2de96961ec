"""Hostile or broken input to the back office is a 4xx page, never a 500 (both backends): a NUL
(PostgreSQL refuses one in text) in a query, a path or a form; values too long; a page or a date
past what the code can count; and every error under /office is a page, not JSON."""
from __future__ import annotations

import logging
from typing import Any

import pytest
from yarl import URL

from cloud_api.owners import normal_login
from cloud_api.service.errors import BadRequest
from tests.cloud.office_helpers import PASSWORD, owned_shop, sign_in


async def page_of(response: Any) -> str:
    assert response.headers["Content-Type"].startswith("text/html"), response.headers["Content-Type"]
    return await response.text()


async def test_nul_or_overlong_values_in_an_address_are_400_pages(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}"
    for path in (f"{base}/sales?device=%00", f"{base}/sales?cashier=%00", f"{base}/sales?tender=%00",
                 f"{base}/sales?receipt=%00", f"{base}/sales/%00", f"{base}/products/edit?sku=%00",
                 f"{base}/stock/item?sku=%00", f"{base}/products?q=%00", f"{base}/cashiers/edit?id=%00",
                 f"{base}/cashiers/edit?id={'x' * 1000}", f"{base}/reports/by-day?to=%00",
                 f"{base}/sales?device={'x' * 1000}", f"{base}/sales/{'x' * 1000}",
                 f"{base}/reports/by-day?to=0001-01-03", f"{base}/reports/by-day?from=0001-01-01&to=0001-01-03",
                 f"{base}/sales?to=0001-01-03", "/office/?date=0001-01-01"):
        response = await cloud_client.get(URL(path, encoded=True))
        text = await page_of(response)
        assert response.status == 400, (path, response.status, text[:300])
        assert "Something went wrong" in text


async def test_a_page_number_past_the_end_is_an_empty_page(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    await sign_in(cloud_client)
    for page in ("99999999999999999999", "9" * 5000, "-3", "x"):
        response = await cloud_client.get(f"/office/shops/{shop.shop_id}/sales", params={"page": page})
        text = await page_of(response)
        assert response.status in (200, 400), (page, response.status, text[:300])


async def test_nul_or_overlong_form_fields_are_400_pages(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    csrf = await sign_in(cloud_client)
    base = f"/office/shops/{shop.shop_id}"
    posts = [("products/archive", {"sku": "\x00", "archived": "1"}),
             ("cashiers/disable", {"cashier_id": "\x00", "disabled": "1"}),
             ("devices/revoke-tablet", {"device_id": "\x00"}),
             ("devices/revoke-box", {"gateway_id": "\x00"}),
             ("stock/item?sku=TAPAL-190", {"kind": "adjust", "token": "a" * 43, "qty": "-1", "reason": "lost\x00"}),
             ("products/new", {"sku": "NEW-1", "name": "x" * 10_001, "unit": "each", "gst_percent": "18",
                               "price_rs": "10"}),
             ("settings", {"name": "Madina\x00", "timezone": "Asia/Karachi"})]
    for path, fields in posts:
        response = await cloud_client.post(f"{base}/{path}", data={"csrf": csrf, **fields}, allow_redirects=False)
        text = await page_of(response)
        assert response.status == 400, (path, response.status, text[:300])
    # Nothing was archived or changed by any of them.
    assert "Madina" in await (await cloud_client.get(f"{base}/settings")).text()


async def test_a_nul_in_the_sign_in_form_is_a_400_page(cloud_client: Any, cloud_db_url: str):
    await owned_shop(cloud_db_url)
    for login in ("a\x00@b.pk", "0300\x001234567"):
        response = await cloud_client.post("/office/sign-in", data={"login": login, "password": PASSWORD})
        await page_of(response)
        assert response.status == 400
    response = await cloud_client.post("/office/sign-in", data={"login": "03001234567", "password": "x\x00" * 10})
    assert response.status == 400
    with pytest.raises(BadRequest):
        normal_login("a\x00@b.pk")
    with pytest.raises(BadRequest):
        normal_login("a\x1b@b.pk")


async def test_errors_under_office_are_pages_not_json(cloud_client: Any, cloud_db_url: str, monkeypatch, caplog):
    shop = await owned_shop(cloud_db_url)
    await sign_in(cloud_client)
    missing = await cloud_client.get("/office/no-such-page")
    assert missing.status == 404 and "there is no such page in the back office" in await page_of(missing)
    wrong_method = await cloud_client.get("/office/sign-out")
    assert wrong_method.status == 405 and "POST" in wrong_method.headers["Allow"]
    assert "this page cannot be used that way" in await page_of(wrong_method)
    # Outside /office, errors stay JSON for the API's clients.
    assert (await cloud_client.get("/v1/no-such-route")).headers["Content-Type"].startswith("application/json")

    async def crash(*_args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("cloud_api.office.sales._cashier_names", crash)
    with caplog.at_level(logging.ERROR):
        crashed = await cloud_client.get(f"/office/shops/{shop.shop_id}/sales")
    text = await page_of(crashed)
    assert crashed.status == 500 and "the back office failed to show this page" in text and "a bug" not in text
    assert any(record.exc_info and "a bug" in str(record.exc_info[1]) for record in caplog.records)
    # In Urdu too.
    cloud_client.session.cookie_jar.update_cookies({"posline_lang": "ur"})
    assert "بیک آفس میں ایسا کوئی صفحہ نہیں ہے" in await (await cloud_client.get("/office/no-such-page")).text()


async def test_a_post_with_an_expired_session_comes_back_to_the_page_it_was_sent_from(cloud_client: Any,
                                                                                      cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    products = f"/office/shops/{shop.shop_id}/products?q=tea"
    action = f"/office/shops/{shop.shop_id}/products/archive"
    cases = [({"Referer": str(cloud_client.make_url(products))}, products),
             ({}, "/office/"),
             ({"Referer": "https://evil.example/office/shops/x/products"}, "/office/"),
             ({"Referer": str(cloud_client.make_url("/office/sign-in"))}, "/office/")]
    for headers, expected in cases:
        response = await cloud_client.post(action, data={"sku": "TAPAL-190"}, headers=headers, allow_redirects=False)
        assert response.status == 303
        location = URL(response.headers["Location"])
        assert location.path == "/office/sign-in" and location.query["next"] == expected, (headers, location)
    # A GET comes back to itself.
    response = await cloud_client.get(products, allow_redirects=False)
    assert URL(response.headers["Location"]).query["next"] == products
