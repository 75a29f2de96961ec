"""The shop's tablets as the owner manages them on /admin: list, rename, revoke.

Revoking never deletes: the row stays (its device code is never handed out
again, so receipt numbers stay unique), the documents it already gave the box
stay in the journal, and its token stops working at its next request
(pairing.device_for_token). Pairing it again with a fresh code brings it back
under the same device code.
"""
from __future__ import annotations

from typing import Any

import aiosqlite

from cloud_api.service.clock import utc_now

MAX_NAME = 40


async def list_tablets(db: aiosqlite.Connection) -> list[dict[str, Any]]:
    """Every tablet ever paired, with how many of its documents the cloud does not have yet."""
    rows = await db.execute_fetchall("""
        SELECT d.device_id, d.device_code, d.name, d.paired_at, d.last_seen_at, d.revoked_at, d.repair_allowed_until,
               (SELECT count(*) FROM journal j WHERE j.device_id = d.device_id AND j.cloud_state = 'pending')
                   AS unsynced
        FROM devices d
        ORDER BY d.revoked_at IS NOT NULL, length(d.device_code), d.device_code""")
    return [dict(row) for row in rows]


async def rename_tablet(db: aiosqlite.Connection, device_id: str, name: str) -> bool:
    """Give a tablet a new name (inside the caller's transaction); False if there is no such tablet."""
    cleaned = " ".join(name.split())[:MAX_NAME]
    if not cleaned:
        return False
    changed = await db.execute("UPDATE devices SET name = ? WHERE device_id = ?", (cleaned, device_id))
    return changed.rowcount == 1


async def revoke_tablet(db: aiosqlite.Connection, device_id: str) -> bool:
    """Refuse a tablet's token from now on (inside the caller's transaction); False if unknown or already so."""
    changed = await db.execute("UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
                               (utc_now(), device_id))
    return changed.rowcount == 1
