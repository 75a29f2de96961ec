"""The gateway's one SQLite file: one writer connection, one reader connection.

WAL with synchronous=FULL: a batch the gateway acknowledged to a till survives
a power cut. All writes go through `transaction()`, which holds a lock, so
coroutines never interleave statements inside one another's transaction.
Reads use their own connection and so only ever see committed data.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiosqlite

from .migrations import apply_migrations

DB_NAME = "gateway.db"


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a transaction is exactly what we wrote.
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = aiosqlite.Row
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("PRAGMA busy_timeout=10000")
    await db.execute("PRAGMA foreign_keys=ON")
    return db


class Store:
    """The gateway's database: `transaction()` to write, `read()` to read."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self._writer, self._reader = writer, reader
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, state_dir: Path) -> "Store":
        """Open (creating if needed) the state directory's database and migrate it."""
        state_dir.mkdir(parents=True, exist_ok=True)
        writer = await _connect(state_dir / DB_NAME)
        await apply_migrations(writer)
        return cls(writer, await _connect(state_dir / DB_NAME))

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; committed when the block ends, rolled back on error."""
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    def read(self) -> aiosqlite.Connection:
        """The read connection (committed data only)."""
        return self._reader
