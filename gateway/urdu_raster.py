"""Slips that need shaping (Urdu) drawn as one 1-bit image exactly as wide as the printer's head.

No thermal printer in a Pakistani shop shapes Arabic script: sent as text, Urdu prints as isolated
letters in the wrong order, or as question marks. So the box shapes it: Pillow's raqm layout
(HarfBuzz for the joining forms, FriBiDi for the order) with a Naskh (or Nastaliq) font, and sends
the pixels (gateway/escpos_receipt.py, GS v 0).

The Urdu fonts have no Latin letters, and an Urdu receipt is full of them (Rs 1,234, T1-000042,
product names). Each line is therefore cut into runs by script: Arabic-script runs drawn right to
left with the Urdu font, the rest left to right with a Latin one (Noto Sans). Where the runs go is
a small part of the Unicode bidirectional algorithm, enough for a slip's two levels: neutrals
(spaces, punctuation) between two runs of one script join them, others take the paragraph's
direction; an Urdu paragraph lays its runs out from the right. A neutral the Urdu font cannot draw
(the minus sign, ×) goes to the Latin font.

Pure: rows in, an image out; fonts are loaded once per (file, size).
"""
from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import segno
from PIL import Image, ImageDraw, ImageFont, features

from .slip import Row

# Sizes in dots (203 dpi: 24 dots is the printer's own Font A). Naskh looks smaller than Latin at
# the same size, so its size is larger.
LATIN_SIZE, LATIN_BIG = 24, 36
URDU_SIZE, URDU_BIG = 28, 40
MARGIN = 4            # dots kept clear at each edge (a head's outer dots print faintly)
INDENT = 24
ROW_GAP = 4
QR_DOTS = 200         # FBR asks for about an inch of QR code; 203 dots is an inch

# The till's t() marks (isolates) go: the layout below does the bidi. The minus sign is in neither
# Noto face: a hyphen prints the same on a thermal slip.
_PRINTABLE = {**dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f")), ord("\u2212"): "-"}
Piece = tuple[str, str, str]   # (text, font script 'A' | 'L', direction 'rtl' | 'ltr')
LINE_SPREAD = 0.8   # of a face's ascent + descent: Naskh's room for stacked marks, less what a slip never uses


@dataclass(frozen=True)
class Fonts:
    """The four faces a slip uses (files of fonts-noto-core on a box; gateway settings name them)."""
    urdu: Path
    urdu_bold: Path
    latin: Path
    latin_bold: Path

    @classmethod
    def in_dir(cls, directory: Path, urdu: str = "NotoNaskhArabic", latin: str = "NotoSans") -> "Fonts":
        return cls(directory / f"{urdu}-Regular.ttf", directory / f"{urdu}-Bold.ttf",
                   directory / f"{latin}-Regular.ttf", directory / f"{latin}-Bold.ttf")

    def missing(self) -> list[str]:
        """What the box lacks to draw Urdu: font files, or Pillow's shaper (libraqm), without which Urdu
        would print unshaped (letters apart, in the wrong order): never print it so."""
        lacking = [str(path) for path in (self.urdu, self.urdu_bold, self.latin, self.latin_bold) if not path.is_file()]
        return lacking + ([] if features.check_feature("raqm") else ["libraqm (Pillow's Urdu shaping)"])


@functools.lru_cache(maxsize=32)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)


@functools.lru_cache(maxsize=4096)
def _has_glyph(path: Path, ch: str) -> bool:
    """Whether the font draws `ch` as something other than its missing-glyph box."""
    font = _font(path, 24)

    def ink(text: str) -> bytes:
        image = Image.new("L", (48, 48))
        ImageDraw.Draw(image).text((8, 8), text, font=font, fill=255)
        return image.tobytes()
    return ch.isspace() or ink(ch) != ink("\U000FFFFD")   # a private-use character no font here has


def is_arabic(ch: str) -> bool:
    """Arabic script: Urdu letters, Urdu and Arabic digits, Arabic punctuation and presentation forms."""
    o = ord(ch)
    return 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0x08A0 <= o <= 0x08FF or 0xFB50 <= o <= 0xFDFF \
        or 0xFE70 <= o <= 0xFEFF


def needs_shaping(text: str) -> bool:
    return any(is_arabic(ch) for ch in text)


def _strong(ch: str) -> str | None:
    """'A' (Arabic script), 'L' (Latin and other left-to-right letters, European digits) or None (neutral)."""
    if is_arabic(ch):
        return "A"
    return "L" if unicodedata.bidirectional(ch) in ("L", "EN") else None


def runs(text: str, rtl: bool, can_draw: Callable[[str, str], bool] = lambda _c, _s: True) -> list[Piece]:
    """The pieces of one line in visual order, left to right: (text, font 'A' | 'L', direction).

    `rtl` is the paragraph's direction. `can_draw(ch, script)` says whether that script's font has the
    character: a neutral one font lacks is drawn with the other, where the bidi order put it.
    """
    text = text.translate(_PRINTABLE)
    classes = [_strong(ch) for ch in text]
    for i, ch in enumerate(text):
        # A percent sign touching a European number is part of it ("10%": UBA rule W5), and so is a
        # sign right before a Latin value ("-Rs 50", where the browser would leave the sign behind).
        if unicodedata.bidirectional(ch) == "ET" and any(
                0 <= j < len(text) and unicodedata.bidirectional(text[j]) == "EN" for j in (i - 1, i + 1)) \
                or ch in "-+" and i + 1 < len(text) and classes[i + 1] == "L":
            classes[i] = "L"
    paragraph = "A" if rtl else "L"
    i = 0
    while i < len(text):
        if classes[i] is not None:
            i += 1
            continue
        j = i
        while j < len(text) and classes[j] is None:
            j += 1
        before = classes[i - 1] if i > 0 else None
        after = classes[j] if j < len(text) else None
        for k in range(i, j):   # between two runs of one script: joins them; else the paragraph's
            classes[k] = before if before is not None and before == after else paragraph
        i = j
    level_runs: list[list[str]] = []   # [script, text]
    for ch, script in zip(text, classes):
        if level_runs and level_runs[-1][0] == script:
            level_runs[-1][1] += ch
        else:
            level_runs.append([script, ch])   # type: ignore[list-item] - every class is resolved above
    if rtl:
        level_runs.reverse()
    pieces: list[Piece] = []
    for script, part in level_runs:
        direction = "rtl" if script == "A" else "ltr"
        other = "L" if script == "A" else "A"
        fonts: list[list[str]] = []
        for ch in part:
            font = script if can_draw(ch, script) or not can_draw(ch, other) else other
            if fonts and fonts[-1][0] == font:
                fonts[-1][1] += ch
            else:
                fonts.append([font, ch])
        if direction == "rtl":
            fonts.reverse()
        pieces += [(chunk, font, direction) for font, chunk in fonts]
    return pieces


class Painter:
    """Lays rows out on a canvas `width` dots wide, right to left when `rtl`."""

    def __init__(self, fonts: Fonts, width: int, rtl: bool):
        self.fonts, self.width, self.rtl = fonts, width, rtl

    def _faces(self, big: bool, bold: bool) -> dict[str, ImageFont.FreeTypeFont]:
        return {"A": _font(self.fonts.urdu_bold if bold else self.fonts.urdu, URDU_BIG if big else URDU_SIZE),
                "L": _font(self.fonts.latin_bold if bold else self.fonts.latin, LATIN_BIG if big else LATIN_SIZE)}

    def _can_draw(self, ch: str, script: str) -> bool:
        return _has_glyph(self.fonts.urdu if script == "A" else self.fonts.latin, ch)

    def _runs(self, text: str, faces: dict[str, ImageFont.FreeTypeFont]) -> list[tuple[Piece, float]]:
        # A line with no Urdu in it is an English paragraph even on an Urdu slip (as <bdi> would make it):
        # "Thank you!" keeps its "!" at its end.
        rtl = self.rtl and needs_shaping(text)
        return [(piece, faces[piece[1]].getlength(piece[0], direction=piece[2]))
                for piece in runs(text, rtl, self._can_draw)]

    def measure(self, text: str, big: bool = False, bold: bool = False) -> float:
        return sum(width for _, width in self._runs(text, self._faces(big, bold)))

    def line_height(self, big: bool = False, bold: bool = False) -> tuple[int, int]:
        """(height, baseline from the top) of one line in these faces, both scripts fitting."""
        ascent = descent = 0
        for face in self._faces(big, bold).values():
            a, d = face.getmetrics()
            ascent, descent = max(ascent, a), max(descent, d)
        height = int((ascent + descent) * LINE_SPREAD)
        return height, ascent - (ascent + descent - height) // 2

    def draw_text(self, draw: ImageDraw.ImageDraw, x: float, baseline: int, text: str, big: bool, bold: bool) -> None:
        faces = self._faces(big, bold)
        x = round(x)   # whole dots: a glyph's edges then fall the same way wherever the line is
        for (part, script, direction), width in self._runs(text, faces):
            draw.text((x, baseline), part, font=faces[script], fill=0, anchor="ls", direction=direction,
                      language="ur" if script == "A" else "en")
            x += width

    def wrap(self, text: str, width: float, big: bool = False, bold: bool = False) -> list[str]:
        """Lines of at most `width` dots, broken between words (within a word too long for one line)."""
        lines: list[str] = []
        current = ""
        for word in text.split():
            trial = f"{current} {word}" if current else word
            if self.measure(trial, big, bold) <= width or not current:
                current = trial
            else:
                lines.append(current)
                current = word
            while self.measure(current, big, bold) > width and len(current) > 1:
                cut = len(current) - 1
                while cut > 1 and self.measure(current[:cut], big, bold) > width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
        return lines + [current] if current else lines or [""]

    # --- rows ---------------------------------------------------------------------------------

    def _row_ops(self, row: Row) -> tuple[int, Callable[[ImageDraw.ImageDraw, Image.Image, int], None]]:
        """(height, draw(draw, image, top)) of one row."""
        if row.kind == "rule":
            def rule(draw: ImageDraw.ImageDraw, _image: Image.Image, top: int) -> None:
                for x in range(MARGIN, self.width - MARGIN, 8):
                    draw.rectangle((x, top + 5, x + 4, top + 6), fill=0)
            return 12, rule
        if row.kind == "qr":
            code = segno.make(row.text, error="m")
            modules = code.symbol_size(border=2)[0]
            scale = max(2, round(QR_DOTS / modules))
            matrix = [list(r) for r in code.matrix_iter(border=2)]

            def qr(_draw: ImageDraw.ImageDraw, image: Image.Image, top: int) -> None:
                left = (self.width - modules * scale) // 2
                square = ImageDraw.Draw(image)
                for y, cells in enumerate(matrix):
                    for x, dark in enumerate(cells):
                        if dark:
                            square.rectangle((left + x * scale, top + y * scale, left + (x + 1) * scale - 1,
                                              top + (y + 1) * scale - 1), fill=0)
            return modules * scale + ROW_GAP, qr
        height, baseline = self.line_height(row.big, row.bold)
        indent = INDENT if row.indent else 0
        inner = self.width - 2 * MARGIN - indent
        if row.kind == "pair":
            value_width = self.measure(row.value, row.big, row.bold)
            lines = self.wrap(row.text, max(inner / 3, inner - value_width - 16), row.big, row.bold)
        else:
            value_width, lines = 0.0, self.wrap(row.text, inner, row.big, row.bold)
        align = "center" if row.kind == "center" else "start"

        def text_row(draw: ImageDraw.ImageDraw, _image: Image.Image, top: int) -> None:
            for n, line in enumerate(lines):
                y = top + n * height + baseline
                self.draw_text(draw, self._start_x(self.measure(line, row.big, row.bold), align, indent), y, line,
                               row.big, row.bold)
            if row.kind == "pair":
                y = top + (len(lines) - 1) * height + baseline
                self.draw_text(draw, self._start_x(value_width, "end", 0), y, row.value, row.big, row.bold)
        return len(lines) * height + ROW_GAP, text_row

    def _start_x(self, text_width: float, align: str, indent: int) -> float:
        """The left edge of a text `text_width` dots wide: at the line's start (the right in Urdu, after
        any indent), its end, or centred."""
        if align == "center":
            return (self.width - text_width) / 2
        start_on_left = not self.rtl
        if (align == "start") == start_on_left:
            return MARGIN + indent
        return self.width - MARGIN - indent - text_width

    def render(self, rows: list[Row]) -> Image.Image:
        """The rows as one 1-bit image, `width` dots wide (black ink = 0, as Pillow's mode "1")."""
        laid = [self._row_ops(row) for row in rows]
        height = sum(h for h, _ in laid) + 2 * MARGIN
        image = Image.new("L", (self.width, height), 255)
        draw = ImageDraw.Draw(image)
        top = MARGIN
        for h, paint in laid:
            paint(draw, image, top)
            top += h
        # A threshold, not dithering: grey anti-aliased edges would print as speckles around each letter.
        return image.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)


def render_rows(rows: list[Row], fonts: Fonts, width: int, rtl: bool) -> Image.Image:
    return Painter(fonts, width, rtl).render(rows)
