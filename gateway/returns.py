"""Returns across tablets: what each sale line has had refunded, and over-refunds for the owner.

A till about to take a return asks the box for the sale (by id or receipt number) and what every
tablet has already refunded of it (GET /api/v1/sales/{ref}), so a sale made on T1 can be returned
on T2 and never beyond what was sold while the box is reachable.

A refund is a fact: the money has left the drawer. A tablet cut off from the box may refund its own
sales from what it knows, so the box stores and forwards every valid refund like any document and
only *flags* one that goes beyond the sale (more than sold on a line, counting every refund of that
sale the box holds, more money back than those goods were paid for, or a line_index / SKU that does
not match the sale) for the owner. How a refund pays back is checked too, per refund (line_index
below 0 in over_refunds, one per problem): on account to another customer than the sale's; more on
account than the sale put on account (less earlier on-account refunds); more money (cash, card, wallet)
than the sale was paid in money, less its change (less earlier money refunds). Tablets push
in any order, so the same check runs when a sale arrives after refunds of it. Refunds count in the
order the box received them: the one that first goes past the sold quantity, and every later one on
that line, is flagged; a flag, once written, stays (UNIQUE per refund line, so re-checks add nothing).

The projections `refunds` and `refunded_lines` are written in the ingest transaction.
"""
from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import aiosqlite

from cloud_api.contract import AnyDocument, Refund, Sale, receipt_number, refund_line_amount
from cloud_api.service.clock import utc_now

from .dashboard import format_rs
from .errors import NotASale, UnknownSale

_RECEIPT = re.compile(r"^(T[1-9][0-9]{0,3})-([0-9]{1,9})$", re.IGNORECASE)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KIND_WORDS = {"refund": "a return", "shift_open": "a shift opening", "shift_close": "a shift closing",
              "cash_movement": "a cash paid in or out", "drawer_open": "a drawer opening",
              "customer": "a customer's details", "khata_payment": "a khata payment",
              "khata_adjustment": "a khata adjustment"}


async def record(db: aiosqlite.Connection, document: AnyDocument) -> None:
    """Project a newly stored document, inside the ingest transaction: a refund's lines, then the checks."""
    if isinstance(document, Refund):
        await db.execute("INSERT OR IGNORE INTO refunds (refund_id, sale_id, receipt_number, created_at, total) "
                         "VALUES (?, ?, ?, ?, ?)", (document.id, document.original_id, document.receipt_number,
                                                     document.created_at, document.total))
        await db.executemany(
            "INSERT OR IGNORE INTO refunded_lines (refund_id, sale_id, line_index, sku, name, unit, qty, amount) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(document.id, document.original_id, line.line_index, line.sku, line.name, line.unit, line.qty,
              line.amount) for line in document.lines])
        await check_sale(db, document.original_id)
    elif isinstance(document, Sale):
        await check_sale(db, document.id)


async def record_many(db: aiosqlite.Connection, documents: list[AnyDocument]) -> None:
    """`record` for a whole batch of newly stored documents (already in the journal), set-based.

    Every refund and its lines go in with one executemany each, in the batch's order (so `refunds.pk`
    keeps receive order, which the checks count in); then each sale that may need a check is checked
    once. A flag depends only on the sale and the refunds received before its own, so checking after
    the whole batch flags exactly what checking after each document does. Sales are most of a batch
    and almost never have a refund yet: one query finds the few that do, instead of a check each.
    """
    refunds = [document for document in documents if isinstance(document, Refund)]
    if refunds:
        await db.executemany(
            "INSERT OR IGNORE INTO refunds (refund_id, sale_id, receipt_number, created_at, total) "
            "VALUES (?, ?, ?, ?, ?)", [(r.id, r.original_id, r.receipt_number, r.created_at, r.total) for r in refunds])
        await db.executemany(
            "INSERT OR IGNORE INTO refunded_lines (refund_id, sale_id, line_index, sku, name, unit, qty, amount) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.id, r.original_id, line.line_index, line.sku, line.name, line.unit, line.qty, line.amount)
             for r in refunds for line in r.lines])
    sales = [document.id for document in documents if isinstance(document, Sale)]
    refunded: set[str] = {r.original_id for r in refunds}
    for start in range(0, len(sales), 500):
        chunk = sales[start:start + 500]
        refunded.update(row["sale_id"] for row in await db.execute_fetchall(
            f"SELECT DISTINCT sale_id FROM refunds WHERE sale_id IN ({','.join('?' * len(chunk))})", chunk))
    # In the order the batch first names each sale, as the one-at-a-time pass would check them.
    order: dict[str, None] = {}
    for document in documents:
        sale_id = document.original_id if isinstance(document, Refund) else document.id
        if sale_id in refunded:
            order.setdefault(sale_id)
    for sale_id in order:
        await check_sale(db, sale_id)


async def check_sale(db: aiosqlite.Connection, sale_id: str) -> int:
    """Flag every refund line of this sale that goes beyond it; return how many flags are new.

    Nothing to check until the sale itself has reached the box.
    """
    row = await (await db.execute("SELECT body FROM journal WHERE id = ? AND kind = 'sale'",
                                  (sale_id,))).fetchone()
    if row is None:
        return 0
    sale = json.loads(row["body"])
    sale_receipt = receipt_number(sale["device_code"], sale["seq"])
    sold_lines = sale["lines"]
    running: dict[int, int] = {}
    paid_back: dict[int, int] = {}
    flags = []
    for line in await db.execute_fetchall(
            "SELECT r.refund_id, r.receipt_number, l.line_index, l.sku, l.name, l.unit, l.qty, l.amount "
            "FROM refunds r JOIN refunded_lines l ON l.refund_id = r.refund_id "
            "WHERE r.sale_id = ? ORDER BY r.pk, l.line_index", (sale_id,)):
        index = line["line_index"]
        running[index] = running.get(index, 0) + line["qty"]
        paid_back[index] = paid_back.get(index, 0) + line["amount"]
        returned = f"{line['receipt_number']} returned {quantity(line['qty'], line['unit'])} {line['name']}"
        if index >= len(sold_lines):
            problem, sold, sold_sku = "no_such_line", None, None
            text = (f"{returned} as line {index + 1} of {sale_receipt}, which has only "
                    f"{len(sold_lines)} line{'' if len(sold_lines) == 1 else 's'}")
        else:
            sold_line = sold_lines[index]
            sold, sold_sku = sold_line["qty"], sold_line["sku"]
            # What the goods returned so far were paid for (the contract's cumulative rule): a return
            # paying back more (a discount ignored, a wrong price) costs the owner money.
            owed = refund_line_amount(sold_line["amount"], sold, min(running[index], sold))
            if line["sku"] != sold_sku:
                problem = "other_product"
                text = f"{returned} as line {index + 1} of {sale_receipt}, which sold {sold_line['name']} there"
            elif running[index] > sold:
                problem = "beyond_sold"
                text = f"{returned} of {sale_receipt}, which sold {amount_sold(sold, sold_line.get('unit', 'each'))}"
                if running[index] != line["qty"]:
                    text += f" ({amount_sold(running[index], line['unit'])} returned in all)"
            elif paid_back[index] > owed:
                problem = "beyond_paid"
                text = (f"{line['receipt_number']} paid back {format_rs(paid_back[index])} for "
                        f"{amount_sold(running[index], line['unit'])} {line['name']} of {sale_receipt}, "
                        f"which were paid {format_rs(owed)}")
            else:
                continue
        flags.append((line["refund_id"], line["receipt_number"], sale_id, sale_receipt, index, line["sku"],
                      line["name"], line["unit"], line["qty"], sold, sold_sku, running[index], problem, text,
                      utc_now()))
    flags.extend(await _payment_flags(db, sale_id, sale, sale_receipt, {flag[0] for flag in flags}))
    if not flags:
        return 0
    before = db.total_changes
    await db.executemany(
        "INSERT OR IGNORE INTO over_refunds (refund_id, refund_receipt, sale_id, sale_receipt, line_index, sku, "
        "name, unit, qty, sold, sold_sku, refunded, problem, text, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", flags)
    return db.total_changes - before


# over_refunds.line_index of a refund's payment problems (a refund line is 0 or more): one row each per refund.
PAYMENT_PROBLEMS = {"other_customer": -1, "beyond_on_account": -2, "beyond_money": -3}


def _paid(payments: list[dict[str, Any]]) -> tuple[int, int]:
    """(on account, money) of a document's payments."""
    on_account = sum(p["amount"] for p in payments if p["tender"] == "on_account")
    return on_account, sum(p["amount"] for p in payments) - on_account


async def _payment_flags(db: aiosqlite.Connection, sale_id: str, sale: dict[str, Any], sale_receipt: str,
                         line_flagged: set[str]) -> list[tuple[Any, ...]]:
    """The refunds of this sale, in the order the box received them, that pay back on account to another
    customer, or past the sale's on-account or money caps (the caps the till applies when it can reach
    the box: a tablet cut off from it knows only its own refunds). A refund whose lines already go beyond
    the sale (line_flagged) is not flagged again for the money that follows from them."""
    from . import khata   # here: khata's imports reach the store, which imports this module's users
    on_cap, money = _paid(sale["payments"])
    money_cap = money - sale.get("change", 0)
    refunds = await db.execute_fetchall(
        "SELECT r.refund_id, r.receipt_number, j.body FROM refunds r JOIN journal j ON j.id = r.refund_id "
        "WHERE r.sale_id = ? ORDER BY r.pk", (sale_id,))
    on_so_far = money_so_far = 0
    found: list[tuple[str, str, str, int, int, int]] = []
    for row in refunds:
        refund = json.loads(row["body"])
        on_account, money = _paid(refund.get("payments", []))
        on_so_far += on_account
        money_so_far += money
        if on_account and refund.get("customer_id") != sale.get("customer_id"):
            found.append((row["refund_id"], row["receipt_number"], "other_customer", on_account, on_cap, on_so_far))
        if row["refund_id"] in line_flagged:
            continue
        if on_account and on_so_far > on_cap:
            found.append((row["refund_id"], row["receipt_number"], "beyond_on_account", on_account, on_cap,
                          on_so_far))
        if money and money_so_far > money_cap:
            found.append((row["refund_id"], row["receipt_number"], "beyond_money", money, money_cap, money_so_far))
    if not found:
        return []
    try:
        names = await khata.customer_names(db, [json.loads(r["body"]).get("customer_id") or "" for r in refunds]
                                           + [sale.get("customer_id") or ""])
    except sqlite3.OperationalError:
        names = {}   # migration 007 projecting an older box's refunds: the khata's tables come with 010
    flags = []
    for refund_id, refund_receipt, problem, amount, cap, so_far in found:
        in_all = f" ({format_rs(so_far)} in all)" if so_far != amount else ""
        if problem == "other_customer":
            refund = json.loads(next(r["body"] for r in refunds if r["refund_id"] == refund_id))
            whose = names.get(refund.get("customer_id") or "", "another customer")
            sold_to = (f"which was sold on {names.get(sale['customer_id'], 'another customer')}'s khata"
                       if sale.get("customer_id") and on_cap else "which was not sold on account")
            text = (f"{refund_receipt} paid {format_rs(amount)} back on {whose}'s khata for {sale_receipt}, "
                    f"{sold_to}")
        elif problem == "beyond_on_account":
            text = (f"{refund_receipt} paid {format_rs(amount)} back on account for {sale_receipt}{in_all}, "
                    f"which put {format_rs(cap)} on account")
        else:
            text = (f"{refund_receipt} paid {format_rs(amount)} back in money for {sale_receipt}{in_all}, "
                    f"which was paid {format_rs(cap)} in money")
        flags.append((refund_id, refund_receipt, sale_id, sale_receipt, PAYMENT_PROBLEMS[problem], "", "", "each",
                      amount, cap, None, so_far, problem, text, utc_now()))
    return flags


def quantity(qty: int, unit: str) -> str:
    """ "3 ×" for pieces, "1.25 kg of" for loose goods (qty in grams / ml)."""
    return f"{qty} ×" if unit == "each" else f"{_thousandths(qty)} {unit} of"


def amount_sold(qty: int, unit: str) -> str:
    """ "2" for pieces, "1.25 kg" for loose goods."""
    return str(qty) if unit == "each" else f"{_thousandths(qty)} {unit}"


def _thousandths(qty: int) -> str:
    whole, rest = divmod(qty, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".")


async def over_refunds(db: aiosqlite.Connection, limit: int = 50) -> dict[str, Any]:
    """Over-refund flags for the owner, newest first: how many, and the latest in words and fields."""
    count = (await (await db.execute("SELECT count(*) FROM over_refunds")).fetchone())[0]
    rows = await db.execute_fetchall(
        "SELECT refund_id, refund_receipt, sale_id, sale_receipt, line_index, sku, name, qty, sold, refunded, "
        "problem, text, at FROM over_refunds ORDER BY pk DESC LIMIT ?", (limit,))
    return {"over_refund_count": count, "over_refunds": [dict(row) for row in rows]}


async def find_sale(db: aiosqlite.Connection, ref: str) -> dict[str, Any]:
    """A sale by its id or receipt number (any case), with what every tablet has refunded of it.

    UnknownSale (404) if the box does not hold it, or the receipt is not a sale's.
    """
    ref = ref.strip()
    receipt = _RECEIPT.fullmatch(ref)
    if _UUID.fullmatch(ref.lower()):
        row = await (await db.execute("SELECT id, kind, body FROM journal WHERE id = ?", (ref.lower(),))).fetchone()
    elif receipt:
        row = await (await db.execute(
            "SELECT id, kind, body FROM journal WHERE device_code = ? AND seq = ? ORDER BY kind = 'sale' DESC",
            (receipt.group(1).upper(), int(receipt.group(2))))).fetchone()
    else:
        raise UnknownSale(f"{ref[:40]!r} is not a receipt number: type it as printed, like T2-000004")
    if row is None:
        raise UnknownSale(f"Sale {ref[:40]} is not on the shop box. Check the receipt number; a sale from a "
                          "tablet that is offline reaches the box when that tablet reconnects.")
    document = json.loads(row["body"])
    number = receipt_number(document["device_code"], document["seq"])
    if row["kind"] != "sale":
        raise NotASale(number, row["kind"], KIND_WORDS.get(row["kind"], row["kind"]))
    refunded = [0] * len(document["lines"])
    for line in await db.execute_fetchall(
            "SELECT line_index, sum(qty) AS qty FROM refunded_lines WHERE sale_id = ? GROUP BY line_index",
            (row["id"],)):
        if line["line_index"] < len(refunded):
            refunded[line["line_index"]] = line["qty"]
    refunds = []
    for refund in await db.execute_fetchall(
            "SELECT r.refund_id AS id, r.receipt_number, r.created_at, r.total, j.body FROM refunds r "
            "JOIN journal j ON j.id = r.refund_id WHERE r.sale_id = ? ORDER BY r.pk", (row["id"],)):
        # How each was paid back, for the till's caps (on account <= the sale's on account less these;
        # money <= the sale's money less its change, less these), the same figures _payment_flags checks.
        on_account, money = _paid(json.loads(refund["body"]).get("payments", []))
        refunds.append({"id": refund["id"], "receipt_number": refund["receipt_number"],
                        "created_at": refund["created_at"], "total": refund["total"], "on_account": on_account,
                        "money": money})
    return {"sale": document, "receipt_number": number, "refunded": refunded, "refunds": refunds}
