"""The box's till API (till_api.py, cashier_pins.py) as tills see it, for GET /api/v1/openapi.json.

Requests are the models the handlers validate with; where a handler answers a
plain dict, the model here states its shape, and tests/gateway/test_openapi_fuzz.py
holds every answer to it. Response models leave extra fields allowed: an
answer may grow, not shrink.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from cloud_api.contract import BatchResponse, Catalog, JournalBatch, Sale
from cloud_api.service.openapi import Operation, Parameter, openapi_document, openapi_route

from .cashier_pins import Verified, VerifyRequest
from .khata_api import Approval, ApprovalRequest
from .print_api import PrintAccepted, PrintJobState, PrintRequest, TabletPrinter
from .print_jobs import MAX_ID
from .till_api import MAX_CURSOR, AcksRequest, PairRequest


class ServerTime(BaseModel):
    server_time: str


class Paired(BaseModel):
    """The till keeps all of it: its identity, numbering prefix and bearer token."""

    device_id: str
    device_code: str
    token: str
    shop_name: str
    server_time: str


class Rejected(BaseModel):
    id: str
    reason: str | None


class CloudStates(BaseModel):
    """Where each asked-for document stands; a till forgets a document only once it is in_cloud."""

    in_cloud: list[str]
    at_gateway: list[str]
    rejected: list[Rejected]
    unknown: list[str]


class StatusPrinter(BaseModel):
    printer_id: int
    name: str


class BoxStatus(BaseModel):
    """`printer` only to a paired till (its token sent): its printer on the box, null for none."""
    wan: str
    wan_since: str | None
    shop_name: str
    server_time: str
    backlog: int
    oldest_unsynced_at: str | None
    printer: StatusPrinter | None = None


class TillStock(BaseModel):
    """On hand per SKU (pieces, or grams / ml for loose goods), shop-wide; empty before the cloud's first
    snapshot. May be negative: stock informs, it never blocks a sale. device_seq: the highest seq of the
    asking tablet's documents the box holds, read with the stock (0: none), so the tablet takes off only
    its own documents above it."""

    stock: dict[str, int]
    device_seq: int


class RefundSummary(BaseModel):
    id: str
    receipt_number: str
    created_at: str
    total: int
    on_account: int   # paid back on the customer's khata
    money: int        # paid back in cash, card or wallet


class SaleForReturn(BaseModel):
    """A sale and what every tablet's refunds the box holds have returned of it, per line index."""

    sale: Sale
    receipt_number: str
    refunded: list[int]
    refunds: list[RefundSummary]


class FiscalReceipt(BaseModel):
    """One of the tablet's sales or refunds as FBR / PRA know it: failed is refused, or no answer after
    several tries (the owner sees why on /admin and in the back office)."""

    id: str
    receipt_number: str
    status: Literal["pending", "fiscalized", "failed"]
    fbr_number: str | None
    pos_id: int | None
    qr: str | None   # data:image/svg+xml,... of fbr_number, when fiscalized


class FiscalReceipts(BaseModel):
    """What changed since the cursor the till sent; it sends this cursor next time."""

    cursor: int
    mode: Literal["off", "fbr", "pra"]
    receipts: list[FiscalReceipt]


class TillCustomer(BaseModel):
    """A customer as the box knows them: the cloud's snapshot overlaid by the customer documents it has seen
    since (latest wins); balance = snapshot balance + every khata entry the snapshot does not count yet.
    Positive: the customer owes the shop. updated_at is null for a customer the box knows no details of
    (name "Unknown customer", credit_limit the shop's default_credit_limit)."""

    customer_id: str
    name: str
    phone: str | None
    cnic: str | None
    ntn: str | None
    credit_limit: int | None
    balance: int
    updated_at: str | None
    last_entry_at: str | None


class TillCustomers(BaseModel):
    """snapshot_at: when the box last got the cloud's khata snapshot; null: it counts only what it has seen.
    device_seq: the highest seq of the asking tablet's documents the box holds (0: none), read with the
    balances: the till adds its own khata documents above it."""

    customers: list[TillCustomer]
    snapshot_at: str | None
    device_seq: int


class KhataEntry(BaseModel):
    document_id: str
    kind: Literal["sale", "refund", "khata_payment", "khata_adjustment"]
    amount: int
    at: str
    receipt_number: str | None
    device_code: str | None
    cashier_id: str | None
    note: str | None
    # Where it is (absent from older boxes): the cloud has it, or refused it, or else it is at the box.
    in_cloud: bool = False
    refused: bool = False


class CustomerKhata(BaseModel):
    """One customer and the last (at most 50) entries the box saw, newest first."""

    customer: TillCustomer
    entries: list[KhataEntry]
    snapshot_at: str | None
    device_seq: int


# A write on a full SD card (gateway/store.py): the till shows it and keeps its documents.
_FULL = {507: "the shop box's storage is full; nothing was stored"}

OPERATIONS = [
    Operation("POST", "/api/v1/pair", "pair a tablet with a code from the box's admin page", Paired,
              PairRequest, status=201, auth=None, server_errors=_FULL),
    Operation("POST", "/api/v1/journal:batch", "a till's batch of documents; a verdict per document",
              BatchResponse, JournalBatch, server_errors=_FULL),
    Operation("POST", "/api/v1/journal:acks", "which of the till's documents the cloud holds", CloudStates,
              AcksRequest),
    Operation("GET", "/api/v1/catalog", "the shop's products and cashiers, as the cloud last sent them", Catalog,
              parameters=(Parameter("If-None-Match", "header", description="the ETag of the catalog held"),),
              other={304: "the catalog has not changed since that ETag"},
              server_errors={503: "the catalog has not yet arrived from the cloud"}),
    Operation("POST", "/api/v1/cashiers:verify", "check a cashier's PIN on the box, with attempt limits "
              "(401 wrong_pin; 429 with Retry-After while this tablet or cashier must wait)", Verified,
              VerifyRequest, server_errors={**_FULL, 503: "the catalog has not yet arrived from the cloud"}),
    Operation("GET", "/api/v1/stock", "on hand per product, shop-wide: the cloud's snapshot plus every sale and "
              "return the box has seen since", TillStock,
              parameters=(Parameter("If-None-Match", "header", description="the ETag of the stock held"),),
              other={304: "the stock has not changed since that ETag"}),
    Operation("GET", "/api/v1/sales/{ref}", "a sale to return from, by its id or receipt number (any case), with "
              "the quantities already refunded per line from every tablet (404 unknown_sale)", SaleForReturn,
              parameters=(Parameter("ref", "path", required=True,
                                    description="the sale's document id or receipt number, e.g. T2-000004"),)),
    Operation("GET", "/api/v1/fiscal", "FBR / PRA outcomes (number, QR code) of this tablet's own sales and "
              "refunds that changed after the cursor `since`", FiscalReceipts,
              parameters=(Parameter("since", "query", schema={"type": "integer", "minimum": 0, "maximum": MAX_CURSOR},
                                    description="the cursor of the last answer; 0 for everything"),)),
    Operation("GET", "/api/v1/printer", "this tablet's receipt printer on the box and what it last said "
              "(404 no_printer: the till prints through the browser)", TabletPrinter),
    Operation("POST", "/api/v1/print", "print a receipt (by document id; a duplicate says DUPLICATE) or a shift's "
              "Z-report on this tablet's printer, from the documents the box holds, or (what: drawer) the drawer "
              "kick job of a drawer_open, to follow (404 no_printer; 409 not_at_box: push the journal, then ask "
              "again)", PrintAccepted, PrintRequest, status=202,
              server_errors={**_FULL, 503: "the box lacks the fonts to draw this slip (fonts_missing)"}),
    Operation("GET", "/api/v1/print/{job_id}", "how a print job went: printed, or why it waits or failed",
              PrintJobState, parameters=(Parameter("job_id", "path", required=True,
                                                   schema={"type": "integer", "minimum": 1, "maximum": MAX_ID},
                                                   description="the job_id POST /api/v1/print answered"),)),
    Operation("GET", "/api/v1/customers", "every customer of the shop with their khata balance, as the box "
              "knows it (the cloud's snapshot plus every document it has seen since)", TillCustomers,
              parameters=(Parameter("If-None-Match", "header", description="the ETag of the list held"),),
              other={304: "nothing has changed since that ETag"}),
    Operation("GET", "/api/v1/customers/{customer_id}", "one customer with their balance and the last khata "
              "entries the box saw, newest first (404 unknown_customer)", CustomerKhata,
              parameters=(Parameter("customer_id", "path", required=True, description="the customer's id"),)),
    Operation("POST", "/api/v1/khata/approvals", "approve credit before an on-account sale or an adjustment of a "
              "khata: without a pin the box approves credit within the customer's limit (balance + open holds + "
              "amount), with the owner's pin anything (403 owner_approval_needed with balance, credit_limit, held; "
              "403 wrong_pin; 429 with Retry-After while this address must wait; 409 no owner PIN is set on the "
              "box)", Approval, ApprovalRequest, status=201, server_errors=_FULL),
    Operation("GET", "/api/v1/status", "the cloud link and the backlog the till shows", BoxStatus),
    Operation("GET", "/api/v1/time", "the box's clock, from which tills learn their offset", ServerTime,
              auth=None),
]

DOCUMENT = openapi_document(
    "POS Line shop box", "The LAN API the shop's tablets call.", OPERATIONS,
    bearer={"bearer": "the till's token, from POST /api/v1/pair"})

routes = [openapi_route("/api/v1/openapi.json", DOCUMENT)]
