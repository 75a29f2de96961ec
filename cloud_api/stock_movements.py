"""The owner's stock movements (goods received, adjustments, counts), each counted once.

A movement may carry an idempotency key: the API's `Idempotency-Key` header, or the one-time
token of a back-office form. The first request with a key records the movement; a request
with the same key and the same content (its `request_hash`) is a replay and records nothing;
the same key with other content is a Conflict. UNIQUE(shop_id, idempotency_key) decides
between two requests that race with one key: the second insert does nothing (PostgreSQL waits
for the first to commit; SQLite's single writer has already serialised them) and is answered
from the row the first one wrote.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .database import insert_or_ignore
from .service.clock import utc_now
from .service.errors import BadRequest, Conflict, NotFound
from .stock import hold_journal_for_ingest

MAX_KEY = 100


@dataclass(frozen=True)
class Movement:
    sku: str
    qty: int
    reason: str


@dataclass(frozen=True)
class Recorded:
    movement: Movement
    created: bool        # False: a replay of a movement recorded before under the same key


def request_hash(content: dict[str, Any]) -> str:
    """The digest a key's first request is remembered by (of what the client sent, canonically)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def checked_key(key: str | None) -> str | None:
    """An idempotency key as given, or BadRequest: 1-100 printable ASCII characters."""
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY or not all(" " <= ch <= "~" for ch in key):
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters")
    return key


async def known_sku(conn: AsyncConnection, shop_id: str, sku: str) -> bool:
    """Whether the shop has (or had: archived products count) a product with this SKU."""
    p = schema.products.c
    return (await conn.execute(select(p.sku).where(p.shop_id == shop_id, p.sku == sku))).first() is not None


async def _replayed(conn: AsyncConnection, shop_id: str, key: str, digest: str) -> Recorded | None:
    s = schema.stock_ledger.c
    row = (await conn.execute(select(s.sku, s.qty, s.reason, s.request_hash)
                              .where(s.shop_id == shop_id, s.idempotency_key == key))).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict(f"Idempotency-Key {key!r} was already used for another stock movement "
                       f"({row.qty:+d} of {row.sku}, {row.reason}); use a new key for a new movement")
    return Recorded(Movement(row.sku, int(row.qty), row.reason), created=False)


async def record_movement(conn: AsyncConnection, shop_id: str, movement: Movement, *, key: str | None = None,
                          digest: str | None = None) -> Recorded:
    """Record a movement (inside the caller's transaction), once per key; see the module's docstring."""
    if key is not None:
        digest = digest or request_hash({"sku": movement.sku, "qty": movement.qty, "reason": movement.reason})
        earlier = await _replayed(conn, shop_id, key, digest)
        if earlier is not None:
            return earlier
    if not await known_sku(conn, shop_id, movement.sku):
        raise NotFound(f"unknown sku {movement.sku!r}: this shop has no such product (PUT it first)")
    values = dict(shop_id=shop_id, sku=movement.sku, qty=movement.qty, reason=movement.reason,
                  created_at=utc_now(), idempotency_key=key, request_hash=digest if key else None)
    if key is None:
        await conn.execute(schema.stock_ledger.insert().values(**values))
        return Recorded(movement, created=True)
    inserted = await conn.execute(insert_or_ignore(conn, schema.stock_ledger).values(**values))
    if inserted.rowcount == 1:
        return Recorded(movement, created=True)
    # Another request with this key committed between our look and our insert.
    earlier = await _replayed(conn, shop_id, key, digest)
    assert earlier is not None, "the unique key refused the insert, so its row exists"
    return earlier


async def on_hand_of(conn: AsyncConnection, shop_id: str, sku: str) -> int:
    """Units on hand of one SKU (grams / ml for loose goods)."""
    s = schema.stock_ledger.c
    total = (await conn.execute(select(func.coalesce(func.sum(s.qty), 0))
                                .where(s.shop_id == shop_id, s.sku == sku))).scalar_one()
    return int(total)


async def record_count(conn: AsyncConnection, shop_id: str, sku: str, counted: int, *, key: str | None = None,
                       digest: str | None = None) -> Recorded:
    """A stock count: the movement is counted - on hand, so on hand becomes the counted number.

    The journal is held (on PostgreSQL; SQLite's writer lock does the same) so no sale lands
    between reading on hand and writing the difference. The key's content is the count, not
    the difference, so resending the same count is a replay even if sales moved on hand since.
    On hand here is the cloud's: sales still on a box or a tablet are not in it yet, so a count
    taken before they arrive is off by them (the back office warns: office/stock.py still_on_the_way).
    """
    digest = digest or request_hash({"sku": sku, "counted": counted, "reason": "count"})
    if key is not None:
        earlier = await _replayed(conn, shop_id, key, digest)
        if earlier is not None:
            return earlier
    await conn.run_sync(hold_journal_for_ingest, shop_id)
    difference = counted - await on_hand_of(conn, shop_id, sku)
    return await record_movement(conn, shop_id, Movement(sku, difference, "count"), key=key, digest=digest)
