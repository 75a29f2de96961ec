"""Owner accounts and the back office's sign-in: argon2id passwords, sessions, CSRF, scoping."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from cloud_api import owners, schema
from cloud_api.database import create_engine
from cloud_api.owners import FREE_TRIES, check_password, normal_login
from cloud_api.service.errors import TooManyRequests, Unauthorised
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


async def test_parallel_guesses_get_no_more_tries_than_the_limit(cloud_client: Any, cloud_db_url: str):
    # Each try is counted before its password is checked, so 20 guesses at once cannot all slip in
    # while the first ones are still being hashed.
    shop = await owned_shop(cloud_db_url)
    answers = await asyncio.gather(*(cloud_client.post("/office/sign-in", data={
        "login": shop.owner_login, "password": f"guess-{n:04d}"}) for n in range(20)))
    statuses = sorted(answer.status for answer in answers)
    assert statuses.count(401) == FREE_TRIES and statuses.count(429) == 20 - FREE_TRIES, statuses
    locked = next(answer for answer in answers if answer.status == 429)
    assert 1 <= int(locked.headers["Retry-After"]) <= owners.LOCKOUT_S + 1
    assert (await cloud_client.post("/office/sign-in", data={"login": shop.owner_login,
                                                             "password": PASSWORD})).status == 429


async def test_a_lockout_from_one_address_leaves_the_owner_in_from_another(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    engine = create_engine(cloud_db_url)
    try:
        for _ in range(FREE_TRIES):
            with pytest.raises(Unauthorised):
                await check_password(engine, shop.owner_login, "guess-guess", "203.0.113.9")
        with pytest.raises(TooManyRequests) as locked:
            await check_password(engine, shop.owner_login, PASSWORD, "203.0.113.9")
        assert locked.value.phrase == "too many wrong passwords: try again in {s} s"
        assert locked.value.message == f"too many wrong passwords: try again in {locked.value.values['s']} s"
        owner = await check_password(engine, shop.owner_login, PASSWORD, "198.51.100.7")
        assert owner.login == shop.owner_login
        # A good sign-in clears its own address's count, not the guesser's.
        with pytest.raises(TooManyRequests):
            await check_password(engine, shop.owner_login, PASSWORD, "203.0.113.9")
    finally:
        await engine.dispose()


async def test_a_login_has_a_looser_limit_across_all_addresses(cloud_client: Any, cloud_db_url: str, monkeypatch):
    # Guessing from many addresses (an IPv6 block is millions) is bounded by the login's own count.
    monkeypatch.setattr(owners, "LOGIN_TRIES", 8)
    shop = await owned_shop(cloud_db_url)
    engine = create_engine(cloud_db_url)
    try:
        for n in range(8):
            with pytest.raises(Unauthorised):
                await check_password(engine, shop.owner_login, "guess-guess", f"2001:db8::{n}")
        with pytest.raises(TooManyRequests) as locked:
            await check_password(engine, shop.owner_login, PASSWORD, "2001:db8::ffff")
        assert locked.value.retry_after_s > owners.LOCKOUT_S
    finally:
        await engine.dispose()


async def test_unknown_and_known_logins_answer_alike(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    answers = {}
    for login in (shop.owner_login, "03339998877", "nobody@nowhere.pk"):
        seen = []
        for _ in range(FREE_TRIES + 2):
            answer = await cloud_client.post("/office/sign-in", data={"login": login, "password": "guess-guess"})
            text = (await answer.text()).replace(login, "LOGIN")
            seen.append((answer.status, "wrong phone number" in text, "too many wrong passwords" in text))
        answers[login] = seen
    known, *unknown = answers.values()
    assert known == [(401, True, False)] * FREE_TRIES + [(429, False, True)] * 2
    assert all(other == known for other in unknown)


async def test_the_lockout_is_said_in_urdu_with_its_seconds(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    cloud_client.session.cookie_jar.update_cookies({"posline_lang": "ur"})
    for _ in range(FREE_TRIES):
        await cloud_client.post("/office/sign-in", data={"login": shop.owner_login, "password": "guess-guess"})
    locked = await cloud_client.post("/office/sign-in", data={"login": shop.owner_login, "password": "guess-guess"})
    text = await locked.text()
    assert locked.status == 429 and "بہت زیادہ غلط پاس ورڈ" in text and "{s}" not in text
    assert f"{locked.headers['Retry-After']} سیکنڈ" in text


async def test_argon2_runs_at_most_two_at_a_time(cloud_client: Any, cloud_db_url: str, monkeypatch):
    running, most, lock = 0, 0, threading.Lock()

    def slow_hash(_password: str) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return "not-a-hash"

    monkeypatch.setattr(owners, "_hasher", type("Counting", (), {"hash": staticmethod(slow_hash)})())
    engine = create_engine(cloud_db_url)
    try:
        results = await asyncio.gather(*(check_password(engine, f"0300000{n:04d}", "guess-guess", "192.0.2.1")
                                         for n in range(8)), return_exceptions=True)
    finally:
        await engine.dispose()
    assert all(isinstance(result, Unauthorised) for result in results)
    assert most == owners.ARGON2_THREADS == 2


async def test_every_page_names_the_brands_icon_so_no_browser_asks_for_a_missing_favicon(cloud_client: Any):
    # Without a <link rel="icon">, a browser asks for /favicon.ico on every page, and logs the 404.
    page = await (await cloud_client.get("/office/sign-in")).text()
    assert '<link rel="icon" href="/office/static/icon.svg" type="image/svg+xml">' in page
    icon = await cloud_client.get("/office/static/icon.svg")
    assert icon.status == 200 and icon.content_type == "image/svg+xml"
    assert (await icon.text()).startswith("<svg")
