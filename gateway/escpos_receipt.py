"""Slips (gateway/slip.py rows) as the bytes an ESC/POS thermal printer takes.

Two ways, chosen per slip:
- plain ASCII (an English receipt of English names): the printer's own text, Font A, 48 columns on
  80 mm paper (576 dots), 32 on 58 mm (384 dots). Small and fast;
- anything else (Urdu words or names, other scripts): the whole slip as one 1-bit image exactly as
  wide as the head (gateway/urdu_raster.py), sent as GS v 0 raster stripes, because no such printer
  shapes Arabic script.

Either ends with a feed and a cut (GS V). The drawer kick (ESC p) is not part of these bytes: the
print queue adds it when it sends a job (gateway/print_queue.py), so a kick can never go out late.

python-escpos builds the bytes (its Dummy printer only collects them); the queue sends them over
TCP itself with asyncio, so a dead printer costs a timeout, never a blocked thread.
"""
from __future__ import annotations

import struct
import textwrap

from escpos.constants import CD_KICK_2, GS
from escpos.printer import Dummy
from PIL import Image

from .slip import Row
from .urdu_raster import Fonts, Painter

KICK = CD_KICK_2            # ESC p 0: pulse pin 2, the drawer socket of every common receipt printer
INIT = b"\x1b@"             # ESC @: forget what the last job left set (bold, alignment, size)
STRIPE = 256                # raster rows per GS v 0: small enough for the receive buffer of cheap printers
COLUMNS = {576: 48, 384: 32}
ASCII_FOR = str.maketrans({"×": "x", "−": "-", "–": "-", "—": "-", "·": "-", "…": "...", "\u2066": None,
                           "\u2067": None, "\u2068": None, "\u2069": None})
_INVERT = bytes(255 - b for b in range(256))


def as_text(rows: list[Row]) -> list[Row] | None:
    """The rows in plain ASCII (× as x ...), or None when some text needs the raster."""
    plain = []
    for row in rows:
        text, value = row.text.translate(ASCII_FOR), row.value.translate(ASCII_FOR)
        if not (text + value).isascii() or not (text + value).isprintable():
            return None
        plain.append(Row(row.kind, text, value, row.big, row.bold, row.indent))
    return plain


def slip_bytes(rows: list[Row], *, width_dots: int, fonts: Fonts, rtl: bool = False) -> bytes:
    """The slip as ESC/POS: text when it can be, else one raster image. Ends with a cut."""
    plain = None if rtl else as_text(rows)
    body = text_bytes(plain, width_dots, fonts) if plain is not None \
        else raster_bytes(Painter(fonts, width_dots, rtl).render(rows))
    printer = Dummy()
    printer.cut()   # feeds past the tear bar first (ESC d 6), then GS V
    return INIT + body + printer.output


def raster_bytes(image: Image.Image) -> bytes:
    """A 1-bit image as GS v 0 stripes (a set bit is a black dot; in Pillow's mode "1" a set bit is white)."""
    assert image.mode == "1" and image.width % 8 == 0, "a raster is 1-bit and a whole number of bytes wide"
    out = []
    for top in range(0, image.height, STRIPE):
        stripe = image.crop((0, top, image.width, min(top + STRIPE, image.height)))
        out.append(GS + b"v0\x00" + struct.pack("<HH", image.width // 8, stripe.height)
                   + stripe.tobytes().translate(_INVERT))
    return b"".join(out)


def text_bytes(rows: list[Row], width_dots: int, fonts: Fonts) -> bytes:
    """ASCII rows in the printer's Font A, centred and two-column lines padded to its columns."""
    columns = COLUMNS.get(width_dots, width_dots // 12)
    printer = Dummy()
    for row in rows:
        if row.kind == "rule":
            printer.textln("-" * columns)
        elif row.kind == "qr":
            # A picture of the code, not the printer's own QR command (GS ( k), which cheap clones lack.
            printer._raw(raster_bytes(Painter(fonts, width_dots, rtl=False).render([row])))
        elif row.kind == "center":
            printer.set(align="center", bold=row.bold, double_width=row.big, double_height=row.big,
                        normal_textsize=not row.big)
            for line in textwrap.wrap(row.text, columns // 2 if row.big else columns) or [""]:
                printer.textln(line)
            printer.set(align="left", bold=False, normal_textsize=True)
        else:
            printer.set(bold=row.bold)
            for line in _lines(row, columns):
                printer.textln(line)
            printer.set(bold=False)
    return printer.output


def _lines(row: Row, columns: int) -> list[str]:
    """A pair (label ... value, the value flush right on the label's last line) or indented text."""
    indent = "  " if row.indent else ""
    if row.kind != "pair":
        return textwrap.wrap(row.text, columns, initial_indent=indent, subsequent_indent=indent) or [""]
    room = columns - len(row.value) - 1
    if room < columns // 3:   # a value too wide to share a line: it gets its own, flush right
        return textwrap.wrap(row.text, columns) + [row.value.rjust(columns)]
    lines = textwrap.wrap(row.text, room) or [""]
    lines[-1] = lines[-1].ljust(room) + " " + row.value
    return lines
