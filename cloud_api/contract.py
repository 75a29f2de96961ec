"""The wire contract: documents, batches, per-document results, catalog, enrolment.

Defined once here. The gateway imports these models; the till mirrors them in
JavaScript (web_till/document.js) and the tests check what the till produces
against the JSON Schema of these same models.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Iterator, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from .credentials import PIN_PATTERN, PIN_POLICY

# A batch never carries more than this (DESIGN.md section 1).
MAX_BATCH_DOCUMENTS = 500
MAX_BATCH_BYTES = 1024 * 1024

DOCUMENT_KINDS = ("sale", "refund", "shift_open", "shift_close", "cash_movement", "drawer_open",
                  "customer", "khata_payment", "khata_adjustment")
RESULT_STATUSES = ("stored", "duplicate", "conflict", "invalid")
# "on_account" is credit (udhaar) written to a customer's khata (issue 10): no money changes hands.
TENDERS = ("cash", "card", "wallet", "on_account")
# Tenders that bring money in (a khata payment is taken in one of these, never on account).
MONEY_TENDERS = ("cash", "card", "wallet")
# Wallets a Pakistani counter takes a payment through; the reference is the wallet's transaction id.
WALLETS = ("jazzcash", "easypaisa", "raast", "bank_transfer")
# How a product is sold: by the piece, or loose by weight (kg) or volume (litre). A loose
# product's price is per kg / litre and its quantities are integer grams / millilitres.
UNITS = ("each", "kg", "l")
# Fiscal reporting (issue 9): off, FBR's IMS (federal), or PRA's (Punjab); the Re 1 POS service fee.
FISCAL_MODES = ("off", "fbr", "pra")
SERVICE_FEE = 100
# A PCT (Pakistan Customs Tariff) heading: 8 digits, printed by some as 0902.3000.
PCT_CODE = r"^[0-9]{4}\.?[0-9]{4}$"
DEFAULT_PCT_CODE = "00000000"

# Receipt numbers are "{device_code}-{seq:06d}"; device codes are T1, T2, ...
DEVICE_CODE = r"^T[1-9][0-9]{0,3}$"
# Document ids are the idempotency key: one spelling only (lower-case, as web_till/ids.js writes its
# version 7 UUIDs), so an upper-case copy of a sale can never become a second sale.
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
USIN_PATTERN = r"^T[1-9][0-9]{0,3}-[0-9]{6,}$"
# RFC 3339 with seconds and an explicit offset, as the till writes it (isoWithOffset).
RFC3339 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"

# --- bounds ---------------------------------------------------------------------
# Everything the box acks must be storable by the cloud, so every number and string
# on the wire is bounded here, once. tests/cloud/test_contract_bounds.py checks these
# against the cloud's columns (cloud_api/schema.py).

# JavaScript numbers are doubles: beyond 2**53 - 1 the till and Python would read
# different integers (and hash different bytes), so no integer may leave this range.
MAX_SAFE_INTEGER = 2**53 - 1
# Rs 10 crore on one document, line, payment or price: no Pakistani shop counter rings
# that up, and sums of it stay far inside BIGINT (a day would need ~900 million sales).
MAX_PAISA = 10**10
# Units of one product on one line or one stock movement (1 crore): far beyond a shop's
# shelf, small enough that a SKU's stock sum cannot overflow.
MAX_QTY = 10**7
# A till's seq: one document a second for 30 years, still far inside BIGINT and JS.
MAX_SEQ = 10**9
# A tablet clock off by up to a century is still recorded (and flagged), not refused: a tablet whose
# clock battery died reads 1970, 56 years behind, and its measured offset puts its sales right.
MAX_CLOCK_OFFSET_MS = 100 * 366 * 24 * 3600 * 1000
# What a device clock may say (UTC years): a dead battery's 1970 up to a typo's limit, so every
# local date is valid in every zone.
CREATED_AT_YEARS = (1970, 2100)
# When a document may really have happened: its created_at corrected by its clock offset
# (true_time). A 1970 clock with no measured offset, or a typo (2099), cannot reach the reports.
TRUE_TIME_YEARS = (2000, 2100)
# Extra (not yet modelled) fields on a sale may nest this deep; deeper is not a sale.
MAX_DEPTH = 16


# --- canonical form and hash --------------------------------------------------

class NotCanonical(ValueError):
    """The value cannot be put in canonical form (a float, a non-string key...)."""


def _check_canonical(value: Any, path: str = "$", depth: int = 0) -> None:
    # Only what JavaScript and Python write the same way: integers within JS's safe
    # range (a float or a bigger integer would serialise differently) and UTF-8 text.
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise NotCanonical(f"{path} is beyond JavaScript's safe integer range (±2**53-1)")
        return
    if isinstance(value, str):
        _check_unicode(value, path)
        return
    if isinstance(value, float):
        raise NotCanonical(f"{path} is a float; money and quantities are integers")
    if depth >= MAX_DEPTH:
        raise NotCanonical(f"{path} is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"{path} has a non-string key")
            _check_unicode(key, path)
            _check_canonical(item, f"{path}.{key}", depth + 1)
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_canonical(item, f"{path}[{i}]", depth + 1)
        return
    raise NotCanonical(f"{path} has an unsupported type {type(value).__name__}")


def _check_unicode(text: str, path: str) -> None:
    # JSON's \ud800 escapes can carry lone surrogates, which have no UTF-8 bytes to hash or store.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise NotCanonical(f"{path} is not valid Unicode (a lone surrogate)") from err


def _surely_canonical(value: Any, depth: int = 0) -> bool:
    """True only if _check_canonical(value) passes, lone surrogates aside; False when unsure.

    The fast path of the canonical check: exact types only (a subclass, a float, a tuple, anything
    odd is "unsure"), no paths built. Callers run _check_canonical whenever this says False, for the
    verdict and its message, and find lone surrogates by encoding the JSON to UTF-8 (which fails on
    exactly those). tests/cloud/test_canonical_fast_path.py checks the two agree on random values.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            if type(item) is not str and not _surely_canonical(item, depth + 1):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) is not str and not _surely_canonical(item, depth + 1):
                return False
        return True
    return False


_ORJSON_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def _encode(value: Any) -> bytes:
    """The canonical bytes of a value _surely_canonical accepted: the same bytes as
    json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(), a tenth of
    the time (the encoding was a fifth of the cloud's ingest CPU and of the box's ack time).
    tests/cloud/test_canonical_fast_path.py checks the two agree byte for byte on random values.
    orjson raises TypeError for what has no UTF-8 bytes (a lone surrogate), which callers turn into
    _check_canonical's verdict.
    """
    return orjson.dumps(value, option=_ORJSON_CANONICAL)


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON, keys sorted, no spaces, non-ASCII kept: what RFC 8785 gives for our data."""
    if not _surely_canonical(value):
        _check_canonical(value)
    try:
        return _encode(value)
    except TypeError:
        _check_canonical(value)   # names the lone surrogate's place
        raise


def document_hash(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a document, its own `hash` left out."""
    return hashlib.sha256(canonical_json({k: v for k, v in document.items() if k != "hash"})).hexdigest()


def _nested_models(model: type[BaseModel]) -> tuple[tuple[str, bool, type[BaseModel]], ...]:
    """The fields of `model` that hold models: (name, a list of them?, the model). Anything else that
    nests a model is refused at import (_index_nested), so _extras_surely_canonical never misses one."""
    nested = []
    for name, info in model.model_fields.items():
        kinds = [a for a in _mentioned(info.annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not kinds:
            continue
        if len(kinds) == 1 and info.annotation is kinds[0]:
            nested.append((name, False, kinds[0]))
        elif len(kinds) == 1 and get_origin(info.annotation) is list and get_args(info.annotation) == (kinds[0],):
            nested.append((name, True, kinds[0]))
        else:
            raise TypeError(f"{model.__name__}.{name}: a model nested as {info.annotation} (_extras_surely_canonical)")
    return tuple(nested)


def _mentioned(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in get_args(annotation):
        yield from _mentioned(arg)


# Each document model and the models nested in it: the fields that hold models (_nested_models).
_NESTED: dict[type[BaseModel], tuple[tuple[str, bool, type[BaseModel]], ...]] = {}


def _index_nested(model: type[BaseModel]) -> None:
    if model not in _NESTED:
        _NESTED[model] = _nested_models(model)
        for _, _, inner in _NESTED[model]:
            _index_nested(inner)


def _extras_surely_canonical(model: BaseModel, depth: int = 0) -> bool:
    """_surely_canonical for a document pydantic accepted, looking only at the fields it let through
    unnamed (extra="allow": a sale, its lines and payments), at the depth each sits in the document.

    Every named field is strictly typed and bounded (StrictInt, StrictStr, ...; no float, no Any:
    tests/cloud/test_canonical_fast_path.py holds the models to that), so what pydantic accepted there
    is canonical, but for an integer past 2**53 or a lone surrogate, which the encoder refuses
    (OPT_STRICT_INTEGER, UTF-8) and _hash_and_body then sends to the full walk. A fraction of the
    cost of walking the whole document, on every document the box and the cloud receive.
    """
    extra = model.__pydantic_extra__
    if extra and not _surely_canonical(extra, depth):
        return False
    for name, many, _ in _NESTED[type(model)]:
        value = getattr(model, name)
        if many:
            for item in value:
                if not _extras_surely_canonical(item, depth + 2):
                    return False
        elif value is not None and not _extras_surely_canonical(value, depth + 1):
            return False
    return True


def _hash_and_body(raw: dict[str, Any], claimed: str, vouched: bool) -> tuple[str, str]:
    """(document_hash(raw), canonical_json(raw) as text) with one JSON encoding, for a document whose
    `hash` (`claimed`) pydantic has checked is 64 hex digits. Raises NotCanonical as document_hash does.
    `vouched`: _surely_canonical(raw) is known to be true (parse_document: _extras_surely_canonical);
    else the full walk gives the verdict and its message.

    The canonical JSON of the document without its hash is the body with the top-level `"hash":"..."`
    member taken out (sorting keys puts the rest in the same order). When that member's text occurs
    more than once (an extra field holding the same hash), the hash's JSON is encoded on its own.
    """
    if not vouched:
        return document_hash(raw), canonical_json(raw).decode()   # the exact verdict and message
    try:
        body = _encode(raw)
    except TypeError:
        return document_hash(raw), ""   # document_hash raises NotCanonical naming the surrogate's place
    member = b'"hash":"%s"' % claimed.encode()
    if body.count(member) == 1:
        at = body.index(member)
        if body[at + len(member)] == 0x2C:     # ","
            unhashed = body[:at] + body[at + len(member) + 1:]
        elif body[at - 1] == 0x2C:
            unhashed = body[:at - 1] + body[at + len(member):]
        else:   # the hash alone: "{}" is left
            unhashed = body[:at] + body[at + len(member):]
    else:
        unhashed = _encode({k: v for k, v in raw.items() if k != "hash"})
    return hashlib.sha256(unhashed).hexdigest(), body.decode()


# --- money and tax --------------------------------------------------------------

def line_tax(amount: int, gst_bp: int) -> int:
    """Tax inside a tax-inclusive amount: round-half-up(amount * rate / (10000 + rate))."""
    if amount < 0:
        return -line_tax(-amount, gst_bp)
    divisor = 10000 + gst_bp
    return (2 * amount * gst_bp + divisor) // (2 * divisor)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers (the contract's one rounding rule)."""
    return (2 * numerator + denominator) // (2 * denominator)


def loose_amount(qty_milli: int, unit_price: int) -> int:
    """What `qty_milli` grams (or ml) cost at `unit_price` paisa per kg (or litre): rounded half up to a paisa."""
    return round_half_up(qty_milli * unit_price, 1000)


def loose_qty_for_amount(amount: int, unit_price: int) -> int:
    """The grams (or ml) a customer asking for `amount` paisa' worth gets: rounded half up to a gram."""
    return round_half_up(amount * 1000, unit_price)


def percent_of(amount: int, bp: int) -> int:
    """`bp` basis points of `amount` (a percent discount), rounded half up to a paisa."""
    return round_half_up(amount * bp, 10000)


def refund_line_amount(sold_amount: int, sold_qty: int, qty: int, returned_before: int = 0) -> int:
    """What returning `qty` of a line sold as `sold_qty` for `sold_amount` (after its discounts) pays back,
    when `returned_before` of it were returned already.

    Cumulative, so the returns of one line add up to exactly what was paid for it: returning 3 sold for
    Rs 2.00 one at a time pays 67 + 66 + 67 paisa, never 201.
    """
    def paid_for(n: int) -> int:
        return round_half_up(sold_amount * n, sold_qty)
    return paid_for(returned_before + qty) - paid_for(returned_before)


# A tablet whose clock disagrees with the box by more than this is named in health and warned.
CLOCK_SKEW_WARN_MS = 5 * 60 * 1000


def true_time(created_at: str, clock_offset_ms: int | None = None, received_at: str | None = None) -> datetime:
    """When a document really happened, as far as the tiers can tell.

    The device's clock, corrected by the offset the till last measured from the box
    (offset = box time - device time), and never later than the box received it: a
    tablet whose clock runs a year fast, or that never learned its offset, cannot file
    a sale in the future.
    """
    moment = datetime.fromisoformat(created_at)
    if clock_offset_ms:
        moment += timedelta(milliseconds=clock_offset_ms)
    if received_at:
        received = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
        moment = min(moment, received)
    return moment


def shop_time(created_at: str, tz: str = "Asia/Karachi", clock_offset_ms: int | None = None,
              received_at: str | None = None) -> datetime:
    """A document's true time on the shop's clock (its zone): the day it is filed under and its hour."""
    return true_time(created_at, clock_offset_ms, received_at).astimezone(ZoneInfo(tz))


def business_date(created_at: str, tz: str = "Asia/Karachi", clock_offset_ms: int | None = None,
                  received_at: str | None = None) -> date:
    """The shop's trading day a document belongs to: the local date of its true time in the shop's zone."""
    return shop_time(created_at, tz, clock_offset_ms, received_at).date()


def clock_skew_ms(created_at: str, clock_offset_ms: int | None, received_at: str | None) -> int | None:
    """How far the device's clock is from the box's: its measured offset, else what received_at shows.

    Without a measured offset, only a clock running ahead shows (a document made after it arrived);
    one running behind looks like a sale held offline, so it stays unknown.
    """
    if clock_offset_ms is not None:
        return clock_offset_ms
    if received_at:
        ahead = datetime.fromisoformat(created_at) - datetime.fromisoformat(received_at.replace("Z", "+00:00"))
        if ahead > timedelta(milliseconds=CLOCK_SKEW_WARN_MS):
            return -int(ahead / timedelta(milliseconds=1))
    return None


def describe_skew(skew_ms: int) -> str:
    """ "3 days behind", "2 hours ahead": a device clock's error in words (offset > 0: the device is behind)."""
    seconds = abs(skew_ms) // 1000
    for unit, size in (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size or unit == "second":
            n = seconds // size
            break
    return f"{n} {unit}{'' if n == 1 else 's'} {'behind' if skew_ms > 0 else 'ahead'}"


def receipt_number(device_code: str, seq: int) -> str:
    """The USIN printed on a receipt."""
    return f"{device_code}-{seq:06d}"


# --- documents ------------------------------------------------------------------

def _plain_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here keeps the box from acking what the cloud cannot store.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def text(max_length: int) -> Any:
    """A non-empty string without NUL, at most `max_length` characters (the column it is stored in)."""
    return Annotated[StrictStr, Field(min_length=1, max_length=max_length), AfterValidator(_plain_text)]


def _matches(pattern: str, message: str) -> Any:
    """A validator refusing what does not match `pattern`, with a message people understand."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):   # (match would let a trailing newline through `$`)
            raise ValueError(message)
        return value
    return AfterValidator(check)


def _utc_year_within(moment: datetime, first: int, last: int) -> bool:
    """first <= the UTC year of `moment` (aware) <= last.

    An offset moves a moment by less than a day, so a local year strictly inside the window is inside
    it in UTC too: only a moment in an edge year pays for the conversion (every document is checked).
    """
    return first < moment.year < last or first <= moment.astimezone(timezone.utc).year <= last


def _in_window(value: str) -> str:
    moment = datetime.fromisoformat(value)
    first, last = CREATED_AT_YEARS
    if not _utc_year_within(moment, first, last):
        raise ValueError(f"created_at must fall in the years {first}..{last}")
    return value


def _no_fee_or_the_fee(value: int) -> int:
    if value not in (0, SERVICE_FEE):
        raise ValueError(f"the POS service fee is {SERVICE_FEE} paisa (Re 1) or none")
    return value


Paisa = Annotated[StrictInt, Field(ge=0, le=MAX_PAISA)]
PositivePaisa = Annotated[StrictInt, Field(ge=1, le=MAX_PAISA)]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QTY)]
GstBp = Annotated[StrictInt, Field(ge=0, le=10000)]
Text = text(200)     # device_id, cashier_id, sku, names: String(200) columns
DocumentId = Annotated[StrictStr, Field(min_length=36, max_length=36, json_schema_extra={"pattern": UUID_PATTERN}),
                       _matches(UUID_PATTERN, "must be a lower-case UUID (8-4-4-4-12 hex digits)")]
CreatedAt = Annotated[StrictStr, Field(max_length=40, json_schema_extra={"pattern": RFC3339}),
                      _matches(RFC3339, "must be RFC 3339 with seconds and a UTC offset, "
                                        "e.g. 2026-11-27T18:05:09+05:00"),
                      AfterValidator(_in_window)]


class DocumentBase(BaseModel):
    """Fields every document carries, whatever its kind. Kinds other than sale accept nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: DocumentId
    kind: StrictStr
    device_id: Text
    device_code: Annotated[StrictStr, Field(max_length=8, json_schema_extra={"pattern": DEVICE_CODE}),
                           _matches(DEVICE_CODE, "must look like T1, T2, ...")]
    seq: Annotated[StrictInt, Field(ge=1, le=MAX_SEQ)]
    created_at: CreatedAt
    cashier_id: Text
    clock_offset_ms: Annotated[StrictInt, Field(ge=-MAX_CLOCK_OFFSET_MS, le=MAX_CLOCK_OFFSET_MS)] | None = None
    hash: Annotated[StrictStr, Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]

    @property
    def receipt_number(self) -> str:
        return receipt_number(self.device_code, self.seq)

    @model_validator(mode="after")
    def _true_time_in_window(self) -> "DocumentBase":
        first, last = TRUE_TIME_YEARS
        if not _utc_year_within(true_time(self.created_at, self.clock_offset_ms), first, last):
            raise ValueError(f"created_at, corrected by clock_offset_ms, must fall in the years {first}..{last} "
                             "(is the tablet's clock set?)")
        return self


Unit = Literal["each", "kg", "l"]
Reference = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_plain_text)]


class SaleLine(BaseModel):
    """One line of a sale.

    `qty` counts pieces, or grams / millilitres for a loose product (`unit` kg / l, `unit_price`
    per kg / litre). The line's price before discounts is qty x unit_price (pieces) or
    loose_amount(qty, unit_price); when the customer asked for a rupee amount of a loose product
    (`priced_by` "amount") that amount is the price and qty = loose_qty_for_amount(it, unit_price).
    `discount` is the line's own discount and `cart_discount` its share of the cart's; `amount` is
    what the line costs after both, and GST is the tax inside that discounted amount.
    """
    # A till may add fields to a line before the cloud learns them (DESIGN: "more fields may
    # be added"); they ride in the body, bounded by the canonical-form check.
    model_config = ConfigDict(extra="allow", frozen=True)

    sku: Text
    name: Text
    qty: Quantity
    unit: Unit = "each"
    priced_by: Literal["weight", "amount"] | None = None
    unit_price: Paisa
    gst_bp: GstBp
    discount: Paisa = 0
    cart_discount: Paisa = 0
    amount: Paisa
    tax: Paisa

    @property
    def price(self) -> int:
        """The line's price before discounts."""
        return self.amount + self.discount + self.cart_discount

    @model_validator(mode="after")
    def _arithmetic(self) -> "SaleLine":
        price = self.amount + self.discount + self.cart_discount   # self.price, without a property's call
        if self.unit == "each":
            if self.priced_by is not None:
                raise ValueError(f"line {self.sku}: priced_by is only for loose (kg / l) products")
            if price != self.qty * self.unit_price:
                raise ValueError(f"line {self.sku}: amount and discounts do not add up to qty x unit_price")
        elif self.priced_by == "amount":
            if self.unit_price == 0 or self.qty != loose_qty_for_amount(price, self.unit_price):
                raise ValueError(f"line {self.sku}: qty is not the grams / ml the amount buys at unit_price")
        elif price != loose_amount(self.qty, self.unit_price):
            raise ValueError(f"line {self.sku}: amount and discounts do not add up to the weight's price "
                             "(qty grams x unit_price per kg, rounded half up)")
        if self.tax != line_tax(self.amount, self.gst_bp):
            raise ValueError(f"line {self.sku}: tax is not the GST inside the amount")
        return self


class Payment(BaseModel):
    """One tender of a sale or a refund. Card and wallet carry the terminal's or wallet's reference;
    `unverified` marks a wallet payment taken while the till could not reach the box or the cloud.
    `on_account` is credit on the customer's khata (the document names `customer_id`): no reference."""
    model_config = ConfigDict(extra="allow", frozen=True)

    tender: Literal["cash", "card", "wallet", "on_account"]
    amount: PositivePaisa
    reference: Reference | None = None
    wallet: Literal["jazzcash", "easypaisa", "raast", "bank_transfer"] | None = None
    unverified: StrictBool = False

    @model_validator(mode="after")
    def _wallet_named(self) -> "Payment":
        if self.wallet is not None and self.tender != "wallet":
            raise ValueError("only a wallet payment names a wallet")
        if self.tender in ("cash", "on_account") and self.reference is not None:
            raise ValueError(f"a {self.tender.replace('_', ' ')} payment has no reference")
        if self.unverified and self.tender != "wallet":
            raise ValueError("only a wallet payment can be unverified")
        return self


class Sale(DocumentBase):
    """A completed sale: lines, payments, totals. Change is given in cash only.

    `discount` is every discount on the sale (lines' and cart's); `cart_discount_bp` records a
    percent cart discount for the receipt. `shift_id` is the open shift (its shift_open's id).
    `service_fee` is the Re 1 FBR / PRA POS service fee (SERVICE_FEE) when the shop's fiscal settings
    charge it: inside the total, not a line (it is no goods, carries no GST and is never refunded).
    """

    model_config = ConfigDict(extra="allow", frozen=True)   # see SaleLine

    kind: Literal["sale"]
    lines: Annotated[list[SaleLine], Field(min_length=1, max_length=500)]
    payments: Annotated[list[Payment], Field(min_length=1, max_length=20)]
    total: Paisa
    tax: Paisa
    change: Paisa
    discount: Paisa = 0
    cart_discount_bp: Annotated[StrictInt, Field(ge=1, le=10000)] | None = None
    shift_id: DocumentId | None = None
    service_fee: Annotated[StrictInt, Field(ge=0, le=SERVICE_FEE), AfterValidator(_no_fee_or_the_fee)] = 0
    # Khata (issue 10): the customer the sale is written to (required with an on_account payment), and
    # the box's approval of the credit (POST /api/v1/khata/approvals): given by the box itself within the
    # limit (holding it against another tablet's sale), by the owner's PIN past it. None: the till was cut
    # off from the box and went by its own rules (gateway/khata.py flags one that passed the limit).
    customer_id: DocumentId | None = None
    credit_approval_id: DocumentId | None = None

    @model_validator(mode="after")
    def _totals(self) -> "Sale":
        # One pass over the lines and one over the payments (every sale is checked twice, on the box and
        # in the cloud); the checks below keep their order, so the first problem named is the same.
        amount = tax = discount = 0
        for line in self.lines:
            amount += line.amount
            tax += line.tax
            discount += line.discount + line.cart_discount
        paid = cash = on_account = 0
        for p in self.payments:
            paid += p.amount
            if p.tender == "cash":
                cash += p.amount
            elif p.tender == "on_account":
                on_account += 1
        if self.total != amount + self.service_fee:
            raise ValueError("total is not the sum of the lines (plus the POS service fee)")
        if self.tax != tax:
            raise ValueError("tax is not the sum of the lines' tax")
        if self.discount != discount:
            raise ValueError("discount is not the sum of the lines' discounts")
        if paid - self.change != self.total:
            raise ValueError("payments less change do not equal the total")
        if self.change > cash:
            raise ValueError("change exceeds the cash received")
        if on_account:
            _on_account_named(self.payments, self.customer_id)
        return self


def _on_account_named(payments: list[Payment], customer_id: str | None) -> None:
    """Credit is written to somebody: an on_account payment needs the document's customer_id, once."""
    on_account = [p for p in payments if p.tender == "on_account"]
    if on_account and customer_id is None:
        raise ValueError("an on_account payment needs the customer_id it is written to")
    if len(on_account) > 1:
        raise ValueError("a document has at most one on_account payment")


def on_account_amount(document: "AnyDocument") -> int:
    """Paisa a sale puts on (or a refund takes off) its customer's khata through on_account payments."""
    return sum(p.amount for p in getattr(document, "payments", ()) if p.tender == "on_account")


# The other kinds are strict: extra fields are refused, so every field is named here.

class StrictPayment(Payment):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RefundLine(BaseModel):
    """A returned quantity of one line of the original sale (`line_index` into its lines).

    `amount` is refund_line_amount(sold line's amount, its qty, qty, returned before): the customer gets
    back what they paid, discounts included; `tax` is the GST inside it. Quantities are pieces or grams / ml
    as on the sale.
    """
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_index: Annotated[StrictInt, Field(ge=0, le=499)]
    sku: Text
    name: Text
    qty: Quantity
    unit: Unit = "each"
    unit_price: Paisa
    gst_bp: GstBp
    amount: Paisa
    tax: Paisa

    @model_validator(mode="after")
    def _tax(self) -> "RefundLine":
        if self.tax != line_tax(self.amount, self.gst_bp):
            raise ValueError(f"line {self.sku}: tax is not the GST inside the amount")
        return self


class Refund(DocumentBase):
    """Goods returned from an earlier sale (`original_id`, printed as `original_receipt`), paid back.

    Never more than was sold: the box checks what every tablet refunded before the till completes a
    return, and flags for the owner an over-refund it learns of later (a tablet cut off from it).
    """

    kind: Literal["refund"]
    original_id: DocumentId
    original_receipt: Annotated[StrictStr, Field(max_length=20, json_schema_extra={"pattern": USIN_PATTERN}),
                                _matches(USIN_PATTERN, "must be a receipt number like T1-000042")] | None = None
    lines: Annotated[list[RefundLine], Field(min_length=1, max_length=500)]
    payments: Annotated[list[StrictPayment], Field(min_length=1, max_length=20)]
    total: Paisa
    tax: Paisa
    reason: Text | None = None
    shift_id: DocumentId | None = None
    # A return of goods bought on credit may be paid back on_account: it comes off this customer's khata.
    customer_id: DocumentId | None = None

    @model_validator(mode="after")
    def _totals(self) -> "Refund":
        if self.total != sum(line.amount for line in self.lines):
            raise ValueError("total is not the sum of the lines")
        if self.tax != sum(line.tax for line in self.lines):
            raise ValueError("tax is not the sum of the lines' tax")
        if sum(p.amount for p in self.payments) != self.total:
            raise ValueError("payments do not equal the total refunded")
        if len({line.line_index for line in self.lines}) != len(self.lines):
            raise ValueError("a sale line appears twice in one return")
        _on_account_named(self.payments, self.customer_id)
        return self


class ShiftOpen(DocumentBase):
    """A cashier opens a shift (a drawer's session on one tablet) with a counted float. Its id is the shift's id."""

    kind: Literal["shift_open"]
    opening_float: Paisa


class ShiftClose(DocumentBase):
    """A cashier closes a shift by counting the drawer: the Z-report.

    `expected_cash` is what the till worked out from the shift's documents (float + cash taken -
    change - cash refunds + paid in - paid out); over/short = counted_cash - expected_cash.
    `confirmed` holds the card and wallet totals the cashier confirmed against the terminal and
    the wallets' statements.
    """

    kind: Literal["shift_close"]
    shift_id: DocumentId     # the id of the shift_open document
    counted_cash: Paisa
    # Signed: a drawer that paid out more than it took in (a refund from a zero float) expects less than nothing.
    expected_cash: Annotated[StrictInt, Field(ge=-MAX_PAISA, le=MAX_PAISA)] | None = None
    confirmed: dict[Literal["card", "wallet"], Paisa] = Field(default_factory=dict)


class CashMovement(DocumentBase):
    """Cash paid into or out of the drawer, with why."""

    kind: Literal["cash_movement"]
    direction: Literal["in", "out"]
    amount: PositivePaisa
    reason: Text
    shift_id: DocumentId | None = None


class DrawerOpen(DocumentBase):
    """The cashier opened the cash drawer without a sale ("Open drawer"), with why: kept for the owner,
    because a drawer opened for nothing is where cash goes missing. The box kicks the drawer when it
    receives one (gateway printing); a drawer kicked by a cash sale or return needs no document."""

    kind: Literal["drawer_open"]
    reason: Text
    shift_id: DocumentId | None = None


# --- khata (customer credit, issue 10) ---------------------------------------------------
#
# A customer's balance is never stored: it is the sum of their khata entries, each one a document
# (or, in the cloud, an owner's adjustment made in the back office). Positive = the customer owes
# the shop. khata_entry_amounts() is the one rule every tier sums by.

PHONE = r"^\+?[0-9][0-9 -]{6,18}[0-9]$"
CNIC = r"^[0-9]{5}-?[0-9]{7}-?[0-9]$"
Phone = Annotated[StrictStr, Field(max_length=20, json_schema_extra={"pattern": PHONE}),
                  _matches(PHONE, "must be a phone number, e.g. 0300 1234567 or +92 300 1234567")]
Cnic = Annotated[StrictStr, Field(max_length=15, json_schema_extra={"pattern": CNIC}),
                 _matches(CNIC, "must be a CNIC of 13 digits, e.g. 35202-1234567-1")]
Ntn = Annotated[StrictStr, Field(min_length=1, max_length=20), AfterValidator(_plain_text)]
SignedPaisa = Annotated[StrictInt, Field(ge=-MAX_PAISA, le=MAX_PAISA)]


def _something(amount: int) -> int:
    if amount == 0:
        raise ValueError("an adjustment of nothing changes nothing")
    return amount


# What a khata adjustment moves (a till's document or the owner's in the back office): signed, never 0.
AdjustmentAmount = Annotated[SignedPaisa, AfterValidator(_something)]


class CustomerDetails(BaseModel):
    """Who a khata belongs to. `credit_limit` is the most they may owe without the owner's approval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text
    phone: Phone | None = None
    cnic: Cnic | None = None
    ntn: Ntn | None = None
    credit_limit: Paisa = 0


class Customer(DocumentBase, CustomerDetails):
    """A customer created or changed at a till. `customer_id` is the id of the document that created
    them (a new customer: customer_id == id); a later customer document with the same customer_id
    changes their details (the latest by true time wins), never their khata."""

    kind: Literal["customer"]
    customer_id: DocumentId


class KhataPayment(DocumentBase):
    """Money a customer paid against their khata balance, in cash, card or wallet (never on account).
    `amount` is the sum of the payments: no change is given (pay the exact sum; more is an advance)."""

    kind: Literal["khata_payment"]
    customer_id: DocumentId
    payments: Annotated[list[StrictPayment], Field(min_length=1, max_length=5)]
    amount: PositivePaisa
    note: Text | None = None
    shift_id: DocumentId | None = None

    @model_validator(mode="after")
    def _paid(self) -> "KhataPayment":
        if any(p.tender == "on_account" for p in self.payments):
            raise ValueError("a khata payment is money received: cash, card or wallet")
        if sum(p.amount for p in self.payments) != self.amount:
            raise ValueError("amount is not the sum of the payments")
        return self


class KhataAdjustment(DocumentBase):
    """The owner corrects a khata at a till: + the customer owes more (an opening balance carried over
    from the paper khata), - less (written off, a mistake put right). Needs the owner's PIN: the box's
    approval id. No money moves."""

    kind: Literal["khata_adjustment"]
    customer_id: DocumentId
    amount: AdjustmentAmount
    reason: Text
    approval_id: DocumentId | None = None


def khata_entry_amounts(document: "AnyDocument") -> tuple[str, int] | None:
    """(customer_id, signed paisa) a document writes to a khata, or None: the one rule for balances.

    A sale's on_account payment: + (they owe it); a refund's on_account payment: - ; a khata payment:
    - its amount; an adjustment: its signed amount. A sale or refund without on_account writes nothing.
    """
    if isinstance(document, Sale | Refund):
        if document.customer_id is None:   # most sales: nobody to write to (checked first, as it is cheap)
            return None
        owed = on_account_amount(document)
        if not owed:
            return None
        return document.customer_id, owed if isinstance(document, Sale) else -owed
    if isinstance(document, KhataPayment):
        return document.customer_id, -document.amount
    if isinstance(document, KhataAdjustment):
        return document.customer_id, document.amount
    return None


AnyDocument = Union[Sale, Refund, ShiftOpen, ShiftClose, CashMovement, DrawerOpen, Customer, KhataPayment,
                    KhataAdjustment]
Document = Annotated[AnyDocument, Field(discriminator="kind")]
_document_adapter: TypeAdapter[AnyDocument] = TypeAdapter(Document)
for _kind in get_args(AnyDocument):
    _index_nested(_kind)


class InvalidDocument(ValueError):
    """A document that fails validation; `reason` is shown to people and kept with it."""

    def __init__(self, reason: str, document_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.document_id = document_id


def first_error(err: ValidationError) -> str:
    """The first problem pydantic found, as "where: what" for people and logs."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _id_of(raw: dict[str, Any]) -> str | None:
    # The id a verdict is filed under: only something that looks like an id (it is stored
    # in rejected_documents.document_id, String(200), and must not break that insert).
    value = raw.get("id")
    if isinstance(value, str) and 0 < len(value) <= 200 and "\x00" not in value:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return value
    return None


def parse_document(raw: Any) -> AnyDocument:
    """Validate one document off the wire, its hash included; raise InvalidDocument."""
    return parse_document_and_body(raw)[0]


def parse_document_and_body(raw: Any) -> tuple[AnyDocument, str]:
    """parse_document, and the document's canonical JSON (canonical_json(raw) as text, what the
    journal stores) from the same encoding the hash check made."""
    if not isinstance(raw, dict):
        raise InvalidDocument("a document must be a JSON object")
    try:
        document = _document_adapter.validate_python(raw)
    except ValidationError as err:
        raise InvalidDocument(first_error(err), _id_of(raw)) from err
    try:
        expected, body = _hash_and_body(raw, document.hash, _extras_surely_canonical(document))
    except NotCanonical as err:
        raise InvalidDocument(str(err), _id_of(raw)) from err
    if expected != raw["hash"]:
        raise InvalidDocument("hash does not match the document's content", _id_of(raw))
    return document, body


# --- batches and results -----------------------------------------------------------

class JournalBatch(BaseModel):
    """A batch of documents. Each is validated on its own so one bad one blocks nothing."""

    documents: Annotated[list[Any], Field(max_length=MAX_BATCH_DOCUMENTS)]
    # Gateway -> cloud only: when the gateway received each document, by id
    # (stored in documents.received_at, String(40)).
    received_at: dict[str, Annotated[StrictStr, Field(max_length=40), AfterValidator(_plain_text)]] = Field(
        default_factory=dict)


class DocumentResult(BaseModel):
    id: str | None
    status: Literal["stored", "duplicate", "conflict", "invalid"]
    reason: str | None = None
    # Cloud -> gateway, for stored and duplicate: the document's place in the cloud's journal, so
    # the box knows which stock snapshots (GET /v1/stock, by watermark) already count it.
    ingest_seq: int | None = None


class BatchResponse(BaseModel):
    results: list[DocumentResult]
    server_time: str



# --- catalog -------------------------------------------------------------------------

class ProductIn(BaseModel):
    """What an owner PUTs for a product. A loose product (unit kg / l) is priced per kg / litre."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    price: Paisa
    gst_bp: GstBp
    barcode: Annotated[StrictStr, Field(max_length=64), AfterValidator(_plain_text)] | None = None
    category: Annotated[StrictStr, Field(max_length=64), AfterValidator(_plain_text)] | None = None
    unit: Unit = "each"
    name_ur: Text | None = None      # the Urdu name the Urdu till and receipts show
    # On hand at or below this (pieces, or grams / ml when loose) marks the product "low" on the till.
    low_stock_at: Annotated[StrictInt, Field(ge=0, le=MAX_QTY)] | None = None
    # The PCT code FBR / PRA invoices name for this product; None reports DEFAULT_PCT_CODE.
    pct_code: Annotated[StrictStr, Field(max_length=9, json_schema_extra={"pattern": PCT_CODE}),
                        _matches(PCT_CODE, "must be a PCT code of 8 digits, e.g. 09023000 or 0902.3000")] | None = None


class Product(ProductIn):
    sku: Text


class CashierPermissions(BaseModel):
    """What a cashier may do beyond selling: the largest discount (basis points of the price; 0 = none)
    and whether they may take returns."""

    model_config = ConfigDict(extra="forbid")

    max_discount_bp: Annotated[StrictInt, Field(ge=0, le=10000)] = 0
    can_refund: StrictBool = True


class CashierIn(CashierPermissions):
    """What an owner PUTs for a cashier; the PIN is stored only as a salted hash."""

    name: Text
    # The policy of credentials.py: long enough that a stolen tablet's hash takes days to guess.
    pin: Annotated[StrictStr, Field(json_schema_extra={"pattern": PIN_PATTERN}), _matches(PIN_PATTERN, PIN_POLICY)]


class Cashier(BaseModel):
    cashier_id: Text
    name: Text
    pin_salt: str
    pin_hash: str
    pin_iterations: int
    max_discount_bp: int = 0
    can_refund: bool = True


ShortText = Annotated[StrictStr, Field(max_length=200), AfterValidator(_plain_text)]


class ShopSettings(BaseModel):
    """What the receipt prints under the shop's name (PUT by the owner)."""

    model_config = ConfigDict(extra="forbid")

    address: ShortText = ""
    phone: Annotated[StrictStr, Field(max_length=40), AfterValidator(_plain_text)] = ""
    ntn: Annotated[StrictStr, Field(max_length=20), AfterValidator(_plain_text)] = ""
    strn: Annotated[StrictStr, Field(max_length=20), AfterValidator(_plain_text)] = ""
    receipt_footer: ShortText = ""
    # Khata (issue 10): the credit limit a customer created at a till starts with (the owner changes
    # it per customer in the back office), and the most a tablet cut off from the box may put on one
    # customer's khata by itself (its own on-account sales the box's last answer did not yet count,
    # this one included).
    default_credit_limit: Paisa = 500_000
    offline_credit_allowance: Paisa = 200_000


MAX_POS_ID = 10**12
PosId = Annotated[StrictInt, Field(ge=1, le=MAX_POS_ID)]
TenderTaxBp = dict[Literal["cash", "card", "wallet"], GstBp]


class FiscalSettings(BaseModel):
    """The shop's fiscal reporting (issue 9), as the box and the tills know it: no secret here.

    `pos_ids` gives each counter (tablet, by device_id) the POSID FBR or PRA registered for it; a
    tablet without one is not reported (its invoices wait, flagged, until the owner gives it one).
    `tender_tax_bp` (PRA) taxes a sale by how it is paid (16% cash, 5% card): see tender_tax_bp().
    `retry_requested_at` changes when the owner presses Retry in the back office: the box then
    offers its parked invoices again.
    """

    # Unknown fields are ignored, not refused: a newer cloud may add settings, and an older box must
    # keep pulling catalogs (a refused catalog would stop its prices, cashiers and fiscal settings
    # from ever updating). What an owner sends is FiscalSettingsIn, which stays strict.
    model_config = ConfigDict(extra="ignore")

    mode: Literal["off", "fbr", "pra"] = "off"
    environment: Literal["sandbox", "production"] = "sandbox"
    pos_ids: Annotated[dict[Text, PosId], Field(max_length=1000)] = Field(default_factory=dict)
    service_fee: StrictBool = False
    tender_tax_bp: TenderTaxBp = Field(default_factory=dict)
    retry_requested_at: Annotated[StrictStr, Field(max_length=40)] | None = None


class FiscalSettingsIn(BaseModel):
    """What an owner PUTs for fiscal reporting. `token` is write-only: None keeps the one stored,
    "" forgets it. POSIDs are set per tablet (PUT .../fiscal/pos-ids/{device_id})."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["off", "fbr", "pra"] = "off"
    environment: Literal["sandbox", "production"] = "sandbox"
    service_fee: StrictBool = False
    tender_tax_bp: TenderTaxBp = Field(default_factory=dict)
    token: Annotated[StrictStr, Field(max_length=500), AfterValidator(_plain_text)] | None = None


# The tender whose PRA rate another tender is taxed at (see tender_tax_bp).
TAXED_AS = {"on_account": "cash"}


def tender_tax_bp(rates: dict[str, int], tenders: list[str]) -> int | None:
    """The GST rate (basis points) a PRA shop charges the taxable lines of a sale paid by these tenders
    (a product whose own gst_bp is 0, exempt goods, stays at 0), or None to keep each product's own
    rate. A sale paid by several tenders pays the highest of their rates, so a split never collects
    less tax than either tender would. Credit (on_account) is taxed as cash: it is reported to FBR / PRA
    as a cash sale (gateway/fiscal_invoice.py) and a khata is settled in cash; taxing it by the products'
    own rates would let a credit sale dodge a PRA shop's cash rate. The till mirrors this (web_till/tax.js,
    cart.js pricedLines)."""
    named = [rates[TAXED_AS.get(tender, tender)] for tender in tenders if TAXED_AS.get(tender, tender) in rates]
    return max(named) if named else None


class Catalog(BaseModel):
    shop_id: str
    shop_name: str
    version: int
    products: list[Product]
    cashiers: list[Cashier]
    settings: ShopSettings = Field(default_factory=ShopSettings)
    # Tablets (device ids) the owner revoked in the back office: the box unpairs each one it holds.
    revoked_devices: list[str] = Field(default_factory=list)
    fiscal: FiscalSettings = Field(default_factory=FiscalSettings)
    # Sent to the box only (GET /v1/catalog as a gateway): the box keeps it encrypted and strips it
    # from the catalog tablets receive (gateway/catalog.py). Never in an owner's answer.
    fiscal_token: str | None = None


# --- khata snapshot (cloud -> box) ---------------------------------------------------------

class CustomerRecord(BaseModel):
    """A customer as the cloud knows them: details (latest wins) and balance (the sum of every entry
    it holds, owner's back-office adjustments included). `updated_at` is when the details were last
    set (a document's true time, or the owner's edit), so the box keeps whichever is newer."""

    model_config = ConfigDict(extra="ignore")   # an older box keeps pulling what a newer cloud adds

    customer_id: Annotated[StrictStr, Field(max_length=36)]
    name: Annotated[StrictStr, Field(max_length=200)]
    phone: Annotated[StrictStr, Field(max_length=20)] | None = None
    cnic: Annotated[StrictStr, Field(max_length=15)] | None = None
    ntn: Annotated[StrictStr, Field(max_length=20)] | None = None
    credit_limit: Annotated[StrictInt, Field(ge=0, le=MAX_PAISA)] = 0
    updated_at: Annotated[StrictStr, Field(max_length=40)]
    balance: Annotated[StrictInt, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)] = 0
    # The newest entry's true time (UTC), the owner's back-office adjustments included, which never
    # pass through a box: the box shows the later of this and its own newest. None from an older cloud.
    last_entry_at: Annotated[StrictStr, Field(max_length=40)] | None = None


class KhataSnapshot(BaseModel):
    """GET /v1/khata (a gateway): every customer of the shop with their balance, exact for `watermark`
    as the stock snapshot is: it counts the khata entries of exactly the documents with ingest_seq <=
    watermark, plus every back-office adjustment (which never pass through a box)."""

    watermark: StrictInt
    customers: list[CustomerRecord]


# --- enrolment and heartbeat --------------------------------------------------------

class EnrolRequest(BaseModel):
    enrol_token: Text
    name: Annotated[StrictStr, Field(max_length=100), AfterValidator(_plain_text)] = "gateway"
    # The shop the installer means (posline.toml's shop_name): the cloud refuses with 409, token
    # unspent, when the token belongs to another shop, so a mix-up costs nothing to fix.
    expected_shop_name: Text | None = None


class EnrolResponse(BaseModel):
    gateway_id: str
    shop_id: str
    shop_name: str
    api_key: str


class Heartbeat(BaseModel):
    """What a gateway tells the cloud about itself on every beat."""

    version: Annotated[StrictStr, Field(max_length=100)]
    # Counts and sizes within JavaScript's safe range, like every integer on the wire.
    backlog: Annotated[StrictInt, Field(ge=0, le=MAX_SAFE_INTEGER)]
    oldest_unsynced_at: Annotated[StrictStr, Field(max_length=40)] | None = None
    disk_free_bytes: Annotated[StrictInt, Field(ge=0, le=MAX_SAFE_INTEGER)] | None = None
    devices: Annotated[list[dict[str, Any]], Field(max_length=1000)] = Field(default_factory=list)
    # Documents the box set aside because the cloud would not take them (gateway/uplink.py).
    parked: Annotated[StrictInt, Field(ge=0)] = 0
    parked_reasons: Annotated[list[Annotated[StrictStr, Field(max_length=1000)]], Field(max_length=20)] = Field(
        default_factory=list)
    # Returns beyond their sale the box flagged (gateway/returns.py), newest first, in words.
    over_refunds: Annotated[list[Annotated[StrictStr, Field(max_length=1000)]], Field(max_length=20)] = Field(
        default_factory=list)
    fiscal: FiscalSummary | None = None


class FiscalDay(BaseModel):
    """One business day of the box's fiscal queue."""
    date: Annotated[StrictStr, Field(max_length=10)]
    fiscalized: Annotated[StrictInt, Field(ge=0)] = 0
    pending: Annotated[StrictInt, Field(ge=0)] = 0
    failed: Annotated[StrictInt, Field(ge=0)] = 0


class FiscalFailure(BaseModel):
    """An invoice FBR / PRA refused (parked) or whose outcome stayed unknown (ambiguous)."""
    document_id: Annotated[StrictStr, Field(max_length=40)]
    receipt_number: Annotated[StrictStr, Field(max_length=20)]
    kind: Literal["sale", "refund"]
    status: Literal["parked", "ambiguous"]
    message: Annotated[StrictStr, Field(max_length=1000)]
    at: Annotated[StrictStr, Field(max_length=40)]


class FiscalSummary(BaseModel):
    """What the box tells the cloud of its fiscal queue on every heartbeat (issue 9)."""
    mode: Literal["off", "fbr", "pra"] = "off"
    # Why the whole queue stopped (FBR refused the token), in words; None while it runs.
    stopped: Annotated[StrictStr, Field(max_length=1000)] | None = None
    days: Annotated[list[FiscalDay], Field(max_length=62)] = Field(default_factory=list)
    failures: Annotated[list[FiscalFailure], Field(max_length=50)] = Field(default_factory=list)
    # Invoices held back because their tablet has no POSID yet, one line per tablet, in words.
    waiting: Annotated[list[Annotated[StrictStr, Field(max_length=1000)]], Field(max_length=50)] = Field(
        default_factory=list)
