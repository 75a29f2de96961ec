"""What the till learns of the documents it left at the box (web_till/sync.js learnAcks), run in Node
against a stand-in box that answers POST /api/v1/journal:acks as gateway/till_api.py does."""
from __future__ import annotations

from .test_urdu import run_node

# The tablet holds HELD documents at the box, none in the cloud yet, of which the box holds the first
# BOX_HOLDS: a replaced box, which the lowest documents were sent to again, has never seen the rest.
REPLACED_BOX = """
  const sync = await import(till + "sync.js");
  const rows = Array.from({ length: HELD }, (_, i) => ({ id: `d${i + 1}`, seq: i + 1, state: "at_gateway" }));
  const journal = {
    async idsByState(state, afterSeq, limit) {   // as web_till/journal.js reads its (state, seq) index
      reads.push(limit);
      const page = rows.filter((r) => r.state === state && r.seq > afterSeq).sort((a, b) => a.seq - b.seq)
        .slice(0, limit);
      return { ids: page.map((r) => r.id), lastSeq: page.length ? page[page.length - 1].seq : afterSeq };
    },
    async setState(ids, state) {
      const moved = new Set(ids);
      for (const row of rows) if (moved.has(row.id)) row.state = state;
    },
  };
  const reads = [];
  const boxHolds = new Set(rows.slice(0, BOX_HOLDS).map((r) => r.id));
  const asked = [];
  globalThis.fetch = async (url, options) => {
    const { ids } = JSON.parse(options.body);
    asked.push({ url, n: ids.length, first: ids[0], last: ids[ids.length - 1] });
    if (ids.length > 1000) return new Response(JSON.stringify({ error: { code: "bad_request" } }), { status: 400 });
    const body = { in_cloud: [], rejected: [], unknown: ids.filter((id) => !boxHolds.has(id)) };
    return new Response(JSON.stringify(body), { status: 200 });
  };
  const cycles = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const lost = await sync.learnAcks(journal, "token");
    cycles.push({ lost, pending: rows.filter((r) => r.state === "pending").length });
  }
  process.stdout.write(JSON.stringify({ asked, cycles, reads, page: sync.ACKS_PAGE }));
"""


def test_every_document_held_at_a_replaced_box_is_asked_about_within_a_few_cycles() -> None:
    got = _learn(held=2500, box_holds=1000, cycles=4)
    assert got["page"] == 1000
    # Never more than the box takes in one request: each cycle the lowest page (the first to reach
    # the cloud), and one page of the rest in turn, round again after the last.
    assert [(a["url"], a["n"], a["first"], a["last"]) for a in got["asked"]] == [
        ("/api/v1/journal:acks", 1000, "d1", "d1000"), ("/api/v1/journal:acks", 1000, "d1001", "d2000"),
        ("/api/v1/journal:acks", 1000, "d1", "d1000"), ("/api/v1/journal:acks", 500, "d2001", "d2500"),
        ("/api/v1/journal:acks", 1000, "d1", "d1000"),
        ("/api/v1/journal:acks", 1000, "d1", "d1000"),
    ]
    # Read a page at a time, never every held document: the lowest page and one more each cycle.
    assert got["reads"] == [1000] * 8
    # The box holds the lowest page; every page after it goes back to pending, to be sent again at once.
    assert got["cycles"] == [{"lost": True, "pending": 1000}, {"lost": True, "pending": 1500},
                             {"lost": False, "pending": 1500}, {"lost": False, "pending": 1500}]


def test_after_the_last_page_the_next_cycle_starts_the_rest_again() -> None:
    got = _learn(held=3000, box_holds=3000, cycles=3)
    assert [(a["n"], a["first"]) for a in got["asked"]] == [
        (1000, "d1"), (1000, "d1001"), (1000, "d1"), (1000, "d2001"), (1000, "d1"), (1000, "d1001")]
    assert all(not c["lost"] and c["pending"] == 0 for c in got["cycles"])
    assert got["reads"] == [1000] * 7   # the third cycle read past the last page, then from the second again


def _learn(held: int, box_holds: int, cycles: int) -> dict:
    return run_node(REPLACED_BOX.replace("HELD", str(held)).replace("BOX_HOLDS", str(box_holds))
                    .replace("CYCLES", str(cycles)))


def test_a_lost_lowest_page_does_not_stop_the_next_from_being_asked() -> None:
    got = _learn(held=2500, box_holds=0, cycles=1)
    assert [(a["n"], a["first"]) for a in got["asked"]] == [(1000, "d1"), (1000, "d1001")]
    assert got["cycles"] == [{"lost": True, "pending": 2000}]
