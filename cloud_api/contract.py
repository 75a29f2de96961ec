"""The wire contract: documents, batches, per-document results, catalog, enrolment.

Defined once here. The gateway imports these models; the till mirrors them in
JavaScript (web_till/document.js) and the tests check what the till produces
against the JSON Schema of these same models.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

# A batch never carries more than this (DESIGN.md section 1).
MAX_BATCH_DOCUMENTS = 500
MAX_BATCH_BYTES = 1024 * 1024

DOCUMENT_KINDS = ("sale", "refund", "shift_open", "shift_close", "cash_movement")
RESULT_STATUSES = ("stored", "duplicate", "conflict", "invalid")
TENDERS = ("cash", "card", "wallet")

# Receipt numbers are "{device_code}-{seq:06d}"; device codes are T1, T2, ...
DEVICE_CODE = re.compile(r"^T[1-9][0-9]{0,3}$")


# --- canonical form and hash --------------------------------------------------

class NotCanonical(ValueError):
    """The value cannot be put in canonical form (a float, a non-string key...)."""


def _check_canonical(value: Any, path: str = "$") -> None:
    # Only integers: a float would serialise differently in JavaScript and Python.
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return
    if isinstance(value, float):
        raise NotCanonical(f"{path} is a float; money and quantities are integers")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"{path} has a non-string key")
            _check_canonical(item, f"{path}.{key}")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_canonical(item, f"{path}[{i}]")
        return
    raise NotCanonical(f"{path} has an unsupported type {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON, keys sorted, no spaces, non-ASCII kept: what RFC 8785 gives for our data."""
    _check_canonical(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def document_hash(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a document, its own `hash` left out."""
    return hashlib.sha256(canonical_json({k: v for k, v in document.items() if k != "hash"})).hexdigest()


# --- money and tax --------------------------------------------------------------

def line_tax(amount: int, gst_bp: int) -> int:
    """Tax inside a tax-inclusive amount: round-half-up(amount * rate / (10000 + rate))."""
    if amount < 0:
        return -line_tax(-amount, gst_bp)
    divisor = 10000 + gst_bp
    return (2 * amount * gst_bp + divisor) // (2 * divisor)


def business_date(created_at: str, tz: str = "Asia/Karachi") -> date:
    """The shop's trading day a document belongs to: its local date in the shop's zone."""
    return datetime.fromisoformat(created_at).astimezone(ZoneInfo(tz)).date()


def receipt_number(device_code: str, seq: int) -> str:
    """The USIN printed on a receipt."""
    return f"{device_code}-{seq:06d}"


# --- documents ------------------------------------------------------------------

Paisa = Annotated[StrictInt, Field(ge=0)]
Text = Annotated[StrictStr, Field(min_length=1, max_length=200)]


class DocumentBase(BaseModel):
    """Fields every document carries, whatever its kind."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: StrictStr
    kind: StrictStr
    device_id: Text
    device_code: StrictStr
    seq: Annotated[StrictInt, Field(ge=1)]
    created_at: StrictStr
    cashier_id: Text
    clock_offset_ms: StrictInt | None = None
    hash: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]

    @field_validator("id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        if str(UUID(value)) != value.lower():
            raise ValueError("id must be a UUID in canonical form")
        return value

    @field_validator("device_code")
    @classmethod
    def _device_code(cls, value: str) -> str:
        if not DEVICE_CODE.match(value):
            raise ValueError("device_code must look like T1, T2, ...")
        return value

    @field_validator("created_at")
    @classmethod
    def _created_at(cls, value: str) -> str:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as err:
            raise ValueError("created_at must be ISO 8601") from err
        if moment.tzinfo is None:
            raise ValueError("created_at must carry a UTC offset")
        return value

    @property
    def receipt_number(self) -> str:
        return receipt_number(self.device_code, self.seq)


class SaleLine(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    sku: Text
    name: Text
    qty: Annotated[StrictInt, Field(ge=1)]
    unit_price: Paisa
    gst_bp: Annotated[StrictInt, Field(ge=0, le=10000)]
    amount: Paisa
    tax: Paisa

    @model_validator(mode="after")
    def _arithmetic(self) -> "SaleLine":
        if self.amount != self.qty * self.unit_price:
            raise ValueError(f"line {self.sku}: amount is not qty x unit_price")
        if self.tax != line_tax(self.amount, self.gst_bp):
            raise ValueError(f"line {self.sku}: tax is not the GST inside the amount")
        return self


class Payment(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    tender: Literal["cash", "card", "wallet"]
    amount: Annotated[StrictInt, Field(ge=1)]


class Sale(DocumentBase):
    """A completed sale: lines, payments, totals. Change is given in cash only."""

    kind: Literal["sale"]
    lines: Annotated[list[SaleLine], Field(min_length=1, max_length=500)]
    payments: Annotated[list[Payment], Field(min_length=1, max_length=20)]
    total: Paisa
    tax: Paisa
    change: Paisa

    @model_validator(mode="after")
    def _totals(self) -> "Sale":
        if self.total != sum(line.amount for line in self.lines):
            raise ValueError("total is not the sum of the lines")
        if self.tax != sum(line.tax for line in self.lines):
            raise ValueError("tax is not the sum of the lines' tax")
        paid = sum(p.amount for p in self.payments)
        if paid - self.change != self.total:
            raise ValueError("payments less change do not equal the total")
        cash = sum(p.amount for p in self.payments if p.tender == "cash")
        if self.change > cash:
            raise ValueError("change exceeds the cash received")
        return self


class OtherDocument(DocumentBase):
    """Kinds whose bodies later issues define; carried through the pipeline as they are."""

    kind: Literal["refund", "shift_open", "shift_close", "cash_movement"]


Document = Annotated[Union[Sale, OtherDocument], Field(discriminator="kind")]
_document_adapter: TypeAdapter[Sale | OtherDocument] = TypeAdapter(Document)


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


def parse_document(raw: Any) -> Sale | OtherDocument:
    """Validate one document off the wire, its hash included; raise InvalidDocument."""
    if not isinstance(raw, dict):
        raise InvalidDocument("a document must be a JSON object")
    doc_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    try:
        document = _document_adapter.validate_python(raw)
    except ValidationError as err:
        raise InvalidDocument(first_error(err), doc_id) from err
    try:
        expected = document_hash(raw)
    except NotCanonical as err:
        raise InvalidDocument(str(err), doc_id) from err
    if expected != raw["hash"]:
        raise InvalidDocument("hash does not match the document's content", doc_id)
    return document


# --- batches and results -----------------------------------------------------------

class JournalBatch(BaseModel):
    """A batch of documents. Each is validated on its own so one bad one blocks nothing."""

    documents: Annotated[list[Any], Field(max_length=MAX_BATCH_DOCUMENTS)]
    # Gateway -> cloud only: when the gateway received each document, by id.
    received_at: dict[str, str] = Field(default_factory=dict)


class DocumentResult(BaseModel):
    id: str | None
    status: Literal["stored", "duplicate", "conflict", "invalid"]
    reason: str | None = None


class BatchResponse(BaseModel):
    results: list[DocumentResult]
    server_time: str



# --- catalog -------------------------------------------------------------------------

class ProductIn(BaseModel):
    """What an owner PUTs for a product."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    price: Paisa
    gst_bp: Annotated[StrictInt, Field(ge=0, le=10000)]
    barcode: Annotated[StrictStr, Field(max_length=64)] | None = None
    category: Annotated[StrictStr, Field(max_length=64)] | None = None


class Product(ProductIn):
    sku: Text


class CashierIn(BaseModel):
    """What an owner PUTs for a cashier; the PIN is stored only as a salted hash."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    pin: Annotated[StrictStr, Field(pattern=r"^[0-9]{4,8}$")]


class Cashier(BaseModel):
    cashier_id: Text
    name: Text
    pin_salt: str
    pin_hash: str
    pin_iterations: int


class Catalog(BaseModel):
    shop_id: str
    shop_name: str
    version: int
    products: list[Product]
    cashiers: list[Cashier]


# --- enrolment and heartbeat --------------------------------------------------------

class EnrolRequest(BaseModel):
    enrol_token: Text
    name: Annotated[StrictStr, Field(max_length=100)] = "gateway"


class EnrolResponse(BaseModel):
    gateway_id: str
    shop_id: str
    shop_name: str
    api_key: str


class Heartbeat(BaseModel):
    """What a gateway tells the cloud about itself on every beat."""

    version: str
    backlog: int
    oldest_unsynced_at: str | None = None
    disk_free_bytes: int | None = None
    devices: list[dict[str, Any]] = Field(default_factory=list)
