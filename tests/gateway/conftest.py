"""Gateway fixtures: a real cloud app in-process (on 127.0.0.1), a provisioned state dir, the app."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloud_api.app import create_app as create_cloud_app
from cloud_api.settings import CloudSettings
from gateway.app import create_app
from gateway.box import set_values
from gateway.cloud_client import CloudClient
from gateway.settings import GatewaySettings
from gateway.store import Store
from tests.conftest import new_cloud_shop


@pytest.fixture
async def cloud(tmp_path: Path, aiohttp_server: Any) -> Any:
    """The real cloud app on a test server, with the demo shop; returns (server, shop)."""
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    shop = await new_cloud_shop(url)
    server = await aiohttp_server(create_cloud_app(CloudSettings(db_url=url)))
    return server, shop


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(state_dir=tmp_path / "gateway", interfaces="127.0.0.1", mdns=False,
                           uplink_backoff_base_s=0.05, uplink_backoff_cap_s=0.2,
                           uplink_idle_s=0.2, catalog_interval_s=0.5, heartbeat_interval_s=0.5)


@pytest.fixture
async def provisioned(settings: GatewaySettings, cloud: Any) -> GatewaySettings:
    server, shop = cloud
    client = CloudClient(str(server.make_url("")).rstrip("/"), None, 5)
    enrolled = await client.enrol(shop.enrol_token, "box")
    await client.aclose()
    store = await Store.open(settings.state_dir)
    async with store.transaction() as db:
        await set_values(db, cloud_url=str(server.make_url("")).rstrip("/"), api_key=enrolled.api_key,
                         gateway_id=enrolled.gateway_id, shop_id=enrolled.shop_id, shop_name=enrolled.shop_name)
    await store.close()
    return settings


@pytest.fixture
async def gateway(provisioned: GatewaySettings, aiohttp_client: Any) -> Any:
    return await aiohttp_client(create_app(provisioned))


async def new_code(settings: GatewaySettings) -> str:
    from gateway.pairing import new_pairing_code
    store = await Store.open(settings.state_dir)
    async with store.transaction() as db:
        code = await new_pairing_code(db, settings.pairing_code_ttl_s)
    await store.close()
    return code


async def paired(gateway: Any, settings: GatewaySettings, **extra: Any) -> dict[str, Any]:
    response = await gateway.post("/api/v1/pair", json={"code": await new_code(settings), "name": "Counter", **extra})
    assert response.status == 201
    body = await response.json()
    body["headers"] = {"Authorization": f"Bearer {body['token']}"}
    return body


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    """The box's database, fresh and migrated, for tests of one module."""
    store = await Store.open(tmp_path / "gw")
    yield store
    await store.close()
