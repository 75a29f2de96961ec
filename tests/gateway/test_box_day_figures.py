"""The box's own Today figures (its admin page, the owner's one view with the WAN down) are the cloud's.

The same random days at the counter the cloud's report test draws (tests/cloud/test_report_sums.py:
cash with change, card, split with wallets, refunds of earlier sales, two business days), filed in
the box's journal: gateway/dashboard.py today_sales must give, for each day, exactly what that test
proves the cloud's daily summary gives (`figures`): counts, gross, returns, net, tax and every tender.
"""
from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from gateway.dashboard import today_sales
from gateway.store import Store
from tests.cloud.test_report_sums import DAYS, _counter_day, figures

SHOWN = ("sales_count", "gross", "refunds_count", "refunds", "net", "tax", "by_tender")


def _received_at(created_at: str) -> str:
    """When the box got it: seconds after it was made, in the box's UTC form (utc_now), so the box's
    narrowing by received_at and the local day against the UTC one are what a shop's day meets."""
    at = datetime.fromisoformat(created_at).astimezone(timezone.utc) + timedelta(seconds=5)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


async def _box_days(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as state:
        store = await Store.open(Path(state))
        try:
            async with store.transaction() as db:
                # As the journal holds them once received (what the LAN route writes, validation aside).
                await db.executemany(
                    "INSERT INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(d["id"], d["kind"], d["device_id"], d["device_code"], d["seq"], d["hash"],
                      json.dumps(d), _received_at(d["created_at"])) for d in documents])
            return {day: await today_sales(store.read(), date.fromisoformat(day), "Asia/Karachi") for day in DAYS}
        finally:
            await store.close()


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_counter_day())
def test_the_box_counts_each_day_as_the_cloud_does(day: tuple[list[dict[str, Any]], str]) -> None:
    documents, _shift = day
    for when, box in asyncio.run(_box_days(documents)).items():
        cloud = figures([d for d in documents if d["created_at"].startswith(when)])
        assert {k: box[k] for k in SHOWN} == {k: cloud[k] for k in SHOWN}, when
