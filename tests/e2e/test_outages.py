"""b-e. The cuts: cloud down, tablet offline with a reload, a lost reply, a killed gateway."""
from __future__ import annotations

from collections import Counter

import pytest

from .conftest import wait_until

pytestmark = pytest.mark.e2e
BASKETS = [["Tapal Danedar 190g"], ["Olper's Milk 1L", "Lux Soap 130g"], ["Coca-Cola 1.5L"],
           ["Dalda Cooking Oil 1L", "National Iodised Salt 800g"], ["Shan Biryani Masala 50g"]]


def assert_landed_once(rig, tablets_ids: set[str]) -> list[dict]:
    """Every id the tablets hold is in the cloud exactly once, and nothing else is."""
    documents = rig.cloud_documents()
    counts = Counter(doc["id"] for doc in documents)
    assert all(n == 1 for n in counts.values()), f"duplicates in the cloud: {counts.most_common(3)}"
    assert set(counts) == tablets_ids
    return documents


def test_cloud_down_two_tablets_keep_selling_and_drain_once(rig, tablets):
    t1, t2 = tablets().open_and_pair(), tablets().open_and_pair()
    rig.cloud.stop()
    numbers = []
    for i in range(5):
        numbers.append(t1.sell(BASKETS[i]))
        numbers.append(t2.sell(BASKETS[4 - i]))
    assert sorted(numbers) == [f"T1-00000{i}" for i in range(1, 6)] + [f"T2-00000{i}" for i in range(1, 6)]
    t1.wait_status(r"^Cloud offline · 5 unsynced$")
    t2.wait_status(r"^Cloud offline · 5 unsynced$")
    t1.screenshot("5-cloud-offline")
    status = wait_until(lambda: (s := rig.gateway_status())["backlog"] == 10 and s, what="gateway holds 10")
    assert status["wan"] == "offline"

    rig.cloud.start()
    t1.wait_status(r"^Online · 0 unsynced$")
    t2.wait_status(r"^Online · 0 unsynced$")
    ids = {row["id"] for row in t1.journal() + t2.journal()}
    assert len(ids) == 10
    documents = assert_landed_once(rig, ids)
    assert sorted(doc["receipt_number"] for doc in documents) == sorted(numbers)
    assert rig.gateway_status()["backlog"] == 0


def test_tablet_offline_reload_keeps_selling_and_pushes_later(rig, tablets):
    tablet = tablets().open_and_pair()
    tablet.wait_shell_cached()
    tablet.context.set_offline(True)
    tablet.page.reload()
    # The service worker answered the reload: the till is open, the cashier still signed in.
    tablet.expect(tablet.page.get_by_role("searchbox", name="Search products")).to_be_visible()
    numbers = [tablet.sell(basket) for basket in BASKETS]
    assert numbers == [f"T1-00000{i}" for i in range(1, 6)]
    tablet.wait_status(r"^Offline · 5 unsynced$")
    tablet.screenshot("6-offline")
    assert rig.cloud_documents() == []

    tablet.context.set_offline(False)
    tablet.wait_status(r"^Online · 0 unsynced$")
    assert_landed_once(rig, {row["id"] for row in tablet.journal()})


def test_reply_lost_after_cloud_committed_makes_no_duplicate(rig, tablets):
    tablet = tablets().open_and_pair()
    rig.proxy.set_mode("drop_reply", drop=2)
    numbers = [tablet.sell(basket) for basket in BASKETS[:3]]
    tablet.wait_status(r"^Online · 0 unsynced$")
    assert rig.proxy.dropped_replies == 2   # the cloud committed batches the gateway never heard about
    documents = assert_landed_once(rig, {row["id"] for row in tablet.journal()})
    assert sorted(doc["receipt_number"] for doc in documents) == numbers


def test_gateway_killed_while_tablets_push_loses_nothing(rig, tablets):
    t1, t2 = tablets().open_and_pair(), tablets().open_and_pair()
    for i in range(3):
        t1.sell(BASKETS[i])
        t2.sell(BASKETS[i + 1])
    # Acked by the gateway = no longer pending on the tablet. Snapshot, then pull the plug at once.
    acked = wait_until(lambda: len(ids := {row["id"] for row in t1.journal() + t2.journal()
                                            if row["state"] != "pending"}) == 6 and ids, what="6 acked")
    t1.sell(BASKETS[3])   # these two race the kill: pushed or not, they must not be lost
    t2.sell(BASKETS[4])
    rig.gateway.kill()
    assert acked <= rig.gateway_journal_ids(), "the gateway lost documents it had acknowledged"

    for basket in BASKETS:   # the counter does not stop for a dead box
        t1.sell(basket)
    t1.wait_status(r"^Offline · \d+ unsynced$")

    rig.gateway.start()
    t1.wait_status(r"^Online · 0 unsynced$", timeout_s=45)
    t2.wait_status(r"^Online · 0 unsynced$", timeout_s=45)
    ids = {row["id"] for row in t1.journal() + t2.journal()}
    assert len(ids) == 13   # 3 + 1 + 5 on T1, 3 + 1 on T2
    assert_landed_once(rig, ids)
