"""The box's printing and fiscal figures (issues 9 and 11), each beside a floor from the same run.

- An Urdu receipt drawn as a raster (Pillow + raqm, what a thermal printer needs for Urdu) beside the
  same sale's English slip sent as printer text: what shaping and drawing Urdu costs per receipt.
- FBR's PostData built from stored sales beside json.dumps of the same documents: what the mapping
  (Decimal rupees, item sums) costs beyond serialising what the box already holds.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from gateway.escpos_receipt import slip_bytes
from gateway.fiscal_invoice import post_data
from gateway.receipt_model import receipt_model
from gateway.slip import receipt_rows
from gateway.urdu_raster import Fonts
from tests.bench.report import Figure, median_of
from tests.gateway.print_documents import discounted_sale, urdu_sale

FONTS = Path("/usr/share/fonts/truetype/noto")
CATALOG = {"shop_name": "Madina General Store", "products": [], "cashiers": [], "settings": {"address": "Shop 4"}}
INVOICES = 1000


def _slip_ms(document: dict, language: str, fonts: Fonts) -> tuple[float, int]:
    model = receipt_model(document, catalog=CATALOG, shop_name=CATALOG["shop_name"], cashier_name="Ayesha",
                          language=language)
    rows = receipt_rows(model, language)
    size = len(slip_bytes(rows, width_dots=576, fonts=fonts, rtl=language == "ur"))

    def once() -> float:
        started = time.perf_counter()
        slip_bytes(rows, width_dots=576, fonts=fonts, rtl=language == "ur")
        return (time.perf_counter() - started) * 1000
    return median_of(21, once)[0], size


def bench_printing() -> list[Figure]:
    fonts = Fonts.in_dir(FONTS)
    urdu_ms, urdu_bytes = _slip_ms(urdu_sale(), "ur", fonts)
    text_ms, text_bytes = _slip_ms(discounted_sale(), "en", fonts)
    sales = [discounted_sale(seq=i + 1) for i in range(INVOICES)]

    def mapped() -> float:
        started = time.perf_counter()
        for sale in sales:
            json.dumps(post_data(sale, pos_id=123456, mode="fbr", products={}, tz="Asia/Karachi"))
        return INVOICES / (time.perf_counter() - started)

    def dumped() -> float:
        started = time.perf_counter()
        for sale in sales:
            json.dumps(sale)
        return INVOICES / (time.perf_counter() - started)

    return [
        Figure("Urdu receipt as a 576-dot raster", "ms", urdu_ms, text_ms, "the English slip as printer text",
               note=f"{urdu_bytes:,} B to the printer against {text_bytes:,} B"),
        Figure("FBR PostData built from a stored sale", "invoices/s", median_of(5, mapped)[0],
               median_of(5, dumped)[0], "json.dumps of the same documents",
               note="FBR takes one request per invoice: its round trip, not this, sets the queue's pace"),
    ]
