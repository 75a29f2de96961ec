"""Schemathesis against the box's own /api/v1/openapi.json: a real box (plain HTTP, as tests serve it)
in front of a real cloud, both on 127.0.0.1, with a paired till's token."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

from cloud_api.app import create_app as create_cloud_app
from cloud_api.settings import CloudSettings
from gateway import printers
from gateway.app import create_app
from gateway.box import set_values
from gateway.cloud_client import CloudClient
from gateway.keys import STORE
from gateway.pairing import new_pairing_code
from gateway.settings import GatewaySettings
from gateway.store import Store
from tests.conftest import make_sale, new_cloud_shop
from tests.gateway.documents import make_customer
from tests.openapi_fuzz import BackgroundLoop, fuzz_document, wait_for

CUSTOMER_ID = "5a0c2f6e-1b7d-4c8e-9f3a-2d4b6c8e0a1f"


async def _provision(cloud_url: str, db_url: str, settings: GatewaySettings) -> None:
    """A shop with the demo catalog in the cloud, and a box enrolled in it (as the gateway fixtures do)."""
    shop = await new_cloud_shop(db_url)
    client = CloudClient(cloud_url, None, 5)
    enrolled = await client.enrol(shop.enrol_token, "box")
    await client.aclose()
    store = await Store.open(settings.state_dir)
    async with store.transaction() as db:
        await set_values(db, cloud_url=cloud_url, api_key=enrolled.api_key, gateway_id=enrolled.gateway_id,
                         shop_id=enrolled.shop_id, shop_name=enrolled.shop_name)
    await store.close()


@pytest.fixture
def fuzzed_box(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The box served on 127.0.0.1, its catalog arrived, one till paired; (base URL, till token)."""
    servers = BackgroundLoop()
    try:
        db_url = f"sqlite:///{tmp_path / 'cloud.db'}"
        cloud_url = servers.serve(create_cloud_app(CloudSettings(db_url=db_url)))
        settings = GatewaySettings(state_dir=tmp_path / "gateway", interfaces="127.0.0.1", mdns=False,
                                   catalog_interval_s=0.5, heartbeat_interval_s=0.5, uplink_idle_s=0.2)
        servers.run(_provision(cloud_url, db_url, settings))
        app = create_app(settings)
        base_url = servers.serve(app)

        async def code() -> str:
            async with app[STORE].transaction() as db:
                return await new_pairing_code(db, settings.pairing_code_ttl_s)
        paired = httpx.post(f"{base_url}/api/v1/pair", json={"code": servers.run(code()), "name": "Counter"})
        assert paired.status_code == 201, paired.text
        token = paired.json()["token"]
        # The catalog's 503 before it first arrives is by design; fuzz the box as a shop runs it.
        wait_for(lambda: httpx.get(f"{base_url}/api/v1/catalog",
                                   headers={"Authorization": f"Bearer {token}"}).status_code == 200)
        # One sale on the box, so GET /api/v1/sales/{ref} (pinned to it) has something to answer.
        sale = make_sale(device_id=paired.json()["device_id"], device_code=paired.json()["device_code"], seq=1)
        # And one customer (the demo's id), so GET /api/v1/customers/{customer_id} (pinned to it) answers too.
        customer = make_customer("Ali Raza", device_id=paired.json()["device_id"],
                                 device_code=paired.json()["device_code"], seq=2, customer_id=CUSTOMER_ID)
        stored = httpx.post(f"{base_url}/api/v1/journal:batch", json={"documents": [sale, customer]},
                            headers={"Authorization": f"Bearer {token}"})
        assert [r["status"] for r in stored.json()["results"]] == ["stored", "stored"], stored.text

        async def give_printer() -> None:   # nothing listens there: the till's print jobs just wait
            async with app[STORE].transaction() as db:
                printer_id = await printers.add_printer(db, "Counter", "lan", "127.0.0.1", 9)
                assert await printers.assign(db, paired.json()["device_id"], printer_id)
        servers.run(give_printer())
        # Job 1, so GET /api/v1/print/{job_id} (pinned to it) has something to answer.
        job = httpx.post(f"{base_url}/api/v1/print", json={"document_id": sale["id"]},
                         headers={"Authorization": f"Bearer {token}"})
        assert job.status_code == 202 and job.json()["job_id"] == 1, job.text
        yield base_url, token
    finally:
        servers.close()


def test_the_box_answers_every_fuzzed_request_as_its_document_says(fuzzed_box: tuple[str, str]):
    base_url, token = fuzzed_box
    failures = fuzz_document(base_url, "/api/v1/openapi.json", auth={"bearer": token},
                             path_parameters={"ref": "T1-000001", "job_id": 1,
                                                  "customer_id": CUSTOMER_ID})
    assert not failures, "\n".join(failures)
