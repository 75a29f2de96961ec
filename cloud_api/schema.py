"""The cloud's tables (SQLAlchemy Core). Migrations in migrations/versions create them.

Times are ISO 8601 strings in UTC and business dates are YYYY-MM-DD strings:
they sort correctly and read the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint,
                        false, text, true)

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a journal.
Serial = BigInteger().with_variant(Integer(), "sqlite")

shops = Table(
    "shops", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("owner_token_digest", String(64), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False),
    Column("catalog_version", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    # Receipt settings (contract.ShopSettings): what a receipt prints under the shop's name.
    Column("address", String(200), nullable=False, server_default=""),
    Column("phone", String(40), nullable=False, server_default=""),
    Column("ntn", String(20), nullable=False, server_default=""),
    Column("strn", String(20), nullable=False, server_default=""),
    Column("receipt_footer", String(200), nullable=False, server_default=""),
    Column("default_credit_limit", BigInteger, nullable=False, server_default=text("500000")),
    Column("offline_credit_allowance", BigInteger, nullable=False, server_default=text("200000")),
    # The owner's account that holds this shop (owners.py); NULL for a shop made before accounts.
    Column("owner_id", String(36), index=True),
    # Fiscal reporting (issue 9): contract.FiscalSettings as JSON (NULL: the defaults, mode off), and
    # FBR's / PRA's bearer token apart from it, so no code that serialises the settings can leak it.
    # The token is held as given: the cloud must hand it to the box (GET /v1/catalog as a gateway).
    Column("fiscal", Text),
    Column("fiscal_token", Text),
)

# Owners sign in to the back office (cloud_api/office/) with a phone number or an email and a
# password, kept only as an argon2id hash. One owner holds one or more shops.
owners = Table(
    "owners", metadata,
    Column("id", String(36), primary_key=True),
    Column("login", String(200), nullable=False, unique=True),   # owners.normal_login(): 03001234567 or a@b.pk
    Column("password_hash", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
)

# Sign-in tries counted before the password is checked (owners.check_password), per login (known or
# not: an unknown login is counted alike) and client address, plus one row per login with address "*"
# counting every address together. A row is taken out by a good sign-in from that address.
sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("login", String(200), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", String(40), nullable=False),
)

# Back-office sessions, in the database so any stateless worker serves any request.
owner_sessions = Table(
    "owner_sessions", metadata,
    Column("token_digest", String(64), primary_key=True),
    Column("owner_id", String(36), nullable=False, index=True),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
)

enrol_tokens = Table(
    "enrol_tokens", metadata,
    Column("token_digest", String(64), primary_key=True),
    Column("shop_id", String(36), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("used_at", String(40)),
    Column("gateway_id", String(36)),
)

gateways = Table(
    "gateways", metadata,
    Column("id", String(36), primary_key=True),
    Column("shop_id", String(36), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("api_key_digest", String(64), nullable=False, unique=True),
    Column("enrolled_at", String(40), nullable=False),
    Column("last_heard_at", String(40)),
    Column("last_heartbeat", Text),
    Column("revoked_at", String(40)),   # the owner revoked this box: its API key opens nothing
)

devices = Table(
    "devices", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("device_id", String(200), primary_key=True),
    Column("device_code", String(8), nullable=False),
    Column("gateway_id", String(36)),
    Column("first_seen_at", String(40), nullable=False),
    Column("last_heard_at", String(40), nullable=False),
    Column("contiguous_seq", BigInteger, nullable=False),   # highest seq with no gap below it
    Column("max_seq", BigInteger, nullable=False),
    # Box time minus device time (ms) as the newest document found it; health names a skewed tablet.
    Column("clock_skew_ms", BigInteger),
    # The owner revoked this tablet: the catalog names it and the box unpairs it (gateway/catalog.py).
    Column("revoked_at", String(40)),
)

# The journal. ingest_seq orders everything the cloud ever accepted and is the
# watermark stock snapshots name.
documents = Table(
    "documents", metadata,
    Column("ingest_seq", Serial, primary_key=True, autoincrement=True),
    Column("shop_id", String(36), nullable=False),
    Column("id", String(36), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("device_id", String(200), nullable=False),
    Column("device_code", String(8), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("cashier_id", String(200), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("gateway_id", String(36)),
    Column("received_at", String(40)),
    Column("ingested_at", String(40), nullable=False),
    UniqueConstraint("shop_id", "id", name="uq_documents_shop_id"),
    Index("ix_documents_shop_kind_date", "shop_id", "kind", "business_date"),
    Index("ix_documents_shop_device_seq", "shop_id", "device_id", "seq"),
)

# Same id, different content: both versions kept, shown to the owner, never overwritten.
quarantine = Table(
    "quarantine", metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("shop_id", String(36), nullable=False, index=True),
    Column("document_id", String(36), nullable=False),
    Column("stored_hash", String(64), nullable=False),
    Column("incoming_hash", String(64), nullable=False),
    Column("incoming_body", Text, nullable=False),
    Column("gateway_id", String(36)),
    Column("quarantined_at", String(40), nullable=False),
)

# Documents that failed validation, kept for inspection.
rejected_documents = Table(
    "rejected_documents", metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("shop_id", String(36), nullable=False, index=True),
    Column("document_id", String(200)),
    Column("body", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("gateway_id", String(36)),
    Column("rejected_at", String(40), nullable=False),
)

# Projections, written in the ingest transaction.
sale_facts = Table(
    "sale_facts", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("document_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("device_code", String(8), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    # Sales and refunds alike (kind), each with who rang it up and in which shift.
    Column("cashier_id", String(200)),
    Column("shift_id", String(36)),
    Column("discount", BigInteger, nullable=False, server_default=text("0")),
    Column("change", BigInteger, nullable=False, server_default=text("0")),
    Column("original_id", String(36)),      # a refund's sale
    # The receipt number (T1-000042) and the hour of day in the shop's time zone (0-23): the sales
    # list and the by-hour chart read them here, not from the journal.
    Column("receipt", String(20)),
    Column("hour", Integer),
    # A sale's Re 1 FBR / PRA POS service fee (contract.SERVICE_FEE): inside total, in no line; the
    # owner hands these to the tax authority, so reports name them (0 for refunds: never returned).
    Column("service_fee", BigInteger, nullable=False, server_default=text("0")),
    Index("ix_sale_facts_shop_date", "shop_id", "business_date"),
    Index("ix_sale_facts_shop_receipt", "shop_id", "receipt"),
    Index("ix_sale_facts_shop_original", "shop_id", "original_id"),   # a receipt's returns
    Index("ix_sale_facts_shop_shift", "shop_id", "shift_id"),
)

tender_facts = Table(
    "tender_facts", metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("shop_id", String(36), nullable=False),
    Column("document_id", String(36), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("tender", String(16), nullable=False),
    # One row per payment: positive for a sale's, negative for a refund's; a sale's change is a
    # cash row of its own (-change), so a tender's sum is the money it really took.
    Column("amount", BigInteger, nullable=False),
    Column("reference", String(64)),
    Column("wallet", String(16)),
    Column("unverified", Boolean, nullable=False, server_default=false()),
    Index("ix_tender_facts_shop_date", "shop_id", "business_date"),
    Index("ix_tender_facts_shop_document", "shop_id", "document_id"),
)

# Each line of a sale (qty > 0) or refund (qty < 0): pieces, or grams / ml of a loose product.
line_facts = Table(
    "line_facts", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("document_id", String(36), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("business_date", String(10), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("unit", String(8), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),    # after discounts; negative for a refund
    # GST inside amount and its rate, and the name it was sold under: the GST and item reports.
    Column("tax", BigInteger, nullable=False, server_default=text("0")),
    Column("gst_bp", Integer, nullable=False, server_default=text("0")),
    Column("name", String(200), nullable=False, server_default=""),
    Index("ix_line_facts_shop_date", "shop_id", "business_date"),
)

# A till's shift: its shift_open and (once counted) its shift_close, in whatever order they arrive.
shifts = Table(
    "shifts", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("shift_id", String(36), primary_key=True),
    Column("device_code", String(8), nullable=False),
    Column("business_date", String(10), nullable=False),   # the opening's (the closing's until it arrives)
    Column("opened_at", String(40)),
    Column("opened_by", String(200)),
    Column("opening_float", BigInteger),
    Column("open_receipt", String(20)),
    Column("close_document_id", String(36)),
    Column("closed_at", String(40)),
    Column("closed_by", String(200)),
    Column("counted_cash", BigInteger),
    Column("expected_cash", BigInteger),     # what the till worked out
    Column("confirmed_card", BigInteger),
    Column("confirmed_wallet", BigInteger),
    Column("close_receipt", String(20)),
    Index("ix_shifts_shop_date", "shop_id", "business_date"),
)

# Cash paid into or out of a drawer.
cash_movements = Table(
    "cash_movements", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("document_id", String(36), primary_key=True),
    Column("business_date", String(10), nullable=False),
    Column("device_code", String(8), nullable=False),
    Column("cashier_id", String(200), nullable=False),
    Column("shift_id", String(36)),
    Column("direction", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Index("ix_cash_movements_shop_date", "shop_id", "business_date"),
)

stock_ledger = Table(
    "stock_ledger", metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("shop_id", String(36), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("document_id", String(36)),
    Column("created_at", String(40), nullable=False),
    # The owner's Idempotency-Key (API) or form token (page): a retried movement counts once.
    Column("idempotency_key", String(100)),
    Column("request_hash", String(64)),   # of the movement first sent with that key
    Index("ix_stock_ledger_shop_sku", "shop_id", "sku"),
    UniqueConstraint("shop_id", "idempotency_key", name="uq_stock_ledger_idempotency"),
)

products = Table(
    "products", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("gst_bp", Integer, nullable=False),
    Column("barcode", String(64)),
    Column("category", String(64)),
    Column("updated_at", String(40), nullable=False),
    Column("unit", String(8), nullable=False, server_default="each"),
    Column("name_ur", String(200)),
    Column("low_stock_at", BigInteger),
    # The PCT code FBR / PRA invoices name (contract.PCT_CODE); NULL reports contract.DEFAULT_PCT_CODE.
    Column("pct_code", String(9)),
    # Archived products leave the catalog (tills stop selling them) but stay for reports.
    Column("archived", Boolean, nullable=False, server_default=false()),
)

cashiers = Table(
    "cashiers", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("cashier_id", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("pin_salt", String(64), nullable=False),
    Column("pin_hash", String(128), nullable=False),
    Column("pin_iterations", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("max_discount_bp", Integer, nullable=False, server_default=text("0")),
    Column("can_refund", Boolean, nullable=False, server_default=true()),
    # A disabled cashier leaves the catalog, so every till refuses the PIN after its next catalog sync.
    Column("disabled", Boolean, nullable=False, server_default=false()),
)

# Customers and their khata (udhaar, issue 10). A customer's details: the latest by true time of their
# `customer` documents or the owner's edits (updated_at), so an edit in the back office beats an older
# till document and the box learns it from the khata snapshot. A customer named by a khata entry
# before their own document arrived has a placeholder row (name "", updated_at "": older than anything).
customers = Table(
    "customers", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("customer_id", String(36), primary_key=True),   # the id of the document that created them
    Column("name", String(200), nullable=False),
    Column("phone", String(20)),
    Column("cnic", String(15)),
    Column("ntn", String(20)),
    Column("credit_limit", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", String(40), nullable=False),   # true time (UTC) of the first we know of them
    Column("updated_at", String(40), nullable=False),   # true time (UTC) of the details held
    Column("source", String(8), nullable=False),        # till | office: who set the details held
    Column("document_id", String(36)),                  # the customer document held (NULL: the owner's edit)
    Index("ix_customers_shop_name", "shop_id", "name"),
)

# Every change to a khata: one row per document with contract.khata_entry_amounts() (entry_id = the
# document's id) and per back-office adjustment (a uuid4). Never updated or deleted: a balance is the
# sum of amounts (positive: the customer owes the shop), a correction is another entry.
khata_entries = Table(
    "khata_entries", metadata,
    Column("shop_id", String(36), primary_key=True),
    Column("entry_id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False),
    Column("kind", String(32), nullable=False),   # sale | refund | khata_payment | khata_adjustment | office_adjustment
    Column("amount", BigInteger, nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("at", String(40), nullable=False),          # true time, UTC: statements run in this order
    Column("device_code", String(8)),
    Column("cashier_id", String(200)),
    Column("receipt", String(20)),
    Column("shift_id", String(36)),
    # A khata payment's money by tender (the Z-report's khata_collected and the collections report).
    Column("cash", BigInteger, nullable=False, server_default=text("0")),
    Column("card", BigInteger, nullable=False, server_default=text("0")),
    Column("wallet", BigInteger, nullable=False, server_default=text("0")),
    Column("note", String(200)),                       # a payment's note, an adjustment's reason
    Column("source", String(8), nullable=False),       # till | office
    # Covers the ageing list's aggregate (business_date, amount), so it reads the index alone.
    Index("ix_khata_entries_shop_customer", "shop_id", "customer_id", "at", "business_date", "amount"),
    Index("ix_khata_entries_shop_date", "shop_id", "business_date"),
    Index("ix_khata_entries_shop_shift", "shop_id", "shift_id"),
)
