"""The catalog mirror: pulled from the cloud with ETags, served to tills.

Tills get the catalog less the PIN hashes of cashiers whose PIN predates the
current policy (short PINs, few PBKDF2 rounds; cloud_api/credentials.py): a
stolen tablet must not yield a PIN in minutes. Those cashiers are checked by
the box only (gateway/cashier_pins.py), until the owner gives them a new PIN.
"""
from __future__ import annotations

import functools
import hashlib
import json

import aiosqlite

from cloud_api.credentials import PIN_ITERATIONS

from cloud_api.service.clock import utc_now

from .cloud_client import CloudClient
from .store import Store


async def pull_catalog(store: Store, cloud: CloudClient) -> bool:
    """Fetch the catalog if it changed; return whether it did."""
    row = await (await store.read().execute("SELECT etag FROM catalog WHERE id = 1")).fetchone()
    fetched = await cloud.get_catalog(row["etag"] if row else None)
    if fetched is None:
        return False
    catalog, etag = fetched
    async with store.transaction() as db:
        await db.execute("INSERT OR REPLACE INTO catalog (id, etag, body, fetched_at) VALUES (1, ?, ?, ?)",
                         (etag, catalog.model_dump_json(), utc_now()))
    return True


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
