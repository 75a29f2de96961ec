"""Stock on hand: the ledger's sums, for the owner and as the snapshot a shop box builds on.

A box shows its tills the cloud's snapshot plus the documents the snapshot does not count yet,
so the snapshot names its watermark W: it counts every document with ingest_seq <= W and none
above (and every owner stock movement). That needs the journal to be read as committed in
ingest_seq order. SQLite's one writer commits in that order already; on PostgreSQL a sequence
value can commit after a larger one, so ingest holds a per-shop advisory lock for its whole
transaction and the snapshot takes the shared form of the same lock: it waits for batches in
flight and no batch starts while it reads.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema


def _journal_lock_key(shop_id: str) -> int:
    # A stable signed 64-bit key per shop (PostgreSQL's hashtext may change between versions).
    digest = hashlib.sha256(f"posline.journal:{shop_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def hold_journal_for_ingest(conn: Connection, shop_id: str) -> None:
    """Keep stock snapshots of this shop out until the caller's transaction ends (synchronous, as
    ingest runs; an async caller runs it with `await conn.run_sync(hold_journal_for_ingest, shop_id)`)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _journal_lock_key(shop_id)})


async def hold_journal_for_reading(conn: AsyncConnection, shop_id: str) -> None:
    """Wait for batches in flight and keep new ones out until the caller's transaction ends (a snapshot)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _journal_lock_key(shop_id)})


async def on_hand(conn: AsyncConnection, shop_id: str) -> dict[str, int]:
    """Units (grams / ml for loose goods) on hand per SKU: every sale, refund and owner movement."""
    s = schema.stock_ledger.c
    rows = (await conn.execute(select(s.sku, func.sum(s.qty)).where(s.shop_id == shop_id)
                               .group_by(s.sku).order_by(s.sku))).all()
    return {sku: int(qty) for sku, qty in rows}


async def stock_snapshot(conn: AsyncConnection, shop_id: str) -> dict[str, Any]:
    """{"watermark": W, "stock": {sku: on_hand}}, exact for W (see the module's docstring).

    Must run in one transaction (on SQLite, one read snapshot; on PostgreSQL, the shared lock).
    """
    await hold_journal_for_reading(conn, shop_id)
    d = schema.documents.c
    watermark = (await conn.execute(select(func.coalesce(func.max(d.ingest_seq), 0))
                                    .where(d.shop_id == shop_id))).scalar_one()
    return {"watermark": int(watermark), "stock": await on_hand(conn, shop_id)}
