"""A tablet whose clock is three days behind: the cashier is told, and its sale is filed on the real day."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from .conftest import wait_until

pytestmark = pytest.mark.e2e


def test_a_tablet_three_days_behind_is_warned_and_files_its_sale_today(rig, tablets):
    tablet = tablets()
    tablet.context.clock.install(time=datetime.now(timezone.utc) - timedelta(days=3))
    tablet.context.clock.resume()   # the tablet's time flows, three days late
    tablet.open_and_pair()
    warning = tablet.page.get_by_role("alert").filter(has_text="This tablet's clock is")
    tablet.expect(warning).to_have_text(
        "This tablet's clock is 3 days behind. Set the date and time in the tablet's settings. "
        "Sales are still filed on the right day.")
    tablet.sell(["Tapal Danedar 190g"])
    tablet.wait_status(r"^Online · 0 unsynced$")
    document = wait_until(lambda: rig.cloud_documents(), what="the sale in the cloud")[0]
    today = datetime.now(ZoneInfo("Asia/Karachi")).date()
    assert datetime.fromisoformat(document["created_at"]).date() <= today - timedelta(days=2)   # the device's word
    assert document["business_date"] == today.isoformat()                                       # the true day
    assert rig.owner_get("reports/summary", date=today.isoformat())["sales_count"] == 1
    health = rig.owner_get("health")
    assert health["devices"][0]["clock_warning"] == "T1's clock is 3 days behind"
