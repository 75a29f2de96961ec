"""The catalog mirror: pulled from the cloud with ETags, served to tills with the same ETag."""
from __future__ import annotations

import aiosqlite

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
