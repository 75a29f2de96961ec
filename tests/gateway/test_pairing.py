"""Pairing: one-time codes, device codes T1, T2, ..., tokens, and resistance to guessing."""
from __future__ import annotations

import json

import aiohttp
import pytest

from cloud_api.service.errors import TooManyRequests
from gateway.pairing import FREE_FAILURES, GLOBAL_FAILURES, PairingGuard, allow_repair, client_key
from gateway.store import Store
from gateway.tablets import revoke_tablet
from gateway.till_api import LastSeen
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


async def test_a_guessing_client_is_slowed_down_and_another_still_pairs(gateway, provisioned):
    code = await new_code(provisioned)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(FREE_FAILURES + 1):
        assert (await gateway.post("/api/v1/pair", json={"code": wrong})).status == 401
    slowed = await gateway.post("/api/v1/pair", json={"code": wrong})
    assert slowed.status == 429 and int(slowed.headers["Retry-After"]) >= 1
    assert (await slowed.json())["error"]["code"] == "too_many_requests"
    # While it waits, even the right code is not looked at: a slowed guesser learns nothing.
    assert (await gateway.post("/api/v1/pair", json={"code": code})).status == 429
    # Another device on the LAN pairs with the same open code: nothing was cancelled.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))) as other:
        answer = await other.post(gateway.make_url("/api/v1/pair"), json={"code": code})
        assert answer.status == 201


def test_each_wrong_code_past_the_free_ones_doubles_the_wait():
    clock = [0.0]
    guard = PairingGuard(600, clock=lambda: clock[0])
    waits = []
    for _ in range(FREE_FAILURES + 4):
        guard.check("10.0.0.5")
        guard.failed("10.0.0.5")
        try:
            guard.check("10.0.0.5")
            waits.append(0)
        except TooManyRequests as err:
            waits.append(err.retry_after_s)
            clock[0] += err.retry_after_s
    assert waits == [0] * FREE_FAILURES + [2, 4, 8, 16]
    guard.check("10.0.0.6")   # others never wait for it
    guard.succeeded("10.0.0.5")
    guard.check("10.0.0.5")


def test_the_whole_box_allows_few_wrong_codes_per_code_lifetime():
    """Many addresses sweeping the code space get GLOBAL_FAILURES guesses per 10 minutes, all together."""
    clock = [0.0]
    guard = PairingGuard(600, clock=lambda: clock[0])
    for n in range(GLOBAL_FAILURES):
        guard.check(f"10.0.{n // 250}.{n % 250}")
        guard.failed(f"10.0.{n // 250}.{n % 250}")
    with pytest.raises(TooManyRequests) as paused:
        guard.check("10.9.9.9")
    assert 590 <= paused.value.retry_after_s <= 600
    clock[0] += 601
    guard.check("10.9.9.9")
    # One code faces at most GLOBAL_FAILURES of 10**6 guesses in its life: not a useful chance.
    assert GLOBAL_FAILURES / 10**6 < 1e-4


def test_an_ipv6_device_counts_as_its_whole_64():
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1234") == "2001:db8::/64"
    assert client_key("::ffff:192.168.1.7") == "192.168.1.7"


async def test_a_text_plain_post_is_refused(gateway, provisioned):
    """What any web page can make a tablet's browser send cross-origin without a preflight."""
    code = await new_code(provisioned)
    for path in ("/api/v1/pair", "/api/v1/journal:batch", "/api/v1/journal:acks"):
        answer = await gateway.post(path, data=json.dumps({"code": code}), headers={"Content-Type": "text/plain"})
        assert answer.status == 415, path
        assert (await answer.json())["error"]["code"] == "unsupported_media_type"
    form = await gateway.post("/api/v1/pair", data={"code": code})   # urlencoded, the other "simple" body
    assert form.status == 415
    assert (await gateway.post("/api/v1/pair", json={"code": code})).status == 201   # the code was never spent


async def test_a_takeover_of_a_paired_tablets_identity_is_refused(gateway, provisioned):
    victim = await paired(gateway, provisioned)
    code = await new_code(provisioned)
    taken = await gateway.post("/api/v1/pair", json={"code": code, "device_id": victim["device_id"],
                                                     "device_code": victim["device_code"],
                                                     "previous_token": "not-its-token"})
    assert taken.status == 409 and "admin page" in (await taken.json())["error"]["message"]
    assert (await gateway.get("/api/v1/catalog", headers=victim["headers"])).status in (200, 503)   # still its own
    fresh = await gateway.post("/api/v1/pair", json={"code": code})   # the code was not spent by the refusal
    assert fresh.status == 201 and (await fresh.json())["device_code"] == "T2"


async def test_a_revoked_tablet_proves_its_identity_with_its_old_token(gateway, provisioned):
    till = await paired(gateway, provisioned)
    store = await Store.open(provisioned.state_dir)
    async with store.transaction() as db:
        assert await revoke_tablet(db, till["device_id"])
    await store.close()
    assert (await gateway.get("/api/v1/catalog", headers=till["headers"])).status == 401
    again = await paired(gateway, provisioned, device_id=till["device_id"], device_code=till["device_code"],
                         previous_token=till["token"])
    assert (again["device_id"], again["device_code"]) == (till["device_id"], till["device_code"])
    assert (await gateway.get("/api/v1/catalog", headers=again["headers"])).status in (200, 503)


async def test_the_owner_can_let_a_tablet_pair_again_without_its_token(gateway, provisioned):
    till = await paired(gateway, provisioned)
    store = await Store.open(provisioned.state_dir)
    async with store.transaction() as db:
        assert await allow_repair(db, till["device_id"])
    await store.close()
    again = await paired(gateway, provisioned, device_id=till["device_id"], device_code=till["device_code"])
    assert again["device_code"] == till["device_code"]
    # The approval is spent: the next one without proof is refused again.
    later = await gateway.post("/api/v1/pair", json={"code": await new_code(provisioned),
                                                     "device_id": till["device_id"]})
    assert later.status == 409


async def test_any_authenticated_request_marks_the_tablet_seen_at_most_once_a_minute(gateway, provisioned):
    till = await paired(gateway, provisioned)

    async def last_seen():
        store = await Store.open(provisioned.state_dir)
        row = await (await store.read().execute("SELECT last_seen_at FROM devices WHERE device_id = ?",
                                                (till["device_id"],))).fetchone()
        await store.close()
        return row[0]

    assert await last_seen() is None
    await gateway.get("/api/v1/catalog", headers=till["headers"])
    first = await last_seen()
    assert first is not None
    await gateway.get("/api/v1/status", headers=till["headers"])
    assert await last_seen() == first   # throttled: no write within the minute
    seen = LastSeen(60, clock=lambda: clock[0])
    clock = [0.0]
    assert seen.due("d") and not seen.due("d")
    clock[0] = 61.0
    assert seen.due("d")


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
