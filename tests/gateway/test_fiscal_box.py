"""The fiscal queue inside the running box (issue 9): tablets' GET /api/v1/fiscal, /admin, heartbeat, status.

A real gateway app (its own fiscal worker, started by app.py) in front of the real cloud, with the FBR
simulator as the authority. The catalog's fiscal part is stored as a pull stores it (save_catalog),
after the box's first real pull, so the tablets' device ids (made at pairing) can carry POSIDs.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from gateway.app import create_app
from gateway.catalog import save_catalog
from gateway.cli import _print_status, _status
from gateway.fiscal_queue import FISCAL_QUEUE
from gateway.heartbeat import build_heartbeat, send_heartbeat
from gateway.keys import CLOUD, SETTINGS, STORE
from gateway.settings import GatewaySettings
from tests.conftest import make_sale
from tests.fbr_sim import SIM_TOKEN, FbrSimulator, fbr_sim  # noqa: F401 - the fixture
from tests.gateway.conftest import paired
from tests.gateway.fiscal_helpers import POS_T1, eventually, fiscal_catalog
from tests.gateway.test_admin import page, set_pin, sign_in, start_box


@pytest.fixture
async def box(provisioned: GatewaySettings, fbr_sim: FbrSimulator, aiohttp_client: Any) -> Any:  # noqa: F811
    """The box with an owner PIN, the simulator as FBR, and the catalog pulled once (then hourly)."""
    settings = provisioned.model_copy(update=dict(
        fiscal_url=fbr_sim.url("fbr"), fiscal_timeout_s=0.5, fiscal_backoff_base_s=0.05, fiscal_backoff_cap_s=0.2,
        fiscal_idle_s=0.2, catalog_interval_s=3600.0))
    await set_pin(settings)
    client = await start_box(settings, aiohttp_client)

    async def pulled() -> bool:
        row = await (await client.app[STORE].read().execute("SELECT 1 FROM catalog")).fetchone()
        return row is not None

    await eventually(pulled)
    return client


async def report(client: Any, catalog: Any) -> None:
    """Give the box this catalog's fiscal part, as a pull would, and wake its queue."""
    async with client.app[STORE].transaction() as db:
        await save_catalog(db, client.app[SETTINGS].state_dir, catalog, f'"fiscal-{catalog.version}"')
    client.app[FISCAL_QUEUE].wake()


def today() -> str:
    """The shop's business day now: sales here are made now, so the owner's last-31-days views list them."""
    return datetime.now(ZoneInfo("Asia/Karachi")).date().isoformat()


async def sell(client: Any, till: dict[str, Any], seq: int) -> dict[str, Any]:
    now = datetime.now(ZoneInfo("Asia/Karachi")).isoformat(timespec="seconds")
    sale = make_sale(device_id=till["device_id"], device_code=till["device_code"], seq=seq, created_at=now)
    response = await client.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": [sale]})
    assert [r["status"] for r in (await response.json())["results"]] == ["stored"]
    return sale


async def outcomes(client: Any, till: dict[str, Any], since: int = 0) -> dict[str, Any]:
    response = await client.get(f"/api/v1/fiscal?since={since}", headers=till["headers"])
    assert response.status == 200
    return await response.json()


async def test_a_tablet_learns_its_own_fbr_numbers_and_qr_codes_and_no_other_tablets(box, provisioned, fbr_sim):  # noqa: F811
    one, two = await paired(box, provisioned), await paired(box, provisioned)
    await report(box, fiscal_catalog(pos_ids={one["device_id"]: POS_T1, two["device_id"]: 123457}, version=2))
    mine, theirs = await sell(box, one, 1), await sell(box, two, 1)

    async def fiscalized() -> dict[str, Any] | None:
        body = await outcomes(box, one)
        return body if body["receipts"] and body["receipts"][0]["status"] == "fiscalized" else None

    body = await eventually(fiscalized)
    assert body["mode"] == "fbr"
    [receipt] = body["receipts"]
    number = fbr_sim.invoices[(POS_T1, f"{one['device_code']}-000001")]["number"]
    assert receipt["id"] == mine["id"] and receipt["fbr_number"] == number and receipt["pos_id"] == POS_T1
    assert receipt["receipt_number"] == f"{one['device_code']}-000001"
    assert receipt["qr"].startswith("data:image/svg+xml")
    # Nothing changed since: nothing again. The other tablet sees only its own.
    assert (await outcomes(box, one, body["cursor"]))["receipts"] == []
    await eventually(lambda: _fiscalized_for(box, two))
    assert [r["id"] for r in (await outcomes(box, two))["receipts"]] == [theirs["id"]]

    assert (await box.get("/api/v1/fiscal?since=0")).status == 401
    assert (await box.get("/api/v1/fiscal?since=soon", headers=one["headers"])).status == 400
    # The catalog a tablet gets names the POSIDs but never the token.
    served = await (await box.get("/api/v1/catalog", headers=one["headers"])).text()
    assert SIM_TOKEN not in served and json.loads(served)["fiscal"]["mode"] == "fbr"


async def _fiscalized_for(client: Any, till: dict[str, Any]) -> bool:
    return any(r["status"] == "fiscalized" for r in (await outcomes(client, till))["receipts"])


async def test_the_owner_sees_a_stopped_queue_and_failures_on_admin_heartbeat_and_status_and_retries(
        box, provisioned, fbr_sim, capsys):  # noqa: F811
    one, two = await paired(box, provisioned), await paired(box, provisioned)
    # T2's POSID is unknown to FBR (102); then the token is refused (401): the queue stops.
    await report(box, fiscal_catalog(pos_ids={one["device_id"]: POS_T1, two["device_id"]: 999999}, version=2))
    await sell(box, two, 1)

    async def failed_for_two() -> bool:
        return any(r["status"] == "failed" for r in (await outcomes(box, two))["receipts"])

    await eventually(failed_for_two)
    fbr_sim.tokens = {"new-token"}   # FBR no longer takes the shop's token
    await sell(box, one, 1)
    store = box.app[STORE]

    async def stopped() -> Any:
        return (await build_heartbeat(store, provisioned)).fiscal.stopped

    reason = await eventually(stopped)
    assert "Invalid Credentials" in reason

    await send_heartbeat(store, box.app[CLOUD], provisioned)   # the cloud takes it (raises if refused)
    beat = (await build_heartbeat(store, provisioned)).fiscal
    assert beat.mode == "fbr"
    assert [(f.receipt_number, f.status) for f in beat.failures] == [(f"{two['device_code']}-000001", "parked")]
    assert "POSID 999999 is not registered" in beat.failures[0].message
    status = await _status(provisioned.state_dir)
    assert status["fiscal"]["stopped"] == reason and len(status["fiscal"]["failures"]) == 1
    assert sum(day["pending"] for day in status["fiscal"]["days"]) == 1
    json.dumps(status)   # `status --json` prints it
    _print_status(status)
    printed = capsys.readouterr().out
    assert f"FBR:       STOPPED: {reason}" in printed
    assert f"  {two['device_code']}-000001 parked: FBR refused this invoice" in printed

    session = await sign_in(box)
    html, csrf = await page(box, session)
    assert "Reporting to FBR has stopped" in html and "Invalid Credentials" in html
    assert "POSID 999999 is not registered" in html and 'data-testid="fiscal-failure"' in html
    assert re.search(rf'data-testid="fiscal-day" data-date="{today()}"><td>{today()}</td><td>0</td><td>1</td>', html)

    # Retry is a form like the others: refused without its CSRF token, nothing changes.
    refused = await box.post("/admin/fiscal/retry", data={"csrf": "0" * 64}, headers=session, allow_redirects=False)
    assert refused.status == 403
    assert (await build_heartbeat(store, provisioned)).fiscal.stopped == reason

    fbr_sim.tokens = {SIM_TOKEN}     # FBR takes it again; the owner presses Retry
    fbr_sim.pos_ids.add(999999)      # and has registered T2's POSID meanwhile
    done = await box.post("/admin/fiscal/retry", data={"csrf": csrf}, headers=session, allow_redirects=False)
    assert done.status == 303

    async def all_fiscalized() -> bool:
        beat = (await build_heartbeat(store, provisioned)).fiscal
        return beat.stopped is None and beat.failures == [] and [(d.date, d.fiscalized) for d in beat.days] == [
            (today(), 2)]

    await eventually(all_fiscalized)
    html, _ = await page(box, session)
    assert "has stopped" not in html and 'data-testid="fiscal-failure"' not in html
    assert sorted(usin for _, usin in fbr_sim.invoices) == sorted(
        [f"{one['device_code']}-000001", f"{two['device_code']}-000001"])


async def test_a_tablet_without_a_posid_is_named_on_admin(box, provisioned, fbr_sim):  # noqa: F811
    one, two = await paired(box, provisioned), await paired(box, provisioned)
    await report(box, fiscal_catalog(pos_ids={one["device_id"]: POS_T1}, version=2))
    await sell(box, two, 1)
    session = await sign_in(box)
    html, _ = await page(box, session)
    assert f"{two['device_code']} has no FBR POSID: set it in the back office (1 invoice waiting)" in html
    assert fbr_sim.requests == []
    # The sale's business day: one pending, none failed.
    assert re.search(rf'data-date="{today()}"><td>{today()}</td><td>0</td><td>1</td>\s*<td class="">0</td>', html)


async def test_settings_the_owner_makes_in_the_cloud_reach_the_box_and_its_invoices_go(
        provisioned, cloud, fbr_sim, aiohttp_client):  # noqa: F811
    """The whole way: the owner's PUTs, the catalog pull (token and all), the queue, the heartbeat back."""
    server, shop = cloud
    settings = provisioned.model_copy(update=dict(
        fiscal_url=fbr_sim.url("fbr"), fiscal_timeout_s=0.5, fiscal_backoff_base_s=0.05, fiscal_backoff_cap_s=0.2,
        fiscal_idle_s=0.2, catalog_interval_s=0.3, heartbeat_interval_s=0.3))
    client = await aiohttp_client(create_app(settings))
    till = await paired(client, settings)
    owner = {"Authorization": f"Bearer {shop.owner_token}"}
    base = str(server.make_url(f"/v1/shops/{shop.shop_id}/fiscal"))
    async with aiohttp.ClientSession(headers=owner) as http:
        async with http.put(base, json={"mode": "fbr", "token": SIM_TOKEN}) as response:
            assert response.status == 200, await response.text()

        async def pos_id_given() -> bool:   # the cloud knows the tablet once the box's heartbeat named it
            async with http.put(f"{base}/pos-ids/{till['device_id']}", json={"pos_id": POS_T1}) as response:
                return response.status == 200

        await eventually(pos_id_given)
        sale = await sell(client, till, 1)
        await eventually(lambda: _fiscalized_for(client, till))
        [receipt] = (await outcomes(client, till))["receipts"]
        assert receipt["id"] == sale["id"]
        assert receipt["fbr_number"] == fbr_sim.invoices[(POS_T1, receipt["receipt_number"])]["number"]
        assert fbr_sim.requests[0]["authorization"] == f"Bearer {SIM_TOKEN}"
        served = await (await client.get("/api/v1/catalog", headers=till["headers"])).text()
        assert SIM_TOKEN not in served

        async def reported() -> Any:   # the owner reads the box's summary from its heartbeat
            async with http.get(base) as response:
                body = await response.json()
            days = (body.get("summary") or {}).get("days") or []
            return body if any(day["fiscalized"] == 1 for day in days) else None

        body = await eventually(reported)
        assert SIM_TOKEN not in json.dumps(body)
    for path in settings.state_dir.rglob("*"):
        if path.is_file():
            assert SIM_TOKEN.encode() not in path.read_bytes(), path


async def test_a_cursor_out_of_range_is_a_bad_request(box, provisioned):
    till = await paired(box, provisioned)
    for since in ("-1", str(2**53), str(2**80), "1.5"):
        assert (await box.get(f"/api/v1/fiscal?since={since}", headers=till["headers"])).status == 400, since
    assert (await outcomes(box, till, 2**53 - 1))["receipts"] == []


async def test_the_qr_code_a_tablet_gets_is_the_stored_one_and_nothing_is_drawn_per_request(
        box, provisioned, monkeypatch):
    import segno

    from gateway.fiscal_jobs import qr_data_uri
    till = await paired(box, provisioned)
    await report(box, fiscal_catalog(pos_ids={till["device_id"]: POS_T1}, version=2))
    await sell(box, till, 1)
    await eventually(lambda: _fiscalized_for(box, till))

    def no_drawing(*_: Any, **__: Any) -> None:
        raise AssertionError("a QR code was drawn while answering a tablet")

    with monkeypatch.context() as patched:
        patched.setattr(segno, "make", no_drawing)
        [receipt] = (await outcomes(box, till))["receipts"]
    assert receipt["status"] == "fiscalized" and receipt["qr"].startswith("data:image/svg+xml")
    assert receipt["qr"] == qr_data_uri(receipt["fbr_number"])
