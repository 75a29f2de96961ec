"""Cashier PINs checked on the box (gateway/cashier_pins.py): the verdict, the limits, and their memory."""
from __future__ import annotations

from typing import Any

import aiosqlite
import httpx

from cloud_api import catalog as cloud_catalog
from cloud_api.catalog import put_cashier
from cloud_api.contract import CashierIn
from cloud_api.database import create_engine
from gateway import cashier_pins
from gateway.app import create_app
from gateway.migrations import STEPS, apply_migrations
from gateway.store import DB_NAME, Store
from tests.gateway.conftest import paired
from tests.gateway.test_journal import wait_for

RIGHT, WRONG = "135790", "999999"   # the demo cashier c1 (Ayesha)
BILAL = "246813"


async def verify(box: Any, till: dict[str, Any], pin: str, cashier_id: str = "c1") -> Any:
    return await box.post("/api/v1/cashiers:verify", headers=till["headers"],
                          json={"cashier_id": cashier_id, "pin": pin})


async def add_cashier(cloud: Any, cashier_id: str, name: str, pin: str) -> None:
    server, shop = cloud
    async with httpx.AsyncClient(base_url=str(server.make_url("")).rstrip("/")) as client:
        response = await client.put(f"/v1/shops/{shop.shop_id}/cashiers/{cashier_id}", json={"name": name, "pin": pin},
                                    headers={"Authorization": f"Bearer {shop.owner_token}"})
        assert response.status_code == 200, response.text


async def catalog_with(box: Any, till: dict[str, Any], *cashier_ids: str) -> None:
    """Wait until the box's catalog copy (pulled from the cloud) holds these cashiers."""
    async def arrived() -> bool:
        response = await box.get("/api/v1/catalog", headers=till["headers"])
        return response.status == 200 and \
            set(cashier_ids) <= {c["cashier_id"] for c in (await response.json())["cashiers"]}
    await wait_for(arrived)


async def test_the_box_says_right_or_wrong_then_makes_a_guessing_tablet_wait(gateway, provisioned, cloud,
                                                                            aiohttp_client):
    await add_cashier(cloud, "c2", "Bilal", BILAL)
    guesser, other = await paired(gateway, provisioned), await paired(gateway, provisioned)
    await catalog_with(gateway, guesser, "c1", "c2")

    right = await verify(gateway, guesser, RIGHT)
    assert right.status == 200 and await right.json() == {"ok": True, "cashier_id": "c1", "name": "Ayesha"}
    for _ in range(cashier_pins.MAX_FREE_PER_DEVICE):
        wrong = await verify(gateway, guesser, WRONG)
        assert wrong.status == 401 and (await wrong.json())["error"]["code"] == "wrong_pin"
    locked = await verify(gateway, guesser, RIGHT)   # even the right PIN waits now
    assert locked.status == 429 and 1 <= int(locked.headers["Retry-After"]) <= 30
    assert (await locked.json())["error"]["message"].startswith("Too many wrong PINs on this tablet. Try again in ")
    # The limit is this tablet's, whichever cashier it tries next...
    assert (await verify(gateway, guesser, BILAL, "c2")).status == 429
    # ...and the cashier still signs in on another tablet (5 wrong is under the cashier's own limit).
    assert (await verify(gateway, other, RIGHT)).status == 200
    assert (await verify(gateway, other, BILAL, "c2")).status == 200

    # The count is in the box's database: a restarted box still makes that tablet wait.
    await gateway.close()
    restarted = await aiohttp_client(create_app(provisioned))
    again = await verify(restarted, guesser, RIGHT)
    assert again.status == 429 and int(again.headers["Retry-After"]) >= 1
    assert (await verify(restarted, other, RIGHT)).status == 200


async def test_guesses_spread_over_tablets_meet_the_cashiers_limit(gateway, provisioned, cloud, monkeypatch):
    monkeypatch.setattr(cashier_pins, "MAX_FREE_PER_DEVICE", 2)
    monkeypatch.setattr(cashier_pins, "MAX_FREE_PER_CASHIER", 4)
    await add_cashier(cloud, "c2", "Bilal", BILAL)
    first, second, third = [await paired(gateway, provisioned) for _ in range(3)]
    await catalog_with(gateway, first, "c1", "c2")
    for till in (first, second):   # each tablet stays within its own limit
        for _ in range(2):
            assert (await verify(gateway, till, WRONG)).status == 401
    locked = await verify(gateway, third, RIGHT)   # a tablet that never guessed: Ayesha must wait
    assert locked.status == 429
    assert (await locked.json())["error"]["message"].startswith("Too many wrong PINs for this cashier.")
    assert (await verify(gateway, third, BILAL, "c2")).status == 200   # other cashiers are not held up


async def test_a_right_pin_forgets_only_that_tablets_typos_for_that_cashier(gateway, provisioned, cloud, monkeypatch):
    monkeypatch.setattr(cashier_pins, "MAX_FREE_PER_DEVICE", 3)
    await add_cashier(cloud, "c2", "Bilal", BILAL)
    till = await paired(gateway, provisioned)
    await catalog_with(gateway, till, "c1", "c2")
    assert (await verify(gateway, till, WRONG, "c2")).status == 401   # a guess at Bilal's PIN...
    assert (await verify(gateway, till, WRONG)).status == 401         # ...and Ayesha's own typo
    assert (await verify(gateway, till, RIGHT)).status == 200         # forgets the typo, not the guess
    assert (await verify(gateway, till, WRONG, "c2")).status == 401
    assert (await verify(gateway, till, WRONG, "c2")).status == 401   # 3 guesses at Bilal from this tablet
    assert (await verify(gateway, till, RIGHT)).status == 429


async def test_unknown_cashiers_strangers_and_non_json_are_refused(gateway, provisioned):
    till = await paired(gateway, provisioned)
    await catalog_with(gateway, till, "c1")
    unknown = await verify(gateway, till, RIGHT, "nobody")
    assert unknown.status == 401 and (await unknown.json())["error"]["code"] == "wrong_pin"
    stranger = await gateway.post("/api/v1/cashiers:verify", json={"cashier_id": "c1", "pin": RIGHT})
    assert stranger.status == 401 and (await stranger.json())["error"]["code"] == "unauthorised"
    plain = await gateway.post("/api/v1/cashiers:verify", headers=till["headers"],
                               data='{"cashier_id": "c1", "pin": "135790"}')
    assert plain.status == 415
    for body in ({"cashier_id": "c1"}, {"cashier_id": "c1", "pin": 135790}, {"cashier_id": "c1", "pin": "1" * 33}):
        assert (await gateway.post("/api/v1/cashiers:verify", headers=till["headers"], json=body)).status == 400


async def test_a_cashier_saved_under_the_old_rule_still_signs_in_at_their_own_cost(gateway, provisioned, cloud,
                                                                                  tmp_path, monkeypatch):
    # Saved before the 6-digit rule: 4 digits, 100,000 rounds. No PIN to rehash; the box honours its count.
    monkeypatch.setattr(cloud_catalog, "PIN_ITERATIONS", 100_000)
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    async with engine.begin() as conn:
        await put_cashier(conn, cloud[1].shop_id, "c0", CashierIn.model_construct(name="Old Hand", pin="1234"))
    await engine.dispose()
    till = await paired(gateway, provisioned)
    await catalog_with(gateway, till, "c0")
    catalog = await (await gateway.get("/api/v1/catalog", headers=till["headers"])).json()
    iterations = {c["cashier_id"]: c["pin_iterations"] for c in catalog["cashiers"]}
    assert iterations == {"c0": 100_000, "c1": 1_200_000}
    # A stolen tablet must not give the old, weak hash away: tablets get it without, and ask the box.
    by_id = {c["cashier_id"]: c for c in catalog["cashiers"]}
    assert "pin_hash" not in by_id["c0"] and "pin_salt" not in by_id["c0"] and by_id["c0"]["pin_on_box_only"]
    assert by_id["c1"]["pin_hash"] and "pin_on_box_only" not in by_id["c1"]
    assert (await verify(gateway, till, "1234", "c0")).status == 200
    assert (await verify(gateway, till, "4321", "c0")).status == 401


async def test_migration_006_upgrades_a_box_of_the_previous_version(tmp_path):
    old = tmp_path / "old-box"
    old.mkdir()
    async with aiosqlite.connect(old / DB_NAME, isolation_level=None) as db:   # a box as 005 left it
        await apply_migrations(db, STEPS[:5])
        await db.execute("INSERT INTO devices (device_id, device_code, name, token_digest, paired_at) "
                         "VALUES ('d1', 'T1', 'Counter', 'digest', 'then')")
    assert STEPS[5][0] == "006_cashier_pin_attempts"
    store = await Store.open(old)
    async with store.transaction() as db:
        await cashier_pins.record_failure(db, "d1", "c1")
    locked = await cashier_pins.lockout(store.read(), "d1", "c1")
    devices = await store.read().execute_fetchall("SELECT device_code FROM devices")
    await store.close()
    assert locked is None and [row[0] for row in devices] == ["T1"]
