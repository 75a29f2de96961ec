"""Fiscal reporting settings in the owner API (cloud_api/fiscal.py, issue 9): the token is write-only and
reaches only the box's catalog, every change moves the catalog version, POSIDs per tablet, Retry, the
box's heartbeat summary, and bad input as 4xx JSON. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from typing import Any

from cloud_api.contract import Catalog, FiscalSummary
from tests.cloud.test_ingest import new_shop, post_batch
from tests.conftest import make_sale

TOKEN = "1298b5eb-b252-3d97-8622-a4a69d5bf818"   # shaped like FBR's sandbox tokens
FBR = {"mode": "fbr", "environment": "sandbox", "service_fee": True, "tender_tax_bp": {}}
SUMMARY = {"mode": "fbr", "stopped": None,
           "days": [{"date": "2026-11-27", "fiscalized": 41, "pending": 2, "failed": 1}],
           "failures": [{"document_id": "0b6f0e6e-1111-4222-8333-444455556666", "receipt_number": "T1-000042",
                         "kind": "sale", "status": "parked", "message": "Invalid data received: PCTCode",
                         "at": "2026-11-27T13:05:09Z"}]}


async def _catalog(client: Any, shop: dict[str, Any], etag: str | None = None) -> tuple[int, str, dict[str, Any]]:
    """What the box pulls: (status, ETag, body or {} on a 304)."""
    headers = {**shop["gateway"], **({"If-None-Match": etag} if etag else {})}
    response = await client.get("/v1/catalog", headers=headers)
    return response.status, response.headers["ETag"], (await response.json() if response.status == 200 else {})


def _fiscal_url(shop: dict[str, Any], tail: str = "") -> str:
    return f"/v1/shops/{shop['shop_id']}/fiscal{tail}"


async def _heartbeat(client: Any, shop: dict[str, Any], **extra: Any) -> None:
    beat = {"version": "test", "backlog": 0, **extra}
    response = await client.post("/v1/heartbeat", json=beat, headers=shop["gateway"])
    assert response.status == 200, await response.text()


async def test_a_new_shop_reports_nothing_and_has_no_token(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    response = await cloud_client.get(_fiscal_url(shop), headers=shop["owner"])
    assert response.status == 200
    assert await response.json() == {
        "settings": {"mode": "off", "environment": "sandbox", "pos_ids": {}, "service_fee": False,
                     "tender_tax_bp": {}, "retry_requested_at": None},
        "token_set": False, "summary": None, "summary_box": None, "summary_at": None}
    _, _, catalog = await _catalog(cloud_client, shop)
    assert catalog["fiscal"]["mode"] == "off" and catalog["fiscal_token"] is None


async def test_the_token_reaches_only_the_boxs_catalog(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    _, etag, _ = await _catalog(cloud_client, shop)
    put = await cloud_client.put(_fiscal_url(shop), json={**FBR, "token": f"  {TOKEN}\n"}, headers=shop["owner"])
    assert put.status == 200
    answer = await put.text()
    assert TOKEN not in answer and json.loads(answer)["token_set"] is True
    assert json.loads(answer)["settings"] == {**FBR, "pos_ids": {}, "retry_requested_at": None}

    # The box's ETag went stale; its new catalog carries the settings and the token (pasted spaces off).
    status, etag2, catalog = await _catalog(cloud_client, shop, etag)
    assert status == 200 and etag2 != etag
    assert catalog["fiscal_token"] == TOKEN
    assert Catalog.model_validate(catalog).fiscal.model_dump(exclude={"pos_ids", "retry_requested_at"}) == FBR
    status, _, _ = await _catalog(cloud_client, shop, etag2)
    assert status == 304   # nothing moved since

    # No owner answer says it: not GET .../fiscal, not the owner's token at /v1/catalog (refused).
    got = await cloud_client.get(_fiscal_url(shop), headers=shop["owner"])
    assert TOKEN not in await got.text() and (await got.json())["token_set"] is True
    as_owner = await cloud_client.get("/v1/catalog", headers=shop["owner"])
    assert as_owner.status == 401 and TOKEN not in await as_owner.text()

    # None (or leaving it out) keeps it; "" forgets it; each PUT moves the version.
    kept = await cloud_client.put(_fiscal_url(shop), json={**FBR, "mode": "pra", "token": None},
                                  headers=shop["owner"])
    assert (await kept.json())["token_set"] is True
    status, etag3, catalog = await _catalog(cloud_client, shop, etag2)
    assert status == 200 and etag3 != etag2
    assert catalog["fiscal_token"] == TOKEN and catalog["fiscal"]["mode"] == "pra"
    forgot = await cloud_client.put(_fiscal_url(shop), json={**FBR, "token": ""}, headers=shop["owner"])
    assert (await forgot.json())["token_set"] is False
    status, _, catalog = await _catalog(cloud_client, shop, etag3)
    assert status == 200 and catalog["fiscal_token"] is None


async def test_pra_tender_rates_and_the_fee_reach_the_catalog(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    body = {"mode": "pra", "environment": "production", "service_fee": False,
            "tender_tax_bp": {"cash": 1600, "card": 500}}
    put = await cloud_client.put(_fiscal_url(shop), json=body, headers=shop["owner"])
    assert put.status == 200
    _, _, catalog = await _catalog(cloud_client, shop)
    assert catalog["fiscal"]["tender_tax_bp"] == {"cash": 1600, "card": 500}
    assert catalog["fiscal"]["environment"] == "production" and catalog["fiscal"]["service_fee"] is False


async def test_a_posid_is_set_and_cleared_per_tablet(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    # T1 has sold (the cloud knows it from its documents); T2 is only paired (its box's heartbeat names it).
    stored = await post_batch(cloud_client, shop, [make_sale(device_id="dev-1", device_code="T1")])
    assert stored.status == 200
    await _heartbeat(cloud_client, shop, devices=[{"device_id": "dev-2", "device_code": "T2", "name": "Counter 2",
                                                   "last_seen_at": "2026-11-27T13:00:00Z"}])
    _, etag, _ = await _catalog(cloud_client, shop)

    set_1 = await cloud_client.put(_fiscal_url(shop, "/pos-ids/dev-1"), json={"pos_id": 123456},
                                   headers=shop["owner"])
    assert set_1.status == 200 and (await set_1.json())["settings"]["pos_ids"] == {"dev-1": 123456}
    set_2 = await cloud_client.put(_fiscal_url(shop, "/pos-ids/dev-2"), json={"pos_id": 123457},
                                   headers=shop["owner"])
    assert (await set_2.json())["settings"]["pos_ids"] == {"dev-1": 123456, "dev-2": 123457}
    status, etag2, catalog = await _catalog(cloud_client, shop, etag)
    assert status == 200 and catalog["fiscal"]["pos_ids"] == {"dev-1": 123456, "dev-2": 123457}

    # Another tablet's POSID is a 409, and changes nothing.
    taken = await cloud_client.put(_fiscal_url(shop, "/pos-ids/dev-2"), json={"pos_id": 123456},
                                   headers=shop["owner"])
    assert taken.status == 409
    assert (await taken.json())["error"] == {"code": "conflict", "message": "POSID 123456 is already T1's"}
    status, _, _ = await _catalog(cloud_client, shop, etag2)
    assert status == 304

    # A PUT of the other settings keeps the POSIDs; null clears one.
    await cloud_client.put(_fiscal_url(shop), json=FBR, headers=shop["owner"])
    cleared = await cloud_client.put(_fiscal_url(shop, "/pos-ids/dev-1"), json={"pos_id": None},
                                     headers=shop["owner"])
    assert cleared.status == 200 and (await cleared.json())["settings"]["pos_ids"] == {"dev-2": 123457}
    status, _, catalog = await _catalog(cloud_client, shop, etag2)
    assert status == 200 and catalog["fiscal"]["pos_ids"] == {"dev-2": 123457} and catalog["fiscal"]["mode"] == "fbr"

    unknown = await cloud_client.put(_fiscal_url(shop, "/pos-ids/dev-9"), json={"pos_id": 1}, headers=shop["owner"])
    assert unknown.status == 404 and (await unknown.json())["error"]["code"] == "not_found"


async def test_retry_stamps_the_time_and_moves_the_catalog(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    await cloud_client.put(_fiscal_url(shop), json={**FBR, "token": TOKEN}, headers=shop["owner"])
    _, etag, before = await _catalog(cloud_client, shop)
    assert before["fiscal"]["retry_requested_at"] is None
    retried = await cloud_client.post(_fiscal_url(shop, ":retry"), headers=shop["owner"])
    assert retried.status == 200
    stamp = (await retried.json())["settings"]["retry_requested_at"]
    assert stamp and stamp.endswith("Z") and stamp.startswith("20")
    status, etag2, after = await _catalog(cloud_client, shop, etag)
    assert status == 200 and etag2 != etag and after["fiscal"]["retry_requested_at"] == stamp
    assert after["fiscal_token"] == TOKEN   # Retry leaves the token and the settings alone
    again = await (await cloud_client.post(_fiscal_url(shop, ":retry"), headers=shop["owner"])).json()
    assert again["settings"]["retry_requested_at"] >= stamp
    # A later PUT of the settings keeps the last Retry (the box compares it with the one it acted on).
    put = await (await cloud_client.put(_fiscal_url(shop), json=FBR, headers=shop["owner"])).json()
    assert put["settings"]["retry_requested_at"] == again["settings"]["retry_requested_at"]


async def test_the_newest_heartbeat_gives_the_summary(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    await _heartbeat(cloud_client, shop)   # a box with fiscal reporting off says nothing of it
    assert (await (await cloud_client.get(_fiscal_url(shop), headers=shop["owner"])).json())["summary"] is None
    await _heartbeat(cloud_client, shop, fiscal=SUMMARY)
    state = await (await cloud_client.get(_fiscal_url(shop), headers=shop["owner"])).json()
    assert FiscalSummary.model_validate(state["summary"]) == FiscalSummary.model_validate(SUMMARY)
    assert state["summary_box"] == "box" and state["summary_at"]
    stopped = {**SUMMARY, "stopped": "FBR refused the token: Invalid Credentials"}
    await _heartbeat(cloud_client, shop, fiscal=stopped)
    state = await (await cloud_client.get(_fiscal_url(shop), headers=shop["owner"])).json()
    assert state["summary"]["stopped"] == "FBR refused the token: Invalid Credentials"


async def test_bad_input_is_a_4xx_in_json_and_changes_nothing(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    other = await new_shop(cloud_client, cloud_db_url, name="Other")
    _, etag, _ = await _catalog(cloud_client, shop)
    for body in ({"mode": "gst"}, {"environment": "live"}, {"service_fee": "yes"}, {"tender_tax_bp": {"cheque": 100}},
                 {"tender_tax_bp": {"cash": 10001}}, {"token": 42}, {"token": "a\x00b"}, {"token": "x" * 501},
                 {"token": "two words"}, {"token": "naïve"}, {"pos_ids": {"dev-1": 1}}, {"mode": "fbr", "extra": 1},
                 [], "fbr"):
        response = await cloud_client.put(_fiscal_url(shop), json=body, headers=shop["owner"])
        assert response.status == 400, body
        assert (await response.json())["error"]["code"] == "bad_request"
    bad_json = await cloud_client.put(_fiscal_url(shop), data=b"{", headers=shop["owner"])
    assert bad_json.status == 400
    for body in ({}, {"pos_id": 0}, {"pos_id": "123"}, {"pos_id": 10**12 + 1}, {"pos_id": 1.5}, {"pos_id": 1, "x": 2}):
        response = await cloud_client.put(_fiscal_url(shop, "/pos-ids/dev-1"), json=body, headers=shop["owner"])
        assert response.status == 400, body
    # Another shop's owner token opens nothing here; no token, nothing at all.
    for method, tail in (("GET", ""), ("PUT", ""), ("PUT", "/pos-ids/dev-1"), ("POST", ":retry")):
        response = await cloud_client.request(method, _fiscal_url(shop, tail), json=FBR, headers=other["owner"])
        assert response.status == 403 and (await response.json())["error"]["code"] == "forbidden"
        response = await cloud_client.request(method, _fiscal_url(shop, tail), json=FBR)
        assert response.status == 401
    status, _, _ = await _catalog(cloud_client, shop, etag)
    assert status == 304   # nothing above moved the catalog


async def test_a_revoked_boxs_summary_is_not_shown(cloud_client: Any, cloud_db_url: str):
    from sqlalchemy import update

    from cloud_api import schema
    from cloud_api.database import create_engine
    shop = await new_shop(cloud_client, cloud_db_url)
    await _heartbeat(cloud_client, shop, fiscal=SUMMARY)
    engine = create_engine(cloud_db_url)
    async with engine.begin() as conn:   # as the back office's "Revoke this box" does
        await conn.execute(update(schema.gateways).where(schema.gateways.c.shop_id == shop["shop_id"])
                           .values(revoked_at="2026-11-28T00:00:00Z"))
    await engine.dispose()
    state = await (await cloud_client.get(_fiscal_url(shop), headers=shop["owner"])).json()
    assert state["summary"] is None and state["summary_box"] is None


async def test_the_catalog_holds_the_token_only_when_asked_for_a_box(cloud_client: Any, cloud_db_url: str):
    from cloud_api.catalog import load_catalog
    from cloud_api.database import create_engine
    shop = await new_shop(cloud_client, cloud_db_url)
    await cloud_client.put(_fiscal_url(shop), json={**FBR, "token": TOKEN}, headers=shop["owner"])
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        plain = await load_catalog(conn, shop["shop_id"])
        for_box = await load_catalog(conn, shop["shop_id"], for_gateway=True)
    await engine.dispose()
    assert plain.fiscal_token is None and TOKEN not in plain.model_dump_json()
    assert for_box.fiscal_token == TOKEN and plain.fiscal == for_box.fiscal
