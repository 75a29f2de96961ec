"""The devices and sync health page: gaps, conflicts side by side, refused documents, and revoking a
box (its key refused) or a tablet (named in the catalog, whose ETag moves); on SQLite and PostgreSQL."""
from __future__ import annotations

import html
import re
from typing import Any

from cloud_api.service.clock import utc_now
from tests.cloud.office_helpers import owned_shop, sign_in
from tests.conftest import make_sale


async def enrolled(client: Any, enrol_token: str) -> dict[str, str]:
    response = await client.post("/v1/gateways:enrol", json={"enrol_token": enrol_token, "name": "Counter box"})
    assert response.status == 201
    return {"Authorization": f"Bearer {(await response.json())['api_key']}"}


async def post_batch(client: Any, box: dict[str, str], documents: list[Any]) -> Any:
    return await client.post("/v1/journal:batch", json={"documents": documents}, headers=box)


async def test_health_shows_gaps_conflicts_side_by_side_and_refused_documents(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    box = await enrolled(cloud_client, shop.enrol_token)
    first, third = make_sale(seq=1), make_sale(seq=3)            # T1-000002 never arrives
    twin = make_sale(seq=1, doc_id=first["id"], qty=5)            # same id, other content
    broken = make_sale(seq=4)
    broken["total"] += 1
    assert (await post_batch(cloud_client, box, [first, third])).status == 200
    results = (await (await post_batch(cloud_client, box, [twin, broken])).json())["results"]
    assert [r["status"] for r in results] == ["conflict", "invalid"]
    beat = {"version": "1.2.3", "backlog": 0, "devices": [
        {"device_id": "dev-1", "device_code": "T1", "name": "Front counter", "last_seen_at": utc_now()}]}
    assert (await cloud_client.post("/v1/heartbeat", headers=box, json=beat)).status == 200

    await sign_in(cloud_client)
    response = await cloud_client.get(f"/office/shops/{shop.shop_id}/devices")
    assert response.status == 200
    page = html.unescape(await response.text())
    assert "Counter box" in page and "1.2.3" in page and "up to date" in page
    assert "T1-000002 missing" in page
    health = await (await cloud_client.get(f"/v1/shops/{shop.shop_id}/health", headers=shop.bearer)).json()
    assert health["devices"][0]["name"] == "Front counter" and health["devices"][0]["seen_by_box_at"]
    assert "Front counter" in page

    conflict = page[page.index(f'data-document-id="{first["id"]}"'):]
    stored = conflict[conflict.index('data-version="stored"'):conflict.index("</pre>")]
    incoming = conflict[conflict.index('data-version="incoming"'):]
    incoming = incoming[:incoming.index("</pre>")]
    # Both versions, pretty-printed, with the lines that differ marked on each side.
    assert '"qty": 2' in stored and '"qty": 5' in incoming
    assert re.search(r'<mark>\s*"qty": 2,</mark>', stored) and re.search(r'<mark>\s*"qty": 5,</mark>', incoming)
    assert "Differs in: " in conflict and "total" in conflict and "lines" in conflict

    refused = page[page.index(f'data-document-id="{broken["id"]}"'):]
    reason = re.search(r'<p class="notice">([^<]+)</p>', refused)
    assert reason and "total" in reason.group(1)
    assert f'"id": "{broken["id"]}"' in refused


async def test_revoking_a_box_refuses_its_key(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    box = await enrolled(cloud_client, shop.enrol_token)
    assert (await post_batch(cloud_client, box, [make_sale(seq=1)])).status == 200
    page = await (await cloud_client.get(f"/v1/shops/{shop.shop_id}/health", headers=shop.bearer)).json()
    gateway_id = page["gateways"][0]["gateway_id"]
    assert page["gateways"][0]["revoked_at"] is None

    csrf = await sign_in(cloud_client)
    response = await cloud_client.post(f"/office/shops/{shop.shop_id}/devices/revoke-box",
                                       data={"csrf": csrf, "gateway_id": gateway_id}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].endswith("done=box-revoked")
    refused = await post_batch(cloud_client, box, [make_sale(seq=2)])
    assert refused.status == 403
    assert "this box was revoked by the owner" in (await refused.json())["error"]["message"]
    assert (await cloud_client.get("/v1/catalog", headers=box)).status == 403
    health = await (await cloud_client.get(f"/v1/shops/{shop.shop_id}/health", headers=shop.bearer)).json()
    assert health["gateways"][0]["revoked_at"] is not None
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/devices")).text()
    assert "revoked" in page and "Revoke box" not in page


async def test_revoking_a_tablet_names_it_in_the_catalog_and_moves_the_etag(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    box = await enrolled(cloud_client, shop.enrol_token)
    assert (await post_batch(cloud_client, box, [make_sale(device_id="tab-1", seq=1)])).status == 200
    before = await cloud_client.get("/v1/catalog", headers=box)
    assert (await before.json())["revoked_devices"] == []

    csrf = await sign_in(cloud_client)
    devices = f"/office/shops/{shop.shop_id}/devices"
    response = await cloud_client.post(devices + "/revoke-tablet", data={"csrf": csrf, "device_id": "tab-1"},
                                       allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].endswith("done=tablet-revoked")
    stale = await cloud_client.get("/v1/catalog", headers={**box, "If-None-Match": before.headers["ETag"]})
    assert stale.status == 200 and stale.headers["ETag"] != before.headers["ETag"]
    assert (await stale.json())["revoked_devices"] == ["tab-1"]
    page = await (await cloud_client.get(devices)).text()
    assert "Allow T1 again" in page

    # A second revoke changes nothing; allowing it again takes it off the list (and moves the ETag).
    again = await cloud_client.post(devices + "/revoke-tablet", data={"csrf": csrf, "device_id": "tab-1"},
                                    allow_redirects=False)
    assert again.headers["Location"].endswith("done=unchanged")
    allowed = await cloud_client.post(devices + "/allow-tablet", data={"csrf": csrf, "device_id": "tab-1"},
                                      allow_redirects=False)
    assert allowed.headers["Location"].endswith("done=tablet-allowed")
    latest = await cloud_client.get("/v1/catalog", headers={**box, "If-None-Match": stale.headers["ETag"]})
    assert latest.status == 200 and (await latest.json())["revoked_devices"] == []


async def test_another_owners_devices_are_refused(cloud_client: Any, cloud_db_url: str):
    mine = await owned_shop(cloud_db_url)
    theirs = await owned_shop(cloud_db_url, login="03219876543", name="Other Store")
    box = await enrolled(cloud_client, theirs.enrol_token)
    assert (await post_batch(cloud_client, box, [make_sale(device_id="tab-9", seq=1)])).status == 200
    csrf = await sign_in(cloud_client)
    base = f"/office/shops/{theirs.shop_id}/devices"
    assert (await cloud_client.get(base)).status == 403
    health = await (await cloud_client.get(f"/v1/shops/{theirs.shop_id}/health", headers=theirs.bearer)).json()
    for path, field, value in (("/revoke-box", "gateway_id", health["gateways"][0]["gateway_id"]),
                               ("/revoke-tablet", "device_id", "tab-9"), ("/allow-tablet", "device_id", "tab-9")):
        response = await cloud_client.post(base + path, data={"csrf": csrf, field: value}, allow_redirects=False)
        assert response.status == 403, path
    assert (await post_batch(cloud_client, box, [make_sale(device_id="tab-9", seq=2)])).status == 200
    assert (await (await cloud_client.get("/v1/catalog", headers=box)).json())["revoked_devices"] == []
    # And on one's own shop, a form without the session's token is refused too.
    forged = await cloud_client.post(f"/office/shops/{mine.shop_id}/devices/revoke-tablet",
                                     data={"csrf": "0" * 64, "device_id": "tab-9"}, allow_redirects=False)
    assert forged.status == 403


async def test_the_devices_page_gives_a_one_time_token_that_enrols_a_box_once(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    csrf = await sign_in(cloud_client)
    devices = f"/office/shops/{shop.shop_id}/devices"
    page = await (await cloud_client.get(devices)).text()
    assert "Enrol a new box" in page and 'data-testid="enrol-token"' not in page
    response = await cloud_client.post(devices + "/enrol-box", data={"csrf": csrf, "name": "Spare box"},
                                       allow_redirects=False)
    # The token is on the page answering the post (not cached, not in a URL or a redirect).
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.url.path == devices + "/enrol-box" and not response.url.query
    page = html.unescape(await response.text())
    token = re.search(r'data-testid="enrol-token">([^<]+)<', page).group(1)
    command = re.search(r'data-testid="provision-command">([^<]+)<', page).group(1)
    host = f"http://{cloud_client.server.host}:{cloud_client.server.port}"
    assert (f"posline-gateway provision --state-dir /var/lib/posline \\\n    --cloud-url {host} "
            f"--enrol-token {token} --name 'Spare box' --owner posline") in command
    assert "sudo systemctl restart posline-gateway" in command

    # The token enrols a box in this shop, once.
    first = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": token, "name": "Spare box"})
    assert first.status == 201 and (await first.json())["shop_id"] == shop.shop_id
    again = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": token, "name": "Another"})
    assert again.status == 401
    assert "Spare box" in await (await cloud_client.get(devices)).text()
    # A page asked for again gives a new token, not the old one.
    other = html.unescape(await (await cloud_client.post(devices + "/enrol-box", data={"csrf": csrf})).text())
    assert token not in other and "--name 'Counter box'" in other


async def test_another_owners_shop_gets_no_enrolment_token(cloud_client: Any, cloud_db_url: str):
    from sqlalchemy import func, select

    from cloud_api import schema
    from cloud_api.database import create_engine
    mine = await owned_shop(cloud_db_url)
    theirs = await owned_shop(cloud_db_url, login="03219876543", name="Other Store")
    csrf = await sign_in(cloud_client)
    refused = await cloud_client.post(f"/office/shops/{theirs.shop_id}/devices/enrol-box", data={"csrf": csrf})
    assert refused.status == 403 and 'data-testid="enrol-token"' not in await refused.text()
    # Nor does a form without the session's token, on one's own shop.
    forged = await cloud_client.post(f"/office/shops/{mine.shop_id}/devices/enrol-box", data={"csrf": "0" * 64})
    assert forged.status == 403 and 'data-testid="enrol-token"' not in await forged.text()
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        tokens = (await conn.execute(select(schema.enrol_tokens.c.shop_id, func.count())
                                     .group_by(schema.enrol_tokens.c.shop_id))).all()
    await engine.dispose()
    assert dict(tokens) == {mine.shop_id: 1, theirs.shop_id: 1}   # only create-shop's first tokens
