"""Pairing: one-time codes, device codes T1, T2, ..., tokens, and resistance to guessing."""
from __future__ import annotations

from gateway.pairing import MAX_FAILURES
from gateway.store import Store
from tests.gateway.conftest import new_code, paired


async def test_pairing_gives_each_till_its_own_code_and_token(gateway, provisioned):
    first = await paired(gateway, provisioned)
    second = await paired(gateway, provisioned)
    assert (first["device_code"], second["device_code"]) == ("T1", "T2")
    assert first["shop_name"] == "Madina"
    status = await gateway.get("/api/v1/catalog", headers=second["headers"])
    assert status.status in (200, 503)   # authorised; the catalog may still be on its way
    store = await Store.open(provisioned.state_dir)
    rows = await store.read().execute_fetchall("SELECT token_digest FROM devices")
    await store.close()
    assert first["token"] not in {row[0] for row in rows}   # kept only as a digest


async def test_a_code_works_once(gateway, provisioned):
    code = await new_code(provisioned)
    assert (await gateway.post("/api/v1/pair", json={"code": code})).status == 201
    again = await gateway.post("/api/v1/pair", json={"code": code})
    assert again.status == 401 and (await again.json())["error"]["code"] == "unauthorised"


async def test_an_expired_code_is_refused(gateway, provisioned):
    provisioned.pairing_code_ttl_s = -1
    code = await new_code(provisioned)
    assert (await gateway.post("/api/v1/pair", json={"code": code})).status == 401


async def test_guessing_burns_every_open_code(gateway, provisioned):
    code = await new_code(provisioned)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(MAX_FAILURES):
        assert (await gateway.post("/api/v1/pair", json={"code": wrong})).status == 401
    # The real code no longer works either: the owner makes a new one.
    assert (await gateway.post("/api/v1/pair", json={"code": code})).status == 401
    assert (await gateway.post("/api/v1/pair", json={"code": await new_code(provisioned)})).status == 201


async def test_a_malformed_code_is_a_400(gateway):
    response = await gateway.post("/api/v1/pair", json={"code": "12ab"})
    assert response.status == 400 and "code" in (await response.json())["error"]["message"]


async def test_an_unpaired_device_cannot_post_documents(gateway):
    response = await gateway.post("/api/v1/journal:batch", json={"documents": []},
                                  headers={"Authorization": "Bearer guessed"})
    assert response.status == 401


async def test_a_till_moving_to_a_fresh_box_keeps_its_identity(gateway, provisioned):
    moved = await paired(gateway, provisioned, device_id="old-device", device_code="T3")
    assert (moved["device_id"], moved["device_code"]) == ("old-device", "T3")
    clash = await paired(gateway, provisioned, device_id="other-device", device_code="T3")
    assert clash["device_code"] != "T3"   # never two devices with one code: receipt numbers stay unique
