"""What the owner's page on the box shows, read from the box's own SQLite (works with the WAN down).

Today's figures mirror the cloud's daily summary (cloud_api/reports.py, projected
by cloud_api/ingest.py): sales are `sale` documents of the business day (the
local date of created_at in the shop's zone), returns its `refund` documents;
gross is the sales' `total`, net takes the returns off, and tax and tenders are
net of returns too, with the change taken off cash (cash from trade: the float,
khata collections and paid in / out are not in it, as in the cloud). The box's
figures include what the cloud has not received yet, and leave out what the
cloud refused, so once the backlog drains the two agree to the paisa; but a
parked document (held on the box until the cloud can store it) counts here and
not there, as its money is in the drawer.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from cloud_api.contract import business_date, receipt_number

from .box import get_value
from .receipt_model import trade_by_tender

SHOP_ZONE = "Asia/Karachi"
REFUSED_SHOWN = 50


async def today_sales(db: aiosqlite.Connection, day: date, zone: str = SHOP_ZONE) -> dict[str, Any]:
    """One business day's sales and returns as the box holds them: counts, gross, returns, net, tax and
    tenders, each net of returns as the cloud's daily summary is (cloud_api/reports.py counter_figures).

    Returns count on their own day, not their sale's. A tender is what trade brought into the drawer
    (or the card machine, the wallet, the khata): a sale's payments less its change, less what returns
    paid back. Counting sales alone, cash here was more than trade put in the drawer, on the day the
    owner can see nothing else (the WAN down).
    """
    # A document of `day` happened no later than the box received it, so it was received on `day` or
    # after (a UTC date within a day of the local one): narrow in SQL, decide exactly here, by the
    # document's true time (its device clock corrected by the offset the till measured; contract.true_time).
    rows = await db.execute_fetchall(
        "SELECT kind, body, received_at FROM journal WHERE kind IN ('sale', 'refund') "
        "AND cloud_state != 'rejected' AND received_at >= ?", ((day - timedelta(days=1)).isoformat(),))
    sales: list[dict[str, Any]] = []
    refunds: list[dict[str, Any]] = []
    for row in rows:
        document = json.loads(row["body"])
        if business_date(document["created_at"], zone, document.get("clock_offset_ms"), row["received_at"]) == day:
            (sales if row["kind"] == "sale" else refunds).append(document)
    gross, returned = sum(s["total"] for s in sales), sum(r["total"] for r in refunds)
    return {"date": day.isoformat(), "sales_count": len(sales), "gross": gross, "refunds_count": len(refunds),
            "refunds": returned, "net": gross - returned,
            "tax": sum(s["tax"] for s in sales) - sum(r["tax"] for r in refunds),
            "by_tender": dict(sorted(trade_by_tender(sales, refunds).items()))}


# Who said no. A parked document is one the cloud cannot store yet: the box keeps it, lets the
# rest flow, and tries it again after its next restart (an upgrade may fix it).
REFUSED_BY = {"till": "Shop box", "cloud": "Cloud", "conflict": "Shop box",
              "parked": "Cloud (held on the box, retried after a restart)"}


async def refused_documents(db: aiosqlite.Connection, limit: int = REFUSED_SHOWN) -> list[dict[str, Any]]:
    """The latest documents nobody accepted, newest first: refused here, by the cloud, or in conflict.

    The uplink files every refusal by the cloud in dead_letter too (source 'cloud', the journal row
    marked 'rejected'), so dead_letter, conflicts and the parked journal rows together hold all of them.
    """
    rows = await db.execute_fetchall("""
        SELECT at, source, document_id, reason, body FROM (
            SELECT at, source, document_id, reason, body FROM dead_letter
            UNION ALL
            SELECT at, 'conflict' AS source, document_id,
                   'another document with this id is already stored; both are kept' AS reason,
                   incoming_body AS body FROM conflicts
            UNION ALL
            SELECT cloud_at AS at, 'parked' AS source, id AS document_id, cloud_reason AS reason, body
            FROM journal WHERE cloud_state = 'parked')
        ORDER BY at DESC LIMIT ?""", (limit,))
    refused = []
    for row in rows:
        refused.append({"at": row["at"], "by": REFUSED_BY.get(row["source"], "Shop box"),
                        "receipt": _receipt(row["body"]), "document_id": row["document_id"],
                        "reason": row["reason"]})
    return refused


async def last_backup(db: aiosqlite.Connection) -> dict[str, str] | None:
    """When and where the database was last backed up (gateway/backup.py records it)."""
    at = await get_value(db, "last_backup_at")
    return {"at": at, "path": await get_value(db, "last_backup_path") or ""} if at else None


def _receipt(body: str) -> str | None:
    try:
        document = json.loads(body)
        return receipt_number(document["device_code"], int(document["seq"]))
    except (ValueError, TypeError, KeyError):
        return None


# --- how the page writes things ----------------------------------------------------------


def format_rs(paisa: int) -> str:
    """"Rs 1,234" or "Rs 1,234.50" from integer paisa, as the till writes it."""
    sign = "-" if paisa < 0 else ""
    rupees, rest = divmod(abs(paisa), 100)
    return f"{sign}Rs {rupees:,}" + (f".{rest:02d}" if rest else "")


def local_time(stamp: str | None, zone: str = SHOP_ZONE) -> str:
    """A stored UTC time as the shop reads it: "27 Nov 2026, 18:05"; "never" for none."""
    if not stamp:
        return "never"
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return moment.strftime("%d %b %Y, %H:%M").lstrip("0")


def age(stamp: str | None) -> str:
    """How long ago a stored UTC time was: "5 min", "3 h 12 min", "2 days"."""
    if not stamp:
        return "-"
    seconds = max(0, int((datetime.now(timezone.utc)
                          - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()))
    if seconds < 60:
        return "under a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} days"
