"""A tablet whose journal was made by an older till keeps every document when the till upgrades it."""
from __future__ import annotations

import pytest

from .old_journal import READ_JOURNAL, journal_row, make_journal, old_sale

pytestmark = pytest.mark.e2e

# The journal as version 1 of the till made it (web_till/journal.js, case 0), holding one sale.
MAKE_V1 = make_journal(1)

# More document rows, put in the journal as it is (any version), for the tests of reading it.
PUT_ROWS = """(rows) => new Promise((resolve, reject) => {
    const open = indexedDB.open("posline");
    open.onsuccess = () => {
      const tx = open.result.transaction("documents", "readwrite");
      for (const row of rows) tx.objectStore("documents").put(row);
      tx.oncomplete = () => { open.result.close(); resolve(true); };
      tx.onerror = () => reject(tx.error);
    };
    open.onerror = () => reject(open.error);
})"""

# What the sync cycle reads (web_till/journal.js byState, idsByState), through the till's own module.
READ_PAGES = """async () => {
    const { openJournal } = await import("/journal.js");
    const journal = await openJournal();
    const ids = (rows) => rows.map((row) => row.id);
    const pages = {
      pending: ids(await journal.byState("pending", 2)),
      allPending: ids(await journal.byState("pending", Infinity)),
      heldFirst: await journal.idsByState("at_gateway", -Infinity, 2),
      heldAfter: await journal.idsByState("at_gateway", 30, 2),
      heldPast: await journal.idsByState("at_gateway", 50, 2),
    };
    journal.db.close();
    return pages;
}"""


def test_the_upgrade_keeps_old_documents_and_finds_them_by_kind(rig, tablets):
    tablet = tablets()
    page = tablet.page
    # Same origin as the till, but not the till: the box's setup page, so only our v1 journal exists.
    page.goto(rig.till_url + "setup")
    sale = old_sale(7, number=1)
    page.evaluate(MAKE_V1, journal_row(sale, "in_cloud"))

    tablet.open()   # the till opens its journal: version 2 adds the indexes, in place
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_be_visible()
    after = page.evaluate(READ_JOURNAL)
    assert after["version"] >= 2
    assert {"kind", "original_id", "seq", "state", "state_seq"} <= set(after["indexes"])
    assert [row["document"] for row in after["sales"]] == [sale]
    assert after["sales"][0]["state"] == "in_cloud"


def test_the_upgrade_to_version_5_reads_one_state_a_page_at_a_time_in_seq_order(rig, tablets):
    """A journal an older till made (version 4, khata) gains the (state, seq) index, and the sync cycle's
    reads give the documents of one state in seq order, a page at a time, whatever order they were put in."""
    tablet = tablets()
    page = tablet.page
    page.goto(rig.till_url + "setup")   # same origin, not the till: only our old journal exists

    def row(seq: int, state: str) -> dict:
        return journal_row(old_sale(seq), state)
    page.evaluate(make_journal(4), row(1, "in_cloud"))
    # Put in neither seq nor id order; the ids sort as the seqs do, so give them another order too.
    rows = [row(seq, state) for seq, state in [(40, "at_gateway"), (12, "pending"), (9, "pending"),
                                                (31, "at_gateway"), (20, "at_gateway"), (33, "dead"),
                                                (5, "pending"), (45, "at_gateway")]]
    rows[0]["id"], rows[3]["id"] = rows[3]["id"], rows[0]["id"]
    page.evaluate(PUT_ROWS, rows)

    tablet.open()
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_be_visible()
    after = page.evaluate(READ_JOURNAL)
    assert after["version"] == 5
    assert {"customer_id", "kind", "original_id", "seq", "state", "state_seq"} <= set(after["indexes"])
    by_seq = {r["seq"]: r["id"] for r in rows}
    pages = page.evaluate(READ_PAGES)
    assert pages["pending"] == [by_seq[5], by_seq[9]]
    assert pages["allPending"] == [by_seq[5], by_seq[9], by_seq[12]]
    assert pages["heldFirst"] == {"ids": [by_seq[20], by_seq[31]], "lastSeq": 31}
    assert pages["heldAfter"] == {"ids": [by_seq[31], by_seq[40]], "lastSeq": 40}
    assert pages["heldPast"] == {"ids": [], "lastSeq": 50}


def test_a_journal_a_newer_till_made_is_opened_as_it_is(rig, tablets):
    """The box was rolled back a version after a tablet had loaded the newer till: the older till opens the
    newer journal as it stands (a version only adds stores and indexes) and sells on, its sales kept,
    instead of failing to open and leaving the tablet unable to sell."""
    tablet = tablets()
    page = tablet.page
    page.goto(rig.till_url + "setup")
    sale = old_sale(6)
    page.evaluate(make_journal(6), journal_row(sale, "pending"))
    tablet.open()
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_be_visible()
    after = page.evaluate(READ_JOURNAL)
    assert after["version"] == 6 and "from_a_newer_till" in after["stores"]
    assert [row["document"] for row in after["sales"]] == [sale]
    assert page.evaluate(READ_PAGES)["pending"] == [sale["id"]]   # and read by this till's own queries
