"""Slips as printer bytes (gateway/slip.py, escpos_receipt.py, urdu_raster.py), without a printer.

The Urdu receipt is checked as pixels: decoded back from its GS v 0 raster and compared, word by
word, with a reference rendering of the shaped text. Agreement above a threshold, so a hinting
change does not break it; letters left unjoined, or drawn by a Latin-only font, must fail the
same check (tested below), so it proves the shaping.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from gateway.dashboard import format_rs
from gateway.escpos_receipt import KICK, as_text, slip_bytes
from gateway.receipt_model import receipt_model, z_report
from gateway.settings import GatewaySettings
from gateway.slip import URDU, printer_check_rows, receipt_rows, z_report_rows
from gateway.urdu_raster import LATIN_BIG, MARGIN, URDU_BIG, Fonts, runs
from tests.fake_printer import raster_bitmap, raster_images
from tests.gateway import print_documents as docs
from tests.gateway.test_minify import node_or_skip
from tests.gateway.test_receipt_model import run_node

FONTS = Fonts.in_dir(Path("/usr/share/fonts/truetype/noto"))


def fonts_or_skip() -> None:
    """The Urdu fonts and Pillow's shaper: a machine without them skips, CI fails (make browser installs them)."""
    if lacking := FONTS.missing():
        if os.environ.get("CI"):
            pytest.fail(f"CI must draw Urdu slips: missing {', '.join(lacking)}")
        pytest.skip(f"cannot draw Urdu here: missing {', '.join(lacking)} (make browser)")


@pytest.fixture
def fonts_present() -> None:
    fonts_or_skip()


needs_fonts = pytest.mark.usefixtures("fonts_present")
CUT = b"\x1dV"


def english_receipt(**kwargs: object) -> bytes:
    model = receipt_model(docs.discounted_sale(), catalog=docs.catalog(), cashier_name="Ayesha", **kwargs)
    return slip_bytes(receipt_rows(model), width_dots=576, fonts=FONTS)


def test_an_english_receipt_is_text_with_header_lines_totals_and_a_cut() -> None:
    data = english_receipt()
    assert data.startswith(b"\x1b@")                                   # ESC @ first: nothing left set by the last job
    for words in (b"Karachi Kiryana", b"Shop 4, Tariq Road", b"T1-000001", b"Ayesha", b"Tapal Danedar 190g",
                  b"Sugar (loose)", b"1.5 kg @ Rs 160/kg", b"Cart discount 10%", b"Total", b"Rs 1,161",
                  b"Change", b"Thank you!"):
        assert words in data, words
    assert raster_images(data) == []                                   # text, not pixels
    assert CUT in data[-8:]                                            # the cut comes last
    assert KICK not in data                                            # the queue adds the kick when it sends
    assert b"DUPLICATE" not in data and b"DUPLICATE" in english_receipt(duplicate=True)


def test_change_is_printed_only_for_a_sale_with_cash_among_its_tenders() -> None:
    def pairs(document: dict) -> list[tuple[str, str]]:
        model = receipt_model(document, catalog=docs.catalog(), cashier_name="Ayesha")
        return [(row.text, row.value) for row in receipt_rows(model)]
    # Change is only ever given from cash: a card or an on-account sale has none, not "Change Rs 0".
    for no_cash in (docs.card_sale(), docs.credit_sale()):
        assert not any(text == "Change" for text, _ in pairs(no_cash)), no_cash["payments"]
    assert ("Change", "Rs 0") in pairs(docs.credit_sale(cash=10000))           # part cash, exact: said so
    assert ("Change", "Rs 50") in pairs(docs.wallet_split_sale())                # 1,700 given for 1,650


def test_a_khata_payment_slip_says_what_was_received_in_either_language() -> None:
    model = receipt_model(docs.khata_payment(note="For November"), catalog=docs.catalog(), cashier_name="Ayesha",
                          customer={"name": "Bilal Ahmed", "balanceAfter": 60000, "tabletOnly": True})
    english = [(row.text, row.value) for row in receipt_rows(model)]
    for row in (("KHATA PAYMENT", ""), ("Amount received", "Rs 500"), ("Cash", "Rs 500"), ("Customer", "Bilal Ahmed"),
                ("Balance after, as known to this tablet", "Rs 600"), ("Note: For November", "")):
        assert row in english, row
    # Not a sale: no lines, no GST, no change, no total, not the shop's footer for sales.
    assert not any(text.startswith(("GST", "Change", "Total", "Tapal", "Thank you")) for text, _ in english)
    # Paid ahead: the shop owes her, said in words as the till's khata screen says it.
    ahead = receipt_model(docs.khata_payment(), catalog=docs.catalog(), cashier_name="Ayesha",
                          customer={"name": "Bilal Ahmed", "balanceAfter": -20000, "tabletOnly": False})
    assert ("Balance after", "Rs 200 in advance") in [(row.text, row.value) for row in receipt_rows(ahead)]
    assert (URDU["Balance after"], "Rs 200 پیشگی") in [(row.text, row.value) for row in receipt_rows(ahead, "ur")]
    urdu = [(row.text, row.value) for row in receipt_rows(model, "ur")]
    for row in ((URDU["KHATA PAYMENT"], ""), (URDU["Amount received"], "Rs 500"), (URDU["Cash"], "Rs 500"),
                (URDU["Balance after, as known to this tablet"], "Rs 600"), (f"{URDU['Note']}: For November", "")):
        assert row in urdu, row


def test_text_columns_fit_the_paper() -> None:
    for width, columns in ((576, 48), (384, 32)):
        model = receipt_model(docs.discounted_sale(), catalog=docs.catalog(), cashier_name="Ayesha")
        data = slip_bytes(receipt_rows(model), width_dots=width, fonts=FONTS)
        lines = [line for line in data.split(b"\n") if b"Rs 1,161" in line]
        assert lines and lines[0].rstrip().endswith(b"Rs 1,161")
        assert len(lines[0].split(b"Total")[-1]) + len(b"Total") == columns


def test_words_that_are_not_ascii_send_the_slip_to_raster() -> None:
    rows = receipt_rows(receipt_model(docs.urdu_sale(), catalog=docs.catalog(), cashier_name="Ayesha"), "en")
    assert as_text(rows) is not None          # English names only: text (× and − become x and -)
    rows = receipt_rows(receipt_model(docs.urdu_sale(), catalog=docs.catalog(), cashier_name="Ayesha",
                                      language="ur"), "ur")
    assert as_text(rows) is None


def test_the_urdu_words_are_the_tills() -> None:
    node_or_skip()
    script = ("const { URDU } = await import('./web_till/i18n.js');"
              "process.stdout.write(JSON.stringify(URDU));")
    till = run_node(script, None)
    assert {phrase: till.get(phrase) for phrase in URDU} == URDU


def test_bidi_runs_of_an_urdu_line() -> None:
    # Visual order, left to right: the amount's Latin run at the left of the Urdu label; "10%" whole.
    assert runs("کل Rs 1,234", rtl=True) == [("Rs 1,234", "L", "ltr"), ("کل ", "A", "rtl")]
    assert runs("ٹوکری پر رعایت 10%", rtl=True)[0] == ("10%", "L", "ltr")
    assert runs("رعایت −Rs 50", rtl=True)[0] == ("-Rs 50", "L", "ltr")
    assert runs("Tapal چائے", rtl=False) == [("Tapal ", "L", "ltr"), ("چائے", "A", "rtl")]


# --- the Urdu receipt as pixels -------------------------------------------------------------------------


def ink_bands(image: Image.Image) -> list[tuple[int, int]]:
    """(top, bottom) of each horizontal band of rows with ink, top to bottom."""
    bands, start = [], None
    for y in range(image.height):
        inked = image.crop((0, y, image.width, y + 1)).getextrema()[0] == 0
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            bands.append((start, y))
            start = None
    return bands + ([(start, image.height)] if start is not None else [])


def cropped(image: Image.Image) -> Image.Image:
    """The ink's bounding box of a 1-bit image (black = 0)."""
    box = ImageChops.invert(image.convert("L")).getbbox()
    assert box, "no ink"
    return image.crop(box)


def agreement(a: Image.Image, b: Image.Image) -> float:
    """Black pixels both have / black pixels either has, after cropping to the ink (0 if sizes differ by > 2)."""
    a, b = cropped(a), cropped(b)
    if abs(a.width - b.width) > 2 or abs(a.height - b.height) > 2:
        return 0.0
    size = (max(a.width, b.width), max(a.height, b.height))
    ink_a, ink_b = (Image.new("1", size, 0) for _ in range(2))
    ink_a.paste(ImageChops.invert(a.convert("L")).convert("1"), (0, 0))
    ink_b.paste(ImageChops.invert(b.convert("L")).convert("1"), (0, 0))
    both = ImageChops.logical_and(ink_a, ink_b).histogram()[255]
    either = ImageChops.logical_or(ink_a, ink_b).histogram()[255]
    return both / either if either else 0.0


def reference(text: str, font_path: Path, size: int, layout: ImageFont.Layout = ImageFont.Layout.RAQM) -> Image.Image:
    """The text alone, drawn the plain way: Pillow with the font, right to left, nothing of the box's layout."""
    font = ImageFont.truetype(str(font_path), size, layout_engine=layout)
    image = Image.new("L", (800, size * 3), 255)
    kwargs = {"direction": "rtl", "language": "ur"} if layout == ImageFont.Layout.RAQM else {}
    ImageDraw.Draw(image).text((20, size), text, font=font, fill=0, **kwargs)
    return image.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)


THRESHOLD = 0.9


@needs_fonts
def test_an_urdu_receipt_is_one_raster_of_the_heads_width_with_shaped_text() -> None:
    catalog = docs.catalog(mode="fbr", pos_ids={docs.DEVICE_ID: 998877}, shop_name=docs.URDU_SHOP)
    model = receipt_model(docs.urdu_sale(service_fee=100), catalog=catalog, cashier_name="Ayesha", language="ur",
                          fiscal=docs.fiscalized_record())
    data = slip_bytes(receipt_rows(model, "ur"), width_dots=576, fonts=FONTS, rtl=True)
    assert {w for w, _, _ in raster_images(data)} == {576 // 8}         # exactly the 80 mm head's 576 dots
    assert CUT in data[-8:] and b"Rs" not in data                       # all of it pixels, then the cut
    bitmap = raster_bitmap(data)
    assert bitmap.width == 576 and bitmap.height > 600
    if os.environ.get("POSLINE_SCREENSHOTS"):   # the README's picture of what the printer gets
        out = Path(os.environ["POSLINE_SCREENSHOTS"]) / "urdu-receipt-raster.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        bitmap.save(out)

    # The first band of ink is the shop's Urdu name (big, bold, centred), the second the address.
    top, bottom = ink_bands(bitmap)[0]
    shop_line = bitmap.crop((0, top, bitmap.width, bottom))
    shaped = reference(docs.URDU_SHOP, FONTS.urdu_bold, URDU_BIG)
    assert agreement(shop_line, shaped) > THRESHOLD
    # The same letters unjoined (no shaping: isolated forms, left to right), or drawn by a font without
    # Arabic letters (what a Latin-only renderer prints), do not pass the same check.
    unshaped = reference(docs.URDU_SHOP, FONTS.urdu_bold, URDU_BIG, ImageFont.Layout.BASIC)
    latin_only = reference(docs.URDU_SHOP, FONTS.latin_bold, LATIN_BIG)
    assert agreement(shaped, unshaped) < THRESHOLD
    assert agreement(shop_line, unshaped) < THRESHOLD
    assert agreement(shop_line, latin_only) < THRESHOLD
    # Right to left: the Urdu label "Receipt" ends at the right margin, its number starts at the left.
    receipt_band = next(b for b in ink_bands(bitmap)[4:] if cropped(bitmap.crop((0, b[0], 576, b[1]))).width > 400)
    row = bitmap.crop((0, receipt_band[0], 576, receipt_band[1]))
    box = ImageChops.invert(row.convert("L")).getbbox()
    assert box[0] <= MARGIN + 2 and box[2] >= 576 - MARGIN - 8   # a glyph's side bearing


@needs_fonts
def test_a_58_mm_printer_gets_384_dots() -> None:
    model = receipt_model(docs.urdu_sale(), catalog=docs.catalog(), cashier_name="Ayesha", language="ur")
    data = slip_bytes(receipt_rows(model, "ur"), width_dots=384, fonts=FONTS, rtl=True)
    assert {w for w, _, _ in raster_images(data)} == {384 // 8}
    assert all(h <= 256 for _, h, _ in raster_images(data))             # stripes a cheap printer's buffer takes


@needs_fonts
def test_the_z_report_and_the_test_page() -> None:
    opening, shift_docs, closing = docs.shift_documents()
    report = z_report(opening, shift_docs, closing)
    rows = z_report_rows(report, shop_name="Karachi Kiryana", device_code="T1", number="T1-000006",
                         cashier_names=lambda c: {"c1": "Ayesha", "c2": "Bilal"}.get(c, c))
    data = slip_bytes(rows, width_dots=576, fonts=FONTS)
    over = {1: b"Over", -1: b"Short", 0: b"Cash matches"}[(report["over_short"] > 0) - (report["over_short"] < 0)]
    for words in (b"Z-REPORT", b"Karachi Kiryana", b"T1-000006", b"Sales total", b"Expected cash", over,
                  format_rs(abs(report["over_short"])).encode(), b"Ayesha: 2 sales, 0 returns", b"Bilal: 0 sales, 1 return "):
        assert words in data, words
    assert b"1 returns" not in data   # one is a return, not "returns"
    page = slip_bytes(printer_check_rows(shop_name="Shop", printer_name="Counter 1", width_dots=384, when="now"),
                      width_dots=384, fonts=FONTS)
    assert raster_images(page) and {w for w, _, _ in raster_images(page)} == {48}   # its Urdu line makes it a raster


def test_fonts_are_where_the_box_expects_them() -> None:
    """Where the box's settings look (by default) is where fonts-noto-core puts them; on a Debian
    machine (a box, CI) they are there, and Pillow shapes with libraqm."""
    if shutil.which("apt-get") is None and not os.environ.get("CI"):
        pytest.skip("not a Debian machine: the box's packages are not installed here")
    default = GatewaySettings.model_fields
    assert Fonts.in_dir(default["print_font_dir"].default, default["print_urdu_font"].default,
                        default["print_latin_font"].default) == FONTS
    assert FONTS.missing() == []


async def test_the_printed_fbr_block_comes_from_the_fiscal_queue(tmp_path: Path) -> None:
    import json

    from gateway import fiscal_jobs, print_jobs
    from gateway.store import Store
    store = await Store.open(tmp_path / "box")
    try:
        sale = docs.sale(service_fee=100)
        async with store.transaction() as db:
            await db.execute("INSERT INTO catalog (id, etag, body, fetched_at) VALUES (1, 'e', ?, 'now')",
                             (json.dumps(docs.catalog(mode="fbr")),))
            await db.execute("INSERT INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at) "
                             "VALUES (?, 'sale', ?, 'T1', 1, ?, ?, 'now')",
                             (sale["id"], docs.DEVICE_ID, sale["hash"], json.dumps(sale)))

        async def printout() -> bytes:
            rendered = await print_jobs.render_receipt(store.read(), sale["id"], shop_name="Box", duplicate=False,
                                                       language="en", width_dots=576, fonts=FONTS)
            assert rendered.kick                                        # paid in cash
            return rendered.payload
        assert b"FBR: pending" in await printout()                      # no job yet: pending, as on the till
        async with store.transaction() as db:
            await db.execute(
                "INSERT INTO fiscal_jobs (document_id, position, kind, device_id, device_code, usin, day, created_at, "
                "status, fbr_number, pos_id, changed_at, changed_seq) VALUES (?, 1, 'sale', ?, 'T1', 'T1-000001', "
                "'2026-11-27', 'now', 'fiscalized', ?, 123456, 'now', 1)", (sale["id"], docs.DEVICE_ID, docs.FBR_NUMBER))
        slip = await printout()
        assert b"FBR POS" in slip and docs.FBR_NUMBER.encode() in slip and b"POS registration 123456" in slip
        assert b"POS service fee" in slip and len(raster_images(slip)) == 1    # the QR code, as a picture
        assert raster_images(slip)[0][1] >= 190                                 # about an inch of it
        async with store.transaction() as db:
            await db.execute("UPDATE fiscal_jobs SET status = 'parked', fbr_number = NULL")
        assert docs.FBR_NUMBER.encode() not in await printout()
        assert (await fiscal_jobs.fiscal_record(store.read(), sale["id"]))["status"] == "failed"
        with pytest.raises(print_jobs.NotHeld):
            await print_jobs.render_receipt(store.read(), "no-such-id", shop_name="Box", duplicate=False,
                                            language="en", width_dots=576, fonts=FONTS)
    finally:
        await store.close()


@pytest.mark.parametrize("over_short, word, amount", [(-4000, "Short", "Rs 40"), (2550, "Over", "Rs 25.50"),
                                                      (0, "Cash matches", "Rs 0")])
def test_the_z_reports_last_line_says_which_way_with_no_minus(over_short: int, word: str, amount: str) -> None:
    """"Short Rs 40", never "Short -Rs 40" (a double negative a cashier reads as over); a drawer that
    matches says so, not "Over Rs 0"."""
    opening, shift_docs, closing = docs.shift_documents()
    report = {**z_report(opening, shift_docs, closing), "over_short": over_short}
    rows = z_report_rows(report, shop_name="Shop", device_code="T1", number="T1-000006", cashier_names=str)
    last = [row for row in rows if row.kind == "pair"][-1]
    assert (last.text, last.value) == (word, amount)


def test_the_urdu_z_report_lists_with_urdus_comma() -> None:
    opening, shift_docs, closing = docs.shift_documents()
    report = z_report(opening, shift_docs, closing)
    rows = z_report_rows(report, shop_name="Shop", device_code="T1", number="T1-000006", cashier_names=str,
                         language="ur")
    by_cashier = [row.text for row in rows if row.kind == "pair" and row.text.startswith("c1:")]
    assert by_cashier and all("،" in text and "," not in text for text in by_cashier), by_cashier
