"""The fiscal queue's data: one job per sale and refund, the shop's fiscal settings, the stopped state.

Everything here runs inside a caller's transaction (or on the read connection) and is short: the
worker (gateway/fiscal_queue.py) never holds the writer while it talks to FBR / PRA.

Jobs (table fiscal_jobs, migration 008) are made in the journal's own transaction
(journal.receive_batch -> record_many) for fresh sale / refund documents while the stored fiscal
mode is not off: a sale the till heard "stored" for is a sale the box will report. The document
itself never changes; a job is its fiscal projection (number, status, attempts, last error).

Every change a till may care about (a job made, fiscalized, failed, offered again) moves the job's
`changed_seq` to one past the highest: GET /api/v1/fiscal?since= then returns only what changed.
Writes are serialised by the store's one writer, so a reader never sees a higher changed_seq
committed before a lower one.

The shop's settings as the catalog last gave them live in the `box` table: `fiscal_settings`
(FiscalSettings JSON, no secret), `fiscal_token` (Fernet ciphertext, gateway/fiscal_secret.py) and
`fiscal_stopped` (why the whole queue stopped; absent while it runs).

A job's `sent_at` says "a request for this USIN may have reached the authority and no clear answer
came": it is written in its own transaction BEFORE each post (sending()), and cleared only when a
clear answer to a post made without that doubt says no invoice was made. A box that dies mid-post
(power cut, restart) so still knows: the next refusal of that USIN may only mean "already have it"
(fiscal_outcome's duplicate_hint), and the job is flagged for the owner, never parked as refused.
Retry never clears it.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable

import aiosqlite
import segno

from cloud_api.contract import (AnyDocument, Catalog, FiscalDay, FiscalFailure, FiscalSettings, FiscalSummary,
                                business_date)
from cloud_api.service.clock import shop_today, utc_now

from . import fiscal_secret
from .box import get_value, set_values
from .settings import GatewaySettings

FISCAL_KINDS = ("sale", "refund")
# The business day of a job is read in the gateway's configured zone (settings.timezone, the zone of the
# invoice's DateTime); callers pass it. This is only the fallback of a caller that has no settings.
DEFAULT_ZONE: str = GatewaySettings.model_fields["timezone"].default
SUMMARY_DAYS = 31
SUMMARY_FAILURES = 50
# One past the highest, evaluated per row (also per row of an executemany), under the one writer.
NEXT_SEQ = "(SELECT coalesce(max(changed_seq), 0) + 1 FROM fiscal_jobs)"
NEXT_POSITION = "(SELECT coalesce(max(position), 0) + 1 FROM fiscal_jobs)"
FAILED = ("parked", "ambiguous")


def authority(mode: str) -> str:
    """Who the invoices go to, in words: FBR, or PRA for Punjab. (The one such function: the receipt's
    code, gateway/receipt_model.py, should use this one too.)"""
    return "PRA" if mode == "pra" else "FBR"


def target(mode: str, environment: str, url: str) -> str:
    """Where a payload is meant to go, as stored with it: "<mode> <environment> <url>"."""
    return f"{mode} {environment} {url}"


def same_books(stored: str | None, current: str) -> bool:
    """Whether a payload stored for `stored` goes to the same authority and environment as `current`
    (the same books: a new address of the same service, e.g. after an update, changes nothing)."""
    return (stored or "").split(" ")[:2] == current.split(" ")[:2]


def target_words(stored: str | None) -> str:
    """A stored target in words: "FBR (sandbox)"."""
    mode, _, rest = (stored or "").partition(" ")
    environment = rest.partition(" ")[0]
    return f"{authority(mode)} ({environment})" if environment else authority(mode)


def qr_data_uri(number: str) -> str:
    """The QR code of an FBR / PRA invoice number, as receipts print it (an SVG data URI). Drawn once,
    when the invoice is fiscalized (off the event loop: the worker runs it in a thread), and stored."""
    return segno.make(number, error="m").svg_data_uri(border=2)


# --- settings, token, stopped --------------------------------------------------------------


async def fiscal_settings(db: aiosqlite.Connection) -> FiscalSettings:
    """The shop's fiscal settings as the last catalog gave them (mode off before any)."""
    stored = await get_value(db, "fiscal_settings")
    return FiscalSettings.model_validate_json(stored) if stored else FiscalSettings()


async def fiscal_token(db: aiosqlite.Connection, state_dir: Path) -> str | None:
    return fiscal_secret.decrypt(state_dir, await get_value(db, "fiscal_token"))


async def token_unreadable(db: aiosqlite.Connection, state_dir: Path) -> bool:
    """A ciphertext is held that this box cannot read (restored without its key): fetch it again."""
    held = await get_value(db, "fiscal_token")
    return bool(held) and fiscal_secret.decrypt(state_dir, held) is None


async def stopped(db: aiosqlite.Connection) -> str | None:
    return await get_value(db, "fiscal_stopped") or None


async def stop(db: aiosqlite.Connection, reason: str) -> None:
    await set_values(db, fiscal_stopped=reason)


async def resume(db: aiosqlite.Connection) -> bool:
    """Forget the stopped state; whether the queue was stopped."""
    cursor = await db.execute("DELETE FROM box WHERE key = 'fiscal_stopped'")
    return cursor.rowcount > 0


async def apply_catalog(db: aiosqlite.Connection, state_dir: Path, catalog: Catalog) -> bool:
    """Keep the catalog's fiscal settings and token (encrypted); whether the queue should look again.

    A changed token or changed fiscal settings (another environment, a POSID) resume a stopped queue
    (the owner fixed something: if not, the next post stops it again, with its reason); a changed
    retry_requested_at (the owner pressed Retry in the back office) also offers parked and ambiguous
    invoices again.
    """
    before = await fiscal_settings(db)
    after = catalog.fiscal
    changed = before != after
    await set_values(db, fiscal_settings=after.model_dump_json())
    if changed:
        await resume(db)
    held = await get_value(db, "fiscal_token")
    old_token = fiscal_secret.decrypt(state_dir, held)
    # An unreadable ciphertext (a box restored without its key) is replaced or dropped too.
    if catalog.fiscal_token != old_token or (held and old_token is None):
        if catalog.fiscal_token:
            await set_values(db, fiscal_token=fiscal_secret.encrypt(state_dir, catalog.fiscal_token))
        else:
            await db.execute("DELETE FROM box WHERE key = 'fiscal_token'")
        changed = True
        await resume(db)
    if after.retry_requested_at and after.retry_requested_at != before.retry_requested_at:
        await retry(db)
    return changed


async def retry(db: aiosqlite.Connection) -> int:
    """The owner's Retry: resume a stopped queue, offer parked and ambiguous jobs again; how many.

    A parked job was refused for what it said (a wrong POSID, a PCT code): its payload is dropped, so
    it is built again from the current catalog. An ambiguous one (or any job whose earlier post may
    have made the invoice: sent_at) keeps its stored payload: the same USIN bytes must go again, and
    its sent_at stays, so a refusal of it is still read as "maybe a duplicate".
    """
    await resume(db)
    rows = await db.execute_fetchall(
        "SELECT document_id, status, sent_at FROM fiscal_jobs WHERE status IN ('parked', 'ambiguous') "
        "ORDER BY position")
    now = utc_now()
    # One row at a time: each gets its own changed_seq (unique), so tills hear of each.
    await db.executemany(
        "UPDATE fiscal_jobs SET status = 'pending', timeouts = 0, "
        "payload = CASE WHEN ? THEN NULL ELSE payload END, pos_id = CASE WHEN ? THEN NULL ELSE pos_id END, "
        "target = CASE WHEN ? THEN NULL ELSE target END, "
        f"changed_at = ?, changed_seq = {NEXT_SEQ} WHERE document_id = ?",
        [(rebuild, rebuild, rebuild, now, row["document_id"])
         for row in rows for rebuild in [row["status"] == "parked" and row["sent_at"] is None]])
    return len(rows)


# --- jobs ------------------------------------------------------------------------------------


async def record_many(db: aiosqlite.Connection, documents: Iterable[AnyDocument], received_at: str,
                      zone: str | None = None) -> int:
    """One job per sale / refund among freshly stored documents, in their order; how many were made.

    Called inside receive_batch's transaction: one small read (the mode) and one executemany. `zone`:
    the gateway's settings.timezone, in which the job's business day is read (as its DateTime is).
    """
    zone = zone or DEFAULT_ZONE
    reported = [document for document in documents if document.kind in FISCAL_KINDS]
    if not reported:
        return 0
    if (await fiscal_settings(db)).mode == "off":
        return 0
    rows = [(document.id, document.kind, document.device_id, document.device_code, document.receipt_number,
             business_date(document.created_at, zone, document.clock_offset_ms, received_at).isoformat(),
             received_at, received_at) for document in reported]
    await db.executemany(
        "INSERT INTO fiscal_jobs (document_id, kind, device_id, device_code, usin, day, created_at, changed_at, "
        f"position, changed_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {NEXT_POSITION}, {NEXT_SEQ}) "
        "ON CONFLICT (document_id) DO NOTHING", rows)
    return len(rows)


async def next_job(db: aiosqlite.Connection, pos_ids: dict[str, int]) -> aiosqlite.Row | None:
    """The oldest pending job that can go: its payload is built, or its tablet has a POSID."""
    devices = list(pos_ids)
    marks = ",".join("?" * len(devices))
    can_build = f"OR device_id IN ({marks})" if devices else ""
    return await (await db.execute(
        f"SELECT * FROM fiscal_jobs WHERE status = 'pending' AND (payload IS NOT NULL {can_build}) "
        "ORDER BY position LIMIT 1", devices)).fetchone()


async def waiting_for_pos_id(db: aiosqlite.Connection, pos_ids: dict[str, int],
                             mode: str = "fbr") -> list[str]:
    """Why some invoices wait: their tablet has no POSID yet, in words, one line per tablet."""
    rows = await db.execute_fetchall(
        "SELECT device_id, device_code, count(*) AS n FROM fiscal_jobs WHERE status = 'pending' "
        "AND payload IS NULL GROUP BY device_id, device_code ORDER BY device_code")
    return [f"{row['device_code']} has no {authority(mode)} POSID: set it in the back office "
            f"({row['n']} invoice{'' if row['n'] == 1 else 's'} waiting)"
            for row in rows if row["device_id"] not in pos_ids]


async def save_payload(db: aiosqlite.Connection, document_id: str, payload: str, pos_id: int,
                       built_for: str) -> None:
    """The invoice as it will be sent, kept before the first send: every resend is these bytes.
    `built_for`: target(mode, environment, url) it was made for."""
    await db.execute("UPDATE fiscal_jobs SET payload = ?, pos_id = ?, target = ? "
                     "WHERE document_id = ? AND payload IS NULL", (payload, pos_id, built_for, document_id))


async def discard_payload(db: aiosqlite.Connection, document_id: str) -> None:
    """Forget a payload built for another mode / environment, so it is built again. Only for a job
    no post of which may have made an invoice (sent_at NULL): that one stays with its authority."""
    await db.execute("UPDATE fiscal_jobs SET payload = NULL, pos_id = NULL, target = NULL "
                     "WHERE document_id = ? AND sent_at IS NULL", (document_id,))


async def sending(db: aiosqlite.Connection, document_id: str) -> None:
    """Before a post, in its own short transaction: counted, and marked "may be on the authority's books"
    until a clear answer says otherwise (a crash mid-post leaves the mark)."""
    await db.execute("UPDATE fiscal_jobs SET attempts = attempts + 1, sent_at = coalesce(sent_at, ?) "
                     "WHERE document_id = ?", (utc_now(), document_id))


async def not_made(db: aiosqlite.Connection, document_id: str) -> None:
    """A clear answer to a post made without doubt says no invoice was made: forget the mark."""
    await db.execute("UPDATE fiscal_jobs SET sent_at = NULL WHERE document_id = ?", (document_id,))


async def fiscalized(db: aiosqlite.Connection, document_id: str, number: str, qr: str | None) -> None:
    """The authority's number, and its QR code (qr_data_uri, drawn by the caller off the event loop)."""
    now = utc_now()
    await db.execute(f"UPDATE fiscal_jobs SET status = 'fiscalized', fbr_number = ?, qr = ?, fiscalized_at = ?, "
                     f"last_error = NULL, changed_at = ?, "
                     f"changed_seq = {NEXT_SEQ} WHERE document_id = ?", (number, qr, now, now, document_id))


async def set_aside(db: aiosqlite.Connection, document_id: str, status: str, message: str) -> None:
    """Park (refused) or flag (ambiguous) one job with why; the rest of the queue goes on."""
    assert status in FAILED
    await db.execute(f"UPDATE fiscal_jobs SET status = ?, last_error = ?, "
                     f"changed_at = ?, changed_seq = {NEXT_SEQ} WHERE document_id = ?",
                     (status, message[:1000], utc_now(), document_id))


async def attempted(db: aiosqlite.Connection, document_id: str, message: str, timed_out: bool = False) -> int:
    """A try that settled nothing (unreachable, timed out, token refused): why; the job's timeouts."""
    await db.execute("UPDATE fiscal_jobs SET timeouts = timeouts + ?, last_error = ? WHERE document_id = ?",
                     (1 if timed_out else 0, message[:1000], document_id))
    row = await (await db.execute("SELECT timeouts FROM fiscal_jobs WHERE document_id = ?",
                                  (document_id,))).fetchone()
    return row[0] if row else 0


# --- what tills, the owner and the cloud see ---------------------------------------------------


TILL_STATUS = {"pending": "pending", "fiscalized": "fiscalized", "parked": "failed", "ambiguous": "failed"}


def till_receipt(row: Any) -> dict[str, Any]:
    """A job as a till (GET /api/v1/fiscal) and a printed receipt see it: the one place of that mapping.
    The QR code is the one stored when the invoice was fiscalized: nothing is drawn here."""
    status = TILL_STATUS.get(row["status"], "pending")
    fiscal = status == "fiscalized"
    return {"status": status, "fbr_number": row["fbr_number"] if fiscal else None, "pos_id": row["pos_id"],
            "qr": row["qr"] if fiscal else None}


async def fiscal_record(db: aiosqlite.Connection, document_id: str) -> dict[str, Any] | None:
    """What the fiscal queue knows of one document's invoice, as till_receipt gives it (status, fbr_number,
    pos_id, qr), or None when it is not reported. For the receipt's FBR / PRA block (print_jobs)."""
    row = await (await db.execute("SELECT status, fbr_number, pos_id, qr FROM fiscal_jobs WHERE document_id = ?",
                                  (document_id,))).fetchone()
    return None if row is None else till_receipt(row)


async def receipts_since(db: aiosqlite.Connection, device_id: str, since: int,
                         limit: int = 500) -> tuple[int, list[aiosqlite.Row]]:
    """(cursor, jobs) of one tablet changed after `since`, oldest change first; the cursor is the
    box's, whatever tablet asks, so a tablet skips other tablets' changes in one step.

    The cursor is read first and the rows are those up to it, so a change committed in between is
    not skipped: it is above the cursor and comes next time. A full page ends at its last row.
    """
    cursor = (await (await db.execute("SELECT coalesce(max(changed_seq), 0) FROM fiscal_jobs")).fetchone())[0]
    rows = await db.execute_fetchall(
        "SELECT document_id, usin, status, fbr_number, pos_id, qr, changed_seq FROM fiscal_jobs "
        "WHERE device_id = ? AND changed_seq > ? AND changed_seq <= ? ORDER BY changed_seq LIMIT ?",
        (device_id, since, cursor, limit))
    if len(rows) == limit:
        cursor = rows[-1]["changed_seq"]
    # Below `since` only on a box that counts from less than the tablet asked (a replaced box): the
    # tablet then asks again from 0 (web_till/sync.js).
    return cursor, list(rows)


async def summary(db: aiosqlite.Connection, stopped_reason: str | None = None, today: date | None = None,
                  days: int = SUMMARY_DAYS, failures: int = SUMMARY_FAILURES,
                  zone: str | None = None) -> FiscalSummary | None:
    """Per business day fiscalized / pending / failed (newest first) and the latest failures.

    None when the shop does not report and never did (nothing to tell the cloud). `zone`: the
    gateway's settings.timezone, in which the jobs' days were filed.
    """
    settings = await fiscal_settings(db)
    held = await (await db.execute("SELECT 1 FROM fiscal_jobs LIMIT 1")).fetchone()
    if settings.mode == "off" and held is None:
        return None
    today = today or shop_today(zone or DEFAULT_ZONE)
    since = (today - timedelta(days=days - 1)).isoformat()
    day_rows = await db.execute_fetchall(
        "SELECT day, sum(status = 'fiscalized') AS fiscalized, sum(status = 'pending') AS pending, "
        "sum(status IN ('parked', 'ambiguous')) AS failed FROM fiscal_jobs WHERE day >= ? "
        "GROUP BY day ORDER BY day DESC", (since,))
    failed_rows = await db.execute_fetchall(
        "SELECT document_id, usin, kind, status, last_error, changed_at FROM fiscal_jobs "
        "WHERE status IN ('parked', 'ambiguous') ORDER BY changed_at DESC, position DESC LIMIT ?", (failures,))
    reason = stopped_reason if stopped_reason is not None else await stopped(db)
    return FiscalSummary(
        mode=settings.mode, stopped=reason[:1000] if reason else None,
        days=[FiscalDay(date=row["day"], fiscalized=row["fiscalized"], pending=row["pending"], failed=row["failed"])
              for row in day_rows],
        failures=[FiscalFailure(document_id=row["document_id"], receipt_number=row["usin"], kind=row["kind"],
                                status=row["status"], message=(row["last_error"] or "")[:1000], at=row["changed_at"])
                  for row in failed_rows],
        waiting=(await waiting_for_pos_id(db, settings.pos_ids, settings.mode))[:50])


async def owner_view(db: aiosqlite.Connection, zone: str | None = None) -> dict[str, Any] | None:
    """What /admin and `status` show: the summary, plus the tablets waiting for a POSID."""
    found = await summary(db, zone=zone)
    if found is None:
        return None
    view = found.model_dump()
    view["authority"] = authority(found.mode)
    # Why invoices are still pending, in the queue's own words ("Could not reach FBR: ..."), so an
    # outage of the authority alone (the internet up) is said, not only counted.
    row = await (await db.execute(
        "SELECT count(*) AS n, (SELECT last_error FROM fiscal_jobs WHERE status = 'pending' AND last_error IS NOT NULL "
        "ORDER BY position LIMIT 1) AS why FROM fiscal_jobs WHERE status = 'pending'")).fetchone()
    waiting = f"{row['n']} invoice{'' if row['n'] == 1 else 's'} waiting"
    if not row["n"] or not row["why"]:
        view["holding"] = None
    elif found.stopped and row["why"][:1000] == found.stopped:
        view["holding"] = f"{waiting}."   # why is the stop's own reason, said just above it once
    else:
        view["holding"] = f"{waiting}: {row['why']}"
    return view
