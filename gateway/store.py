"""The gateway's one SQLite file: one writer connection, one reader connection.

WAL with synchronous=FULL: a batch the gateway acknowledged to a till survives
a power cut. All writes go through `transaction()`, which holds a lock, so
coroutines never interleave statements inside one another's transaction.
Reads use their own connection and so only ever see committed data.

Private to the service's user however the box is started (by systemd with
UMask=0077, or by hand with a permissive umask): the state directory is 0700
and the database 0600; SQLite gives its -wal and -shm files the database's mode.

A full disk (SQLITE_FULL) is StorageFull, which tills hear as 507 storage_full
and keep their documents; whatever fails, COMMIT included, the transaction is
rolled back so the one writer is never left stuck inside it.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiosqlite

from .errors import StorageFull
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

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection, path: Path):
        self._writer, self._reader, self._path = writer, reader, path
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, state_dir: Path) -> "Store":
        """Open (creating if needed) the state directory's database and migrate it."""
        state_dir.mkdir(parents=True, exist_ok=True)
        make_private(state_dir)
        writer = await _connect(state_dir / DB_NAME)
        await apply_migrations(writer)
        return cls(writer, await _connect(state_dir / DB_NAME), state_dir / DB_NAME)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; committed when the block ends, rolled back on error."""
        async with self._lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writer
                    await self._writer.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT (full disk, a deferred constraint) leaves the transaction open;
                    # SQLite may also have rolled it back already (SQLITE_FULL can).
                    if self._writer.in_transaction:
                        await self._rollback()
                    raise
            except sqlite3.OperationalError as err:
                if getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                    raise StorageFull() from err
                raise

    async def _rollback(self) -> None:
        """Roll back; if even that fails, replace the writer so the next transaction starts clean.

        A writer stuck inside a transaction would refuse every later BEGIN, and the box would stop
        taking sales until restarted. Closing it discards the transaction (SQLite rolls back).
        """
        try:
            await self._writer.execute("ROLLBACK")
        except sqlite3.Error:
            # "no transaction is active" (SQLite already rolled back, or a COMMIT queued in aiosqlite's
            # thread finished first) is harmless; anything else leaves the connection suspect.
            if not self._writer.in_transaction:
                return
            path = self._path
            with contextlib.suppress(sqlite3.Error, ValueError):
                await self._writer.close()
            self._writer = await _connect(path)

    def read(self) -> aiosqlite.Connection:
        """The read connection (committed data only)."""
        return self._reader


def make_private(state_dir: Path) -> None:
    """The state directory 0700 and its database files 0600, whatever the umask (and for older boxes)."""
    os.chmod(state_dir, 0o700)
    database = state_dir / DB_NAME
    # Created before SQLite opens it, so the file never exists with the umask's mode.
    os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
    for path in (database, state_dir / f"{DB_NAME}-wal", state_dir / f"{DB_NAME}-shm"):
        if path.exists():
            os.chmod(path, 0o600)
