"""Tenancy over HTTP, on SQLite and on PostgreSQL: enrolment tokens are spent once, on the right shop."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from cloud_api import schema
from cloud_api.database import create_engine
from cloud_api.service.tokens import new_token
from cloud_api.shops import NewShop, create_shop


async def make_shop(cloud_db_url: str, name: str = "Madina") -> NewShop:
    engine = create_engine(cloud_db_url)
    async with engine.begin() as conn:
        shop = await create_shop(conn, name)
    await engine.dispose()
    return shop


async def enrolment_state(cloud_db_url: str, shop: NewShop) -> tuple[int, str | None]:
    """How many gateways the shop has, and when its enrolment token was spent (None: not yet)."""
    engine = create_engine(cloud_db_url)
    async with engine.connect() as conn:
        gateways = (await conn.execute(select(func.count()).select_from(schema.gateways)
                                       .where(schema.gateways.c.shop_id == shop.shop_id))).scalar_one()
        used_at = (await conn.execute(select(schema.enrol_tokens.c.used_at)
                                      .where(schema.enrol_tokens.c.shop_id == shop.shop_id))).scalar_one()
    await engine.dispose()
    return gateways, used_at


async def test_another_shops_name_is_refused_and_leaves_the_token_usable(cloud_client: Any, cloud_db_url: str):
    shop = await make_shop(cloud_db_url)
    wrong = await cloud_client.post("/v1/gateways:enrol", json={
        "enrol_token": shop.enrol_token, "name": "box", "expected_shop_name": "Some Other Shop"})
    assert wrong.status == 409
    error = (await wrong.json())["error"]
    assert error["code"] == "conflict"
    assert error["message"].startswith("the enrolment token belongs to shop 'Madina', not 'Some Other Shop'; ")
    assert await enrolment_state(cloud_db_url, shop) == (0, None)   # nothing written, nothing spent

    right = await cloud_client.post("/v1/gateways:enrol", json={
        "enrol_token": shop.enrol_token, "name": "box", "expected_shop_name": "Madina"})
    assert right.status == 201, await right.text()
    assert (await right.json())["shop_name"] == "Madina"
    gateways, used_at = await enrolment_state(cloud_db_url, shop)
    assert gateways == 1 and used_at is not None

    # Spent now: a second try is refused as spent, whatever name it gives.
    for expected in ("Madina", "Some Other Shop", None):
        again = await cloud_client.post("/v1/gateways:enrol", json={
            "enrol_token": shop.enrol_token, "name": "box", "expected_shop_name": expected})
        assert again.status == 401 and "already used" in (await again.json())["error"]["message"]
    assert (await enrolment_state(cloud_db_url, shop))[0] == 1


async def test_an_unknown_token_is_refused_without_naming_any_shop(cloud_client: Any, cloud_db_url: str):
    await make_shop(cloud_db_url)
    response = await cloud_client.post("/v1/gateways:enrol", json={
        "enrol_token": new_token(), "expected_shop_name": "Madina"})
    assert response.status == 401
    assert "Madina" not in (await response.text())


def test_issued_tokens_never_start_with_a_dash():
    # token_urlsafe starts with '-' about 1 time in 64; 5,000 draws would show ~78 of them.
    tokens = [new_token() for _ in range(5000)]
    assert not [t for t in tokens if t.startswith("-")]
    assert len(set(tokens)) == 5000 and all(len(t) == 43 for t in tokens)
