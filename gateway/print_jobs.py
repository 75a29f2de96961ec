"""Print jobs: what the box was asked to print, rendered once, sent by gateway/print_queue.py.

A job's bytes are rendered when it is asked for, from the documents the box holds (so a reprint is
the same slip plus "DUPLICATE", whichever tablet asks), and kept in print_jobs.payload until the
printer took them. Writes happen inside a caller's transaction; they are a row or two each.
"""
from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiosqlite

from cloud_api.contract import receipt_number, true_time
from cloud_api.service.clock import utc_after, utc_now

from . import khata
from .escpos_receipt import slip_bytes
from .fiscal_jobs import fiscal_record   # the receipt's FBR / PRA block is made from this alone
from .receipt_model import cashier_name, receipt_model, z_report
from .slip import printer_check_rows, receipt_rows, z_report_rows
from .urdu_raster import Fonts

ACTIVE = ("queued", "printing")
KICK_SENT = 2        # print_jobs.kick: 0 none, 1 to send with the job, 2 sent (never again, whatever is resent)
MAX_ID = 2**63 - 1   # SQLite's largest INTEGER: a job or printer id beyond it names nothing


def row_id(text: str) -> int | None:
    """A job's or printer's id as a path or form gives it, or None when it cannot be one (1 .. 2**63-1)."""
    return int(text) if re.fullmatch(r"[0-9]{1,19}", text) and 1 <= int(text) <= MAX_ID else None


class NotHeld(LookupError):
    """The box does not hold the document (yet): the till pushes its journal first, then asks again."""


@dataclass(frozen=True)
class Rendered:
    payload: bytes
    kick: bool            # cash sold, paid back or received for a khata: the drawer opens with the slip


# --- what the box holds ------------------------------------------------------------------------


async def held_document(db: aiosqlite.Connection, document_id: str) -> dict[str, Any] | None:
    row = await (await db.execute("SELECT body FROM journal WHERE id = ?", (document_id,))).fetchone()
    return json.loads(row["body"]) if row else None


async def made_by(db: aiosqlite.Connection, document_id: str) -> str | None:
    """The tablet (device_id) whose document this is, or None when the box does not hold it."""
    row = await (await db.execute("SELECT device_id FROM journal WHERE id = ?", (document_id,))).fetchone()
    return row["device_id"] if row else None


def late_s(document: dict[str, Any], received_at: str) -> float:
    """How long after it really happened (the tablet's clock corrected by its offset) the box received it."""
    received = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    return (received - true_time(document["created_at"], document.get("clock_offset_ms"))).total_seconds()


async def held_catalog(db: aiosqlite.Connection) -> dict[str, Any]:
    row = await (await db.execute("SELECT body FROM catalog WHERE id = 1")).fetchone()
    return json.loads(row["body"]) if row else {}


# --- rendering -----------------------------------------------------------------------------------


# The documents a receipt is printed for: money that changed hands at the counter.
RECEIPTS = ("sale", "refund", "khata_payment")


async def render_receipt(db: aiosqlite.Connection, document_id: str, *, shop_name: str, duplicate: bool,
                         language: str, width_dots: int, fonts: Fonts, fresh_s: float = float("inf")) -> Rendered:
    """A sale's, refund's or khata payment's receipt as the printer's bytes; NotHeld if the box has no
    such document.

    The drawer opens with an original paid (back, or in against a khata) in cash only when the box
    received the document within `fresh_s` of its making: a sale pushed minutes later is printed
    without the kick."""
    row = await (await db.execute("SELECT body, received_at FROM journal WHERE id = ?", (document_id,))).fetchone()
    document = json.loads(row["body"]) if row else None
    if document is None or document.get("kind") not in RECEIPTS:
        raise NotHeld(document_id)
    catalog = await held_catalog(db)
    model = receipt_model(document, catalog=catalog, shop_name=shop_name,
                          cashier_name=cashier_name(catalog, document["cashier_id"]), language=language,
                          duplicate=duplicate, fiscal=await fiscal_record(db, document_id),
                          customer=await khata.receipt_customer(db, document))
    rows = receipt_rows(model, language)
    # Pillow's shaping takes a tenth of a second or so on a Pi: off the event loop.
    payload = await asyncio.to_thread(slip_bytes, rows, width_dots=width_dots, fonts=fonts, rtl=language == "ur")
    cash = any(p["tender"] == "cash" for p in document["payments"])
    fresh = fresh_s == float("inf") or late_s(document, row["received_at"]) <= fresh_s
    return Rendered(payload, kick=cash and not duplicate and fresh)


async def render_z_report(db: aiosqlite.Connection, shift_id: str, *, shop_name: str, language: str,
                          width_dots: int, fonts: Fonts) -> Rendered:
    """A shift's Z-report from the shift's documents the box holds (NotHeld without its shift_open).

    Made like the till's (receipt_model.z_report mirrors web_till/shift.js); a shift the box does not
    yet know closed prints without its count.
    """
    opening = await held_document(db, shift_id)
    if opening is None or opening.get("kind") != "shift_open":
        raise NotHeld(shift_id)
    rows = await db.execute_fetchall(
        "SELECT body FROM journal WHERE device_id = ? AND seq >= ? AND kind IN "
        "('sale', 'refund', 'cash_movement', 'khata_payment', 'shift_close') AND json_extract(body, '$.shift_id') = ? "
        "ORDER BY seq", (opening["device_id"], opening["seq"], shift_id))
    documents = [json.loads(row["body"]) for row in rows]
    closing = next((d for d in documents if d["kind"] == "shift_close"), None)
    report = z_report(opening, documents, closing)
    catalog = await held_catalog(db)
    slip = z_report_rows(report, shop_name=catalog.get("shop_name") or shop_name,
                         device_code=opening["device_code"],
                         number=receipt_number(closing["device_code"], closing["seq"]) if closing else "",
                         cashier_names=lambda cashier_id: cashier_name(catalog, cashier_id), language=language)
    payload = await asyncio.to_thread(slip_bytes, slip, width_dots=width_dots, fonts=fonts, rtl=language == "ur")
    return Rendered(payload, kick=False)


async def render_test_page(*, shop_name: str, printer_name: str, width_dots: int, when: str, fonts: Fonts) -> bytes:
    rows = printer_check_rows(shop_name=shop_name, printer_name=printer_name, width_dots=width_dots, when=when)
    return await asyncio.to_thread(slip_bytes, rows, width_dots=width_dots, fonts=fonts)


# --- jobs ------------------------------------------------------------------------------------------


async def enqueue(db: aiosqlite.Connection, *, printer_id: int, device_id: str | None, document_id: str | None,
                  what: str, copy: str, kick: bool, payload: bytes) -> tuple[int, bool]:
    """(job_id, made): a new job; or, for an original receipt or a drawer kick already asked for, that
    job (made False): a till that resends its request after a lost answer gets no second slip."""
    if copy == "original" and what in ("receipt", "drawer") and document_id is not None:
        held = await original_job(db, document_id, what)
        if held is not None:
            return held, False
    cursor = await db.execute(
        "INSERT INTO print_jobs (printer_id, device_id, document_id, what, copy, kick, payload, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (printer_id, device_id, document_id, what, copy, int(kick), payload,
                                            utc_now()))
    return int(cursor.lastrowid or 0), True


async def original_job(db: aiosqlite.Connection, document_id: str, what: str = "receipt") -> int | None:
    """The job of a document's original receipt (or drawer kick), if it was asked for already."""
    row = await (await db.execute("SELECT job_id FROM print_jobs WHERE document_id = ? AND what = ? "
                                  "AND copy = 'original'", (document_id, what))).fetchone()
    return row["job_id"] if row else None


async def next_job(db: aiosqlite.Connection, printer_id: int) -> aiosqlite.Row | None:
    """The printer's oldest job still to print (one left 'printing' by a restart goes again)."""
    return await (await db.execute(
        "SELECT * FROM print_jobs WHERE printer_id = ? AND status IN ('queued', 'printing') ORDER BY job_id LIMIT 1",
        (printer_id,))).fetchone()


async def kicks_behind(db: aiosqlite.Connection, printer_id: int, head_id: int) -> list[aiosqlite.Row]:
    """The printer's jobs after `head_id` with a kick still to send, oldest first."""
    return await db.execute_fetchall(
        "SELECT job_id, what, created_at FROM print_jobs WHERE printer_id = ? AND job_id > ? AND kick = 1 "
        "AND status IN ('queued', 'printing') ORDER BY job_id", (printer_id, head_id))


async def mark(db: aiosqlite.Connection, job_id: int, status: str, problem: str | None = None,
               error: str | None = None, *, kick: int | None = None) -> None:
    """Move a job on. Printed (or failed for good): its bytes are dropped, the row stays for the record.
    `kick` sets the job's kick state (KICK_SENT once the pulse may have gone out: it never goes twice)."""
    now = utc_now()
    if kick is not None:
        await db.execute("UPDATE print_jobs SET kick = ? WHERE job_id = ?", (kick, job_id))
    if status == "printing":
        await db.execute("UPDATE print_jobs SET status = 'printing', attempts = attempts + 1 WHERE job_id = ?",
                         (job_id,))
    elif status == "queued":   # tried, not printed: why, for the till's words
        await db.execute("UPDATE print_jobs SET status = 'queued', problem = ?, last_error = ? WHERE job_id = ?",
                         (problem, (error or "")[:500], job_id))
    else:
        await db.execute("UPDATE print_jobs SET status = ?, problem = ?, last_error = ?, payload = NULL, "
                         "printed_at = CASE WHEN ? = 'printed' THEN ? END WHERE job_id = ?",
                         (status, problem, (error or "")[:500] or None, status, now, job_id))


async def job_for(db: aiosqlite.Connection, job_id: int) -> aiosqlite.Row | None:
    return await (await db.execute(
        "SELECT j.job_id, j.device_id, j.document_id, j.what, j.copy, j.status, j.problem, j.last_error, "
        "j.attempts, j.created_at, j.printed_at, p.name AS printer FROM print_jobs j "
        "LEFT JOIN printers p USING (printer_id) WHERE j.job_id = ?", (job_id,))).fetchone()


async def waiting(db: aiosqlite.Connection) -> dict[int, int]:
    """Jobs still to print, per printer (for the owner's page)."""
    return {row[0]: row[1] for row in await db.execute_fetchall(
        "SELECT printer_id, count(*) FROM print_jobs WHERE status IN ('queued', 'printing') GROUP BY printer_id")}


async def prune(db: aiosqlite.Connection, keep_days: int) -> int:
    """Forget printed and failed jobs older than `keep_days`; how many."""
    before = utc_after(-keep_days * 86400)
    cursor = await db.execute("DELETE FROM print_jobs WHERE status IN ('printed', 'failed') AND created_at < ?",
                              (before,))
    return cursor.rowcount


def age_s(created_at: str) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(created_at)).total_seconds()
