"""Stock on the box: the cloud's snapshot plus what the box has seen since, served to tills.

The cloud's snapshot (GET /v1/stock) names the watermark W of its journal it covers: it
counts exactly the documents with ingest_seq <= W (and the owner's stock movements). The
uplink records each document's ingest_seq from the cloud's answers. So on-hand per SKU is

    snapshot[sku] + the movements of every document the box holds whose ingest_seq is null or > W

which counts each document once, whatever the order of acks and snapshots: before its ack
(null) and after an ack the snapshot does not yet cover (> W) the box counts it; once a
snapshot covers it (<= W) only the snapshot does. The one blur is a reply the box lost
(the cloud stored a document, the box never heard its ingest_seq): until the resend comes
back `duplicate` with its ingest_seq, a newer snapshot and the box both count it.

`stock_moves` holds each document's movements per SKU (sale -qty, refund +qty; loose goods in
grams / ml), written in the ingest transaction, its ingest_seq copied there with the ack, so a
till's request reads the few uncovered rows (an index on ingest_seq), never the journal.

Stock informs the till ("3 left"); it never blocks a sale, so a negative figure is served as is.
Before the first snapshot the box knows no figure and serves an empty map.
"""
from __future__ import annotations

import functools
import hashlib
import json

from typing import Any, Awaitable, Callable

import aiosqlite

from cloud_api.contract import AnyDocument, Refund, Sale
from cloud_api.service.clock import utc_now

from .cloud_client import CloudClient
from .store import Store, one_read


def movements(document: AnyDocument) -> dict[str, int]:
    """What a document moves on the shelf, per SKU: a sale takes goods out, a return brings them back."""
    sign = {Sale: -1, Refund: 1}.get(type(document))
    if sign is None:
        return {}
    moved: dict[str, int] = {}
    for line in document.lines:   # the same SKU may sit on two lines
        moved[line.sku] = moved.get(line.sku, 0) + sign * line.qty
    return moved


async def record_moves(db: aiosqlite.Connection, document: AnyDocument) -> None:
    """Project a newly stored document's movements, inside the ingest transaction."""
    await db.executemany("INSERT OR IGNORE INTO stock_moves (document_id, sku, qty) VALUES (?, ?, ?)",
                         [(document.id, sku, qty) for sku, qty in movements(document).items()])


async def record_moves_many(db: aiosqlite.Connection, documents: list[AnyDocument]) -> None:
    """record_moves for a whole batch of newly stored documents, in one statement."""
    await db.executemany("INSERT OR IGNORE INTO stock_moves (document_id, sku, qty) VALUES (?, ?, ?)",
                         [(document.id, sku, qty) for document in documents
                          for sku, qty in movements(document).items()])


# The ingest_seq of a document every snapshot counts: acked by a cloud that does not number its journal
# (it has no snapshot yet, and its first one will count it), or a conflict (the cloud counts its own version).
COVERED = 0


async def record_ingest_seq(db: aiosqlite.Connection, document_id: str, ingest_seq: int | None) -> None:
    """Note where the cloud filed a document (from its batch answer), inside the uplink's transaction.

    None means the cloud holds it without saying where: any snapshot counts it (COVERED), so the box
    stops adding it itself; left NULL it would be counted twice for good once the cloud has snapshots.
    """
    await record_ingest_seqs(db, [(document_id, ingest_seq)])


async def record_ingest_seqs(db: aiosqlite.Connection, filed: list[tuple[str, int | None]]) -> None:
    """record_ingest_seq for a batch's documents, (document_id, ingest_seq) each: one statement per table.

    Why: the uplink records every answer of a batch in one transaction, and a statement per document
    per table was five hand-overs to the writer's thread per sale: the box spent more CPU recording a
    10,000-sale backlog's answers than sending it (tests/bench/box.py, the drain)."""
    rows = [(COVERED if ingest_seq is None else ingest_seq, document_id) for document_id, ingest_seq in filed]
    if not rows:
        return
    await db.executemany("UPDATE journal SET ingest_seq = ? WHERE id = ?", rows)
    await db.executemany("UPDATE stock_moves SET ingest_seq = ? WHERE document_id = ?", rows)
    # The khata's projections follow the same rule (gateway/khata.py): the snapshot counts it from here on.
    await db.executemany("UPDATE khata_entries SET ingest_seq = ? WHERE document_id = ?", rows)
    await db.executemany("UPDATE customer_versions SET ingest_seq = ? WHERE document_id = ?", rows)


async def pull_snapshot(store: Store, table: str, fetch: Callable[[str | None], Awaitable[tuple[Any, str] | None]],
                        body: Callable[[Any], str]) -> bool:
    """Fetch one of the cloud's snapshots (stock, khata) and keep it in `table`; return whether a newer
    one arrived. A snapshot older than the one held (answers can cross) is not kept: either would give
    the right figures, the newer one needs fewer of the box's own documents."""
    assert table in ("stock_snapshot", "khata_snapshot")   # a fixed name, never input
    row = await (await store.read().execute(f"SELECT etag FROM {table} WHERE id = 1")).fetchone()
    fetched = await fetch(row["etag"] if row else None)
    if fetched is None:
        return False
    snapshot, etag = fetched
    async with store.transaction() as db:
        cursor = await db.execute(
            f"INSERT INTO {table} (id, watermark, body, etag, fetched_at) VALUES (1, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET watermark = excluded.watermark, body = excluded.body, "
            "etag = excluded.etag, fetched_at = excluded.fetched_at "
            f"WHERE excluded.watermark >= {table}.watermark",
            (snapshot.watermark, body(snapshot), etag, utc_now()))
    return cursor.rowcount == 1


async def pull_stock(store: Store, cloud: CloudClient) -> bool:
    """Fetch the cloud's stock snapshot and keep it (pull_snapshot)."""
    return await pull_snapshot(store, "stock_snapshot", cloud.get_stock,
                               lambda snapshot: json.dumps(snapshot.stock, sort_keys=True))


async def on_hand(db: aiosqlite.Connection) -> dict[str, int] | None:
    """On-hand per SKU as the box knows it, or None before the first snapshot."""
    row = await (await db.execute("SELECT watermark, body FROM stock_snapshot WHERE id = 1")).fetchone()
    if row is None:
        return None
    stock = dict(_snapshot(row["body"]))
    for move in await db.execute_fetchall(
            "SELECT sku, sum(qty) AS qty FROM stock_moves WHERE ingest_seq IS NULL OR ingest_seq > ? "
            "GROUP BY sku", (row["watermark"],)):
        stock[move["sku"]] = stock.get(move["sku"], 0) + move["qty"]
    return stock


@functools.lru_cache(maxsize=2)
def _snapshot(body: str) -> tuple[tuple[str, int], ...]:
    # Parsed once per snapshot, not per till request.
    return tuple(json.loads(body).items())


async def stock_for_tills(db: aiosqlite.Connection, device_id: str) -> tuple[str, str]:
    """(ETag, JSON body) of GET /api/v1/stock for this tablet: {"stock": {sku: on_hand}, "device_seq": n}.

    device_seq is the highest seq of the asking tablet's documents the box holds, read in the same read
    transaction as the stock, so the stock counts exactly those of its documents up to it: a tablet
    pushes in seq order, and the box counts every document it holds. The till takes off its own
    documents above it (sync.js), the same after a reload or offline. 0 when the box holds none of them
    (a new tablet, or a replaced box): the till then takes off all of its documents not yet in the cloud.
    """
    async with one_read(db):
        stock = await on_hand(db)
        row = await (await db.execute("SELECT coalesce(max(seq), 0) FROM journal WHERE device_id = ?",
                                      (device_id,))).fetchone()
    body = json.dumps({"stock": dict(sorted((stock or {}).items())), "device_seq": row[0]},
                      ensure_ascii=False, separators=(",", ":"))
    return f'"{hashlib.sha256(body.encode()).hexdigest()[:24]}"', body

