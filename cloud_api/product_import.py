"""Products from and to the owner's spreadsheet (CSV): pure parsing and writing, no database.

The file has a header row naming these columns, in any order (extra columns refused, so a typo
in a header is not silently ignored):

    sku,name,name_ur,barcode,category,gst_percent,unit,price_rs,low_stock_at,pct_code

UTF-8, with or without Excel's byte order mark. Money is rupees with up to 2 decimals, read as
text into integer paisa (never a float): 550, 549.5, 1,234.50, "Rs 1,234.50". GST is a percent
with up to 2 decimals (17.5 -> 1750 basis points). Unit is each, kg or l. The PCT code (FBR / PRA
invoices, issue 9) is 8 digits, 09023000 or 0902.3000; 7 digits get their leading 0 back, since a
spreadsheet reads 09023000 as the number 9023000 (tea, meat, dairy: chapters 01-09). Every row is checked
with the same rules as the owner API (contract.ProductIn), and every error is named by its
spreadsheet row (the header is row 1), field and message, so the owner can fix them all at once.

Only sku, name, gst_percent and price_rs are required. A product the shop has already is changed in
the columns the file has and no others: a file of prices alone leaves names, barcodes and units as they
are (`ParsedFile.fields`). A new product gets the defaults of a column left out (unit each, the rest empty).

Every message is a `Said`: English text that also carries its phrase and values, so a page shows it in
Urdu (office/words_catalog.py).

Export writes the same columns; a cell that a spreadsheet would run as a formula (= + - @ at its
start) is written with a leading apostrophe, which import takes off again, so export -> import
changes nothing.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from pydantic import ValidationError

from .contract import Product, ProductIn
from .office.formats import FORMULA_START as _FORMULA, csv_safe

# pct_code last: a file exported before it (nine columns) still imports as it is.
COLUMNS = ("sku", "name", "name_ur", "barcode", "category", "gst_percent", "unit", "price_rs", "low_stock_at",
           "pct_code")
REQUIRED = ("sku", "name", "gst_percent", "price_rs")
# The app takes request bodies up to 2 MiB and the preview carries the file back (base64, 4/3):
# 1 MB of CSV is some 10,000 products, twice the row limit.
MAX_BYTES = 1_000_000
MAX_ROWS = 5000
UNITS = ("each", "kg", "l")

_RUPEES = re.compile(r"(?:rs\.?\s*)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?", re.IGNORECASE | re.ASCII)
_PERCENT = re.compile(r"(\d{1,3})(?:\.(\d{1,2}))?\s*%?", re.ASCII)
_WHOLE = re.compile(r"\d{1,12}", re.ASCII)
_SPREADSHEET_PCT = re.compile(r"\d{7}", re.ASCII)   # 09023000 after a spreadsheet took its leading 0
# Digits typed on an Urdu keyboard (۰-۹) or in Arabic (٠-٩) and the Arabic decimal and group marks,
# as the till reads them (web_till/money.js westernDigits).
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫٬", "01234567890123456789.,")


class Said(str):
    """A message in English (it is the str) that a page can show in Urdu: its `phrase`, with {placeholders},
    and their `values` (which may be Said themselves, e.g. a unit's name)."""

    phrase: str
    values: dict[str, Any]

    def __new__(cls, phrase: str, **values: Any) -> "Said":
        said = super().__new__(cls, phrase.format(**values) if values else phrase)
        said.phrase, said.values = phrase, values
        return said

    def in_language(self, t: Any) -> str:
        """The message through `t` (a page's translate: t(phrase, **values))."""
        return t(self.phrase, **{name: value.in_language(t) if isinstance(value, Said) else value
                                 for name, value in self.values.items()})


def say(message: str, t: Any) -> str:
    """Any message through a page's `t`: a Said with its values, a plain phrase as it is."""
    return message.in_language(t) if isinstance(message, Said) else t(message)


@dataclass(frozen=True)
class RowError:
    row: int          # spreadsheet row: the header is row 1
    field: str
    message: str


@dataclass
class ParsedRow:
    row: int
    values: dict[str, str]
    errors: list[RowError] = field(default_factory=list)
    product: Product | None = None


@dataclass
class ParsedFile:
    """Every row as typed, each with its errors; `problem` is a whole-file error (no header, too big)."""

    rows: list[ParsedRow] = field(default_factory=list)
    problem: str | None = None
    columns: tuple[str, ...] = ()   # the header's, in COLUMNS' order

    @property
    def fields(self) -> tuple[str, ...]:
        """The product fields (ProductIn's) the file has a column for: all an import changes in a product."""
        return tuple(_PRODUCT_FIELD.get(name, name) for name in self.columns if name != "sku")

    @property
    def missing(self) -> tuple[str, ...]:
        """The columns the file leaves out (a product the shop has keeps what it has in them)."""
        return tuple(name for name in COLUMNS if name not in self.columns)

    def refuse(self, sku: str, field_name: str, message: str) -> None:
        """Mark the good row of `sku` bad (e.g. a change the database refuses), as if parsing had found it."""
        for row in self.rows:
            if row.product is not None and row.product.sku == sku:
                row.errors.append(RowError(row.row, field_name, message))
                row.product = None

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]

    @property
    def good(self) -> list[Product]:
        return [row.product for row in self.rows if row.product is not None]

    @property
    def bad_rows(self) -> int:
        return sum(1 for row in self.rows if row.errors)


def parse_rupees(text: str) -> int:
    """Rupees as typed ("1,234.50", "Rs 550", "549.5") in integer paisa; ValueError if not money."""
    text = text.strip().translate(_DIGITS)
    found = _RUPEES.fullmatch(text) if len(text) <= 30 else None   # no 5,000-digit int() to make
    if not found:
        raise ValueError(Said("must be rupees with up to 2 decimals, e.g. 549.50"))
    whole, cents = found.group(1).replace(",", ""), (found.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def parse_percent(text: str) -> int:
    """A GST percent as typed ("18", "17.5", "18%") in basis points; ValueError if not 0 to 100."""
    found = _PERCENT.fullmatch(text.strip().translate(_DIGITS))
    if not found:
        raise ValueError(Said("must be a percent with up to 2 decimals, e.g. 18 or 17.5"))
    bp = int(found.group(1)) * 100 + int((found.group(2) or "").ljust(2, "0"))
    if bp > 10000:
        raise ValueError(Said("must be from 0 to 100"))
    return bp


def rupees_text(paisa: int) -> str:
    """Paisa as the form and the CSV write rupees: 55000 -> "550.00"."""
    return f"{paisa // 100}.{paisa % 100:02d}"


def percent_text(bp: int) -> str:
    """Basis points as a percent: 1800 -> "18", 1750 -> "17.5"."""
    whole, rest = divmod(bp, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


def pct_code_text(typed: str) -> str:
    """A PCT code as typed, spaces off and Urdu digits read; 7 digits get back the leading 0 a spreadsheet
    dropped. Whether it is a PCT code at all is contract.ProductIn's to say."""
    text = "".join(typed.split()).translate(_DIGITS)
    return "0" + text if _SPREADSHEET_PCT.fullmatch(text) else text


def product_from_fields(values: dict[str, str]) -> tuple[ProductIn | None, dict[str, str]]:
    """A ProductIn from text fields (the CSV's columns, or the product form's), or the errors by field."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"name": values.get("name", "").strip()}
    for name in ("name_ur", "barcode", "category"):
        body[name] = values.get(name, "").strip() or None
    try:
        body["price"] = parse_rupees(values.get("price_rs", ""))
    except ValueError as err:
        errors["price_rs"] = err.args[0]
    gst = values.get("gst_percent", "").strip()
    try:
        # Required: a blank must not quietly mean "no GST" on every receipt.
        body["gst_bp"] = parse_percent(gst) if gst else None
        if not gst:
            errors["gst_percent"] = Said("is required (0 for goods without GST)")
    except ValueError as err:
        errors["gst_percent"] = err.args[0]
    unit = values.get("unit", "").strip().lower() or "each"
    if unit not in UNITS:
        errors["unit"] = Said("must be each, kg or l")
    body["unit"] = unit
    low = values.get("low_stock_at", "").strip().translate(_DIGITS)
    if low and not _WHOLE.fullmatch(low):
        errors["low_stock_at"] = Said("must be a whole number (pieces, or grams / ml when sold loose)")
    body["low_stock_at"] = int(low) if low and "low_stock_at" not in errors else None
    body["pct_code"] = pct_code_text(values.get("pct_code", "")) or None
    try:
        product = ProductIn.model_validate(body)
    except ValidationError as err:
        for problem in err.errors():
            name = _FIELD_OF.get(str(problem["loc"][0]), str(problem["loc"][0]))
            errors.setdefault(name, Said("must be at most Rs 100,000,000") if name == "price_rs" and
                              problem["type"] == "less_than_equal" else _message(problem))
        return None, errors
    return (None, errors) if errors else (product, {})


def parse_csv(data: bytes) -> ParsedFile:
    """Every row of an uploaded CSV with its errors; nothing is refused silently."""
    if len(data) > MAX_BYTES:
        return ParsedFile(problem=Said("the file is larger than {mb} MB: split it", mb=MAX_BYTES // 1_000_000))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ParsedFile(problem=Said("the file is not UTF-8 text: save it from the spreadsheet as CSV UTF-8"))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return ParsedFile(problem=Said("the file is empty"))
        header = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED if name not in header]
        unknown = [name for name in header if name not in COLUMNS]
        if missing or unknown or len(set(header)) != len(header):
            return ParsedFile(problem=Said("the first row must name the columns: {columns}", columns=",".join(COLUMNS)))
        parsed = ParsedFile(columns=tuple(name for name in COLUMNS if name in header))
        seen: dict[str, int] = {}
        for number, cells in enumerate(reader, start=2):   # the spreadsheet's row numbers
            if not any(cell.strip() for cell in cells):
                continue   # a blank line (spreadsheets leave them at the end)
            if len(parsed.rows) >= MAX_ROWS:
                return ParsedFile(problem=Said("the file has more than {n} products: split it", n=MAX_ROWS))
            parsed.rows.append(_row(number, header, cells, seen))
    except csv.Error as err:
        return ParsedFile(problem=Said("row {row} is not valid CSV ({error})", row=reader.line_num, error=str(err)))
    if not parsed.rows:
        return ParsedFile(problem=Said("the file has a header but no products"))
    return parsed


def _row(line: int, header: list[str], cells: list[str], seen: dict[str, int]) -> ParsedRow:
    if len(cells) != len(header):
        values = dict(zip(header, cells))
        return ParsedRow(line, values, [RowError(line, "row", Said("has {cells} cells, the header {columns}",
                                                                   cells=len(cells), columns=len(header)))])
    values = {name: _unquoted(cell) for name, cell in zip(header, cells)}
    row = ParsedRow(line, values)
    sku = values["sku"].strip()
    body, errors = product_from_fields(values)
    if not sku:
        errors = {"sku": Said("is required"), **errors}
    elif len(sku) > 200 or "\x00" in sku:
        errors = {"sku": Said("must be at most 200 characters, without NUL"), **errors}
    elif sku in seen:
        errors = {"sku": Said("{sku} is also on row {row}", sku=sku, row=seen[sku]), **errors}
    else:
        seen[sku] = line
    row.errors = [RowError(line, name, message) for name, message in errors.items()]
    if body is not None and not errors:
        row.product = Product(sku=sku, **body.model_dump())
    return row


def products_csv(products: Iterable[Any]) -> str:
    """The CSV that parse_csv reads back to the same products (rows with the Product fields)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for p in products:
        writer.writerow([_guarded(cell) for cell in (
            p.sku, p.name, p.name_ur or "", p.barcode or "", p.category or "", percent_text(p.gst_bp), p.unit,
            rupees_text(p.price), "" if p.low_stock_at is None else str(p.low_stock_at), p.pct_code or "")])
    return out.getvalue()


def _guarded(cell: str) -> str:
    # A spreadsheet runs "=HYPERLINK(...)" in a product name as a formula; the apostrophe makes it text.
    # One more rule than csv_safe: a cell that starts with an apostrophe keeps it (see _unquoted).
    return "'" + cell if cell.startswith("'") else csv_safe(cell)


def _unquoted(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and (cell[1:].startswith(_FORMULA) or cell[1:].startswith("'")) else cell


_FIELD_OF = {"price": "price_rs", "gst_bp": "gst_percent"}   # a ProductIn field's column (the others: its name)
_PRODUCT_FIELD = {column: name for name, column in _FIELD_OF.items()}


def _message(problem: Any) -> str:
    kind = problem["type"]
    if kind == "missing" or (kind == "string_too_short" and problem["ctx"].get("min_length") == 1):
        return Said("is required")
    if kind == "string_too_long":
        return Said("must be at most {n} characters", n=problem["ctx"]["max_length"])
    if kind in ("less_than_equal", "greater_than_equal"):
        return Said("is out of range") if kind == "greater_than_equal" else Said("must be at most {n}",
                                                                                   n=f"{problem['ctx']['le']:,}")
    message = str(problem["msg"]).removeprefix("Value error, ")
    if problem["loc"] and problem["loc"][0] == "pct_code" and kind == "value_error":   # contract.ProductIn's words
        return Said("must be a PCT code of 8 digits, e.g. 09023000 or 0902.3000")
    return Said("must not contain NUL characters") if message == "must not contain NUL characters" else message
