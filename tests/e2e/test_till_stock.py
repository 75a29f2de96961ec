"""Stock on the grid (issue 7, item 7, the till's side): "N left" from the box, less this tablet's sales the
box has not seen yet, and a low-stock mark; it never blocks a sale. The second tab shows no Sync now."""
from __future__ import annotations

import httpx

from cloud_api.demo_shop import PRODUCTS
from tests.e2e.conftest import JOURNAL_META_JS, wait_until

pytestmark = __import__("pytest").mark.e2e
COKE = next({"name": name, "price": price, "gst_bp": 1800, "barcode": barcode, "category": category}
            for sku, name, price, barcode, category in PRODUCTS if sku == "COKE-1500")


def receive(rig, sku: str, qty: int) -> None:
    response = httpx.post(f"{rig.cloud.url}/v1/shops/{rig.shop['shop_id']}/stock-movements",
                          json={"sku": sku, "qty": qty, "reason": "received"},
                          headers={"Authorization": f"Bearer {rig.shop['owner_token']}"}, timeout=10)
    assert response.status_code in (200, 201), response.text


def test_the_grid_shows_what_is_left_and_marks_low_stock_without_blocking_a_sale(rig, tablets):
    rig.owner_put("products/COKE-1500", {**COKE, "low_stock_at": 2})
    receive(rig, "COKE-1500", 4)
    tablet = tablets().open_and_pair()
    page = tablet.page
    tile = page.get_by_role("button", name="Coca-Cola 1.5L", exact=True)
    tablet.expect(tile).to_contain_text("4 left", timeout=30000)
    low = tile.locator(".low")
    tablet.expect(low).to_be_hidden()

    tablet.context.set_offline(True)   # the box cannot count these yet: the tablet does
    tablet.wait_status(r"^Offline · ")
    tablet.sell(["Coca-Cola 1.5L", "Coca-Cola 1.5L"])
    tablet.expect(tile).to_contain_text("2 left")
    tablet.expect(low).to_be_visible()
    for _ in range(3):   # past what is on hand: still sold
        tablet.sell(["Coca-Cola 1.5L"])
    tablet.expect(tile).to_contain_text("-1 left")

    tablet.context.set_offline(False)
    tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=60)
    tablet.expect(tile).to_contain_text("-1 left", timeout=30000)   # the box's count, now with them

    second = tablet.context.new_page()
    second.goto(rig.till_url)
    tablet.expect(second.get_by_role("heading", name="POS Line is open in another tab")).to_be_visible()
    tablet.expect(second.get_by_role("button", name="Sync now")).to_have_count(0)
    second.close()


# Every "N left" the Coca-Cola tile shows, as the page draws it: a MutationObserver sees each change,
# however brief, where polling from the test would miss most of them.
WATCH_LEFT_JS = """() => {
  window.__left = [];
  const read = () => {
    const tile = [...document.querySelectorAll("button")].find((b) => b.textContent.includes("Coca-Cola 1.5L"));
    const part = tile && [...tile.querySelectorAll("*")].find((el) => /^-?\\d+ left$/.test(el.textContent.trim()));
    const match = part && part.textContent.trim().match(/^(-?\\d+) left$/);
    const left = match ? Number(match[1]) : null;
    if (left !== null && window.__left[window.__left.length - 1] !== left) window.__left.push(left);
  };
  read();
  new MutationObserver(read).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""


def ten_cokes_on_a_paired_tablet(rig, tablets):
    """10 Coca-Cola received in the cloud, a tablet paired and selling, its tile showing them: (tablet, page, tile)."""
    receive(rig, "COKE-1500", 10)
    tablet = tablets().open_and_pair()
    tile = tablet.page.get_by_role("button", name="Coca-Cola 1.5L", exact=True)
    tablet.expect(tile).to_contain_text("10 left", timeout=30000)
    return tablet, tablet.page, tile


def test_what_is_left_never_jumps_back_up_while_sales_reach_the_box(rig, tablets):
    # A sale the box has just taken is no longer pending here; until the tablet holds the box's stock
    # that counts it, it must still be subtracted, or the tile shows one more than is left for a moment.
    tablet, page, tile = ten_cokes_on_a_paired_tablet(rig, tablets)
    page.evaluate(WATCH_LEFT_JS)
    for _ in range(5):
        tablet.sell(["Coca-Cola 1.5L"])
        tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=30)   # each one reaches the box
    tablet.expect(tile).to_contain_text("5 left", timeout=30000)
    left = page.evaluate("() => window.__left")
    assert left[0] == 10 and left[-1] == 5, left
    assert left == sorted(left, reverse=True), f"the count went back up on the way: {left}"


def test_a_reload_counts_sales_the_box_took_after_the_stock_this_tablet_holds(rig, tablets):
    # The box answers the stock with device_seq, the highest seq of this tablet's documents it counts.
    # Sales the box took after the stock this tablet holds are not in it: still taken off after a reload,
    # while no newer stock can be had, instead of the tile showing them back on the shelf. First with a
    # stock from before this tablet's first sale (device_seq 0), then with one that counts a sale.
    tablet, page, tile = ten_cokes_on_a_paired_tablet(rig, tablets)
    before_any = page.evaluate(JOURNAL_META_JS, "stock_held")
    assert before_any["device_seq"] == 0 and before_any["stock"]["COKE-1500"] == 10, before_any

    def refuse_stock() -> None:
        page.route("**/api/v1/stock", lambda route: route.fulfill(
            status=503, content_type="application/json",
            body='{"error": {"code": "unavailable", "message": "the stock cannot be had just now"}}'))

    def sell_reload_and_see(count: int, left: str, held: dict) -> None:
        for _ in range(count):
            tablet.sell(["Coca-Cola 1.5L"])
        tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=30)   # at the box; its stock not fetched
        tablet.expect(tile).to_contain_text(left)
        assert page.evaluate(JOURNAL_META_JS, "stock_held") == held   # the stock held is still the one from before these
        page.reload()
        tablet.expect(tile).to_contain_text(left, timeout=30000)
        tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=30)
        tablet.expect(tile).to_contain_text(left)
        assert page.evaluate(JOURNAL_META_JS, "stock_held") == held

    refuse_stock()
    sell_reload_and_see(1, "9 left", before_any)
    page.unroute("**/api/v1/stock")
    wait_until(lambda: (page.evaluate(JOURNAL_META_JS, "stock_held") or {}).get("device_seq", 0) >= 1, 30,
               what="a stock answer that counts this tablet's first sale")
    counted = page.evaluate(JOURNAL_META_JS, "stock_held")
    assert counted["stock"]["COKE-1500"] == 9, counted
    tablet.expect(tile).to_contain_text("9 left")

    refuse_stock()
    sell_reload_and_see(2, "7 left", counted)
    page.unroute("**/api/v1/stock")
    wait_until(lambda: (page.evaluate(JOURNAL_META_JS, "stock_held") or {}).get("stock", {}).get("COKE-1500") == 7, 30,
               what="the box's stock with all three sales")
    assert page.evaluate(JOURNAL_META_JS, "stock_held")["device_seq"] >= counted["device_seq"] + 2
    tablet.expect(tile).to_contain_text("7 left")
