"""Append-only, named schema steps for the gateway's SQLite, each in its own transaction.

Never edit a step that has shipped; add a new one. Applied names are recorded
in `migrations`, so a box upgraded from any older version catches up in order.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Awaitable, Callable, Sequence

import aiosqlite

from cloud_api.service.clock import utc_now

Step = Callable[[aiosqlite.Connection], Awaitable[None]]


async def m001_box_and_devices(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- The box's own identity and small state: cloud url, api key, WAN state ...
        CREATE TABLE box (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        -- Paired tills. Tokens are kept only as digests.
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            device_code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            token_digest TEXT NOT NULL UNIQUE,
            paired_at TEXT NOT NULL,
            last_seen_at TEXT,
            clock_offset_ms INTEGER
        );
        CREATE TABLE pairing_codes (
            code_digest TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );
    """)


async def m002_journal(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- Every document a till handed us, in receive order (rx_seq), until and after the cloud acks it.
        CREATE TABLE journal (
            rx_seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            device_id TEXT NOT NULL,
            device_code TEXT NOT NULL,
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL,
            -- pending: not yet in the cloud; in_cloud: acked; rejected: the cloud refused it (see dead_letter)
            cloud_state TEXT NOT NULL DEFAULT 'pending',
            cloud_at TEXT,
            cloud_reason TEXT
        );
        CREATE INDEX journal_by_state ON journal (cloud_state, rx_seq);
        CREATE INDEX journal_by_device ON journal (device_id, seq);
        -- Same id, different content: both kept, shown to the owner.
        CREATE TABLE conflicts (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id TEXT NOT NULL,
            stored_hash TEXT NOT NULL,
            incoming_hash TEXT NOT NULL,
            incoming_body TEXT NOT NULL,
            device_id TEXT,
            at TEXT NOT NULL
        );
        -- Documents that failed validation here or in the cloud: kept, visible, exportable.
        CREATE TABLE dead_letter (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id TEXT,
            body TEXT NOT NULL,
            reason TEXT NOT NULL,
            source TEXT NOT NULL,
            device_id TEXT,
            at TEXT NOT NULL
        );
        CREATE TABLE catalog (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            etag TEXT NOT NULL,
            body TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        );
    """)


async def m003_tablet_admin(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- Set when the owner revokes a tablet on /admin: its token stops working; the row stays.
        ALTER TABLE devices ADD COLUMN revoked_at TEXT;
        -- Owner sessions of /admin. Tokens are kept only as digests.
        CREATE TABLE admin_sessions (
            token_digest TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            address TEXT
        );
        -- Wrong owner PINs, one row each: the rate limit survives a restart.
        CREATE TABLE owner_pin_failures (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            address TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX owner_pin_failures_by_address ON owner_pin_failures (address, at);
        CREATE INDEX owner_pin_failures_by_time ON owner_pin_failures (at);
    """)


async def m004_owner_devices(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- Browsers the owner has signed in with: exempt from the box-wide PIN ceiling (owner_pin.py).
        -- Tokens are kept only as digests; a new owner PIN forgets them all.
        CREATE TABLE owner_devices (
            token_digest TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
    """)


async def m005_lan_guards(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- Set by the owner on /admin: until then, this tablet may pair again without its old token.
        ALTER TABLE devices ADD COLUMN repair_allowed_until TEXT;
        -- Invalid documents of this tablet dropped from its bounded dead letter (journal.py), oldest first.
        ALTER TABLE devices ADD COLUMN dead_letter_evicted INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX dead_letter_by_device ON dead_letter (device_id, source, pk);
    """)


async def m006_cashier_pin_attempts(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- Wrong cashier PINs, one row each (cashier_pins.py): the limits survive a restart.
        CREATE TABLE cashier_pin_failures (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id TEXT NOT NULL,
            cashier_id TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX cashier_pin_failures_by_device ON cashier_pin_failures (device_id, at);
        CREATE INDEX cashier_pin_failures_by_cashier ON cashier_pin_failures (cashier_id, at);
        CREATE INDEX cashier_pin_failures_by_time ON cashier_pin_failures (at);
    """)


async def m007_stock_and_returns(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- Where the cloud filed each document (its answer's ingest_seq): which stock snapshots count it.
        ALTER TABLE journal ADD COLUMN ingest_seq INTEGER;
        -- A return finds its sale by receipt number.
        CREATE INDEX journal_by_receipt ON journal (device_code, seq);
        -- The cloud's last stock snapshot: on hand per SKU over its journal up to `watermark` (gateway/stock.py).
        CREATE TABLE stock_snapshot (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            watermark INTEGER NOT NULL,
            body TEXT NOT NULL,
            etag TEXT,
            fetched_at TEXT NOT NULL
        );
        -- Each document's movements per SKU (sale -qty, refund +qty), with its ingest_seq once acked.
        CREATE TABLE stock_moves (
            document_id TEXT NOT NULL,
            sku TEXT NOT NULL,
            qty INTEGER NOT NULL,
            ingest_seq INTEGER,
            PRIMARY KEY (document_id, sku)
        );
        CREATE INDEX stock_moves_by_ingest_seq ON stock_moves (ingest_seq);
        -- Refunds and their lines by the sale they return from, in receive order (gateway/returns.py).
        CREATE TABLE refunds (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            refund_id TEXT NOT NULL UNIQUE,
            sale_id TEXT NOT NULL,
            receipt_number TEXT NOT NULL,
            created_at TEXT NOT NULL,
            total INTEGER NOT NULL
        );
        CREATE INDEX refunds_by_sale ON refunds (sale_id, pk);
        CREATE TABLE refunded_lines (
            refund_id TEXT NOT NULL,
            sale_id TEXT NOT NULL,
            line_index INTEGER NOT NULL,
            sku TEXT NOT NULL,
            name TEXT NOT NULL,
            unit TEXT NOT NULL,
            qty INTEGER NOT NULL,
            amount INTEGER NOT NULL,          -- paisa paid back for this line
            PRIMARY KEY (refund_id, line_index)
        );
        CREATE INDEX refunded_lines_by_sale ON refunded_lines (sale_id, line_index);
        -- Refund lines beyond their sale, for the owner: kept, never cleared by the box.
        CREATE TABLE over_refunds (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            refund_id TEXT NOT NULL,
            refund_receipt TEXT NOT NULL,
            sale_id TEXT NOT NULL,
            sale_receipt TEXT NOT NULL,
            line_index INTEGER NOT NULL,
            sku TEXT NOT NULL,
            name TEXT NOT NULL,
            unit TEXT NOT NULL,
            qty INTEGER NOT NULL,
            sold INTEGER,
            sold_sku TEXT,
            refunded INTEGER NOT NULL,
            problem TEXT NOT NULL,
            text TEXT NOT NULL,
            at TEXT NOT NULL,
            UNIQUE (refund_id, line_index)
        );
    """)
    await _project_held_documents(db)


async def m008_fiscal(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- One job per sale / refund received while the shop reports to FBR or PRA (gateway/fiscal_jobs.py).
        -- The document never changes: this is its fiscal projection. position: the order of arrival, the
        -- order jobs are posted in. payload: the PostData JSON built at the first post and resent unchanged
        -- (the same USIN after a timeout). status: pending | fiscalized | parked (refused: the authority's
        -- message in last_error) | ambiguous (no answer after fiscal_ambiguous_after tries: maybe filed).
        -- changed_seq: a box-wide counter moved on every change, so a till asks only for what changed.
        -- target: "<mode> <environment> <url>" the payload was built for (a switch rebuilds it, unless sent).
        -- sent_at: set before a post, kept while a post may have made the invoice without a clear answer
        -- (a timeout, a crash mid-post); never cleared on Retry. qr: the number's QR (SVG data URI).
        CREATE TABLE fiscal_jobs (
            document_id TEXT PRIMARY KEY,
            position INTEGER NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            device_id TEXT NOT NULL,
            device_code TEXT NOT NULL,
            usin TEXT NOT NULL,
            day TEXT NOT NULL,
            created_at TEXT NOT NULL,
            payload TEXT,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            timeouts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            fbr_number TEXT,
            pos_id INTEGER,
            target TEXT,
            sent_at TEXT,
            qr TEXT,
            fiscalized_at TEXT,
            changed_at TEXT NOT NULL,
            changed_seq INTEGER NOT NULL UNIQUE
        );
        CREATE INDEX fiscal_jobs_by_status ON fiscal_jobs (status, position);
        CREATE INDEX fiscal_jobs_by_device ON fiscal_jobs (device_id, changed_seq);
        CREATE INDEX fiscal_jobs_by_day ON fiscal_jobs (day);
    """)


async def m009_printers(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- The shop's receipt printers (gateway/printers.py): on the LAN (host, port 9100) or on the box's
        -- USB (usb_path, e.g. /dev/usb/lp0); width_dots 576 (80 mm paper) or 384 (58 mm).
        CREATE TABLE printers (
            printer_id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            connection TEXT NOT NULL CHECK (connection IN ('lan', 'usb')),
            host TEXT,
            port INTEGER NOT NULL DEFAULT 9100,
            usb_path TEXT,
            width_dots INTEGER NOT NULL DEFAULT 576 CHECK (width_dots IN (576, 384)),
            created_at TEXT NOT NULL
        );
        -- Which printer each tablet prints on (and whose drawer its "Open drawer" kicks).
        CREATE TABLE tablet_printers (
            device_id TEXT PRIMARY KEY,
            printer_id INTEGER NOT NULL REFERENCES printers (printer_id) ON DELETE CASCADE
        );
        -- What the box was asked to print (gateway/print_jobs.py), sent in job_id order per printer.
        -- what: receipt | z_report | test_page | drawer; payload: the ESC/POS bytes, rendered once at the
        -- request (emptied once printed: an Urdu raster is ~100 KB); kick: 1 add the drawer pulse when sent,
        -- 2 the pulse went (print_jobs.KICK_SENT: a job resent after paper-out never kicks again).
        -- status: queued | printing | printed | failed; problem: offline | paper_out | expired | removed.
        -- No foreign key to printers: a removed printer's jobs stay, failed, as the record of what happened.
        CREATE TABLE print_jobs (
            job_id INTEGER PRIMARY KEY AUTOINCREMENT,
            printer_id INTEGER NOT NULL,
            device_id TEXT,
            document_id TEXT,
            what TEXT NOT NULL,
            copy TEXT NOT NULL DEFAULT 'original',
            kick INTEGER NOT NULL DEFAULT 0,
            payload BLOB,
            status TEXT NOT NULL DEFAULT 'queued',
            attempts INTEGER NOT NULL DEFAULT 0,
            problem TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            printed_at TEXT
        );
        CREATE INDEX print_jobs_by_printer ON print_jobs (printer_id, status, job_id);
        CREATE INDEX print_jobs_by_time ON print_jobs (created_at);
        -- A document's original receipt and a drawer_open's kick happen once, however often they are asked for.
        CREATE UNIQUE INDEX print_jobs_once ON print_jobs (document_id, what)
            WHERE copy = 'original' AND what IN ('receipt', 'drawer');
        -- drawer_open documents received before printing existed are history, not a reason to kick now.
        INSERT OR REPLACE INTO box (key, value)
            SELECT 'print_drawer_rx_seq', CAST(coalesce(max(rx_seq), 0) AS TEXT) FROM journal;
    """)


async def m010_khata(db: aiosqlite.Connection) -> None:
    await run_script(db, """
        -- Each document's entry on a customer's khata (gateway/khata.py, contract.khata_entry_amounts):
        -- sale on account +, refund on account -, khata payment -, adjustment its signed amount. pk keeps
        -- receive order; ingest_seq is copied from the cloud's ack as for stock_moves (which snapshots count it).
        CREATE TABLE khata_entries (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id TEXT NOT NULL UNIQUE,
            customer_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            amount INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            device_id TEXT NOT NULL,
            device_code TEXT NOT NULL,
            seq INTEGER NOT NULL,
            cashier_id TEXT,
            note TEXT,
            ingest_seq INTEGER
        );
        CREATE INDEX khata_entries_by_customer ON khata_entries (customer_id, created_at);
        CREATE INDEX khata_entries_by_ingest_seq ON khata_entries (ingest_seq);
        -- device_seq (khata.py): a tablet's highest khata document, per request.
        CREATE INDEX khata_entries_by_device ON khata_entries (device_id, seq);
        -- Each customer document's details; the latest true time (updated_at, UTC) wins.
        CREATE TABLE customer_versions (
            document_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            details TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            ingest_seq INTEGER
        );
        CREATE INDEX customer_versions_by_customer ON customer_versions (customer_id, updated_at);
        CREATE INDEX customer_versions_by_ingest_seq ON customer_versions (ingest_seq);
        -- The cloud's last khata snapshot (GET /v1/khata): customers and balances up to `watermark`.
        CREATE TABLE khata_snapshot (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            watermark INTEGER NOT NULL,
            body TEXT NOT NULL,
            etag TEXT,
            fetched_at TEXT NOT NULL
        );
        -- Approvals the box gave a till (POST /api/v1/khata/approvals): by the box itself (credit within the
        -- limit) or by the owner's PIN. An unused credit approval younger than khata.HOLD_S holds its amount
        -- against the limit; used_by is the one document that used it (set on first use: never twice).
        CREATE TABLE khata_approvals (
            approval_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            amount INTEGER NOT NULL,
            purpose TEXT NOT NULL,
            by TEXT NOT NULL,
            device_id TEXT NOT NULL,
            address TEXT,
            at TEXT NOT NULL,
            used_by TEXT UNIQUE
        );
        CREATE INDEX khata_approvals_open ON khata_approvals (customer_id, at) WHERE used_by IS NULL;
        -- Khata documents for the owner to look at: credit past the limit, an adjustment, without an
        -- approval this box gave. Kept, never cleared by the box; the documents themselves were stored.
        CREATE TABLE khata_flags (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            receipt_number TEXT NOT NULL,
            problem TEXT NOT NULL,
            amount INTEGER NOT NULL,
            balance INTEGER,
            credit_limit INTEGER,
            text TEXT NOT NULL,
            at TEXT NOT NULL,
            UNIQUE (document_id, problem)
        );
    """)
    # The khata documents an older box already holds are projected by m011, once the table is whole.


async def _project_held_khata(db: aiosqlite.Connection) -> None:
    """Khata documents an older box already holds (none before the khata contract, unless a till ran
    ahead): projected with the ingest_seq the journal knows, and never flagged (history, not news).
    A document projected already is left as it is (its entry may since have been marked refused)."""
    from cloud_api.contract import InvalidDocument, parse_document

    from . import khata
    documents, seqs = [], {}
    for row in await db.execute_fetchall(
            "SELECT body, received_at, ingest_seq FROM journal WHERE (kind IN ('customer', 'khata_payment', "
            "'khata_adjustment') OR (kind IN ('sale', 'refund') AND body LIKE '%on_account%')) AND id NOT IN "
            "(SELECT document_id FROM khata_entries UNION SELECT document_id FROM customer_versions) ORDER BY rx_seq"):
        try:
            document = parse_document(json.loads(row["body"]))
        except (InvalidDocument, ValueError):
            continue
        documents.append((document, row["received_at"]))
        seqs[document.id] = row["ingest_seq"]
    for document, received_at in documents:
        await khata.record_many(db, [document], received_at, flag=False)
    await db.executemany("UPDATE khata_entries SET ingest_seq = ? WHERE document_id = ?",
                         [(seq, doc_id) for doc_id, seq in seqs.items() if seq is not None])
    await db.executemany("UPDATE customer_versions SET ingest_seq = ? WHERE document_id = ?",
                         [(seq, doc_id) for doc_id, seq in seqs.items() if seq is not None])


async def _project_held_documents(db: aiosqlite.Connection) -> None:
    """Project what an older box already holds: refunds and sales for returns, and for stock the
    documents not yet in the cloud (those it acked before it learned ingest_seq are in the cloud's
    first snapshot, taken after they were stored)."""
    from cloud_api.contract import InvalidDocument, parse_document   # only this step parses documents

    from . import returns, stock   # here: they import the store, which imports this module
    for row in await db.execute_fetchall("SELECT body, cloud_state FROM journal "
                                         "WHERE kind IN ('sale', 'refund') ORDER BY rx_seq"):
        try:
            document = parse_document(json.loads(row["body"]))
        except (InvalidDocument, ValueError):
            continue   # stored under an older contract: kept in the journal, not projected
        if row["cloud_state"] != "in_cloud":
            await stock.record_moves(db, document)
        await returns.record(db, document)


async def m011_khata_true_time(db: aiosqlite.Connection) -> None:
    """Each khata entry's true time (UTC text, khata.true_text), by which a customer's entries are listed
    and their newest is found. By the tablet's raw clock, a tablet running fast listed its entries above
    later ones; by the order the box received them, a tablet that pushed late made an old entry the newest."""
    from .khata import true_text   # here: khata imports the store, which imports this module
    await db.execute("ALTER TABLE khata_entries ADD COLUMN true_at TEXT")
    rows = await db.execute_fetchall(
        "SELECT e.pk, e.created_at, j.received_at, "
        "CASE WHEN json_valid(j.body) THEN json_extract(j.body, '$.clock_offset_ms') END AS offset "
        "FROM khata_entries e LEFT JOIN journal j ON j.id = e.document_id")
    await db.executemany("UPDATE khata_entries SET true_at = ? WHERE pk = ?",
                         [(true_text(row["created_at"], row["offset"], row["received_at"]), row["pk"]) for row in rows])
    await db.execute("CREATE INDEX khata_entries_by_true_time ON khata_entries (customer_id, true_at)")
    await db.execute("DROP INDEX khata_entries_by_customer")   # (customer_id, created_at): no query reads it now
    # Here, not in m010: projecting writes true_at. On a box that ran m010 it adds nothing.
    await _project_held_khata(db)


# The order is the history of the schema; append only. A step that projects the documents an older box
# holds (m007's _project_held_documents, m011's _project_held_khata) runs today's projection code, which
# writes today's columns: a later step that adds a column such a projection writes must move that
# projection after it, as m011 did m010's.
STEPS: list[tuple[str, Step]] = [
    ("001_box_and_devices", m001_box_and_devices),
    ("002_journal", m002_journal),
    ("003_tablet_admin", m003_tablet_admin),
    ("004_owner_devices", m004_owner_devices),
    ("005_lan_guards", m005_lan_guards),
    ("006_cashier_pin_attempts", m006_cashier_pin_attempts),
    ("007_stock_and_returns", m007_stock_and_returns),
    ("008_fiscal", m008_fiscal),
    ("009_printers", m009_printers),
    ("010_khata", m010_khata),
    ("011_khata_true_time", m011_khata_true_time),
]


async def run_script(db: aiosqlite.Connection, script: str) -> None:
    """Run SQL statements one by one inside the open transaction.

    (sqlite3's executescript would COMMIT first, breaking the one-transaction-per-step rule.)
    """
    current = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            await db.execute(current)
            current = ""


async def apply_migrations(db: aiosqlite.Connection, steps: Sequence[tuple[str, Step]] = STEPS) -> list[str]:
    """Apply the steps not yet recorded, each in its own transaction; return their names.

    `steps` is all of them on a box; tests pass the first few to make a box of an older version.
    """
    await db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in await db.execute_fetchall("SELECT name FROM migrations")}
    applied = []
    for name, step in steps:
        if name in done:
            continue
        await db.execute("BEGIN IMMEDIATE")
        try:
            await step(db)
            await db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, utc_now()))
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        applied.append(name)
    return applied
