"""The owner's devices page against real processes: a paired tablet sells, the page shows the box and
the tablet up to date, and revoking the tablet there gets it refused by the box within seconds."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def test_the_devices_page_shows_sync_health_and_revokes_a_tablet(rig, tablets, office):
    tablet = tablets().open_and_pair()
    assert tablet.sell(["Tapal Danedar 190g"]) == "T1-000001"
    tablet.wait_status(r"^Online · 0 unsynced$")

    owner = office()
    page, expect = owner.page, owner.expect
    page.goto(owner.shop_url("devices"))
    expect(page.get_by_role("heading", name=re.compile("^Devices and sync health"))).to_be_visible()
    box = page.locator("article.device")
    row = page.locator("tr[data-device-code='T1']")
    # The box's heartbeat (every second here) says its backlog is empty: reload until the page shows it.
    for _ in range(30):
        if "up to date" in box.inner_text() and "up to date" in row.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(box).to_contain_text("up to date")
    expect(box).to_contain_text("Waiting to send")
    expect(row).to_contain_text("up to date")
    expect(row).to_contain_text("none")           # no missing receipts
    owner.screenshot("office-sync-health")

    row.get_by_text("Revoke", exact=True).click()   # the <details> that holds the button
    row.get_by_role("button", name="Revoke T1").click()
    expect(page.get_by_role("status")).to_contain_text("The tablet was revoked")
    expect(page.locator("tr[data-device-code='T1']")).to_contain_text("revoked")
    expect(page.get_by_role("button", name="Allow T1 again")).to_be_visible()

    # The box learns it from its next catalog pull; the tablet's next sync is refused and it says so.
    till = tablet.page
    tablet.expect(till.get_by_role("textbox", name="Pairing code")).to_be_visible(timeout=30000)
    tablet.expect(till.get_by_text("This tablet was removed from the shop box")).to_be_visible()
