"""The till in Urdu (issue 7, item 9): switched per tablet, right to left, Urdu product names, an
amount typed in Urdu digits, the receipt in Urdu, the choice kept across a reload, and back to English."""
from __future__ import annotations

import re
from typing import Any

from cloud_api.demo_shop import CASHIER_NAME, NAMES_UR, PRODUCTS

from .conftest import wait_js, wait_until
from .selling_steps import journal_sales

pytestmark = __import__("pytest").mark.e2e
COKE_UR = NAMES_UR["COKE-1500"]            # "کوکا کولا ۱.۵ لیٹر", Rs 210
CATEGORIES = {category for *_, category in PRODUCTS}
ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069"))   # the bidi isolates around amounts

# Every text node the cashier can see, and every name, placeholder and title on the page.
SEEN = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (node.textContent.trim() && el.getClientRects().length && getComputedStyle(el).visibility !== "hidden") {
      out.push(node.textContent.trim());
    }
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], [title]")) {
    if (!el.getClientRects().length) continue;
    for (const name of ["aria-label", "placeholder", "title"]) if (el.getAttribute(name)) out.push(el.getAttribute(name));
  }
  return out;
}"""


def plain(text: str) -> str:
    return text.translate(ISOLATES)


def english_left(page: Any, urdu_keys: set[str]) -> list[str]:
    """What on the screen is still English: a phrase equal to a key that has Urdu, or any English word
    that is not the shop's data (shop, cashier and category names), "Rs" as amounts are written
    ("Rs 160/کلو": the unit in Urdu too), receipt numbers, F-keys, or the switch's own "English"."""
    allowed = {"Rs", "POS", "Line", "Madina", "General", "Store", CASHIER_NAME, "Esc", "Ctrl",
               "Enter", "English", *CATEGORIES}
    left = []
    for text in map(plain, page.evaluate(SEEN)):
        if text in urdu_keys:
            left.append(text)
            continue
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9']*", text)
                 if w not in allowed and not re.fullmatch(r"T\d+|F\d+", w)]
        if words:
            left.append(text)
    return left


def test_the_whole_till_in_urdu_and_back(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    expect = tablet.expect
    urdu_keys = set(page.evaluate("import('/i18n.js').then((m) => Object.keys(m.URDU))"))
    assert "Pay" in urdu_keys and len(urdu_keys) > 150

    # English first: the switch offers Urdu, named in Urdu.
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["en", "ltr"]
    page.get_by_role("button", name="اردو", exact=True).click()
    wait_js(page, "document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ur'")
    expect(page.get_by_role("button", name="English", exact=True)).to_be_visible()
    # The same roles, Urdu names (DESIGN.md section 4).
    pay = page.get_by_role("button", name="ادائیگی", exact=True)
    expect(pay).to_be_visible()
    expect(page.get_by_role("searchbox", name="اشیاء تلاش کریں")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("آن لائن")
    # The catalog's Urdu name on the tile; the English one is gone from the grid.
    coke = page.get_by_role("button", name=COKE_UR, exact=True)
    expect(coke).to_be_visible()
    assert page.get_by_role("button", name="Coca-Cola 1.5L", exact=True).count() == 0
    # Laid out right to left: the cart column is left of the grid, the tile's text starts on its right.
    grid_box = page.locator("section.catalog").bounding_box()
    cart_box = page.locator("aside.cart").bounding_box()
    assert cart_box["x"] + cart_box["width"] <= grid_box["x"] + 1, (cart_box, grid_box)
    assert page.locator(".product").first.evaluate("(el) => getComputedStyle(el).textAlign") in ("start", "right")

    coke.click()
    coke.click()
    # The cart line carries the Urdu name, and so does its quantity button's name.
    expect(page.get_by_role("button", name=f"{COKE_UR} کی تعداد", exact=True)).to_have_text("2")
    expect(page.locator(".paybar .total")).to_have_text(re.compile("^کل \u2066Rs 420\u2069$"))
    tablet.screenshot("selling-ur")
    left = english_left(page, urdu_keys)
    assert left == [], left

    pay.click()
    expect(page.get_by_role("button", name="فروخت مکمل کریں", exact=True)).to_be_visible()
    page.get_by_role("button", name="نقد", exact=True).click()
    # Rs 500 typed as a cashier with an Urdu keyboard types it: ۵۰۰.
    page.get_by_role("textbox", name="وصول شدہ رقم").fill("۵۰۰")
    expect(page.locator(".payment .change")).to_have_text("بقایا \u2066Rs 80\u2069")
    left = english_left(page, urdu_keys)
    assert left == [], left
    page.get_by_role("button", name="فروخت مکمل کریں", exact=True).click()

    number = page.get_by_test_id("receipt-number")
    expect(number).to_have_text("T1-000001")   # receipt numbers stay Latin
    slip = page.locator(".slip")
    expect(slip).to_contain_text(COKE_UR)      # the receipt in the tablet's language
    for label in ("رسید", "کیشیئر", "کل", "جی ایس ٹی شامل", "نقد", "بقایا"):
        expect(slip).to_contain_text(label)
    assert "Total" not in slip.inner_text() and "Change" not in slip.inner_text()
    tablet.screenshot("receipt-ur")

    [sale] = journal_sales(tablet)
    assert (sale["total"], sale["change"]) == (42000, 8000)
    assert sale["payments"] == [{"tender": "cash", "amount": 50000}]
    assert sale["lines"][0]["name"] == "Coca-Cola 1.5L"   # documents keep the catalog's name; only the screen is Urdu
    documents = wait_until(lambda: rig.cloud_documents(), what="the Urdu sale in the cloud")
    assert [(d["receipt_number"], d["total"], d["change"]) for d in documents] == [("T1-000001", 42000, 8000)]

    # The choice is this tablet's, kept across a reload.
    page.get_by_role("button", name="نئی فروخت", exact=True).click()
    page.reload()
    expect(page.get_by_role("button", name="ادائیگی", exact=True)).to_be_visible()
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ur", "rtl"]

    # A PIN typed in Urdu digits signs in (the same PIN as its Latin digits).
    page.get_by_role("button", name="سائن آؤٹ", exact=True).click()
    urdu_pin = rig.shop["cashier_pin"].translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    page.get_by_role("textbox", name="پن", exact=True).fill(urdu_pin)
    page.get_by_role("button", name="سائن ان", exact=True).click()
    expect(page.get_by_role("button", name="ادائیگی", exact=True)).to_be_visible()

    # Switching keeps the open cart and what is typed in the search.
    page.get_by_role("button", name=COKE_UR, exact=True).click()
    page.get_by_role("searchbox", name="اشیاء تلاش کریں").fill("lux")
    page.get_by_role("button", name="English", exact=True).click()
    wait_js(page, "document.documentElement.dir === 'ltr' && document.documentElement.lang === 'en'")
    expect(page.get_by_role("button", name="Pay", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="اردو", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Quantity of Coca-Cola 1.5L", exact=True)).to_have_text("1")
    expect(page.get_by_role("searchbox", name="Search products")).to_have_value("lux")
    expect(page.get_by_role("button", name="Lux Soap 130g", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Tapal Danedar 190g", exact=True)).to_be_hidden()   # still filtered
    page.reload()
    expect(page.get_by_role("button", name="Pay", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.dir") == "ltr"


def test_a_return_reads_its_lines_in_urdu(rig, tablets):
    from .counter_day import return_from_list
    tablet = tablets().open_and_pair()
    page = tablet.page
    number = tablet.sell(["Coca-Cola 1.5L"], cash_rs=500)
    return_from_list(tablet, number)
    page.get_by_role("button", name="اردو", exact=True).click()
    wait_js(page, "document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ur'")
    # The sale's line by its product's Urdu name, as on the grid and the receipt (the document keeps English).
    coke = page.get_by_role("spinbutton", name=COKE_UR, exact=True)
    tablet.expect(coke).to_be_visible()
    tablet.expect(page.locator("li .name").first).to_contain_text(COKE_UR)
    assert page.get_by_text("Coca-Cola 1.5L").count() == 0
    # The quantity typed in Urdu digits, key by key, as an Urdu keyboard sends it: read as 1.
    complete = page.get_by_role("button", name="واپسی مکمل کریں", exact=True)   # "Complete return"
    tablet.expect(complete).to_be_disabled()
    coke.press_sequentially("۱")
    tablet.expect(coke).to_have_value("۱")
    tablet.expect(coke).to_have_attribute("aria-valuenow", "1")      # what a screen reader says
    tablet.expect(coke).to_have_attribute("aria-valuemax", "1")
    tablet.expect(page.locator(".returning .total")).to_have_text(re.compile(r"^واپس ادا کریں\W*Rs 210\W*$"))   # "Pay back Rs 210"
    tablet.expect(complete).to_be_enabled()
    # ↑ stops at what is left to return, ↓ at nothing.
    coke.press("ArrowUp")
    tablet.expect(coke).to_have_value("1")
    coke.press("ArrowDown")
    coke.press("ArrowDown")
    tablet.expect(coke).to_have_value("0")
    tablet.expect(complete).to_be_disabled()


def test_the_urdu_low_badge_holds_its_word(rig, tablets):
    tablet = tablets().open_and_pair()
    page = tablet.page
    page.get_by_role("button", name="اردو", exact=True).click()
    wait_js(page, "document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ur'")
    # Shown as it is when a product runs low: the word's letters inside the badge's coloured box.
    box, letters = page.evaluate("""() => {
      const badge = document.querySelector('.product .low');
      badge.hidden = false;
      const letters = document.createRange();
      letters.selectNodeContents(badge);
      const [b, t] = [badge.getBoundingClientRect(), letters.getBoundingClientRect()];
      return [[b.top, b.bottom], [t.top, t.bottom]];
    }""")
    assert box[0] <= letters[0] + 0.5 and letters[1] <= box[1] + 0.5, (box, letters)
