"""The owner API's query parameters: whatever a client sends, a 400 or an answer, never a 500."""
from __future__ import annotations

from typing import Any

from tests.cloud.test_ingest import new_shop


async def test_documents_filter_by_a_known_kind_only(cloud_client: Any, cloud_db_url: str):
    # Found by the OpenAPI fuzz: a NUL in ?kind= reached PostgreSQL's query and gave a 500.
    shop = await new_shop(cloud_client, cloud_db_url)
    url = f"/v1/shops/{shop['shop_id']}/documents"
    for kind in ("sa\x00le", "SALE", "receipt"):
        response = await cloud_client.get(url, params={"kind": kind}, headers=shop["owner"])
        assert response.status == 400, kind
        assert (await response.json())["error"]["message"].startswith("kind must be one of sale, refund")
    response = await cloud_client.get(url, params={"kind": "refund"}, headers=shop["owner"])
    assert response.status == 200 and (await response.json())["documents"] == []
