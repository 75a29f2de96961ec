"""Customers and their khata (credit ledger) on the box: the cloud's snapshot plus what the box has seen since.

A balance is never stored: it is the sum of a customer's khata entries, one per document
(contract.khata_entry_amounts: a sale on account +, a refund on account -, a khata payment -, an
owner's adjustment its signed amount). Every tablet's documents reach the box, so any counter sees the
same balance while the WAN is down. The cloud's snapshot (GET /v1/khata) counts exactly the documents
with ingest_seq <= its watermark (plus the owner's back-office adjustments, which never pass through a
box), so, as for stock (gateway/stock.py):

    balance = snapshot balance + the entries of every document the box holds whose ingest_seq is null
              or > watermark

which counts each document once whatever the order of acks and snapshots. Before the first snapshot
the box counts every entry it holds (and nothing else: a customer's history from before the box is
only in the cloud).

A customer's details: the snapshot's record, overlaid by the box's customer documents the snapshot does
not cover; the latest `updated_at` (the document's true time, contract.true_time) wins.

Approvals (POST /api/v1/khata/approvals, protocol v2): a tablet asks before every on-account sale. The
box approves credit by itself when the customer's balance + open holds + the amount stays within the
limit (an unknown customer: the shop's default_credit_limit); the owner's PIN approves past it, and every
adjustment. Open holds: credit approvals no document has used yet, younger than HOLD_S, so two tablets
asking at once cannot both take the last of a limit (the check and the hold are one write transaction).

Flags for the owner, written when a document arrives and never a reason to refuse it (the goods have
left the shop):
- an approval that does not fit its document: unknown to this box, already used by another document
  (used_by is set on first use), for another customer, for the other purpose, for less credit than the
  sale put on account (an adjustment: for another amount);
- an on-account sale without a (fitting) approval that took its customer past their credit limit, by
  the box's balance when it arrived (a tablet cut off from the box sells on the balance it last knew);
- an adjustment without an approval;
- a till's customer document that changes the credit limit of a customer the box already knows (the
  limit is the owner's to set; a till only creates customers with the shop's default).

`khata_entries` and `customer_versions` are written in the ingest transaction (journal.receive_batch);
their ingest_seq is copied with the cloud's ack (stock.record_ingest_seq).
"""
from __future__ import annotations

import functools
import hashlib
import json
import uuid
import weakref
from datetime import datetime, timezone
from typing import Any, Iterable

import aiosqlite

from cloud_api.contract import (AnyDocument, Customer, KhataAdjustment, KhataPayment, Refund, Sale,
                                ShopSettings, khata_entry_amounts, receipt_number, true_time)
from cloud_api.service.clock import utc_after, utc_now

from . import stock
from .cloud_client import CloudClient
from .dashboard import format_rs
from .store import Store, one_read

ENTRY_LIMIT = 50            # entries a till is shown per customer, newest first
HOLD_S = 120                # an unused credit approval holds its amount against the limit this long
UNKNOWN_NAME = "Unknown customer"   # entries whose customer document has not reached the box yet
_DETAILS = ("name", "phone", "cnic", "ntn", "credit_limit")


# --- projection (inside the ingest transaction) ---------------------------------------------

def _note(document: AnyDocument) -> str | None:
    if isinstance(document, KhataPayment):
        return document.note
    if isinstance(document, KhataAdjustment):
        return document.reason
    if isinstance(document, Refund):
        return document.reason
    return None


def updated_at(document: AnyDocument, received_at: str) -> str:
    """A document's true time as UTC text (what the cloud works out from the same received_at)."""
    return true_text(document.created_at, document.clock_offset_ms, received_at)


def true_text(created_at: str, clock_offset_ms: int | None, received_at: str | None) -> str:
    """contract.true_time as UTC text, as the cloud writes its times ("...T05:00:00.000Z")."""
    moment = true_time(created_at, clock_offset_ms, received_at).astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def record_many(db: aiosqlite.Connection, documents: list[AnyDocument], received_at: str, *,
                      flag: bool = True) -> None:
    """Project a batch of newly stored documents: one executemany per table, then the owner's flags.

    Most batches hold no khata document at all: one pass over them and nothing is written.
    """
    versions: list[tuple[Any, ...]] = []
    entries: list[tuple[Any, ...]] = []
    khata_documents: list[tuple[AnyDocument, str, int]] = []
    customer_documents: list[tuple[Customer, str]] = []
    for document in documents:
        if isinstance(document, Customer):
            details = {key: getattr(document, key) for key in _DETAILS}
            when = updated_at(document, received_at)
            versions.append((document.id, document.customer_id, json.dumps(details, ensure_ascii=False), when))
            customer_documents.append((document, when))
            continue
        written = khata_entry_amounts(document)
        if written is None:
            continue
        customer_id, amount = written
        khata_documents.append((document, customer_id, amount))
        entries.append((document.id, customer_id, document.kind, amount, document.created_at,
                        updated_at(document, received_at), document.device_id, document.device_code, document.seq,
                        document.cashier_id, _note(document)))
    if customer_documents and flag:
        await _flag_limits(db, customer_documents)   # against what the box knew before these
    if versions:
        await db.executemany("INSERT OR IGNORE INTO customer_versions (document_id, customer_id, details, updated_at) "
                             "VALUES (?, ?, ?, ?)", versions)
    if entries:
        await db.executemany(
            "INSERT OR IGNORE INTO khata_entries (document_id, customer_id, kind, amount, created_at, true_at, "
            "device_id, device_code, seq, cashier_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entries)
        if flag:
            await _flag(db, khata_documents)


_PURPOSE_WORDS = {"credit": "credit", "adjustment": "an adjustment"}


async def _approval_problem(db: aiosqlite.Connection, approval_id: str, document: AnyDocument, customer_id: str,
                            amount: int, purpose: str) -> tuple[str, str] | None:
    """Why this approval does not approve this document ((problem, words) for the flag), or None: then it
    is marked used by this document, so no other document can use it again."""
    row = await (await db.execute("SELECT customer_id, amount, purpose, used_by FROM khata_approvals "
                                  "WHERE approval_id = ?", (approval_id,))).fetchone()
    if row is None:
        return "approval_unknown", "with an approval this box never gave"
    if row["used_by"] is not None and row["used_by"] != document.id:
        used = await (await db.execute("SELECT device_code, seq FROM journal WHERE id = ?",
                                       (row["used_by"],))).fetchone()
        other = receipt_number(used["device_code"], used["seq"]) if used else "another document"
        return "approval_reused", f"with an approval already used by {other}"
    if row["customer_id"] != customer_id:
        return "approval_other_customer", "with an approval given for another customer"
    if row["purpose"] != purpose:
        given = _PURPOSE_WORDS.get(row["purpose"], row["purpose"])
        return "approval_other_purpose", f"with an approval given for {given}"
    if purpose == "credit" and row["amount"] < amount:
        return "approval_short", f"with an approval for only {format_rs(row['amount'])}"
    if purpose == "adjustment" and row["amount"] != amount:
        verb = "add" if row["amount"] > 0 else "take off"
        return "approval_other_amount", f"with an approval to {verb} {format_rs(abs(row['amount']))}"
    await db.execute("UPDATE khata_approvals SET used_by = ? WHERE approval_id = ? AND used_by IS NULL",
                     (document.id, approval_id))
    return None


async def _flag(db: aiosqlite.Connection, batch: list[tuple[AnyDocument, str, int]]) -> None:
    """Flag, for the owner, approvals that do not fit their document, credit past the limit without a
    (fitting) approval, and adjustments without one.

    "Past the limit" is judged on the balance right after the document, as the box counts it when the
    document arrived: the balance now (the whole batch projected) less the entries of that customer
    that came later in the batch.
    """
    now = utc_now()
    flags: list[tuple[Any, ...]] = []
    credit = []
    for position, (document, customer_id, amount) in enumerate(batch):
        number = receipt_number(document.device_code, document.seq)
        if isinstance(document, KhataAdjustment):
            if document.approval_id is None:
                flags.append((document.id, customer_id, number, "unapproved_adjustment", amount, None, None,
                              ("adjustment", "without the owner's approval on this box"), now))
                continue
            problem = await _approval_problem(db, document.approval_id, document, customer_id, amount, "adjustment")
            if problem is not None:
                flags.append((document.id, customer_id, number, problem[0], amount, None, None,
                              ("adjustment", problem[1]), now))
        elif isinstance(document, Sale) and amount > 0:
            problem = None
            if document.credit_approval_id is not None:
                problem = await _approval_problem(db, document.credit_approval_id, document, customer_id, amount,
                                                  "credit")
                if problem is None:
                    continue   # approved by this box (within the limit) or by the owner
                flags.append((document.id, customer_id, number, problem[0], amount, None, None,
                              ("sale", problem[1]), now))
            # No approval (made cut off from the box), or one that does not fit: past the limit is flagged too.
            credit.append((position, document, customer_id, amount, number))
    if credit:
        ids = sorted({customer_id for _, _, customer_id, _, _ in credit})
        records, _ = await customers(db, ids)
        fallback = await default_credit_limit(db)
        # What each customer's entries after each position add, in one pass from the end (a batch here
        # can be a whole group commit's: 32 tablets' batches, so no sum over the rest per document).
        later_at: list[int] = [0] * len(batch)
        running: dict[str, int] = {}
        for position in range(len(batch) - 1, -1, -1):
            _, customer, entry = batch[position]
            later_at[position] = running.get(customer, 0)
            running[customer] = later_at[position] + entry
        for position, document, customer_id, amount, number in credit:
            limit = records[customer_id]["credit_limit"] if customer_id in records else fallback
            later = later_at[position]   # customer_id is the customer at this position
            balance = (records[customer_id]["balance"] if customer_id in records else 0) - later
            if balance > limit:
                flags.append((document.id, customer_id, number, "over_limit", amount, balance, limit, None, now))
    if not flags:
        return
    names = (await customers(db, sorted({f[1] for f in flags})))[0]
    rows = []
    for document_id, customer_id, number, problem, amount, balance, limit, words, at in flags:
        name = names.get(customer_id, {}).get("name", UNKNOWN_NAME)
        if problem == "over_limit":
            text = (f"{number} put {format_rs(amount)} on {name}'s khata, taking it to {format_rs(balance)}, past "
                    f"the limit of {format_rs(limit)}, without an approval from this box (made on a tablet cut "
                    "off from the box, or on a balance that changed meanwhile)")
        elif words[0] == "sale":
            text = f"{number} put {format_rs(amount)} on {name}'s khata {words[1]}"
        else:
            change = "added" if amount > 0 else "took off"
            text = (f"{number} {change} {format_rs(abs(amount))} {'to' if amount > 0 else 'from'} {name}'s khata "
                    f"{words[1]}")
        rows.append((document_id, customer_id, number, problem, amount, balance, limit, text, at))
    await _write_flags(db, rows)


async def _write_flags(db: aiosqlite.Connection, rows: list[tuple[Any, ...]]) -> None:
    await db.executemany(
        "INSERT OR IGNORE INTO khata_flags (document_id, customer_id, receipt_number, problem, amount, balance, "
        "credit_limit, text, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


async def _flag_limits(db: aiosqlite.Connection, documents: list[tuple[Customer, str]]) -> None:
    """Flag a till's customer document that changes the credit limit of a customer the box already knows.

    Only a document that wins (later than the details the box holds) changes anything; a new customer's
    first document sets its limit (the shop's default, on a till) and is not flagged.
    """
    known, _ = await customers(db, sorted({document.customer_id for document, _ in documents}))
    rows = []
    for document, when in documents:
        held = known.get(document.customer_id)
        if held is None or held["updated_at"] is None:
            known[document.customer_id] = {"name": document.name, "credit_limit": document.credit_limit,
                                           "updated_at": when}
            continue
        if _moment(when) <= _moment(held["updated_at"]):
            continue   # older than what the box holds: it changes nothing
        if document.credit_limit != held["credit_limit"]:
            number = receipt_number(document.device_code, document.seq)
            rows.append((document.id, document.customer_id, number, "limit_changed", document.credit_limit, None,
                         held["credit_limit"],
                         f"{number} changed {held['name'] or document.name}'s credit limit from "
                         f"{format_rs(held['credit_limit'])} to {format_rs(document.credit_limit)} on a tablet; "
                         "only the owner sets a credit limit", utc_now()))
        known[document.customer_id] = {"name": document.name, "credit_limit": document.credit_limit,
                                       "updated_at": when}
    if rows:
        await _write_flags(db, rows)


# The catalog's version (its ETag, cheap): the default limit is read from its body only when it changes.
_CATALOG_ETAG = "SELECT etag FROM catalog WHERE id = 1"
_DEFAULTS: dict[str, int] = {}


async def default_credit_limit(db: aiosqlite.Connection) -> int:
    """The shop's default credit limit from the catalog the box holds (the contract's default before one).

    THE limit of a customer the box knows no details of (their customer document still on its way, or
    the cloud's placeholder for one): in the flags, in the approvals and in what tablets are told.
    """
    row = await (await db.execute(_CATALOG_ETAG)).fetchone()
    if row is None:
        return ShopSettings().default_credit_limit
    held = _DEFAULTS.get(row[0])
    if held is None:
        # Read with its own ETag in one statement, so the value is filed under the catalog it came from.
        found = await (await db.execute("SELECT etag, json_extract(body, '$.settings.default_credit_limit') "
                                        "FROM catalog WHERE id = 1")).fetchone()
        if found is None:
            return ShopSettings().default_credit_limit
        value = found[1]
        held = value if isinstance(value, int) and value >= 0 else ShopSettings().default_credit_limit
        _DEFAULTS.clear()   # one catalog at a time
        _DEFAULTS[found[0]] = held
    return held


# The ingest_seq of a document the cloud refused: no snapshot will ever count it, so neither does the box
# (below any watermark, and below the -1 floor used before the first snapshot). The cloud's balance is the
# shop's balance; the refused document stays in the dead letter for the owner.
REFUSED = -2


async def record_refused(db: aiosqlite.Connection, document_id: str) -> None:
    """The cloud refused this document for good (inside the uplink's transaction): it leaves the balances."""
    await db.execute("UPDATE khata_entries SET ingest_seq = ? WHERE document_id = ?", (REFUSED, document_id))
    await db.execute("UPDATE customer_versions SET ingest_seq = ? WHERE document_id = ?", (REFUSED, document_id))


# --- the cloud's snapshot ----------------------------------------------------------------------

async def pull_khata(store: Store, cloud: CloudClient) -> bool:
    """Fetch the cloud's khata snapshot and keep it; whether a newer one arrived (as stock's, one helper)."""
    return await stock.pull_snapshot(store, "khata_snapshot", cloud.get_khata, lambda snapshot: json.dumps(
        [record.model_dump() for record in snapshot.customers], ensure_ascii=False, sort_keys=True))


@functools.lru_cache(maxsize=2)
def _snapshot_records(body: str) -> dict[str, dict[str, Any]]:
    # Parsed once per snapshot, not per till request (callers copy what they change).
    return {record["customer_id"]: record for record in json.loads(body)}


def _moment(stamp: str | None) -> datetime:
    if not stamp:
        return datetime.min.replace(tzinfo=timezone.utc)
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _in(column: str, ids: list[str] | None) -> tuple[str, list[str]]:
    if ids is None:
        return "", []
    return f" AND {column} IN ({','.join('?' * len(ids))})", list(ids)


async def customers(db: aiosqlite.Connection, ids: list[str] | None = None) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Every customer the box knows (or those of `ids`, at most a few hundred), and when the snapshot came.

    Each: customer_id, name, phone, cnic, ntn, credit_limit, balance, updated_at, last_entry_at.
    """
    row = await (await db.execute("SELECT watermark, body, fetched_at FROM khata_snapshot WHERE id = 1")).fetchone()
    floor = -1 if row is None else row["watermark"]   # no snapshot: count every entry the box holds
    snapshot = _snapshot_records(row["body"]) if row is not None else {}
    limit = await default_credit_limit(db)
    wanted = None if ids is None else set(ids)
    records: dict[str, dict[str, Any]] = {}
    for customer_id, record in snapshot.items():
        if wanted is None or customer_id in wanted:
            if not record.get("updated_at"):
                # The cloud's placeholder for a customer whose document has not reached it (name "",
                # limit 0): details unknown, so the one rule for unknown customers.
                records[customer_id] = {**_unknown(customer_id, limit), "balance": record.get("balance", 0),
                                        "last_entry_at": record.get("last_entry_at")}
                continue
            records[customer_id] = {"customer_id": customer_id, **{key: record.get(key) for key in _DETAILS},
                                    "balance": record.get("balance", 0), "updated_at": record.get("updated_at"),
                                    "last_entry_at": record.get("last_entry_at")}
    where, args = _in("customer_id", ids)
    for version in await db.execute_fetchall(
            "SELECT customer_id, details, updated_at FROM customer_versions WHERE (ingest_seq IS NULL OR ingest_seq > ?)"
            f"{where} ORDER BY updated_at, document_id", [floor, *args]):
        held = records.get(version["customer_id"])
        if held is not None and _moment(version["updated_at"]) <= _moment(held["updated_at"]):
            continue
        details = json.loads(version["details"])
        records[version["customer_id"]] = {
            "customer_id": version["customer_id"], **{key: details.get(key) for key in _DETAILS},
            "balance": held["balance"] if held else 0, "updated_at": version["updated_at"],
            "last_entry_at": held["last_entry_at"] if held else None}
    for entry in await db.execute_fetchall(
            "SELECT customer_id, sum(amount) AS amount FROM khata_entries WHERE (ingest_seq IS NULL OR ingest_seq > ?)"
            f"{where} GROUP BY customer_id", [floor, *args]):
        record = records.setdefault(entry["customer_id"], _unknown(entry["customer_id"], limit))
        record["balance"] += entry["amount"]
    for entry in await db.execute_fetchall(
            f"SELECT customer_id, max(true_at) AS at FROM khata_entries WHERE ingest_seq IS NOT {REFUSED}{where} "
            "GROUP BY customer_id", args):
        # The later of the box's newest entry and the cloud's (which counts the owner's back-office
        # adjustments, never seen here), each by its true time: the tablet's clock corrected by its
        # offset and never after the box received it, as the cloud works its own out. By the tablet's
        # raw clock, one running fast would put its entry after the office's later one; by the order
        # the box received them, a tablet that pushed late would make its old entry the newest.
        # true_at is fixed-width UTC text (true_text), so max() is the latest.
        record = records.setdefault(entry["customer_id"], _unknown(entry["customer_id"], limit))
        at = entry["at"]
        if record["last_entry_at"] is None or _moment(at) > _moment(record["last_entry_at"]):
            record["last_entry_at"] = at
    return records, (row["fetched_at"] if row is not None else None)


def _unknown(customer_id: str, credit_limit: int) -> dict[str, Any]:
    """A customer the box knows no details of (their customer document is still on its way): the shop's
    default_credit_limit, the limit a till gives a new customer (default_credit_limit)."""
    return {"customer_id": customer_id, "name": UNKNOWN_NAME, "phone": None, "cnic": None, "ntn": None,
            "credit_limit": credit_limit, "balance": 0, "updated_at": None, "last_entry_at": None}


async def device_seq(db: aiosqlite.Connection, device_id: str) -> int:
    """The highest seq of this tablet's khata documents the box holds (0: none). The till adds to the
    box's balances only its own khata documents above it (those the box had not got when it answered):
    a tablet pushes in seq order, so every khata document of its below that seq is here.

    Only khata documents count, not the tablet's every sale: the answer (and its ETag) then changes only
    when the khata does, so a tablet does not fetch the whole customer list again after each cash sale."""
    row = await (await db.execute(
        "SELECT coalesce(max(seq), 0) FROM khata_entries WHERE device_id = ?", (device_id,))).fetchone()
    return row[0]


# The last answer of GET /api/v1/customers per connection, under the version it was made from: every
# tablet asks often, and a shop with thousands of customers takes a noticeable moment to add up on a Pi.
_LISTS: "weakref.WeakKeyDictionary[aiosqlite.Connection, tuple[tuple[Any, ...], tuple[str, str]]]" = \
    weakref.WeakKeyDictionary()


async def _version(db: aiosqlite.Connection) -> tuple[Any, ...]:
    """What the list is made from, cheaply (indexed): a new entry or customer document, an ack (an ack
    the snapshot held already covers takes the entry out of the box's own count), a document the cloud
    refused, a new snapshot."""
    row = await (await db.execute(
        "SELECT (SELECT max(pk) FROM khata_entries), (SELECT max(rowid) FROM customer_versions), "
        "(SELECT count(*) FROM khata_entries WHERE ingest_seq IS NULL), "
        "(SELECT count(*) FROM customer_versions WHERE ingest_seq IS NULL), "
        "(SELECT count(*) FROM khata_entries WHERE ingest_seq = ?), "
        "(SELECT count(*) FROM customer_versions WHERE ingest_seq = ?), "
        "(SELECT watermark || ' ' || fetched_at FROM khata_snapshot WHERE id = 1), "
        f"({_CATALOG_ETAG})", (REFUSED, REFUSED))).fetchone()
    return tuple(row)


async def customers_for_tills(db: aiosqlite.Connection, device_id: str) -> tuple[str, str]:
    """(ETag, JSON body) of GET /api/v1/customers for this tablet: every customer by name, with balances,
    and device_seq read in the same read transaction as the balances."""
    async with one_read(db):
        version = await _version(db)
        seq = await device_seq(db, device_id)
        held = _LISTS.get(db)
        if held is None or held[0] != version:
            records, snapshot_at = await customers(db)
            listed = sorted(records.values(),
                            key=lambda record: ((record["name"] or "").casefold(), record["customer_id"]))
            body = json.dumps({"customers": listed, "snapshot_at": snapshot_at}, ensure_ascii=False,
                              separators=(",", ":"))
            held = (version, body)
            _LISTS[db] = held
    body = f'{held[1][:-1]},"device_seq":{seq}}}'   # the shared list, this tablet's seq
    return f'"{hashlib.sha256(body.encode()).hexdigest()[:24]}"', body


async def customer_khata(db: aiosqlite.Connection, customer_id: str, device_id: str) -> dict[str, Any] | None:
    """One customer with the last ENTRY_LIMIT entries the box saw, newest first, and the asking tablet's
    device_seq (one read transaction); None if unknown. A document the cloud refused is not an entry."""
    async with one_read(db):
        records, snapshot_at = await customers(db, [customer_id])
        record = records.get(customer_id)
        if record is None:
            return None
        rows = await db.execute_fetchall(
            "SELECT e.document_id, e.kind, e.amount, e.created_at, e.device_code, e.seq, e.cashier_id, e.note, "
            "j.cloud_state FROM khata_entries e LEFT JOIN journal j ON j.id = e.document_id "
            "WHERE e.customer_id = ? AND e.ingest_seq IS NOT ? ORDER BY e.true_at DESC, e.pk DESC LIMIT ?",
            (customer_id, REFUSED, ENTRY_LIMIT))
        seq = await device_seq(db, device_id)
    entries = [{"document_id": row["document_id"], "kind": row["kind"], "amount": row["amount"],
                "at": row["created_at"], "receipt_number": receipt_number(row["device_code"], row["seq"]),
                "device_code": row["device_code"], "cashier_id": row["cashier_id"], "note": row["note"],
                # Where it is, as the journal says it to the tablets (journal.cloud_states): the cloud has
                # it, or refused it (a conflict: another version is there), or it is at the box.
                "in_cloud": row["cloud_state"] == "in_cloud", "refused": row["cloud_state"] == "rejected"}
               for row in rows]
    return {"customer": record, "entries": entries, "snapshot_at": snapshot_at, "device_seq": seq}


async def customer_names(db: aiosqlite.Connection, ids: Iterable[str]) -> dict[str, str]:
    """Names of these customers as the box knows them (for receipts)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    records, _ = await customers(db, wanted)
    return {customer_id: record["name"] for customer_id, record in records.items()}


async def receipt_customer(db: aiosqlite.Connection, document: dict[str, Any]) -> dict[str, Any] | None:
    """A receipt's customer block ({"name", "balanceAfter"}) for a document naming a customer, else None.

    balanceAfter: the balance now less the box's entries of that customer received after this document,
    i.e. right after it as the box counts (None if the document wrote nothing to the khata).
    """
    customer_id = document.get("customer_id")
    if not customer_id:
        return None
    async with one_read(db):
        records, _ = await customers(db, [customer_id])
        record = records.get(customer_id) or _unknown(customer_id, await default_credit_limit(db))
        row = await (await db.execute("SELECT pk, ingest_seq FROM khata_entries WHERE document_id = ?",
                                      (document["id"],))).fetchone()
        if row is None or row["ingest_seq"] == REFUSED:
            # Wrote nothing, or the cloud refused it: it counts on no khata, so no balance follows from it.
            return {"name": record["name"], "balanceAfter": None, "tabletOnly": False}
        # What came after it by receive order (pk), not by true time: a reprint then gives the balance the
        # first print gave, though an entry made earlier on a tablet that pushed late is not in it.
        later = (await (await db.execute(
            "SELECT coalesce(sum(amount), 0) FROM khata_entries WHERE customer_id = ? AND pk > ? "
            "AND ingest_seq IS NOT ?", (customer_id, row["pk"], REFUSED))).fetchone())[0]
    # tabletOnly: receipt.js's flag for a balance only the tablet knew; the box's is the shop's count.
    return {"name": record["name"], "balanceAfter": record["balance"] - later, "tabletOnly": False}


# --- approvals ------------------------------------------------------------------------------

async def credit_room(db: aiosqlite.Connection, customer_id: str) -> dict[str, int]:
    """{"balance", "credit_limit", "held"} of a customer as the box counts them now (in the caller's
    transaction): held = open holds, the credit approvals no document has used yet, younger than HOLD_S."""
    records, _ = await customers(db, [customer_id])
    record = records.get(customer_id)
    limit = record["credit_limit"] if record is not None else await default_credit_limit(db)
    held = (await (await db.execute(
        "SELECT coalesce(sum(amount), 0) FROM khata_approvals WHERE customer_id = ? AND purpose = 'credit' "
        "AND used_by IS NULL AND at > ?", (customer_id, utc_after(-HOLD_S)))).fetchone())[0]
    return {"balance": record["balance"] if record is not None else 0, "credit_limit": limit, "held": held}


async def issue_approval(db: aiosqlite.Connection, customer_id: str, amount: int, purpose: str, device_id: str,
                         address: str | None, by: str = "owner") -> dict[str, str]:
    """Record an approval (inside the caller's transaction): by the box (credit within the limit, checked
    in the same transaction) or by the owner (after the PIN was right)."""
    approval_id, at = str(uuid.uuid4()), utc_now()
    await db.execute("INSERT INTO khata_approvals (approval_id, customer_id, amount, purpose, by, device_id, address, "
                     "at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (approval_id, customer_id, amount, purpose, by, device_id, address, at))
    return {"approval_id": approval_id, "approved_at": at}


# --- the owner's view -----------------------------------------------------------------------

async def flags(db: aiosqlite.Connection, limit: int = 50) -> dict[str, Any]:
    """Khata flags for the owner, newest first: how many, and the latest."""
    count = (await (await db.execute("SELECT count(*) FROM khata_flags")).fetchone())[0]
    rows = await db.execute_fetchall(
        "SELECT document_id, customer_id, receipt_number, problem, amount, balance, credit_limit, text, at "
        "FROM khata_flags ORDER BY pk DESC LIMIT ?", (limit,))
    return {"khata_flag_count": count, "khata_flags": [dict(row) for row in rows]}


async def owner_view(db: aiosqlite.Connection, limit: int = 100) -> dict[str, Any]:
    """/admin's Khata section: customers who owe (or are owed), biggest balance first, and the flags."""
    records, snapshot_at = await customers(db)
    owing = sorted((r for r in records.values() if r["balance"]), key=lambda r: (-r["balance"], r["name"] or ""))
    # The back office's words and sums (cloud_api/office customers list): what customers owe, and apart
    # from it the advances the shop holds, so the two pages show the same figures.
    return {"customers": owing[:limit], "customer_count": len(records), "owing_count": len(owing),
            "total_owed": sum(r["balance"] for r in owing if r["balance"] > 0),
            "advances_held": -sum(r["balance"] for r in owing if r["balance"] < 0),
            "snapshot_at": snapshot_at, **await flags(db)}
