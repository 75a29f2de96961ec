"""The back office shows times on the shop's clock, whatever zone a tablet wrote them in."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from tests.cloud.office_helpers import owned_shop, sign_in
from tests.conftest import make_sale


async def test_a_sale_written_in_utc_shows_at_karachi_time(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    enrolled = await cloud_client.post("/v1/gateways:enrol", json={"enrol_token": shop.enrol_token, "name": "box"})
    key = (await enrolled.json())["api_key"]
    sale = make_sale(created_at="2026-11-27T15:58:13+00:00")   # 20:58 in Karachi, from a tablet set to UTC
    stored = await cloud_client.post("/v1/journal:batch", json={"documents": [sale]},
                                     headers={"Authorization": f"Bearer {key}"})
    assert stored.status == 200
    await sign_in(cloud_client)
    listing = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/sales",
                                            params={"from": "2026-11-27", "to": "2026-11-27"})).text()
    assert "<td>20:58</td>" in listing and "15:58" not in listing
    receipt = await (await cloud_client.get(f"/office/shops/{shop.shop_id}/sales/{sale['id']}")).text()
    assert "2026-11-27 20:58" in receipt and "15:58:13" not in receipt
    # When the cloud took it in (stored in UTC, like every time the cloud keeps) is on the shop's clock too.
    reached = re.search(r"Reached the cloud</dt><dd>([^<]*)</dd>", receipt)
    assert reached, receipt
    now = datetime.now(timezone.utc).astimezone(ZoneInfo("Asia/Karachi"))
    assert reached.group(1) in {(now - timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M") for m in range(3)}
