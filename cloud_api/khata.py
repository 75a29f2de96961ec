"""Customers and their khata (udhaar, issue 10): balances, statements, ageing, the box's snapshot and
the credit report. One module for every rule about a khata the cloud reads.

- A balance is never stored: it is the sum of the customer's khata_entries (positive: they owe the
  shop), written by projections.py from documents (contract.khata_entry_amounts, the one rule every
  tier sums by) and here from the owner's back-office adjustments.
- Ageing: how old the money owed is, in the buckets 0-7, 8-30 and 30+ days (AGE_BUCKETS). Payments
  and credits are set against the OLDEST debits first (FIFO), so what is still owed is always the
  newest debits: the outstanding balance is spread over the customer's debits from the newest
  backwards, each aged by its business day. A balance of nothing or less (an advance) ages nothing.
- The snapshot (GET /v1/khata, a box) is exact for its watermark exactly as cloud_api/stock.py's is:
  entries are written in the transaction of their document, under the shop's journal lock, so every
  entry read under the shared lock belongs to a document with ingest_seq <= the watermark read with
  it; back-office adjustments pass through no box, so every one of them is counted.
- An owner's edit of a customer sets updated_at to now, so it beats any older till document, and the
  box keeps whichever of its own documents and the snapshot's details is newer.
"""
from __future__ import annotations

import unicodedata
import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .contract import AdjustmentAmount, Cnic, DocumentId, Ntn, Paisa, Phone, Text
from .database import insert_or_ignore
from .service.clock import shop_today, utc_now
from .service.errors import Conflict, NotFound
from .shops import shop_timezone
from .stock import hold_journal_for_reading

# (label, first day, last day) of money owed, by its age in days on the shop's calendar.
AGE_BUCKETS = (("0-7", 0, 7), ("8-30", 8, 30), ("30+", 31, None))
CUSTOMER_FIELDS = ("customer_id", "name", "phone", "cnic", "ntn", "credit_limit", "created_at", "updated_at",
                   "source")


class CustomerIn(BaseModel):
    """A customer the owner creates or changes (API and back office). Without credit_limit a new customer
    gets the shop's default_credit_limit (as one created at a till does) and a changed one keeps theirs."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    phone: Phone | None = None
    cnic: Cnic | None = None
    ntn: Ntn | None = None
    credit_limit: Paisa | None = None


class AdjustmentIn(BaseModel):
    """The owner corrects a khata from the back office: + they owe more, - less. Never changed afterwards:
    a mistaken adjustment is put right by another one.

    entry_id (optional, a lower-case uuid the caller makes): the idempotency key, as a document's id is.
    Sent again with the same content, the stored entry is answered; with other content, a conflict.
    """

    model_config = ConfigDict(extra="forbid")

    amount: AdjustmentAmount
    reason: Text
    entry_id: DocumentId | None = None


# --- customers -------------------------------------------------------------------------------

def _record(row: Any, balance: int) -> dict[str, Any]:
    values = row._mapping   # one mapping, not a Row attribute lookup per field: a list has thousands
    return {**{name: values[name] for name in CUSTOMER_FIELDS}, "balance": balance}


async def balances(conn: AsyncConnection, shop_id: str) -> dict[str, tuple[int, str]]:
    """customer_id -> (balance, the newest entry's time), of every customer with an entry. The balance
    is paisa owed (negative: an advance); the time is khata_entries.at (true time, UTC)."""
    k = schema.khata_entries.c
    rows = (await conn.execute(select(k.customer_id, func.sum(k.amount), func.max(k.at))
                               .where(k.shop_id == shop_id).group_by(k.customer_id))).all()
    return {customer_id: (int(total), last) for customer_id, total, last in rows}


async def customer(conn: AsyncConnection, shop_id: str, customer_id: str) -> dict[str, Any]:
    """One customer with their balance and ageing, or NotFound."""
    c, k = schema.customers.c, schema.khata_entries.c
    row = (await conn.execute(select(schema.customers).where(c.shop_id == shop_id,
                                                             c.customer_id == customer_id))).first()
    if row is None:
        raise NotFound("this shop has no customer with that id")
    entries = (await conn.execute(select(k.amount, k.business_date).where(
        k.shop_id == shop_id, k.customer_id == customer_id).order_by(k.at, k.entry_id))).all()
    balance = sum(int(e.amount) for e in entries)
    today = shop_today(await conn.run_sync(shop_timezone, shop_id))
    return {**_record(row, balance), "ageing": ageing([(e.business_date, int(e.amount)) for e in entries], today)}


async def customers_with_balances(conn: AsyncConnection, shop_id: str, search: str = "") -> list[dict[str, Any]]:
    """Every customer (by name) with balance, ageing and last entry; `search` keeps those whose name
    holds it (any case) or whose phone holds its digits (phone_matches).

    One aggregate over the shop's entries (balance, last entry and debits by age bucket per customer),
    not the entries themselves, so a shop with 2,000 customers and 100,000 entries lists in a blink
    (tests/bench/khata_list.py measures it)."""
    c, k = schema.customers.c, schema.khata_entries.c
    rows = (await conn.execute(select(schema.customers).where(c.shop_id == shop_id)
                               .order_by(c.name, c.customer_id))).all()
    wanted = search.strip().casefold()
    if wanted:
        rows = [row for row in rows if phone_matches(row.name, row.phone, wanted)]
    today = shop_today(await conn.run_sync(shop_timezone, shop_id))
    debit = k.amount > 0
    by_bucket = []
    for label, low, high in AGE_BUCKETS:
        # Days old between low and high: business_date between today - high and today - low. The
        # newest bucket has no upper date (a debit dated after today, a tablet's clock ahead, is new).
        newest = (today - timedelta(days=low)).isoformat()
        oldest = (today - timedelta(days=high)).isoformat() if high is not None else None
        within = [debit] + ([k.business_date <= newest] if low > 0 else []) + \
            ([k.business_date >= oldest] if oldest is not None else [])
        by_bucket.append(func.sum(case((and_(*within), k.amount), else_=0)).label(f"b{len(by_bucket)}"))
    query = select(k.customer_id, func.sum(k.amount).label("balance"), func.max(k.at).label("last"), *by_bucket) \
        .where(k.shop_id == shop_id).group_by(k.customer_id)
    if wanted and len(rows) <= 500:   # a search found a few: only theirs (a long IN list is no faster)
        query = query.where(k.customer_id.in_([row.customer_id for row in rows]))
    totals = {r.customer_id: r for r in (await conn.execute(query)).all()}
    out = []
    for row in rows:
        got = totals.get(row.customer_id)
        balance = int(got.balance) if got else 0
        debits = {label: int(getattr(got, f"b{n}") or 0) if got else 0 for n, (label, _, _) in enumerate(AGE_BUCKETS)}
        out.append({**_record(row, balance), "ageing": _lay_over(balance, debits),
                    "last_entry_at": got.last if got else None})
    return out


def phone_digits(text: str | None) -> str:
    """The digits of a phone as typed, the Pakistani way: Urdu / Arabic-Indic digits read as 0-9, spaces,
    dashes and + dropped, a leading 92 (the country code) read as 0, so "+92 300 1234567", "92300..."
    and "0300-1234567" are all 03001234567. The one rule of the office's search and WhatsApp link, and
    the till's (web_till/khata.js phoneDigits)."""
    digits = "".join(str(unicodedata.digit(ch)) for ch in (text or "") if unicodedata.digit(ch, None) is not None)
    return "0" + digits[2:] if digits.startswith("92") else digits


def phone_matches(name: str, phone: str | None, search: str) -> bool:
    """Whether a customer matches what was typed, as the till's search (web_till/khata.js matches): part
    of the name (any case), or, when only a phone's characters were typed (3 digits at least), part of
    the phone after phone_digits: "+92 300 123" and "0300123" both find "0300 1234567"."""
    wanted = search.strip().casefold()
    if not wanted or wanted in (name or "").casefold():
        return True
    typed = "".join(str(unicodedata.digit(ch)) if unicodedata.digit(ch, None) is not None else ch for ch in wanted)
    digits = phone_digits(typed)
    return (all(ch.isdigit() or ch in "+ -" for ch in typed) and len(digits) >= 3
            and digits in phone_digits(phone))


async def default_credit_limit(conn: AsyncConnection, shop_id: str) -> int:
    return int((await conn.execute(select(schema.shops.c.default_credit_limit)
                                   .where(schema.shops.c.id == shop_id))).scalar_one())


async def create_customer(conn: AsyncConnection, shop_id: str, details: CustomerIn) -> dict[str, Any]:
    """A new customer from the back office (a random UUID id, in the spelling of a till's document id)."""
    now = utc_now()
    limit = details.credit_limit if details.credit_limit is not None else await default_credit_limit(conn, shop_id)
    row = dict(shop_id=shop_id, customer_id=str(uuid.uuid4()), name=details.name, phone=details.phone,
               cnic=details.cnic, ntn=details.ntn, credit_limit=limit, created_at=now, updated_at=now,
               source="office", document_id=None)
    await conn.execute(schema.customers.insert().values(row))
    return await customer(conn, shop_id, row["customer_id"])


async def update_customer(conn: AsyncConnection, shop_id: str, customer_id: str,
                          details: CustomerIn) -> dict[str, Any]:
    """The owner's edit: the details as given, updated_at now (so it beats older till documents and the
    box takes it from the next snapshot). NotFound for a customer the shop does not have."""
    c = schema.customers.c
    values: dict[str, Any] = dict(name=details.name, phone=details.phone, cnic=details.cnic, ntn=details.ntn,
                                  updated_at=utc_now(), source="office", document_id=None)
    if details.credit_limit is not None:
        values["credit_limit"] = details.credit_limit
    changed = await conn.execute(update(schema.customers).where(c.shop_id == shop_id, c.customer_id == customer_id)
                                 .values(**values))
    if changed.rowcount != 1:
        raise NotFound("this shop has no customer with that id")
    return await customer(conn, shop_id, customer_id)


async def add_adjustment(conn: AsyncConnection, shop_id: str, customer_id: str, adjustment: AdjustmentIn,
                         entry_id: str | None = None) -> tuple[dict[str, Any], bool]:
    """An owner's adjustment from the back office: a new entry (never an edit of one), dated now.

    (entry, whether it is new): a form carries its entry_id (a uuid4 made with the page) and an API
    client may send one in the body, so a request sent twice counts once. The same entry_id with other
    content (customer, amount or reason), or naming an entry that is no owner's adjustment: Conflict.
    NotFound for a customer the shop does not have.
    """
    c, k = schema.customers.c, schema.khata_entries.c
    known = (await conn.execute(select(c.customer_id).where(c.shop_id == shop_id,
                                                            c.customer_id == customer_id))).first()
    if known is None:
        raise NotFound("this shop has no customer with that id")
    now = utc_now()
    day = shop_today(await conn.run_sync(shop_timezone, shop_id)).isoformat()
    entry_id = entry_id or adjustment.entry_id or str(uuid.uuid4())
    entry = dict(shop_id=shop_id, entry_id=entry_id, customer_id=customer_id,
                 kind="office_adjustment", amount=adjustment.amount, business_date=day, at=now, device_code=None,
                 cashier_id=None, receipt=None, shift_id=None, cash=0, card=0, wallet=0, note=adjustment.reason,
                 source="office")
    created = (await conn.execute(insert_or_ignore(conn, schema.khata_entries).values(entry))).rowcount == 1
    if not created:
        stored = dict((await conn.execute(select(schema.khata_entries).where(
            k.shop_id == shop_id, k.entry_id == entry["entry_id"]))).one()._mapping)
        if any(stored[name] != entry[name] for name in ("kind", "customer_id", "amount", "note")):
            raise Conflict("an entry with this entry_id exists with other content: make a new entry_id "
                           "for a new adjustment")
        entry = stored
    return _entry(entry), created


def _entry(row: Any) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {name: get(name) for name in ("entry_id", "kind", "amount", "business_date", "at", "device_code",
                                         "cashier_id", "receipt", "note", "source")} | {
        "paid": {tender: int(get(tender)) for tender in ("cash", "card", "wallet") if get(tender)}}


# --- statements and ageing -----------------------------------------------------------------

async def statement(conn: AsyncConnection, shop_id: str, customer_id: str, first: date | None,
                    last: date | None) -> dict[str, Any]:
    """The khata from `first` to `last` (business days, both included; open-ended when None): the
    balance brought forward, each entry with the balance after it (in true-time order), and the closing
    balance. NotFound for an unknown customer."""
    who = await customer(conn, shop_id, customer_id)
    k = schema.khata_entries.c
    mine = (k.shop_id == shop_id, k.customer_id == customer_id)
    opening = 0
    if first is not None:
        opening = int((await conn.execute(select(func.coalesce(func.sum(k.amount), 0)).where(
            *mine, k.business_date < first.isoformat()))).scalar_one())
    query = select(schema.khata_entries).where(*mine)
    if first is not None:
        query = query.where(k.business_date >= first.isoformat())
    if last is not None:
        query = query.where(k.business_date <= last.isoformat())
    running, entries = opening, []
    for row in (await conn.execute(query.order_by(k.at, k.entry_id))).all():
        running += int(row.amount)
        entries.append({**_entry(row), "balance": running})
    return {"customer": who, "from": first.isoformat() if first else None, "to": last.isoformat() if last else None,
            "opening_balance": opening, "entries": entries, "closing_balance": running}


def ageing(entries: list[tuple[str, int]], today: date) -> dict[str, int]:
    """The outstanding balance of (business_date, signed amount) entries by age bucket (AGE_BUCKETS).

    Credits pay the oldest debits first, so what is owed is the newest debits: the balance is laid
    over the debits from the newest back. Nothing owed (or an advance): every bucket 0.
    """
    debits = {label: 0 for label, _, _ in AGE_BUCKETS}
    for day, amount in entries:
        if amount > 0:
            debits[_bucket((today - date.fromisoformat(day)).days)] += amount
    return _lay_over(sum(amount for _, amount in entries), debits)


def _lay_over(owed: int, debits: dict[str, int]) -> dict[str, int]:
    """The balance `owed` laid over the debits of each age bucket, newest bucket first (the FIFO rule:
    which debits inside a bucket are still owed does not change the bucket's sum). Nothing owed: all 0."""
    buckets = {label: 0 for label, _, _ in AGE_BUCKETS}
    for label, _, _ in AGE_BUCKETS:
        if owed <= 0:
            break
        buckets[label] = min(debits[label], owed)
        owed -= buckets[label]
    return buckets


def _bucket(days: int) -> str:
    # A debit dated after today (a tablet's clock ahead) is as new as can be: 0-7.
    for label, _, high in AGE_BUCKETS:
        if high is None or days <= high:
            return label
    return AGE_BUCKETS[-1][0]


# --- the box's snapshot ----------------------------------------------------------------------

async def khata_snapshot(conn: AsyncConnection, shop_id: str) -> dict[str, Any]:
    """contract.KhataSnapshot as a dict: every customer with balance, exact for the watermark (see the
    module's docstring). Must run in one transaction, as stock.stock_snapshot."""
    await hold_journal_for_reading(conn, shop_id)
    d, c = schema.documents.c, schema.customers.c
    watermark = (await conn.execute(select(func.coalesce(func.max(d.ingest_seq), 0))
                                    .where(d.shop_id == shop_id))).scalar_one()
    owed = await balances(conn, shop_id)
    rows = (await conn.execute(select(schema.customers).where(c.shop_id == shop_id)
                               .order_by(c.customer_id))).all()
    return {"watermark": int(watermark), "customers": [
        {"customer_id": row.customer_id, "name": row.name, "phone": row.phone, "cnic": row.cnic, "ntn": row.ntn,
         "credit_limit": int(row.credit_limit), "updated_at": row.updated_at,
         "balance": owed.get(row.customer_id, (0, None))[0],
         "last_entry_at": owed.get(row.customer_id, (0, None))[1]} for row in rows]}


# --- credit sales and collections ------------------------------------------------------------

async def khata_report(conn: AsyncConnection, shop_ids: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Per shop, business day, tablet and cashier: credit given (on-account sales), taken back (returns
    to the khata), collected (khata payments, by tender) and adjusted. Back-office adjustments have no
    tablet or cashier ("" here)."""
    k = schema.khata_entries.c

    def total(kind: Any, value: Any) -> Any:
        return func.sum(case((kind, value), else_=0))
    adjusted = k.kind.in_(("khata_adjustment", "office_adjustment"))
    rows = (await conn.execute(
        select(k.shop_id, k.business_date, func.coalesce(k.device_code, "").label("device"),
               func.coalesce(k.cashier_id, "").label("cashier"),
               total(k.kind == "sale", k.amount).label("credit_sales"),
               total(k.kind == "refund", -k.amount).label("credit_returns"),
               total(k.kind == "khata_payment", k.cash).label("collected_cash"),
               total(k.kind == "khata_payment", k.card).label("collected_card"),
               total(k.kind == "khata_payment", k.wallet).label("collected_wallet"),
               total(k.kind == "khata_payment", -k.amount).label("collected"),
               total(adjusted, k.amount).label("adjusted"),
               func.sum(k.amount).label("change"))
        .where(k.shop_id.in_(shop_ids), k.business_date >= first, k.business_date <= last)
        .group_by(k.shop_id, k.business_date, "device", "cashier")
        .order_by(k.business_date, "device", "cashier", k.shop_id))).all()
    names = await _cashier_names(conn, shop_ids)
    return [{"shop_id": r.shop_id, "day": r.business_date, "device": r.device, "cashier_id": r.cashier,
             "cashier": names.get((r.shop_id, r.cashier), r.cashier),
             **{name: int(getattr(r, name) or 0) for name in (
                 "credit_sales", "credit_returns", "collected_cash", "collected_card", "collected_wallet",
                 "collected", "adjusted", "change")}} for r in rows]


async def _cashier_names(conn: AsyncConnection, shop_ids: list[str]) -> dict[tuple[str, str], str]:
    c = schema.cashiers.c
    return {(shop_id, cashier_id): name for shop_id, cashier_id, name in (await conn.execute(
        select(c.shop_id, c.cashier_id, c.name).where(c.shop_id.in_(shop_ids)))).all()}


async def khata_collected(conn: AsyncConnection, shop_id: str, shift_ids: list[str]) -> dict[str, dict[str, int]]:
    """shift_id -> {"cash", "card", "wallet"}: the khata payments taken in each shift (the Z-report's)."""
    k = schema.khata_entries.c
    out = {shift_id: {"cash": 0, "card": 0, "wallet": 0} for shift_id in shift_ids}
    if not shift_ids:
        return out
    for shift_id, cash, card, wallet in (await conn.execute(
            select(k.shift_id, func.sum(k.cash), func.sum(k.card), func.sum(k.wallet))
            .where(k.shop_id == shop_id, k.kind == "khata_payment", k.shift_id.in_(shift_ids))
            .group_by(k.shift_id))).all():
        out[shift_id] = {"cash": int(cash or 0), "card": int(card or 0), "wallet": int(wallet or 0)}
    return out


# --- the balance as a message ------------------------------------------------------------------

def whatsapp_number(phone: str | None) -> str | None:
    """A Pakistani mobile as wa.me wants it (country code, digits only): 0300 1234567, +92 300 1234567 ->
    923001234567. None for anything else: no phone, a landline (042 ..., 051 ...: WhatsApp cannot reach
    it) or a number abroad; those get the message as text to copy instead."""
    digits = phone_digits(phone)
    if len(digits) == 11 and digits.startswith("03"):   # 03xx xxxxxxx: a Pakistani mobile
        return "92" + digits[1:]
    return None


def message_links(phone: str | None, message: str) -> dict[str, str | None]:
    """{"whatsapp": https://wa.me/92...?text=..., "sms": sms:03...?body=...}: links the owner's own phone
    opens with the message written; nothing here sends anything. Only a mobile (whatsapp_number) gets
    them: a landline takes no WhatsApp and no SMS, so the page shows the text to copy."""
    number = whatsapp_number(phone)
    text = quote(message, safe="")
    return {"whatsapp": f"https://wa.me/{number}?text={text}" if number else None,
            "sms": f"sms:{phone_digits(phone)}?body={text}" if number else None}
