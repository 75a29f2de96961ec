"""The owner's page on the box (/admin): the PIN and its limits, sessions, tablets, today's figures."""
from __future__ import annotations

import asyncio
import io
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite
import pytest
from aiohttp import web

from cloud_api.contract import document_hash
from gateway import owner_pin
from gateway.app import create_app
from gateway.backup import backup_box
from gateway.cli import main
from gateway.migrations import STEPS, apply_migrations
from gateway.settings import GatewaySettings
from gateway.store import DB_NAME, Store
from tests.conftest import make_sale
from tests.gateway.conftest import new_code, paired
from tests.gateway.documents import make_refund

PIN = "246810"
OWNER = "192.168.1.20"   # the owner's phone on the shop's Wi-Fi


@web.middleware
async def remote_from_header(request: web.Request, handler: Any) -> web.StreamResponse:
    """The test client always comes from 127.0.0.1; this lets a test speak for other LAN addresses."""
    remote = request.headers.get("X-Test-Remote")
    return await handler(request.clone(remote=remote) if remote else request)


async def set_pin(settings: GatewaySettings, pin: str = PIN) -> None:
    store = await Store.open(settings.state_dir)
    async with store.transaction() as db:
        await owner_pin.set_owner_pin(db, owner_pin.hash_pin(pin))
    await store.close()


@pytest.fixture
async def box(provisioned: GatewaySettings, aiohttp_client: Any) -> Any:
    """The gateway with an owner PIN, as a test client that can speak for any LAN address."""
    await set_pin(provisioned)
    return await start_box(provisioned, aiohttp_client)


async def start_box(settings: GatewaySettings, aiohttp_client: Any) -> Any:
    app = create_app(settings)
    app.middlewares.insert(0, remote_from_header)
    return await aiohttp_client(app)


async def try_pin(client: Any, pin: str, address: str = OWNER) -> Any:
    return await client.post("/admin/sign-in", data={"pin": pin}, headers={"X-Test-Remote": address},
                             allow_redirects=False)


async def sign_in(client: Any, pin: str = PIN, address: str = OWNER) -> dict[str, str]:
    """Sign in; the session cookie as a header.

    The cookie is Secure, so aiohttp's cookie jar will not send it back over the test client's
    plain HTTP: the test sends it itself, as a browser on the box's HTTPS origin would.
    """
    response = await try_pin(client, pin, address)
    assert response.status == 303 and response.headers["Location"] == "/admin"
    return {"Cookie": f"posline_admin={response.cookies['posline_admin'].value}"}


async def page(client: Any, session: dict[str, str]) -> tuple[str, str]:
    """The dashboard's HTML and its CSRF token."""
    response = await client.get("/admin", headers=session)
    assert response.status == 200
    html = await response.text()
    return html, re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def figure(html: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}"[^>]*>(.*?)</div>', html, re.S).group(1)


def text_of(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


async def test_the_sign_in_page_names_its_field_and_button(box):
    response = await box.get("/admin")
    html = await response.text()
    assert response.status == 200 and response.headers["Content-Security-Policy"]
    # A text field with masked glyphs, so it keeps the textbox role ("Owner PIN").
    assert '<label for="owner-pin">Owner PIN</label>' in html
    assert re.search(r'<input id="owner-pin" name="pin" type="text" class="masked"', html)
    assert '<button type="submit">Sign in</button>' in html and "Pair a tablet" not in html


async def test_a_wrong_pin_is_refused_then_the_address_must_wait(box, provisioned, aiohttp_client):
    for _ in range(owner_pin.MAX_FREE_FAILURES):
        wrong = await try_pin(box, "135790", "192.168.1.66")
        assert wrong.status == 401 and "That PIN is not right." in await wrong.text()
    locked = await try_pin(box, PIN, "192.168.1.66")   # even the right PIN waits now
    assert locked.status == 429
    # The wait counts down from 30 s, so how much is left depends on how long the test took so far.
    assert re.search(r"Too many wrong PINs from this device\. Try again in \d+ seconds\.", await locked.text())
    assert "posline_admin" not in locked.cookies

    # The owner, from their own phone, is within the global ceiling and gets in.
    await sign_in(box)

    # The count is in the database: a restarted box still makes that address wait.
    restarted = await start_box(provisioned, aiohttp_client)
    assert (await try_pin(restarted, PIN, "192.168.1.66")).status == 429


async def test_a_lan_full_of_addresses_meets_a_global_ceiling(box, monkeypatch):
    monkeypatch.setattr(owner_pin, "GLOBAL_MAX_PER_HOUR", 6)
    for n in range(6):   # one guess each, from six addresses: no address reaches its own limit
        assert (await try_pin(box, f"{n:06d}", f"192.168.1.{100 + n}")).status == 401
    locked = await try_pin(box, PIN)
    assert locked.status == 429 and "Too many wrong PINs on this box." in await locked.text()


def device_of(response: Any) -> dict[str, str]:
    """The known-device cookie a sign-in gave, as a header (Secure: the jar would not send it over HTTP)."""
    return {"Cookie": f"posline_owner_device={response.cookies['posline_owner_device'].value}"}


async def guess_from_the_lan(client: Any) -> None:
    """Fill the box-wide ceiling, one wrong guess from each of many addresses."""
    for n in range(owner_pin.GLOBAL_MAX_PER_HOUR):
        assert (await try_pin(client, f"{n:06d}", f"192.168.1.{100 + n}")).status == 401


async def test_the_owners_known_browser_gets_past_the_global_ceiling(box, provisioned, monkeypatch):
    monkeypatch.setattr(owner_pin, "GLOBAL_MAX_PER_HOUR", 6)
    first = await try_pin(box, PIN)
    assert first.status == 303
    cookie = first.cookies["posline_owner_device"]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/admin" and int(cookie["max-age"]) >= 364 * 24 * 3600
    known = device_of(first)
    with sqlite3.connect(provisioned.state_dir / DB_NAME) as db:
        stored = [row[0] for row in db.execute("SELECT token_digest FROM owner_devices")]
    assert len(stored) == 1 and cookie.value not in stored   # a digest only

    await guess_from_the_lan(box)   # and the LAN could renew this every time the hour moves on
    new_browser = await try_pin(box, PIN)
    assert new_browser.status == 429 and "Too many wrong PINs on this box." in await new_browser.text()
    again = await box.post("/admin/sign-in", data={"pin": PIN}, allow_redirects=False,
                           headers={**known, "X-Test-Remote": OWNER})
    assert again.status == 303 and "posline_admin" in again.cookies
    assert again.cookies["posline_owner_device"].value == cookie.value   # the same device, renewed
    forged = {"Cookie": "posline_owner_device=guessed", "X-Test-Remote": OWNER}
    assert (await box.post("/admin/sign-in", data={"pin": PIN}, headers=forged)).status == 429

    # Still bound by its own address's limit: five wrong PINs and the known browser waits too.
    for _ in range(owner_pin.MAX_FREE_FAILURES):
        wrong = await box.post("/admin/sign-in", data={"pin": "135790"}, headers={**known, "X-Test-Remote": OWNER})
        assert wrong.status == 401
    locked = await box.post("/admin/sign-in", data={"pin": PIN}, headers={**known, "X-Test-Remote": OWNER})
    assert locked.status == 429 and "from this device" in await locked.text()


async def test_a_new_owner_pin_forgets_the_known_browsers(box, provisioned, monkeypatch):
    monkeypatch.setattr(owner_pin, "GLOBAL_MAX_PER_HOUR", 6)
    known = device_of(await try_pin(box, PIN))
    monkeypatch.setattr("sys.stdin", io.StringIO("97531864\n"))
    assert await asyncio.to_thread(main, ["admin-pin", "--state-dir", str(provisioned.state_dir)]) == 0

    await guess_from_the_lan(box)
    forgotten = await box.post("/admin/sign-in", data={"pin": "97531864"}, allow_redirects=False,
                               headers={**known, "X-Test-Remote": OWNER})
    assert forgotten.status == 429 and "posline_admin" not in forgotten.cookies


async def test_sign_in_gives_a_strict_session_cookie_kept_as_a_digest(box, provisioned):
    response = await try_pin(box, PIN)
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/admin"):
        assert attribute in cookie
    token = response.cookies["posline_admin"].value
    html, _csrf = await page(box, {"Cookie": f"posline_admin={token}"})
    assert '<button type="submit">Pair a tablet</button>' in html

    with sqlite3.connect(provisioned.state_dir / DB_NAME) as db:
        stored = [row[0] for row in db.execute("SELECT token_digest FROM admin_sessions")]
    assert len(stored) == 1 and token not in stored
    # A forged cookie is not a session.
    forged = await box.get("/admin", headers={"Cookie": "posline_admin=guessed"})
    assert "Owner PIN" in await forged.text()


async def test_forms_need_the_sessions_csrf_token_and_our_origin(box):
    session = await sign_in(box)
    _html, csrf = await page(box, session)
    assert (await box.post("/admin/pair", data={}, headers=session)).status == 403
    assert (await box.post("/admin/pair", data={"csrf": "0" * 64}, headers=session)).status == 403
    elsewhere = {**session, "Origin": "https://evil.example"}
    assert (await box.post("/admin/pair", data={"csrf": csrf}, headers=elsewhere)).status == 403
    assert (await box.post("/admin/pair", data={"csrf": csrf})).status == 401   # no session at all
    # Another owner session's token does not fit this one.
    _other_html, other_csrf = await page(box, await sign_in(box))
    assert (await box.post("/admin/pair", data={"csrf": other_csrf}, headers=session)).status == 403

    signed_out = await box.post("/admin/sign-out", data={"csrf": csrf}, headers=session, allow_redirects=False)
    assert signed_out.status == 303
    assert "Owner PIN" in await (await box.get("/admin", headers=session)).text()


async def test_a_tablet_pairs_with_the_code_the_admin_page_shows(box):
    session = await sign_in(box)
    _html, csrf = await page(box, session)
    shown = await box.post("/admin/pair", data={"csrf": csrf}, headers=session)
    assert shown.status == 200
    html = await shown.text()
    code = re.search(r'data-testid="pairing-code"[^>]*>(\d{6})<', html).group(1)
    from gateway.keys import SETTINGS
    host = f"{box.server.host}:{box.server.app[SETTINGS].port}"   # the box's HTTPS port, on the host used
    assert f'href="https://{host}/#pair={code}"' in html   # what the QR code holds
    assert "<svg" in html and "</svg>" in html

    response = await box.post("/api/v1/pair", json={"code": code, "name": "Counter 1"})
    assert response.status == 201 and (await response.json())["device_code"] == "T1"
    assert (await box.post("/api/v1/pair", json={"code": code})).status == 401   # once only


async def test_revoke_refuses_the_tablets_next_push_and_keeps_what_it_sent(box, provisioned):
    till = await paired(box, provisioned)
    own = dict(device_id=till["device_id"], device_code=till["device_code"])
    first = make_sale(seq=1, **own)
    sent = await box.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": [first]})
    assert [r["status"] for r in (await sent.json())["results"]] == ["stored"]

    session = await sign_in(box)
    _html, csrf = await page(box, session)
    revoked = await box.post(f"/admin/tablets/{till['device_id']}/revoke", data={"csrf": csrf}, headers=session,
                             allow_redirects=False)
    assert revoked.status == 303

    refused = await box.post("/api/v1/journal:batch", headers=till["headers"],
                             json={"documents": [make_sale(seq=2, **own)]})
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "unauthorised"
    assert (await box.post("/api/v1/journal:acks", headers=till["headers"], json={"ids": []})).status == 401
    with sqlite3.connect(provisioned.state_dir / DB_NAME) as db:
        assert [row[0] for row in db.execute("SELECT id FROM journal")] == [first["id"]]   # what it sent stays
    html, _csrf = await page(box, session)
    row = re.search(r'<tr data-device-code="T1">(.*?)</tr>', html, re.S).group(1)
    assert "Revoked" in row and "Revoke T1" not in row   # listed, never deleted

    # A fresh code brings it back under the same device code, so receipt numbers carry on.
    # It proves its identity with its old token (the till keeps it aside, sync.js forgetToken).
    again = await paired(box, provisioned, device_id=till["device_id"], device_code="T1", previous_token=till["token"])
    assert again["device_code"] == "T1"
    resumed = await box.post("/api/v1/journal:batch", headers=again["headers"],
                             json={"documents": [make_sale(seq=2, **own)]})
    assert resumed.status == 200


async def test_rename_shows_the_new_name(box, provisioned):
    till = await paired(box, provisioned)
    session = await sign_in(box)
    _html, csrf = await page(box, session)
    renamed = await box.post(f"/admin/tablets/{till['device_id']}/rename", data={"csrf": csrf, "name": "Front counter"},
                             headers=session, allow_redirects=False)
    assert renamed.status == 303
    html, _csrf = await page(box, session)
    assert "<b>T1</b> Front counter" in html
    blank = await box.post(f"/admin/tablets/{till['device_id']}/rename", data={"csrf": csrf, "name": "  "},
                           headers=session)
    assert blank.status == 400


async def test_todays_figures_come_from_the_box_with_the_cloud_down(box, provisioned, cloud):
    till = await paired(box, provisioned)
    own = dict(device_id=till["device_id"], device_code=till["device_code"])
    now = datetime.now(ZoneInfo("Asia/Karachi"))
    today = now.isoformat(timespec="seconds")
    yesterday = (now - timedelta(days=1)).isoformat(timespec="seconds")
    sales = [make_sale(seq=1, created_at=today, **own), make_sale(seq=2, created_at=today, qty=1, **own),
             make_sale(seq=3, created_at=yesterday, **own)]
    foreign = make_sale(seq=4, device_id="someone-else", device_code="T9")
    answer = await box.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": [*sales, foreign]})
    assert [r["status"] for r in (await answer.json())["results"]] == ["stored", "stored", "stored", "invalid"]

    server, _shop = cloud
    await server.close()   # the WAN is gone: the page still knows the day
    # In a thread, as the box runs it: on the loop it would block the app's writer mid-transaction.
    nightly = provisioned.state_dir.parent / "backups" / "nightly.tar.gz"
    await asyncio.to_thread(backup_box, provisioned.state_dir, nightly)

    html, _csrf = await page(box, await sign_in(box))
    # 2 × Rs 550 + 1 × Rs 550 = Rs 1,650; cash is net of Rs 100 change on each sale.
    assert text_of(figure(html, "sales-count")) == "Sales 2"
    assert text_of(figure(html, "sales-gross")) == "Total Rs 1,650"
    assert text_of(figure(html, "sales-tax")) == "GST included Rs 251.70"
    assert text_of(figure(html, "tender-cash")) == "Cash Rs 1,650"
    assert "another device" in html   # the refused document, with its reason
    assert "nightly.tar.gz" in html and "No backup" not in html
    assert "held on the box" not in html

    # A document the cloud cannot store is parked by the uplink: the owner sees it and why.
    import sqlite3
    with sqlite3.connect(provisioned.state_dir / "gateway.db") as db:
        db.execute("UPDATE journal SET cloud_state = 'parked', cloud_at = '2026-11-28T10:00:00.000Z', "
                   "cloud_reason = 'invalid: column too narrow' WHERE id = ?", (sales[2]["id"],))
    html, _csrf = await page(box, await sign_in(box))
    assert "held on the box" in html and "column too narrow" in html
    assert 'href="/setup"' in html


async def test_todays_figures_take_returns_off_as_the_back_office_does(box, provisioned):
    # The owner's only figures while the WAN is down: cash from trade is net of the returns paid out.
    till = await paired(box, provisioned)
    own = dict(device_id=till["device_id"], device_code=till["device_code"])
    now = datetime.now(ZoneInfo("Asia/Karachi"))
    today = now.isoformat(timespec="seconds")
    yesterday = (now - timedelta(days=1)).isoformat(timespec="seconds")
    sold_today = make_sale(seq=1, created_at=today, **own)          # 2 x Rs 550, Rs 1,200 cash, Rs 100 change
    sold_yesterday = make_sale(seq=2, created_at=yesterday, **own)
    # One of yesterday's items comes back today: the return counts today, on its own day.
    returned = make_refund(sold_yesterday, {0: 1}, seq=3, **own)
    returned["created_at"] = today
    returned["hash"] = document_hash(returned)
    answer = await box.post("/api/v1/journal:batch", headers=till["headers"],
                            json={"documents": [sold_today, sold_yesterday, returned]})
    assert [r["status"] for r in (await answer.json())["results"]] == ["stored"] * 3

    html, _csrf = await page(box, await sign_in(box))
    assert text_of(figure(html, "sales-count")) == "Sales 1"
    assert text_of(figure(html, "sales-gross")) == "Total Rs 1,100"
    assert text_of(figure(html, "refunds")) == "Returns 1 · Rs 550"
    assert text_of(figure(html, "net")) == "Net Rs 550"
    # GST: Rs 167.80 inside the sale less Rs 83.90 inside the return.
    assert text_of(figure(html, "sales-tax")) == "GST included Rs 83.90"
    # Rs 1,200 taken, Rs 100 change given, Rs 550 paid back.
    assert text_of(figure(html, "tender-cash")) == "Cash Rs 550"


async def test_admin_pin_and_provision_keep_only_an_argon2id_hash(tmp_path, cloud, provisioned, monkeypatch):
    # Replace the PIN of a provisioned box, from stdin as an installer would pipe it.
    monkeypatch.setattr("sys.stdin", io.StringIO("97531864\n"))
    assert await asyncio.to_thread(main, ["admin-pin", "--state-dir", str(provisioned.state_dir)]) == 0
    assert_only_a_hash(provisioned.state_dir, "97531864")
    assert await asyncio.to_thread(main, ["admin-pin", "--state-dir", str(provisioned.state_dir),
                                          "--pin", "12345"]) == 2   # too short: refused, nothing changed
    assert_only_a_hash(provisioned.state_dir, "97531864")

    # First boot from the installer's TOML: the PIN is hashed, and scrubbed from the file.
    server, _shop = cloud
    from cloud_api.database import create_engine
    from cloud_api.shops import create_shop
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    async with engine.begin() as conn:
        fresh = await create_shop(conn, "Bismillah Store")
    await engine.dispose()
    config = tmp_path / "posline.toml"
    config.write_text(f'cloud_url = "{str(server.make_url("")).rstrip("/")}"\n'
                      f'enrol_token = "{fresh.enrol_token}"\nadmin_pin = "{PIN}"\n')
    state_dir = tmp_path / "fresh-box"
    done = await asyncio.to_thread(main, ["provision", "--state-dir", str(state_dir), "--config", str(config),
                                          "--scrub-config"])
    assert done == 0
    assert_only_a_hash(state_dir, PIN)
    assert PIN not in config.read_text() and "admin_pin was used" in config.read_text()


def assert_only_a_hash(state_dir: Path, pin: str) -> None:
    with sqlite3.connect(state_dir / DB_NAME) as db:
        values = dict(db.execute("SELECT key, value FROM box").fetchall())
    assert values["admin_pin_hash"].startswith("$argon2id$")
    assert owner_pin.HASHER.verify(values["admin_pin_hash"], pin)
    assert pin not in values.values()
    for file in state_dir.glob(DB_NAME + "*"):   # nor anywhere in the database or its WAL
        assert pin.encode() not in file.read_bytes()


async def test_migration_003_upgrades_a_box_of_the_previous_version(tmp_path):
    old = tmp_path / "old-box"
    old.mkdir()
    async with aiosqlite.connect(old / DB_NAME, isolation_level=None) as db:   # a box as 002 left it
        await apply_migrations(db, STEPS[:2])
        await db.execute("INSERT INTO devices (device_id, device_code, name, token_digest, paired_at) "
                         "VALUES ('d1', 'T1', 'Counter', 'digest', 'then')")
    store = await Store.open(old)
    rows = await store.read().execute_fetchall("SELECT device_code, revoked_at FROM devices")
    applied = [row[0] for row in await store.read().execute_fetchall("SELECT name FROM migrations")]
    await store.close()
    assert [tuple(row) for row in rows] == [("T1", None)]   # its tablets kept, none revoked
    assert "003_tablet_admin" in applied


async def test_migration_004_keeps_the_owners_pin_and_sessions(tmp_path):
    old = tmp_path / "old-box"
    old.mkdir()
    async with aiosqlite.connect(old / DB_NAME, isolation_level=None) as db:   # a box as 003 left it
        await apply_migrations(db, STEPS[:3])
        await db.execute("INSERT INTO box VALUES ('admin_pin_hash', ?)", (owner_pin.hash_pin(PIN),))
        await db.execute("INSERT INTO admin_sessions VALUES ('digest', 'then', '2999-01-01T00:00:00.000Z', NULL)")
    store = await Store.open(old)
    db = store.read()
    sessions = await db.execute_fetchall("SELECT token_digest FROM admin_sessions")
    devices = await db.execute_fetchall("SELECT count(*) FROM owner_devices")
    right = await owner_pin.verify_pin(db, PIN)
    await store.close()
    assert [row[0] for row in sessions] == ["digest"] and devices[0][0] == 0 and right


async def test_the_owner_allows_a_tablet_that_lost_its_pairing_to_keep_its_number(box, provisioned):
    till = await paired(box, provisioned)
    ask = {"device_id": till["device_id"], "device_code": till["device_code"]}   # no token: it lost it
    assert (await box.post("/api/v1/pair", json={"code": await new_code(provisioned), **ask})).status == 409
    session = await sign_in(box)
    html, csrf = await page(box, session)
    assert "Allow re-pairing T1" in html
    allowed = await box.post(f"/admin/tablets/{till['device_id']}/allow-repair", data={"csrf": csrf},
                             headers=session, allow_redirects=False)
    assert allowed.status == 303
    again = await paired(box, provisioned, **ask)
    assert (again["device_id"], again["device_code"]) == (till["device_id"], "T1")
