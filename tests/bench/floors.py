"""The floors: what each figure would cost with nothing but the database, the link or the browser.

Each is measured in the same run as its figure, on the same machine in the same state, so a
ratio says how much the pipeline adds and a busy machine moves both sides alike.
"""
from __future__ import annotations

import json
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

Rows = dict[str, tuple[list[str], list[tuple]]]


def _sqlite(path: str | Path) -> sqlite3.Connection:
    # The pragmas the cloud's and the box's SQLite run with: durable commits, not a faster lie.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def sqlite_insert_rows(path: str, *parts: Rows) -> float:
    """Seconds to insert each of `parts` (table -> columns, rows) with executemany, one transaction
    per part, over one connection."""
    db = _sqlite(path)
    try:
        start = time.perf_counter()
        for rows in parts:
            db.execute("BEGIN")
            for table, (columns, values) in rows.items():
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join("?" for _ in columns)
                db.executemany(f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})', values)
            db.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        db.close()


async def pg_insert_rows(dsn: str, *parts: Rows) -> float:
    """Seconds to insert each of `parts` with asyncpg executemany, ON CONFLICT DO NOTHING, one
    transaction per part, over one connection."""
    import asyncpg
    conn = await asyncpg.connect(dsn)
    try:
        start = time.perf_counter()
        for rows in parts:
            async with conn.transaction():
                for table, (columns, values) in rows.items():
                    names = ", ".join(f'"{c}"' for c in columns)
                    marks = ", ".join(f"${i + 1}" for i in range(len(columns)))
                    await conn.executemany(
                        f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING', values)
        return time.perf_counter() - start
    finally:
        await conn.close()


# The box's journal table as its first migration makes it (gateway/migrations.py), nothing else.
_RAW_JOURNAL = """CREATE TABLE journal (rx_seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL, device_id TEXT NOT NULL, device_code TEXT NOT NULL, seq INTEGER NOT NULL,
    hash TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL,
    cloud_state TEXT NOT NULL DEFAULT 'pending', cloud_at TEXT, cloud_reason TEXT)"""


def _journal_rows(docs: list[dict[str, Any]]) -> list[tuple]:
    now = "2026-11-28T12:00:00+00:00"
    return [(d["id"], d["kind"], d["device_id"], d["device_code"], d["seq"], d["hash"],
             json.dumps(d, ensure_ascii=False), now) for d in docs]


def raw_journal_inserts(path: Path, docs: list[dict[str, Any]], per_transaction: int) -> list[float]:
    """Raw SQLite WAL + synchronous=FULL inserts of `docs` into the box's journal table,
    `per_transaction` rows per transaction; the seconds each transaction took."""
    db = _sqlite(path)
    try:
        db.execute(_RAW_JOURNAL)
        rows = _journal_rows(docs)
        times = []
        for i in range(0, len(rows), per_transaction):
            start = time.perf_counter()
            db.execute("BEGIN")
            db.executemany("INSERT INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows[i:i + per_transaction])
            db.execute("COMMIT")
            times.append(time.perf_counter() - start)
        return times
    finally:
        db.close()


def single_sale_round_trips(cloud_url: str, api_key: str, docs: list[dict[str, Any]]) -> list[float]:
    """One request per sale: each sale POSTed alone to the cloud's batch route over one kept-alive
    connection (through the same proxy the drain crosses); the seconds each round trip took."""
    times = []
    with httpx.Client(base_url=cloud_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
        for doc in docs:
            start = time.perf_counter()
            response = client.post("/v1/journal:batch", json={"documents": [doc]})
            response.raise_for_status()
            times.append(time.perf_counter() - start)
    return times


# One strict-durability IndexedDB put of a sale-sized record, in a database of its own in the till's
# page, then the frame that shows it: what the till's commit cannot beat, measured the way the checkout
# is (tests/bench/browser.py ARM_CHECKOUT_JS). After the put's oncomplete a one-line text (a stand-in
# for the receipt number) changes, and the time runs to requestAnimationFrame + setTimeout: the frame
# with the change has painted. Each put starts after a random pause, as a tap lands anywhere in the
# display's frame interval; the page is otherwise left alone. Returns {put, frame}: each put's
# milliseconds from the transaction's start to oncomplete, and to the painted frame.
IDB_PUT_FLOOR_JS = """async ([count, record]) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open("posline-bench-floor", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("documents", { keyPath: "id" });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  // Fixed and contained: its change lays out and paints nothing else of the page.
  const shown = document.body.appendChild(document.createElement("output"));
  shown.style.cssText = "position:fixed;bottom:0;right:0;width:8em;height:1.5em;contain:strict;background:#fff";
  const put = [];
  const frame = [];
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 17));
    const start = performance.now();
    await new Promise((resolve, reject) => {
      const tx = db.transaction("documents", "readwrite", { durability: "strict" });
      tx.objectStore("documents").put({ ...record, id: `floor-${Date.now()}-${i}` });
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    put.push(performance.now() - start);
    shown.textContent = `T1-${String(i).padStart(6, "0")}`;
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
    frame.push(performance.now() - start);
  }
  shown.remove();
  db.close();
  return { put, frame };
}"""

# The one-element page: the shell's own icon, an SVG document of one element, from the same server
# over the same TLS: a navigation with nothing of the till in it.
ONE_ELEMENT_PAGE = "/icon.svg"


def summary(times: list[float]) -> float:
    return statistics.median(times)
