"""The gateway's one SQLite file: one writer connection, one reader connection.

WAL with synchronous=FULL: a batch the gateway acknowledged to a till survives
a power cut. All writes go through `transaction()`, which holds a lock, so
coroutines never interleave statements inside one another's transaction.
Reads use their own connection and so only ever see committed data.
Tills' batches go through `grouped()` instead: those waiting for the writer
share one transaction and one fsync (group commit), each still answered only
after that COMMIT, each failure still its own (a SAVEPOINT per request).
A group's writes run whole in the writer connection's own thread
(`_write_group`): one hand-over for the group instead of one per statement,
so they never wait for the event loop, busy validating the next tablets'
batches, to pass each statement's result along.

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
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

import aiosqlite

from .errors import StorageFull
from .migrations import apply_migrations

DB_NAME = "gateway.db"
GROUP_MAX = 32   # requests per shared transaction: 32 full till batches is well under a second's work
# The writer's thread gives up the GIL around every statement and must then win it back from the event
# loop, which is busy validating the next tablets' batches: at CPython's default of 5 ms a turn, a
# request's handful of statements could wait tens of ms. 1 ms keeps a group's writes short. The whole
# process's setting: the serve command sets it (gateway/cli.py), not a library call.
GIL_SWITCH_S = 0.001
T = TypeVar("T")


class NotOnlyTheDatabase(RuntimeError):
    """Grouped work awaited something other than the writer connection (see Store.grouped)."""


class _Cursor:
    """What an aiosqlite cursor offers the ingest code, over a sqlite3 cursor in the writer's thread."""

    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _WriterInThread:
    """The writer connection as grouped work sees it inside the writer's own thread: aiosqlite's calls
    (execute, executemany, execute_fetchall, in_transaction, total_changes), each done at once on the
    sqlite3 connection, so an `await` on them completes without leaving the thread."""

    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    @property
    def total_changes(self) -> int:
        return self._connection.total_changes

    async def execute(self, sql: str, parameters: Any = None) -> _Cursor:
        return _Cursor(self._connection.execute(sql, [] if parameters is None else parameters))

    async def executemany(self, sql: str, parameters: Any) -> _Cursor:
        return _Cursor(self._connection.executemany(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> list[Any]:
        return self._connection.execute(sql, [] if parameters is None else parameters).fetchall()


def _run_to_end(work: Callable[[Any], Awaitable[T]], connection: sqlite3.Connection, savepoint: bool) -> T:
    """Run `work` to its end here, in the writer's thread, inside a SAVEPOINT when asked (released on
    success; on failure left for the caller to roll back to, as it would be on the event loop)."""
    if savepoint:
        connection.execute("SAVEPOINT request")
    coroutine = work(_WriterInThread(connection))   # type: ignore[arg-type]
    try:
        coroutine.send(None)   # type: ignore[attr-defined]
    except StopIteration as done:
        if savepoint:
            connection.execute("RELEASE request")
        return done.value
    coroutine.close()   # type: ignore[attr-defined]
    raise NotOnlyTheDatabase("grouped work may await only the writer connection")


def _write_group(connection: sqlite3.Connection,
                 works: list[Callable[[Any], Awaitable[Any]]]) -> tuple[list[tuple[bool, Any]], bool] | None:
    """In the writer's thread: BEGIN, then each work in its own SAVEPOINT, in order; None if BEGIN failed.

    Else (outcomes, lost): (True, result) or (False, error) per work that ran. A work that raised is
    rolled back to its savepoint alone; when that cannot be done (SQLite abandoned the transaction, or
    the rollback failed), `lost` is True, the last outcome is that work's and nothing after it ran.
    """
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error:
        return None
    outcomes: list[tuple[bool, Any]] = []
    for work in works:
        try:
            outcomes.append((True, _run_to_end(work, connection, savepoint=True)))
        except Exception as err:  # noqa: BLE001 -- the request's own failure, for it to raise
            outcomes.append((False, err))
            if not _undo_savepoint(connection):
                return outcomes, True
    return outcomes, False


def _undo_savepoint(connection: sqlite3.Connection) -> bool:
    """Roll the group's transaction back to the failed request's savepoint; False if it cannot be."""
    if not connection.in_transaction:
        return False   # SQLite rolled the whole transaction back (SQLITE_FULL can)
    try:
        connection.execute("ROLLBACK TO request")
        connection.execute("RELEASE request")
    except sqlite3.Error:
        return False   # the caller rolls back what is left
    return True


class StorageClosed(Exception):
    """The store stopped (the service is shutting down) before a grouped write could run."""


def _storage_error(err: Exception) -> Exception:
    """As transaction() reports it: a full disk is StorageFull (507)."""
    if isinstance(err, sqlite3.OperationalError) and getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        full = StorageFull()
        full.__cause__ = err
        return full
    return err


def _succeed(future: asyncio.Future, result: Any) -> None:
    if not future.done():   # its request may have been cancelled meanwhile; the rows are committed anyway
        future.set_result(result)


def _fail(future: asyncio.Future, err: BaseException) -> None:
    if not future.done():
        future.set_exception(err)


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
        self._queue: list[tuple[Callable[[aiosqlite.Connection], Awaitable[Any]], asyncio.Future]] = []
        self._grouper: asyncio.Task | None = None

    @classmethod
    async def open(cls, state_dir: Path) -> "Store":
        """Open (creating if needed) the state directory's database and migrate it."""
        state_dir.mkdir(parents=True, exist_ok=True)
        make_private(state_dir)
        writer = await _connect(state_dir / DB_NAME)
        await apply_migrations(writer)
        return cls(writer, await _connect(state_dir / DB_NAME), state_dir / DB_NAME)

    async def close(self) -> None:
        if self._grouper is not None and not self._grouper.done():
            # Writes already queued finish (and commit) before the connections go.
            await asyncio.gather(self._grouper, return_exceptions=True)
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; committed when the block ends, rolled back on error."""
        async with self._lock:
            async with self._transaction() as db:
                yield db

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """transaction() for a caller already holding the lock."""
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

    async def grouped(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `work` in a write transaction it may share with other requests waiting for the writer
        (group commit); its result once that transaction has committed.

        With 10 tablets pushing at once, one fsync per request queues every request behind the
        others' fsyncs. Grouped, the requests that arrived while the writer was busy are written
        in one transaction, one COMMIT, one fsync. What an answer means is unchanged: a request
        hears its result only after the COMMIT that holds its rows, so "stored" survives a power
        cut. A failure stays the request's own: each request runs inside a SAVEPOINT, and one that
        raises (a bug in a projection) is rolled back to it alone and hears its error while the
        others commit. Should the group's transaction itself fail (a full disk at COMMIT, or SQLite
        abandoning the transaction), each request is run again alone in its own transaction, so it
        gets exactly the answer it would have had without grouping. `work` must therefore touch
        nothing but the database (it may run twice; only one run is ever committed).

        `work` runs in the writer's thread (_run_to_end): the connection it is given answers
        aiosqlite's calls at once, and awaiting anything else fails it with NotOnlyTheDatabase.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._grouper is None or self._grouper.done():
            # A task of its own: a request whose client goes away must not take its neighbours' commit with it.
            self._grouper = asyncio.create_task(self._run_groups(), name="store-group-commit")
        return await future

    async def _run_groups(self) -> None:
        while self._queue:
            async with self._lock:
                # Whatever queued while the lock was held (by the last group or another writer) goes now.
                jobs, self._queue = self._queue[:GROUP_MAX], self._queue[GROUP_MAX:]
                try:
                    if len(jobs) == 1:
                        await self._run_alone(*jobs[0])
                    else:
                        await self._run_group(jobs)
                except BaseException as err:
                    # Cancelled (shutdown) or a fault outside any request's work: nobody is left waiting.
                    for _, future in jobs:
                        _fail(future, err if isinstance(err, Exception) else StorageClosed())
                    if not isinstance(err, Exception):
                        for _, future in self._queue:
                            _fail(future, StorageClosed())
                        self._queue = []
                        raise

    async def _in_writer_thread(self, work: Callable[[aiosqlite.Connection], Awaitable[T]], savepoint: bool) -> T:
        """Run `work` whole in the writer connection's thread (_run_to_end): one hand-over, however
        many statements it makes. (aiosqlite's _execute is how that thread is given a call.)"""
        writer = self._writer
        return await writer._execute(lambda: _run_to_end(work, writer._conn, savepoint))

    async def _run_alone(self, work: Callable[[aiosqlite.Connection], Awaitable[Any]], future: asyncio.Future) -> None:
        try:
            async with self._transaction():
                result = await self._in_writer_thread(work, savepoint=False)
        except Exception as err:  # noqa: BLE001 -- the request's own failure, for it to raise
            _fail(future, err)
        else:
            _succeed(future, result)

    async def _run_group(self, jobs: list[tuple[Callable[[aiosqlite.Connection], Awaitable[Any]], asyncio.Future]]) -> None:
        db = self._writer
        done: list[tuple[Callable, asyncio.Future, Any]] = []
        failed: list[tuple[asyncio.Future, Exception]] = []
        alone: list[tuple[Callable, asyncio.Future]] = []   # to run again, each in its own transaction
        try:
            # BEGIN and every request's write in one hand-over to the writer's thread (_write_group).
            ran = await db._execute(lambda: _write_group(db._conn, [work for work, _ in jobs]))
            if ran is None:
                alone = list(jobs)   # BEGIN failed: each will meet (and report) the same trouble on its own
            else:
                outcomes, lost = ran
                for (work, future), (ok, value) in zip(jobs, outcomes[:-1] if lost else outcomes):
                    if ok:
                        done.append((work, future, value))
                    else:
                        failed.append((future, _storage_error(value)))
                if lost:
                    # The transaction is gone or suspect: nothing of the group is committed; all again, alone.
                    if self._writer.in_transaction:
                        await self._rollback()
                    alone = [(w, f) for w, f, _ in done] + list(jobs[len(outcomes) - 1:])
                    done = []
                else:
                    try:
                        await db.execute("COMMIT")
                    except sqlite3.Error:
                        if self._writer.in_transaction:
                            await self._rollback()
                        alone = [(w, f) for w, f, _ in done]
                        done = []
        except BaseException:
            # Even when not yet begun: cancelled, the group's call may still be running in the writer's
            # thread, and this ROLLBACK, queued behind it there, ends whatever it began.
            await self._rollback()
            raise
        for future, err in failed:
            _fail(future, err)
        for _, future, result in done:   # committed: only now does any of them hear "stored"
            _succeed(future, result)
        for work, future in alone:
            await self._run_alone(work, future)

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
