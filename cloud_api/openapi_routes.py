"""The cloud's API as its clients see it, for GET /v1/openapi.json.

Requests are the models the handlers validate with (cloud_api/contract.py,
owner_api.py). Where a handler answers a plain dict, the model here states its
shape; tests/cloud/test_openapi_fuzz.py holds every answer to these models.
Response models leave extra fields allowed: an answer may grow, not shrink.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .contract import (DOCUMENT_KINDS, BatchResponse, CashierIn, Catalog, EnrolRequest, EnrolResponse, Heartbeat,
                       JournalBatch, KhataSnapshot, Product, ProductIn, ShopSettings)
from .contract import FiscalSettingsIn
from .fiscal import FiscalState, PosIdIn
from .khata import AdjustmentIn, CustomerIn
from .owner_api import StockMovementIn
from .service.openapi import Operation, Parameter, openapi_document, openapi_route

# --- answers that are plain dicts in the handlers ---------------------------------------


class ServerTime(BaseModel):
    server_time: str


class Healthy(BaseModel):
    ok: bool
    worker: int | None = None   # the answering process's pid (one of `serve --workers N`)


class CashierSaved(BaseModel):
    cashier_id: str
    name: str
    max_discount_bp: int
    can_refund: bool


class ProductArchived(BaseModel):
    sku: str
    archived: bool


class ProductSaved(Product):
    archived: bool   # PUT leaves it as it was: an archived product stays off the tills until .../restore


class CashierState(BaseModel):
    cashier_id: str
    disabled: bool


class EnrolToken(BaseModel):
    enrol_token: str


class StockLine(BaseModel):
    sku: str
    on_hand: int


class StockSnapshot(BaseModel):
    """On hand per SKU (grams / ml for loose goods), counting every document with ingest_seq <= watermark
    and none above, plus every owner stock movement."""

    watermark: int
    stock: dict[str, int]


class DocumentPage(BaseModel):
    """Documents as stored, each with its receipt_number, received_at, ingested_at and business_date."""

    documents: list[dict[str, Any]]
    next_after: int | None


class CashierFigures(BaseModel):
    name: str | None
    sales_count: int
    gross: int
    refunds_count: int
    refunds: int
    net: int


class Unverified(BaseModel):
    """Wallet payments taken while the till could not reach the box or the cloud: check them."""

    count: int
    amount: int


class LooseSold(BaseModel):
    unit: str        # kg: qty in grams; l: qty in millilitres
    qty: int
    amount: int


class CounterFigures(BaseModel):
    """A business day's or a shift's trade; refunds count on their own day, by_tender is net of change and refunds."""

    sales_count: int
    gross: int
    refunds_count: int
    refunds: int
    net: int
    discounts: int
    service_fees: int = 0   # the Re 1 FBR / PRA POS fees inside gross (no item's amount holds them)
    tax: int
    by_tender: dict[str, int]
    by_cashier: dict[str, CashierFigures]
    paid_in: int
    paid_out: int
    unverified: Unverified


class DailySummary(CounterFigures):
    date: str
    by_device: dict[str, int]
    loose: dict[str, LooseSold]


class ZReport(CounterFigures):
    """One shift worked out from its documents; expected_cash = float + cash net + khata cash + paid in - paid out."""

    shift_id: str
    device_code: str
    business_date: str
    open_receipt: str | None
    opened_at: str | None
    opened_by: str | None
    opening_float: int | None
    closed: bool
    close_receipt: str | None
    closed_at: str | None
    closed_by: str | None
    expected_cash: int
    counted_cash: int | None
    over_short: int | None
    till_expected_cash: int | None
    disagrees: bool
    confirmed: dict[str, int]
    drawer_openings: int = 0                   # "Open drawer" on the till (drawer_open documents) in this shift
    drawer_reasons: list[str] = []             # why, each time, in the till's order
    # Khata payments taken in the shift, by tender; their cash is in expected_cash (on-account sales are not).
    khata_collected: dict[str, int] = {}


class ShiftReports(BaseModel):
    date: str
    shifts: list[ZReport]


class GatewayHealth(BaseModel):
    gateway_id: str
    name: str
    last_heard_at: str | None
    backlog: int | None
    oldest_unsynced_at: str | None
    version: str | None
    parked: int = 0
    parked_reasons: list[str] = []
    revoked_at: str | None = None        # the owner revoked this box: its API key opens nothing


class DeviceHealth(BaseModel):
    device_id: str
    device_code: str
    last_heard_at: str | None
    contiguous_seq: int
    max_seq: int
    gaps: list[str]
    missing: list[list[str]] = []           # the same gaps as [first, last] receipt numbers
    clock_skew_ms: int | None = None       # box time minus device time, as its newest document found it
    clock_warning: str | None = None       # "T2's clock is 3 days behind" past 5 minutes
    revoked_at: str | None = None          # the owner revoked this tablet: its box unpairs it
    seen_by_box_at: str | None = None      # when its box last heard from it (the box's heartbeat)
    name: str | None = None                # its name on the box


class SyncHealth(BaseModel):
    gateways: list[GatewayHealth]
    devices: list[DeviceHealth]


class CustomerOut(BaseModel):
    """A customer with balance (paisa owed; negative: an advance) and ageing of what is owed, by days."""

    customer_id: str
    name: str             # "" until the till's customer document reaches the cloud (a khata entry came first)
    phone: str | None
    cnic: str | None
    ntn: str | None
    credit_limit: int
    created_at: str
    updated_at: str
    source: str           # till | office: who set the details held
    balance: int
    ageing: dict[str, int]   # "0-7", "8-30", "30+" days
    last_entry_at: str | None = None


class CustomerList(BaseModel):
    customers: list[CustomerOut]


class KhataEntryOut(BaseModel):
    entry_id: str
    kind: str            # sale | refund | khata_payment | khata_adjustment | office_adjustment
    amount: int          # signed: + the customer owes more
    business_date: str
    at: str
    device_code: str | None
    cashier_id: str | None
    receipt: str | None
    note: str | None
    source: str
    paid: dict[str, int]   # a khata payment's money by tender


class StatementLine(KhataEntryOut):
    balance: int         # after this entry


class Statement(BaseModel):
    customer: CustomerOut
    from_: str | None = Field(alias="from")
    to: str | None
    opening_balance: int
    entries: list[StatementLine]
    closing_balance: int


class KhataReportRow(BaseModel):
    day: str
    device: str          # "" for the owner's back-office adjustments
    cashier_id: str
    cashier: str
    credit_sales: int
    credit_returns: int
    collected_cash: int
    collected_card: int
    collected_wallet: int
    collected: int
    adjusted: int
    change: int          # what the khata balances moved by


class KhataReport(BaseModel):
    from_: str = Field(alias="from")
    to: str
    rows: list[KhataReportRow]


# --- the operations ----------------------------------------------------------------------

_SHOP = Parameter("shop_id", "path", description="the shop the owner token opens")
_KEY = {"type": "string", "minLength": 1, "maxLength": 200}
_DATE = {"type": "string", "format": "date"}
_SHOPS = "/v1/shops/{shop_id}"
_CUSTOMER = Parameter("customer_id", "path", _KEY)

OPERATIONS = [
    Operation("GET", "/healthz", "the worker is up", Healthy, auth=None),
    Operation("POST", "/v1/gateways:enrol", "spend a one-time enrolment token; the gateway's API key",
              EnrolResponse, EnrolRequest, status=201, auth=None),
    Operation("POST", "/v1/journal:batch", "a gateway's batch of documents; a verdict per document",
              BatchResponse, JournalBatch, auth="gateway"),
    Operation("GET", "/v1/catalog", "the shop's products, cashiers, receipt and fiscal settings, with "
              "the fiscal token (only here: the box keeps it, tablets never see it)", Catalog, auth="gateway",
              parameters=(Parameter("If-None-Match", "header", description="the ETag of the catalog held"),),
              other={304: "the catalog has not changed since that ETag"}),
    Operation("GET", "/v1/stock", "the shop's stock and the ingest watermark it counts up to", StockSnapshot,
              auth="gateway",
              parameters=(Parameter("If-None-Match", "header", description="the ETag of the snapshot held"),),
              other={304: "the snapshot has not changed since that ETag"}),
    Operation("GET", "/v1/khata", "every customer with details and balance, and the ingest watermark the "
              "balances count up to (back-office adjustments always counted)", KhataSnapshot, auth="gateway",
              parameters=(Parameter("If-None-Match", "header", description="the ETag of the snapshot held"),),
              other={304: "the snapshot has not changed since that ETag"}),
    Operation("POST", "/v1/heartbeat", "a gateway says how it is", ServerTime, Heartbeat, auth="gateway"),
    Operation("PUT", _SHOPS + "/products/{sku}", "create or change a product; archived stays as it was (see "
              ".../restore); 409 to change the unit of an sku with stock or sales (make a new sku)", ProductSaved,
              ProductIn, auth="owner", parameters=(_SHOP, Parameter("sku", "path", _KEY))),
    Operation("PUT", _SHOPS + "/cashiers/{cashier_id}", "create or change a cashier and their PIN",
              CashierSaved, CashierIn, auth="owner", parameters=(_SHOP, Parameter("cashier_id", "path", _KEY))),
    Operation("PUT", _SHOPS + "/settings", "what receipts print: address, phone, NTN, STRN, footer; the khata's credit "
              "settings (left out: kept as they are); answers the settings held",
              ShopSettings, ShopSettings, auth="owner", parameters=(_SHOP,)),
    Operation("DELETE", _SHOPS + "/products/{sku}", "archive a product: tills stop selling it, reports keep it; "
              "404 for an sku the shop does not have", ProductArchived, auth="owner",
              parameters=(_SHOP, Parameter("sku", "path", _KEY))),
    Operation("POST", _SHOPS + "/products/{sku}/restore", "put an archived product back on sale: tills sell it "
              "after their next catalog sync; 404 for an sku the shop does not have", ProductArchived,
              auth="owner", parameters=(_SHOP, Parameter("sku", "path", _KEY))),
    Operation("POST", _SHOPS + "/cashiers/{cashier_id}/disable", "disable a cashier: every till refuses their PIN "
              "after its next catalog sync; 404 for an unknown cashier", CashierState, auth="owner",
              parameters=(_SHOP, Parameter("cashier_id", "path", _KEY))),
    Operation("POST", _SHOPS + "/cashiers/{cashier_id}/enable", "enable a disabled cashier again",
              CashierState, auth="owner", parameters=(_SHOP, Parameter("cashier_id", "path", _KEY))),
    Operation("POST", _SHOPS + "/enrol-tokens", "a one-time token to enrol a (replacement) gateway",
              EnrolToken, status=201, auth="owner", parameters=(_SHOP,)),
    Operation("POST", _SHOPS + "/stock-movements",
              "stock received, counted or written off; with an Idempotency-Key a resend counts once and answers "
              "201 with the first movement (header Idempotent-Replayed: true); the key with another body is a 409; "
              "an sku the shop has no product for (archived ones count) is a 404",
              StockMovementIn, StockMovementIn, status=201, auth="owner",
              parameters=(_SHOP, Parameter("Idempotency-Key", "header",
                                           {"type": "string", "minLength": 1, "maxLength": 100,
                                            "pattern": "^[ -~]+$"},
                                           description="any unique string per movement, e.g. a UUID"))),
    Operation("GET", _SHOPS + "/stock", "units on hand per SKU", list[StockLine], auth="owner",
              parameters=(_SHOP,)),
    Operation("GET", _SHOPS + "/documents", "the journal in ingest order, paged", DocumentPage, auth="owner",
              parameters=(_SHOP, Parameter("kind", "query", {"enum": list(DOCUMENT_KINDS)}),
                          Parameter("from", "query", _DATE),
                          Parameter("to", "query", _DATE),
                          Parameter("after", "query", {"type": "integer", "minimum": 0, "maximum": 2**62},
                                    description="next_after of the previous page"),
                          Parameter("limit", "query", {"type": "integer", "minimum": 1, "maximum": 5000}))),
    Operation("GET", _SHOPS + "/reports/summary", "one business day's sales, refunds, tax, tenders, tills and cashiers",
              DailySummary, auth="owner", parameters=(_SHOP, Parameter("date", "query", _DATE, required=True))),
    Operation("GET", _SHOPS + "/reports/shifts", "Z-reports of the shifts opened that day or still open",
              ShiftReports, auth="owner", parameters=(_SHOP, Parameter("date", "query", _DATE, required=True))),
    Operation("GET", _SHOPS + "/fiscal", "fiscal reporting to FBR / PRA: the settings, whether a token is set (never "
              "the token), and the box's newest summary (per day fiscalized / pending / failed, the failures)",
              FiscalState, auth="owner", parameters=(_SHOP,)),
    Operation("PUT", _SHOPS + "/fiscal", "mode, environment, service fee and PRA tender rates; the token is "
              "write-only: absent or null keeps it, \"\" forgets it; POSIDs and Retry stay as they were",
              FiscalState, FiscalSettingsIn, auth="owner", parameters=(_SHOP,)),
    Operation("PUT", _SHOPS + "/fiscal/pos-ids/{device_id}", "a tablet's POSID ({\"pos_id\": null} clears it); "
              "404 for a tablet the shop does not know, 409 for a POSID another tablet has",
              FiscalState, PosIdIn, auth="owner", parameters=(_SHOP, Parameter("device_id", "path", _KEY))),
    Operation("POST", _SHOPS + "/fiscal:retry", "offer the box's parked invoices to FBR / PRA again "
              "(settings.retry_requested_at moves; the box sees it in its next catalog)",
              FiscalState, auth="owner", parameters=(_SHOP,)),
    Operation("GET", _SHOPS + "/customers", "every customer with balance and ageing (0-7, 8-30, 30+ days)",
              CustomerList, auth="owner",
              parameters=(_SHOP, Parameter("q", "query", {"type": "string", "maxLength": 200},
                                           description="part of a name or phone number"))),
    Operation("POST", _SHOPS + "/customers", "a new customer; without credit_limit the shop's default_credit_limit",
              CustomerOut, CustomerIn, status=201, auth="owner", parameters=(_SHOP,)),
    Operation("GET", _SHOPS + "/customers/{customer_id}", "a customer with balance and ageing; 404 if unknown",
              CustomerOut, auth="owner", parameters=(_SHOP, _CUSTOMER)),
    Operation("PUT", _SHOPS + "/customers/{customer_id}", "change a customer's details (without credit_limit: "
              "kept); updated_at moves to now, so tills and boxes take it over older details; 404 if unknown",
              CustomerOut, CustomerIn, auth="owner", parameters=(_SHOP, _CUSTOMER)),
    Operation("POST", _SHOPS + "/customers/{customer_id}/adjustments", "correct a khata: + they owe more, - less; "
              "never changed afterwards (a correction is another adjustment); with an entry_id a resend counts "
              "once and answers 200 with the stored entry; the entry_id with other content is a 409; "
              "404 if unknown",
              KhataEntryOut, AdjustmentIn, status=201, auth="owner", parameters=(_SHOP, _CUSTOMER),
              other={200: "sent again with the same entry_id and content: the stored entry, counted once"}),
    Operation("GET", _SHOPS + "/customers/{customer_id}/statement", "the khata between two business days: "
              "balance brought forward, each entry with the balance after it, closing balance",
              Statement, auth="owner", parameters=(_SHOP, _CUSTOMER, Parameter("from", "query", _DATE),
                                                   Parameter("to", "query", _DATE))),
    Operation("GET", _SHOPS + "/reports/khata", "credit sales, returns to the khata, collections by tender and "
              "adjustments per business day, tablet and cashier", KhataReport, auth="owner",
              parameters=(_SHOP, Parameter("from", "query", _DATE, required=True),
                          Parameter("to", "query", _DATE, required=True))),
    Operation("GET", _SHOPS + "/health", "every gateway and till: last heard, backlog, missing receipts",
              SyncHealth, auth="owner", parameters=(_SHOP,)),
]

DOCUMENT = openapi_document(
    "POS Line cloud", "Gateways push their shops' journals here; owners read reports and keep the catalog.",
    OPERATIONS, bearer={"gateway": "a gateway's API key, from POST /v1/gateways:enrol",
                        "owner": "the shop owner's token, given when the shop is created"})

routes = [openapi_route("/v1/openapi.json", DOCUMENT)]
