"""Receipt numbers stay gap-free and unique when the till's fast checkout path guesses wrong.

The checkout writes one document in one strict transaction, its seq taken from memory; the journal's
unique seq index is what keeps that guess honest (web_till/journal.js `complete`). These tests make
the guess wrong on purpose, as a second journal handle in the same page does (a second tab, or a
double tap), and check that no number is ever given twice or skipped, and that a journal kept by an
older till (which wrote the last seq to the `meta` store as well) numbers on from it.
"""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import JOURNAL_META_JS

pytestmark = pytest.mark.e2e

# Another handle on the same journal, beside the till's own: it completes documents the till's
# in-memory seq does not know of. Offline throughout, so nothing is sent anywhere.
OTHER_HANDLE_JS = """async () => {
  const { openJournal } = await import("/journal.js");
  const journal = await openJournal();
  const base = { kind: "sale", device_code: "T1", lines: [], payments: [], total: 0, tax: 0, change: 0,
                 created_at: "2026-11-29T06:00:00+05:00" };
  const out = { start: await journal.storedSeq() };
  // A double tap: the same document twice at once (the clock read twice) gets one seq.
  const twice = { ...base, id: crypto.randomUUID() };
  const [a, b] = await Promise.all([journal.complete(twice),
                                    journal.complete({ ...twice, created_at: "2026-11-29T06:00:01+05:00" })]);
  out.double = [a.seq, b.seq];
  // Memory wrong: the unique index refuses the guess and the careful path gives the next seq.
  journal.lastSeq = 0;
  out.careful = (await journal.complete({ ...base, id: crypto.randomUUID() })).seq;
  let seen = null;
  const next = await journal.complete({ ...base, id: crypto.randomUUID() }, (doc) => { seen = doc.seq; });
  out.next = [next.seq, seen];
  out.stored = await journal.storedSeq();
  // Another document under a used id is refused, whatever memory says.
  journal.lastSeq = undefined;
  try { await journal.complete({ ...base, id: twice.id, total: 5 }); out.reused = "accepted"; }
  catch (err) { out.reused = String(err.message); }
  journal.db.close();
  return out;
}"""

# What an older till left behind: the last seq in `meta` as well as in the documents.
OLD_META_SEQ_JS = """(seq) => new Promise((resolve, reject) => {
  const open = indexedDB.open("posline");
  open.onsuccess = () => {
    const tx = open.result.transaction("meta", "readwrite");
    tx.objectStore("meta").put({ key: "seq", value: seq });
    tx.oncomplete = () => { open.result.close(); resolve(); };
    tx.onerror = () => reject(tx.error);
  };
  open.onerror = () => reject(open.error);
})"""


def _seq(number: str) -> int:
    match = re.fullmatch(r"T\d+-(\d{6})", number)
    assert match, number
    return int(match.group(1))


def test_a_wrong_guess_never_repeats_or_skips_a_receipt_number(tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    first = _seq(tablet.sell(["Coca-Cola 1.5L"], 500))
    # The page runs the till bundled (gateway/shell.py); the test's own copy of journal.js is fetched while
    # the box is in reach (its worker precaches only what the page loads), then imported offline from the
    # page's module map.
    page.evaluate("() => import('/journal.js')")
    tablet.context.set_offline(True)

    other = page.evaluate(OTHER_HANDLE_JS)
    assert other["start"] == first
    assert other["double"] == [first + 1, first + 1]
    assert other["careful"] == first + 2
    assert other["next"] == [first + 3, first + 3]    # the receipt drawn meanwhile has the stored seq
    assert other["stored"] == first + 3
    assert "already used by another document" in other["reused"]

    # The till's own handle still remembers `first`: its guess clashes, and the sale gets the next number.
    assert _seq(tablet.sell(["Coca-Cola 1.5L"], 500)) == first + 4
    assert _seq(tablet.sell(["Coca-Cola 1.5L"], 500)) == first + 5
    page.reload()
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
    assert _seq(tablet.sell(["Coca-Cola 1.5L"], 500)) == first + 6

    seqs = sorted(row["seq"] for row in tablet.journal())
    assert seqs == list(range(1, first + 7)), "a receipt number was given twice or skipped"
    # An older till (the box rolled back a version) numbers from meta "seq" alone: it must be the last.
    assert page.evaluate(JOURNAL_META_JS, "seq") == first + 6


def test_an_older_tills_last_seq_in_meta_is_numbered_on_from(tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    first = _seq(tablet.sell(["Coca-Cola 1.5L"], 500))
    tablet.context.set_offline(True)
    # As if an older till had given out numbers up to 40 and this journal held only some of them.
    page.evaluate(OLD_META_SEQ_JS, first + 39)
    page.reload()
    tablet.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
    assert _seq(tablet.sell(["Coca-Cola 1.5L"], 500)) == first + 40
