"""The till in Chromium on the shop origin: checkout commit, first load, and the shell's size.

Chromium runs as the e2e tests run it (tests/bench/rig.py), with the CPU slowed down through the
DevTools protocol (`Emulation.setCPUThrottlingRate`), as a cheap tablet is slower than this machine.
Times are taken inside the page, from its own clock, so Playwright's round trips do not count.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import web_till
from gateway.shell import served_size
from tests.bench.floors import IDB_PUT_FLOOR_JS, ONE_ELEMENT_PAGE
from tests.bench.report import Figure, percentile
from tests.bench.rig import chromium, shop_rig
from tests.conftest import make_sale
from tests.e2e.conftest import FAST_GATEWAY, Tablet

SALES = 60   # a p95 of 30 swung a fifth from run to run
FLOOR_PER_SALE = 2   # cheap: twice the sales, for a steadier p95
FLOOR_RECORD = make_sale()   # what the floor puts: a sale's size
WARM_UP = 3
THROTTLE = 4
LOAD_RUNS = 5   # a navigation is cheap; five steady the median on a shared machine
BUDGET_BYTES = 60 * 1024
CHECKOUT_BUDGET_MS = 20   # issue 7's budget: Complete sale -> receipt painted, p95, 4x throttle

# From the click on Complete sale (seen first, in the capture phase) to the frame after the receipt
# number is in the DOM: requestAnimationFrame runs before that frame paints, the task after it runs
# once it has. Resolves with milliseconds.
ARM_CHECKOUT_JS = """() => {
  window.__benchCheckout = new Promise((resolve) => {
    setTimeout(() => resolve(null), 20000);   // no receipt: reported, never a hang
    const onClick = (event) => {
      const button = event.target.closest && event.target.closest("button");
      if (!button || button.textContent.trim() !== "Complete sale") return;
      removeEventListener("click", onClick, true);
      const start = performance.now();
      const painted = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - start)));
      const observer = new MutationObserver(() => {
        if (document.querySelector("[data-testid=receipt-number]")) { observer.disconnect(); painted(); }
      });
      observer.observe(document.body, { childList: true, subtree: true });
    };
    addEventListener("click", onClick, true);
  });
}"""

# Before a sale and its floor: the page quiet. Online, the last sale pushed and its ack written (no
# document of the journal still pending); then the main thread idle twice over. So neither the floor's
# puts nor the checkout share the page with the previous sale's sync (its IndexedDB writes and redraws),
# which would slow both and flatter the ratio. At most 10 s: a box that does not answer is reported by
# the figures, not waited for.
QUIET_JS = """async (online) => {
  const deadline = performance.now() + 10000;
  const pending = () => new Promise((resolve, reject) => {
    const open = indexedDB.open("posline");
    open.onsuccess = () => {
      const db = open.result;
      const counted = db.transaction("documents").objectStore("documents").index("state_seq")
        .count(IDBKeyRange.bound(["pending", -Infinity], ["pending", Infinity]));
      counted.onsuccess = () => { db.close(); resolve(counted.result); };
      counted.onerror = () => { db.close(); reject(counted.error); };
    };
    open.onerror = () => reject(open.error);
  });
  while (online && (await pending()) > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (let i = 0; i < 2; i++) await new Promise((resolve) => requestIdleCallback(resolve, { timeout: 1000 }));
}"""

# Injected before any of the page's scripts: the time from navigation start to the frame after the
# pairing code's field exists (the till), or after the load event (the one-element page).
FIRST_PAINT_JS = """window.__benchFirstPaint = new Promise((resolve) => {
  const painted = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now())));
  if (location.pathname !== "/") { addEventListener("load", painted); return; }
  const observer = new MutationObserver(() => {
    if (document.getElementById("pair-code")) { observer.disconnect(); painted(); }
  });
  observer.observe(document, { childList: true, subtree: true });
});"""


# The sync cycle's reads of the journal (web_till/sync.js: learnAcks asks the box about the lowest page
# of the documents held there and one more page; push sends the oldest 200 pending) with `held`
# documents at the box, through the till's own journal module; beside them, the reads journal versions
# before 5 made (every document in the state, then sorted), and the floor: one document read by id.
# Times in ms, `runs` of each, interleaved.
HELD_READS_JS = """async ([held, pending, runs, sale]) => {
  const { openJournal } = await import("/journal.js");
  const journal = await openJournal();
  const request = (req) => new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });
  const documents = () => journal.db.transaction("documents").objectStore("documents");
  const tx = journal.db.transaction("documents", "readwrite");
  for (let seq = 1; seq <= held + pending; seq++) {   // the newest not yet at the box
    const id = `0b6f0000-0000-7000-8000-${String(seq).padStart(12, "0")}`;
    tx.objectStore("documents").put({ id, seq, state: seq > held ? "pending" : "at_gateway", completed_at: seq,
                                      document: { ...sale, id, seq } });
  }
  await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
  const timed = async (work) => { const start = performance.now(); await work(); return performance.now() - start; };
  const now = [], before = [], floor = [];
  for (let run = 0; run < runs; run++) {
    now.push(await timed(async () => {
      const lowest = await journal.idsByState("at_gateway", -Infinity, 1000);
      await journal.idsByState("at_gateway", lowest.lastSeq, 1000);
      await journal.byState("pending", 200);
    }));
    before.push(await timed(async () => {
      (await request(documents().index("state").getAll("at_gateway"))).sort((a, b) => a.seq - b.seq);
      (await request(documents().index("state").getAll("pending"))).sort((a, b) => a.seq - b.seq);
    }));
    floor.push(await timed(() => request(documents().get("0b6f0000-0000-7000-8000-000000000001"))));
  }
  journal.db.close();
  return { now, before, floor };
}"""
HELD = 5000
HELD_PENDING = 300   # sold since the box last answered: push reads the oldest 200
HELD_RUNS = 7
HELD_READS = f"Sync cycle's journal reads, {HELD:,} sales held, {THROTTLE}x CPU throttle"


def throttle(context: Any, page: Any, rate: float) -> Any:
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return cdp


def _checkout_once(tablet: Tablet, online: bool, floor: dict[str, list[float]] | None = None) -> float:
    """One sale, Complete sale to the receipt painted, in ms, from a quiet page (QUIET_JS). With `floor`:
    FLOOR_PER_SALE of the floor's puts first, on the payment screen the checkout is about to leave,
    added to its lists."""
    page = tablet.page
    page.get_by_role("button", name="Coca-Cola 1.5L", exact=True).click()
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("textbox", name="Amount received").fill("500")
    page.evaluate(QUIET_JS, online)
    if floor is not None:
        puts = page.evaluate(IDB_PUT_FLOOR_JS, [FLOOR_PER_SALE, FLOOR_RECORD])
        for key in ("put", "frame"):
            floor[key].extend(puts[key])
    page.evaluate(ARM_CHECKOUT_JS)
    page.get_by_role("button", name="Complete sale").click()
    # Awaited in the page: a promise, not polling, so nothing of ours runs on the main thread meanwhile.
    ms = page.evaluate("() => window.__benchCheckout")
    if ms is None:
        raise RuntimeError("no receipt within 20 s of Complete sale")
    page.get_by_role("button", name="New sale").click()
    return ms


def _checkouts(tablet: Tablet, online: bool) -> tuple[list[float], dict[str, list[float]]]:
    """SALES checkouts, each beside its floor: the puts are taken a moment before each sale, in the same
    quiet page, so the load on this shared machine is the same for both (measured apart, half a minute
    between them, the ratio swung 1.4-2.7x from run to run with the machine's other work)."""
    for _ in range(WARM_UP):
        _checkout_once(tablet, online)
    floor: dict[str, list[float]] = {"put": [], "frame": []}
    return [_checkout_once(tablet, online, floor) for _ in range(SALES)], floor


def _first_load(browser: Any, url: str, rate: float) -> float:
    """A fresh profile (no HTTP cache, no service worker), CPU throttled, one navigation; ms."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        context.add_init_script(FIRST_PAINT_JS)
        page = context.new_page()
        throttle(context, page, rate)
        page.goto(url)
        # An SVG document may not run init scripts: then its load event's end is the figure.
        return page.evaluate("() => window.__benchFirstPaint"
                             " ?? performance.getEntriesByType('navigation')[0].loadEventEnd")
    finally:
        context.close()


def bench_browser(tmp: Path) -> list[Figure]:
    figures = []
    with shop_rig(tmp / "browser", FAST_GATEWAY) as rig, chromium(rig, tmp / "browser-home") as browser:
        tablet = Tablet(browser, rig)
        try:
            tablet.open_and_pair()
            cdp = throttle(tablet.context, tablet.page, THROTTLE)   # noqa: F841 -- held for the page's life
            online, floor_online = _checkouts(tablet, True)
            tablet.wait_status(r"· 0 unsynced$", timeout_s=60)
            # Shown beside it, as the floor was taken before: the puts alone on a quiet page, once the
            # sales have synced (no acks being written), half a minute after the sales.
            quiet = tablet.page.evaluate(IDB_PUT_FLOOR_JS, [SALES * FLOOR_PER_SALE, FLOOR_RECORD])
            tablet.context.set_offline(True)
            time.sleep(1)
            offline, floor_offline = _checkouts(tablet, False)
            tablet.context.set_offline(False)
        finally:
            tablet.close()
        for label, times, floor in (("online", online, floor_online), ("offline", offline, floor_offline)):
            p95, floor_p95 = percentile(times, 95), percentile(floor["frame"], 95)
            # Issue 12's goal is the ratio to the floor. Issue 7's 20 ms is shown beside it: measured to
            # the frame after the receipt, it is about the floor itself (a put, then the next frame of
            # 16.7 ms at 60 Hz), so it says whether the receipt always makes the first frame.
            figures.append(Figure(
                f"Checkout p95, {label}, {THROTTLE}x CPU throttle", "ms", p95, floor_p95,
                f"one strict IndexedDB put, then its frame painted, p95 of {len(floor['frame'])}, beside the sales",
                "≤ 2x floor (issue 12)", p95 <= 2 * floor_p95, samples=times,
                note=f"Complete sale -> receipt painted, {SALES} sales after {WARM_UP} warm-up, "
                     f"median {statistics.median(times):.1f} ms; issue 7's ≤ {CHECKOUT_BUDGET_MS} ms "
                     f"{'met' if p95 <= CHECKOUT_BUDGET_MS else 'not met'}; "
                     f"the bare put alone p95 {percentile(floor['put'], 95):.2f} ms"
                     + (f"; the floor on a quiet page after the sales p95 {percentile(quiet['frame'], 95):.1f} ms"
                        if label == "online" else "")))

        for rate, goal_ms in ((1, 500), (THROTTLE, 800)):
            till = [_first_load(browser, rig.till_url, rate) for _ in range(LOAD_RUNS)]
            floor = [_first_load(browser, rig.till_url.rstrip("/") + ONE_ELEMENT_PAGE, rate)
                     for _ in range(LOAD_RUNS)]
            value = statistics.median(till)
            figures.append(Figure(
                f"First load to pairing screen, {rate}x", "ms", value, statistics.median(floor),
                f"one-element page ({ONE_ELEMENT_PAGE}), same server", f"≤ {goal_ms} ms", value <= goal_ms,
                samples=till, note=f"fresh profile, median of {LOAD_RUNS}"))
        try:
            figures.append(_held_reads(browser, rig.till_url))
        except Exception as err:   # noqa: BLE001 -- this figure's failure must not lose the ones above
            figures.append(Figure(HELD_READS, "ms", None, None, "one document read by id", "", None,
                                  note=f"failed: {err}"))
    return figures


def _held_reads(browser: Any, till_url: str) -> Figure:
    """The sync cycle's journal reads on a tablet holding HELD sales at the box (after a long cut of the
    WAN), CPU throttled: its page is busy for as long, and a tap on Complete sale waits behind it."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(till_url + "setup")   # the shop origin, not the till: no sync cycle of its own meanwhile
        throttle(context, page, THROTTLE)
        sale = make_sale()
        sale["lines"] = sale["lines"] * 3   # a basket of three: a held sale's size, more or less
        times = page.evaluate(HELD_READS_JS, [HELD, HELD_PENDING, HELD_RUNS, sale])
    finally:
        context.close()
    value, before = statistics.median(times["now"]), statistics.median(times["before"])
    return Figure(HELD_READS, "ms", value,
                  statistics.median(times["floor"]), "one document read by id", "", None, samples=times["now"],
                  note=f"two pages of ids (the acks) and the oldest 200 of {HELD_PENDING} pending, median of"
                       f" {HELD_RUNS}; every document in both states read and sorted, as before journal"
                       f" version 5: {before:.0f} ms")


def bench_size() -> Figure:
    """The till's JavaScript and CSS as the box sends them to Chromium: minified (esbuild), then each file
    in the coding the box answers Chromium's Accept-Encoding with (brotli q11), made once at start-up.

    The same count as tests/till/test_urdu.py (gateway/shell.py served_size); gzip -9 per file, what a
    browser without brotli receives, is in the note, so both figures stay visible.
    """
    size = served_size(web_till.ROOT)
    return Figure("Till JS + CSS, as sent (brotli)", "B", size.sent, None, "", "≤ 60 KB (61,440 B)",
                  size.sent <= BUDGET_BYTES,
                  note=f"{len(size.names)} files, {size.minified:,} B minified by {size.minifier}; "
                       f"gzip -9 per file {size.gzipped:,} B")
