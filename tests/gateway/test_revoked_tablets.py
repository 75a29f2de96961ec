"""The box honours the owner's revocations from the back office: a catalog naming a paired tablet
unpairs it, once (pairing it again at the box with a fresh code brings it back for good)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from cloud_api.catalog import put_product, set_device_revoked
from cloud_api.contract import ProductIn
from cloud_api.database import create_engine
from tests.conftest import make_sale
from tests.gateway.conftest import paired
from tests.gateway.test_journal import wait_for


async def in_the_cloud(gateway: Any, till: dict[str, Any], seq: int) -> None:
    """A sale from `till` reaches the cloud through the box (so the cloud knows the tablet)."""
    sale = make_sale(seq=seq, device_id=till["device_id"], device_code=till["device_code"])
    assert (await gateway.post("/api/v1/journal:batch", headers=till["headers"],
                               json={"documents": [sale]})).status == 200

    async def acked() -> bool:
        answer = await gateway.post("/api/v1/journal:acks", headers=till["headers"], json={"ids": [sale["id"]]})
        return (await answer.json())["in_cloud"] == [sale["id"]]
    await wait_for(acked)


async def in_the_cloud_db(tmp_path: Path, change: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    try:
        async with engine.begin() as conn:
            await change(conn)
    finally:
        await engine.dispose()


async def test_a_catalog_naming_a_paired_tablet_revokes_it_at_the_box(gateway, provisioned, cloud, tmp_path):
    _, shop = cloud
    till, other = await paired(gateway, provisioned), await paired(gateway, provisioned)
    await in_the_cloud(gateway, till, seq=1)

    async def revoke(conn: Any) -> None:
        assert await set_device_revoked(conn, shop.shop_id, till["device_id"])
    await in_the_cloud_db(tmp_path, revoke)

    async def refused() -> bool:
        answer = await gateway.get("/api/v1/catalog", headers=till["headers"])
        return answer.status == 401
    await wait_for(refused)
    answer = await gateway.post("/api/v1/journal:batch", headers=till["headers"], json={
        "documents": [make_sale(seq=2, device_id=till["device_id"], device_code=till["device_code"])]})
    assert answer.status == 401 and "removed from the shop box" in (await answer.json())["error"]["message"]
    assert (await gateway.get("/api/v1/catalog", headers=other["headers"])).status == 200   # only that one

    # The owner pairs it again at the box; a later catalog that still names it must not undo that.
    again = await paired(gateway, provisioned, device_id=till["device_id"], device_code=till["device_code"],
                         previous_token=till["token"])

    async def new_product(conn: Any) -> None:
        await put_product(conn, shop.shop_id, "NEW-1", ProductIn(name="Rooh Afza 800ml", price=45000, gst_bp=1800))
    await in_the_cloud_db(tmp_path, new_product)

    async def has_new_product() -> bool:
        answer = await gateway.get("/api/v1/catalog", headers=again["headers"])
        assert answer.status == 200
        catalog = await answer.json()
        return any(p["sku"] == "NEW-1" for p in catalog["products"]) and catalog["revoked_devices"] == [
            till["device_id"]]
    await wait_for(has_new_product)
    await in_the_cloud(gateway, again, seq=2)
