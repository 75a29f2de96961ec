"""A tablet whose journal was made by an older till keeps every document when the till upgrades it."""
from __future__ import annotations

import pytest

from .old_journal import READ_JOURNAL, make_journal

pytestmark = pytest.mark.e2e

# The journal as version 1 of the till made it (web_till/journal.js, case 0), holding one sale.
MAKE_V1 = make_journal(1)


def test_the_upgrade_keeps_old_documents_and_finds_them_by_kind(rig, tablets):
    tablet = tablets()
    page = tablet.page
    # Same origin as the till, but not the till: the box's setup page, so only our v1 journal exists.
    page.goto(rig.till_url + "setup")
    sale = {"id": "0b6f0000-0000-4000-8000-000000000001", "kind": "sale", "device_code": "T1", "seq": 7,
            "created_at": "2026-11-20T10:00:00+05:00", "lines": [], "payments": [], "total": 0, "tax": 0, "change": 0}
    page.evaluate(MAKE_V1, {"id": sale["id"], "seq": 7, "state": "in_cloud", "document": sale, "completed_at": 1})

    tablet.open()   # the till opens its journal: version 2 adds the indexes, in place
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_be_visible()
    after = page.evaluate(READ_JOURNAL)
    assert after["version"] >= 2
    assert {"kind", "original_id", "seq", "state"} <= set(after["indexes"])
    assert [row["document"] for row in after["sales"]] == [sale]
    assert after["sales"][0]["state"] == "in_cloud"
