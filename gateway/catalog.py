"""The catalog mirror: pulled from the cloud with ETags, served to tills.

A catalog also names the tablets the owner revoked in the back office: the box unpairs each
when it is first named (see _revoke_named), in the transaction that stores the catalog.

Tills get the catalog less the PIN hashes of cashiers whose PIN predates the
current policy (short PINs, few PBKDF2 rounds; cloud_api/credentials.py): a
stolen tablet must not yield a PIN in minutes. Those cashiers are checked by
the box only (gateway/cashier_pins.py), until the owner gives them a new PIN.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from typing import Any

import aiosqlite

from cloud_api.credentials import PIN_ITERATIONS

from cloud_api.service.clock import utc_now

from .cloud_client import CloudClient
from .store import Store
from .tablets import revoke_tablet

log = logging.getLogger(__name__)


async def pull_catalog(store: Store, cloud: CloudClient) -> bool:
    """Fetch the catalog if it changed; return whether it did."""
    row = await (await store.read().execute("SELECT etag FROM catalog WHERE id = 1")).fetchone()
    fetched = await cloud.get_catalog(row["etag"] if row else None)
    if fetched is None:
        return False
    catalog, etag = fetched
    async with store.transaction() as db:
        before = await current_catalog(db)
        await db.execute("INSERT OR REPLACE INTO catalog (id, etag, body, fetched_at) VALUES (1, ?, ?, ?)",
                         (etag, catalog.model_dump_json(), utc_now()))
        await _revoke_named(db, catalog.revoked_devices, json.loads(before[1]) if before else {})
    return True


async def _revoke_named(db: aiosqlite.Connection, revoked: list[str], before: dict[str, Any]) -> None:
    """Unpair the tablets the owner revoked in the back office (their tokens stop working here).

    Only those newly named since the catalog held before: the owner may pair one again at the box
    with a fresh code (pairing.py), and a later catalog still naming it must not undo that.
    """
    for device_id in set(revoked) - set(before.get("revoked_devices", [])):
        if await revoke_tablet(db, device_id):
            log.info("tablet %s revoked by the owner in the back office", device_id)


async def current_catalog(db: aiosqlite.Connection) -> tuple[str, str] | None:
    """(etag, JSON body) of the mirrored catalog, or None before the first pull."""
    row = await (await db.execute("SELECT etag, body FROM catalog WHERE id = 1")).fetchone()
    return (row["etag"], row["body"]) if row else None


async def catalog_for_tills(db: aiosqlite.Connection) -> tuple[str, str] | None:
    """(etag, JSON body) of the catalog as tills receive it, or None before the first pull."""
    current = await current_catalog(db)
    return _for_tills(*current) if current else None


@functools.lru_cache(maxsize=4)
def _for_tills(etag: str, body: str) -> tuple[str, str]:
    # Derived once per catalog version; the ETag names the cloud's version and this rule's.
    catalog = json.loads(body)
    for cashier in catalog.get("cashiers", []):
        if cashier.get("pin_iterations", 0) < PIN_ITERATIONS:
            cashier.pop("pin_hash", None)
            cashier.pop("pin_salt", None)
            cashier["pin_on_box_only"] = True
    served = json.dumps(catalog, ensure_ascii=False, separators=(",", ":"))
    return f'"{hashlib.sha256((etag + served).encode()).hexdigest()[:24]}"', served
