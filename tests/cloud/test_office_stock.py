"""Stock: idempotent movements on the owner API and the back office's forms, unknown SKUs refused,
stock counts, and another owner's shop refused; on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import re
from typing import Any

from cloud_api.office.stock import parse_quantity, quantity
from tests.cloud.office_helpers import owned_shop, sign_in


async def stock_of(client: Any, shop: Any) -> dict[str, int]:
    response = await client.get(f"/v1/shops/{shop.shop_id}/stock", headers=shop.bearer)
    assert response.status == 200
    return {line["sku"]: line["on_hand"] for line in await response.json()}


async def move(client: Any, shop: Any, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {**shop.bearer, **({"Idempotency-Key": key} if key else {})}
    return await client.post(f"/v1/shops/{shop.shop_id}/stock-movements", json=body, headers=headers)


def form_of(page: str, kind: str) -> dict[str, str]:
    """The hidden fields of one of the item page's forms (csrf, token, kind)."""
    block = page[page.index(f'name="kind" value="{kind}"') - 400:page.index(f'name="kind" value="{kind}"')]
    return {"csrf": re.findall(r'name="csrf" value="([^"]+)"', block)[-1],
            "token": re.findall(r'name="token" value="([^"]+)"', block)[-1], "kind": kind}


async def test_a_replayed_movement_counts_once_and_answers_the_first_answer(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    body = {"sku": "TAPAL-190", "qty": 24, "reason": "received"}
    first = await move(cloud_client, shop, body, key="grn-2026-11-28-001")
    assert first.status == 201 and "Idempotent-Replayed" not in first.headers
    again = await move(cloud_client, shop, body, key="grn-2026-11-28-001")
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json() == body
    assert (await stock_of(cloud_client, shop))["TAPAL-190"] == 24

    # The same key with another body is refused, clearly, and counts nothing.
    other = await move(cloud_client, shop, {**body, "qty": 25}, key="grn-2026-11-28-001")
    assert other.status == 409
    error = (await other.json())["error"]
    assert error["code"] == "conflict" and "grn-2026-11-28-001" in error["message"]
    assert (await stock_of(cloud_client, shop))["TAPAL-190"] == 24

    # Without a key, each request is a movement of its own (as before).
    for _ in range(2):
        assert (await move(cloud_client, shop, {**body, "qty": 1})).status == 201
    assert (await stock_of(cloud_client, shop))["TAPAL-190"] == 26


async def test_unknown_skus_and_bad_keys_are_refused(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    unknown = await move(cloud_client, shop, {"sku": "NO-SUCH-THING", "qty": 5, "reason": "received"}, key="k1")
    assert unknown.status == 404 and "NO-SUCH-THING" in (await unknown.json())["error"]["message"]
    assert "NO-SUCH-THING" not in await stock_of(cloud_client, shop)
    # The refused key was not spent: the right SKU may use it.
    assert (await move(cloud_client, shop, {"sku": "LUX-SOAP", "qty": 5, "reason": "received"}, key="k1")).status == 201
    for bad in ("x" * 101, "tab\there"):
        response = await move(cloud_client, shop, {"sku": "LUX-SOAP", "qty": 1, "reason": "received"}, key=bad)
        assert response.status == 400 and "Idempotency-Key" in (await response.json())["error"]["message"]
    # An archived product is still known: its stock can be written off.
    archived = await cloud_client.put(f"/v1/shops/{shop.shop_id}/products/OLD-ONE", headers=shop.bearer,
                                      json={"name": "Old one", "price": 100, "gst_bp": 0})
    assert archived.status == 200
    from sqlalchemy import update

    from cloud_api import schema
    from cloud_api.database import create_engine
    engine = create_engine(cloud_db_url)
    async with engine.begin() as conn:
        await conn.execute(update(schema.products).where(schema.products.c.sku == "OLD-ONE").values(archived=True))
    await engine.dispose()
    assert (await move(cloud_client, shop, {"sku": "OLD-ONE", "qty": -3, "reason": "expired"})).status == 201


async def test_concurrent_requests_with_one_key_count_once(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    body = {"sku": "COKE-1500", "qty": 12, "reason": "received"}
    answers = await asyncio.gather(*(move(cloud_client, shop, body, key="same-key") for _ in range(8)))
    assert [a.status for a in answers] == [201] * 8
    assert sum(1 for a in answers if "Idempotent-Replayed" not in a.headers) == 1
    assert (await stock_of(cloud_client, shop))["COKE-1500"] == 12


async def test_the_page_lists_on_hand_and_low_stock_in_the_products_units(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    await move(cloud_client, shop, {"sku": "SUGAR-LOOSE", "qty": 12500, "reason": "received"})
    await move(cloud_client, shop, {"sku": "TAPAL-190", "qty": 40, "reason": "received"})
    await sign_in(cloud_client)
    page = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/stock")).text()
    low = page[page.index('id="low-stock"'):page.index('id="on-hand"')]
    # Sugar (12.5 kg, low at 5 kg) and Tapal (40, low at 5) are fine; Lux Soap (0) is low.
    assert "Lux Soap 130g" in low and "Sugar" not in low and "Tapal" not in low
    assert "12.500 kg" in page and ">40<" in page


async def test_a_form_resent_counts_once_and_a_count_sets_on_hand(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    await sign_in(cloud_client)
    item = f"/office/shops/{shop.shop_id}/stock/item?sku=SUGAR-LOOSE"
    page = await (await cloud_client.get(item)).text()
    received = {**form_of(page, "received"), "qty": "2.5"}
    for _ in range(2):   # a double tap, or the browser resending the form
        response = await cloud_client.post(item, data=received, allow_redirects=False)
        assert response.status == 303
    assert response.headers["Location"].endswith("done=again")
    assert (await stock_of(cloud_client, shop))["SUGAR-LOOSE"] == 2500

    # Sales move on hand; the count sets it to what was counted, whatever it was.
    await move(cloud_client, shop, {"sku": "SUGAR-LOOSE", "qty": -700, "reason": "sale"})
    page = await (await cloud_client.get(item)).text()
    count = {**form_of(page, "count"), "qty": "1.25"}
    assert (await cloud_client.post(item, data=count, allow_redirects=False)).status == 303
    assert (await stock_of(cloud_client, shop))["SUGAR-LOOSE"] == 1250
    # Resent after another sale, the count is still the one count (a replay, not a second difference).
    await move(cloud_client, shop, {"sku": "SUGAR-LOOSE", "qty": -250, "reason": "sale"})
    again = await cloud_client.post(item, data=count, allow_redirects=False)
    assert again.status == 303 and again.headers["Location"].endswith("done=again")
    assert (await stock_of(cloud_client, shop))["SUGAR-LOOSE"] == 1000

    adjust = {**form_of(page, "adjust"), "qty": "-0.2", "reason": "damaged"}
    assert (await cloud_client.post(item, data=adjust, allow_redirects=False)).status == 303
    assert (await stock_of(cloud_client, shop))["SUGAR-LOOSE"] == 800
    history = await (await cloud_client.get(item)).text()
    assert "Stock count" in history and "damaged" in history and "-0.200 kg" in history

    # A bad quantity is said on the page and records nothing; so is an adjustment without a reason.
    page = await (await cloud_client.get(item)).text()
    bad = await cloud_client.post(item, data={**form_of(page, "received"), "qty": "two"})
    assert bad.status == 400 and "Enter kg or litres" in await bad.text()
    bad = await cloud_client.post(item, data={**form_of(page, "adjust"), "qty": "-1", "reason": " "})
    assert bad.status == 400 and "needs a quantity other than zero and a reason" in await bad.text()
    assert (await stock_of(cloud_client, shop))["SUGAR-LOOSE"] == 800


async def test_the_stock_and_devices_pages_read_in_urdu(cloud_client: Any, cloud_db_url: str):
    from cloud_api.office.words import URDU
    shop = await owned_shop(cloud_db_url)
    await sign_in(cloud_client)
    await cloud_client.get("/office/language?to=ur&next=/office/")
    for path, phrase in (("stock", "Low stock"), ("stock/item?sku=SUGAR-LOOSE", "Record stock count"),
                         ("devices", "Devices and sync health")):
        response = await cloud_client.get(f"/office/shops/{shop.shop_id}/{path}")
        assert response.status == 200 and URDU[phrase] in await response.text(), path


async def test_another_owners_shop_is_refused(cloud_client: Any, cloud_db_url: str):
    mine = await owned_shop(cloud_db_url)
    theirs = await owned_shop(cloud_db_url, login="03219876543", name="Other Store")
    csrf = await sign_in(cloud_client)
    for path in (f"/office/shops/{theirs.shop_id}/stock", f"/office/shops/{theirs.shop_id}/stock/item?sku=LUX-SOAP"):
        assert (await cloud_client.get(path)).status == 403
    posted = await cloud_client.post(f"/office/shops/{theirs.shop_id}/stock/item?sku=LUX-SOAP",
                                     data={"csrf": csrf, "token": "a" * 24, "kind": "received", "qty": "5"})
    assert posted.status == 403
    # My owner token does not open their shop on the API either.
    response = await cloud_client.post(f"/v1/shops/{theirs.shop_id}/stock-movements", headers=mine.bearer,
                                       json={"sku": "LUX-SOAP", "qty": 5, "reason": "received"})
    assert response.status == 403
    assert await stock_of(cloud_client, theirs) == {}


def test_quantities_read_in_the_products_unit():
    assert quantity(12500, "kg") == "12.500 kg" and quantity(-200, "l") == "-0.200 l" and quantity(1200, "each") == "1,200"
    assert parse_quantity("2.5", "kg", signed=False) == 2500
    assert parse_quantity("-3", "each", signed=True) == -3
    for typed, unit, signed in (("-3", "each", False), ("1.5", "each", True), ("0.0005", "kg", False),
                                ("nan", "kg", False), ("1e9", "kg", False), ("", "each", False)):
        assert parse_quantity(typed, unit, signed) is None, typed


async def test_a_count_while_sales_are_on_their_way_warns_and_needs_a_tick(cloud_client: Any, cloud_db_url: str):
    from tests.conftest import make_sale
    shop = await owned_shop(cloud_db_url)
    enrolled = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "Box"})
    box = {"Authorization": f"Bearer {(await enrolled.json())['api_key']}"}
    await move(cloud_client, shop, {"sku": "LUX-SOAP", "qty": 10, "reason": "received"})
    await sign_in(cloud_client)
    item = f"/office/shops/{shop.shop_id}/stock/item?sku=LUX-SOAP"

    async def beat(backlog: int, oldest: str | None = None) -> None:
        response = await cloud_client.post("/v1/heartbeat", headers=box, json={
            "version": "1.0.0", "backlog": backlog, "oldest_unsynced_at": oldest})
        assert response.status == 200

    # Everything is in: no warning, and a count records as before.
    await beat(0)
    page = await (await cloud_client.get(item)).text()
    assert 'data-testid="count-warning"' not in page and 'name="anyway"' not in page
    response = await cloud_client.post(item, data={**form_of(page, "count"), "qty": "9"}, allow_redirects=False)
    assert response.status == 303 and (await stock_of(cloud_client, shop))["LUX-SOAP"] == 9

    # The box still holds 3 documents (a power cut): the count form warns before the count...
    await beat(3, "2026-11-28T09:00:00Z")
    page = await (await cloud_client.get(item)).text()
    warning = re.search(r'data-testid="count-warning">([^<]+)', page)
    assert warning and warning.group(1).startswith("3 sales and records are still on their way from the shop")
    assert "Count when Devices shows everything up to date." in warning.group(1)
    assert 'name="anyway"' in page
    # ... refuses a count without the tick, recording nothing ...
    count = {**form_of(page, "count"), "qty": "7"}
    refused = await cloud_client.post(item, data=count, allow_redirects=False)
    assert refused.status == 400
    assert "Not recorded: sales are still on their way" in await refused.text()
    assert (await stock_of(cloud_client, shop))["LUX-SOAP"] == 9
    # ... and records it with the tick. The API's movements are not counts and are not held back.
    recorded = await cloud_client.post(item, data={**count, "anyway": "yes"}, allow_redirects=False)
    assert recorded.status == 303 and recorded.headers["Location"].endswith("done=count")
    assert (await stock_of(cloud_client, shop))["LUX-SOAP"] == 7
    assert (await move(cloud_client, shop, {"sku": "LUX-SOAP", "qty": 1, "reason": "received"})).status == 201
    # Other forms are not held back either.
    received = {**form_of(page, "received"), "qty": "2"}
    assert (await cloud_client.post(item, data=received, allow_redirects=False)).status == 303

    # A tablet with a receipt number missing at the cloud is behind too (T1-000002 is still on its way).
    await beat(0)
    sales = {"documents": [make_sale(seq=1), make_sale(seq=3)]}
    assert (await cloud_client.post("/v1/journal:batch", json=sales, headers=box)).status == 200
    page = await (await cloud_client.get(item)).text()
    warning = re.search(r'data-testid="count-warning">([^<]+)', page)
    assert warning and warning.group(1).startswith("1 sales and records")

    # In Urdu, the warning and the tick read in Urdu.
    from cloud_api.office.words import URDU
    await cloud_client.get("/office/language?to=ur&next=/office/")
    page = await (await cloud_client.get(item)).text()
    assert URDU["Record the count anyway, knowing it will be off"] in page
    assert URDU["Enrol a new box"] in await (await cloud_client.get(f"/office/shops/{shop.shop_id}/devices")).text()
