"""The catalog mirror: pulled from the cloud with ETags, served to tills.

A catalog also names the tablets the owner revoked in the back office: the box unpairs each
when it is first named (see _revoke_named), in the transaction that stores the catalog.

Tills get the catalog less the PIN hashes of cashiers whose PIN predates the
current policy (short PINs, few PBKDF2 rounds; cloud_api/credentials.py): a
stolen tablet must not yield a PIN in minutes. Those cashiers are checked by
the box only (gateway/cashier_pins.py), until the owner gives them a new PIN.

The catalog the cloud gives a box may carry the shop's FBR / PRA token (Catalog.fiscal_token). It
is kept encrypted apart from the catalog (gateway/fiscal_jobs.apply_catalog, fiscal_secret.py): the
stored body never holds it, so neither does any catalog a till receives.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import aiosqlite

from cloud_api.contract import Catalog
from cloud_api.credentials import PIN_ITERATIONS

from cloud_api.service.clock import utc_now

from . import fiscal_jobs
from .cloud_client import CloudClient
from .store import Store
from .tablets import revoke_tablet

log = logging.getLogger(__name__)


async def pull_catalog(store: Store, cloud: CloudClient, state_dir: Path) -> bool:
    """Fetch the catalog if it changed; return whether it did.

    `state_dir` holds the key of the fiscal token. A token held that this box cannot read (restored
    without its key file) is asked for again: the whole catalog, without our ETag.
    """
    db = store.read()
    row = await (await db.execute("SELECT etag FROM catalog WHERE id = 1")).fetchone()
    etag = row["etag"] if row and not await fiscal_jobs.token_unreadable(db, state_dir) else None
    fetched = await cloud.get_catalog(etag)
    if fetched is None:
        return False
    catalog, etag = fetched
    async with store.transaction() as db:
        await save_catalog(db, state_dir, catalog, etag)
    return True


async def save_catalog(db: aiosqlite.Connection, state_dir: Path, catalog: Catalog, etag: str) -> bool:
    """Store a catalog from the cloud inside the caller's transaction; whether its fiscal part changed
    (the fiscal queue should look again: a new token, a POSID, a retry)."""
    before = await current_catalog(db)
    await db.execute("INSERT OR REPLACE INTO catalog (id, etag, body, fetched_at) VALUES (1, ?, ?, ?)",
                     (etag, catalog.model_dump_json(exclude={"fiscal_token"}), utc_now()))
    await _revoke_named(db, catalog.revoked_devices, json.loads(before[1]) if before else {})
    return await fiscal_jobs.apply_catalog(db, state_dir, catalog)


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
    catalog.pop("fiscal_token", None)   # never stored (save_catalog); and never served, whatever is stored
    for cashier in catalog.get("cashiers", []):
        if cashier.get("pin_iterations", 0) < PIN_ITERATIONS:
            cashier.pop("pin_hash", None)
            cashier.pop("pin_salt", None)
            cashier["pin_on_box_only"] = True
    served = json.dumps(catalog, ensure_ascii=False, separators=(",", ":"))
    return f'"{hashlib.sha256((etag + served).encode()).hexdigest()[:24]}"', served
