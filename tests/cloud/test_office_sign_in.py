"""Owner accounts and the back office's sign-in: argon2id passwords, sessions, CSRF, scoping."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cloud_api import schema
from cloud_api.database import create_engine
from cloud_api.owners import normal_login
from tests.cloud.office_helpers import PASSWORD, csrf_of, owned_shop, sign_in


def test_one_spelling_per_login():
    for spelling in ("+92 300 1234567", "0300-1234567", "923001234567", "03001234567"):
        assert normal_login(spelling) == "03001234567"
    assert normal_login(" Owner@Shop.PK ") == "owner@shop.pk"


async def test_a_password_is_kept_only_as_argon2id(cloud_client: Any, cloud_db_url: str):
    await owned_shop(cloud_db_url)
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(schema.owners.c.password_hash))).scalar_one()
    await engine.dispose()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_sign_in_sets_a_strict_http_only_cookie_and_opens_the_owners_shops(cloud_client: Any,
                                                                                 cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    # Signed out, a page sends you to sign in (and back afterwards).
    response = await cloud_client.get(f"/office/shops/{shop.shop_id}/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/office/sign-in?next=")
    wrong = await cloud_client.post("/office/sign-in", data={"login": shop.owner_login, "password": "nope-nope"})
    assert wrong.status == 401 and "wrong phone number, email or password" in await wrong.text()
    response = await cloud_client.post("/office/sign-in", data={"login": "+92 300 1234567", "password": PASSWORD},
                                       allow_redirects=False)
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/office" in cookie
    page = await cloud_client.get("/office/")
    assert page.status == 200 and "Madina" in await page.text()
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]


async def test_a_form_without_the_sessions_token_is_refused(cloud_client: Any, cloud_db_url: str):
    await owned_shop(cloud_db_url)
    csrf = await sign_in(cloud_client)
    refused = await cloud_client.post("/office/sign-out", data={"csrf": "0" * 64})
    assert refused.status == 403
    other_site = await cloud_client.post("/office/sign-out", data={"csrf": csrf},
                                         headers={"Origin": "https://evil.example"})
    assert other_site.status == 403
    signed_out = await cloud_client.post("/office/sign-out", data={"csrf": csrf}, allow_redirects=False)
    assert signed_out.status == 303
    # The session is gone from the database, not only from the browser.
    assert (await cloud_client.get("/office/", allow_redirects=False)).status == 303


async def test_guessing_a_password_is_slowed(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    for _ in range(5):
        assert (await cloud_client.post("/office/sign-in", data={"login": shop.owner_login,
                                                                 "password": "guess-guess"})).status == 401
    locked = await cloud_client.post("/office/sign-in", data={"login": shop.owner_login, "password": PASSWORD})
    assert locked.status == 429 and "too many wrong passwords" in await locked.text()


async def test_another_owners_shop_is_refused(cloud_client: Any, cloud_db_url: str):
    mine = await owned_shop(cloud_db_url)
    theirs = await owned_shop(cloud_db_url, login="someone@else.pk", name="Other")
    await sign_in(cloud_client)
    assert (await cloud_client.get(f"/office/shops/{mine.shop_id}/settings")).status != 403
    refused = await cloud_client.get(f"/office/shops/{theirs.shop_id}/settings")
    assert refused.status == 403 and "this shop is not one of yours" in await refused.text()
    assert "Other" not in await (await cloud_client.get("/office/")).text()


async def test_the_language_switch_goes_only_to_back_office_pages(cloud_client: Any, cloud_db_url: str):
    await owned_shop(cloud_db_url)
    await sign_in(cloud_client)
    response = await cloud_client.get("/office/language", params={"to": "ur", "next": "https://evil.example/"},
                                      allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/office/"
    assert "سائن آؤٹ" in await (await cloud_client.get("/office/")).text()
    assert await csrf_of(cloud_client, "/office/")
