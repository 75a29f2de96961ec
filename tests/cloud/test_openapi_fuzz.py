"""Schemathesis against the cloud's own /v1/openapi.json: a real server, a real gateway key and owner token.

On SQLite and on PostgreSQL, because what one database stores the other may refuse
(NUL in text, integer widths): any 5xx, or any answer the document does not describe, fails.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from cloud_api.app import create_app
from cloud_api.settings import CloudSettings
from cloud_api.shops import NewShop
from tests.conftest import _pg_or_skip, make_sale, new_cloud_shop
from tests.openapi_fuzz import BackgroundLoop, fuzz_document


async def _new_database(url: str, clean: bool) -> NewShop:
    return await new_cloud_shop(url, clean=clean)


@pytest.fixture(params=["sqlite", "postgresql"])
def fuzzed_cloud(request: Any, tmp_path: Path) -> Iterator[tuple[str, NewShop]]:
    """The cloud app served on 127.0.0.1 with one shop; (base URL, shop)."""
    url = f"sqlite:///{tmp_path / 'cloud.db'}" if request.param == "sqlite" else _pg_or_skip()
    servers = BackgroundLoop()
    try:
        shop = servers.run(_new_database(url, clean=request.param == "postgresql"))
        yield servers.serve(create_app(CloudSettings(db_url=url))), shop
    finally:
        servers.close()


def test_the_cloud_answers_every_fuzzed_request_as_its_document_says(fuzzed_cloud: tuple[str, NewShop]):
    base_url, shop = fuzzed_cloud
    enrolled = httpx.post(f"{base_url}/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    assert enrolled.status_code == 201, enrolled.text
    # A tablet whose sale the cloud holds, so PUT .../fiscal/pos-ids/{device_id} gets past its 404 for unknown
    # tablets (a heartbeat naming it would not do: the fuzzed heartbeats replace it).
    gateway = {"Authorization": f"Bearer {enrolled.json()['api_key']}"}
    sold = httpx.post(f"{base_url}/v1/journal:batch", headers=gateway, json={"documents": [make_sale("dev-1")]})
    assert [r["status"] for r in sold.json()["results"]] == ["stored"], sold.text

    # A customer, so the routes of one customer (issue 10) get past their 404 for unknown customers.
    made = httpx.post(f"{base_url}/v1/shops/{shop.shop_id}/customers", json={"name": "Bilal"},
                      headers={"Authorization": f"Bearer {shop.owner_token}"})
    assert made.status_code == 201, made.text

    failures = fuzz_document(base_url, "/v1/openapi.json",
                             auth={"gateway": enrolled.json()["api_key"], "owner": shop.owner_token},
                             path_parameters={"shop_id": shop.shop_id, "device_id": "dev-1",
                                              "customer_id": made.json()["customer_id"]})
    assert not failures, "\n".join(failures)
