"""The gateway's one SQLite file: one writer connection, and readers.

WAL with synchronous=FULL: a batch the gateway acknowledged to a till survives
a power cut. All writes go through `transaction()`, which holds a lock, so
coroutines never interleave statements inside one another's transaction.
Reads use their own connection and so only ever see committed data; a row
found by its index (a tablet's token, on every request) is read on the event
loop itself, on a third connection, without the hop to the reader's thread.
Tills' batches go through `grouped()` instead: those waiting for the writer
share one transaction and one fsync (group commit), each still answered only
after that COMMIT, each failure still its own (a SAVEPOINT per request).
A group's writes, BEGIN to COMMIT, run whole in the writer connection's own
thread (`_write_group`): one hand-over for the group instead of one per
statement, so they never wait for the event loop, busy validating the next
tablets' batches, to pass each statement's result along; and the thread goes on
to the next group, whatever queued meanwhile, without waiting for the loop
either (`_write_groups`), letting a waiting `transaction()` in between two
groups. The writer is a plain sqlite3 connection and a thread of our own
(gateway/writer.py).

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
import logging
import os
import sqlite3
import threading
import weakref
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Hashable, TypeVar

import aiosqlite

from .errors import StorageFull
from .migrations import apply_migrations
from .writer import NotOnlyTheDatabase, Writer, run_to_end

__all__ = ["DB_NAME", "NotOnlyTheDatabase", "StorageClosed", "Store", "Together", "make_private"]

log = logging.getLogger(__name__)

DB_NAME = "gateway.db"
GROUP_MAX = 32   # requests per shared transaction: 32 full till batches is well under a second's work
T = TypeVar("T")


@dataclass(frozen=True)
class Together:
    """A grouped() work that may be written in one go with the others of its group that share its `key`.

    `write(db, items)` writes the items of every such work of the group, in the group's order, and gives
    one result per item: exactly what writing them one after another would give (gateway/journal.py's
    write_batches). A group of them is one set of statements instead of a set per request, which is
    what keeps the writer's thread from waiting, at every statement, for the GIL the event loop holds
    while it checks the next tablets' batches. Should the merged write fail, the group's works are
    written again one by one, each in its own savepoint, so a failure stays the request's own.
    """
    key: Hashable
    write: Callable[[Any, list[Any]], Awaitable[list[Any]]]
    item: Any

    async def __call__(self, db: Any) -> Any:
        return (await self.write(db, [self.item]))[0]


def _together(works: list[Callable[[Any], Awaitable[Any]]]) -> Callable[[Any], Awaitable[list[Any]]] | None:
    """The group's works as one write, when there are several and all are Together with one key."""
    first = works[0]
    if len(works) < 2 or not isinstance(first, Together) or \
            not all(isinstance(work, Together) and work.key == first.key for work in works):
        return None
    items = [work.item for work in works]   # type: ignore[attr-defined] - all Together, checked above
    return lambda db: first.write(db, items)


def _write_group(connection: sqlite3.Connection, works: list[Callable[[Any], Awaitable[Any]]]) -> "_Group":
    """In the writer's thread: BEGIN, the works in order, COMMIT; one hand-over.

    The works go in one write when they can (Together), in a SAVEPOINT; else, or should that write
    fail, each in its own SAVEPOINT. A work that raised is rolled back to its savepoint alone and the
    others go on. When that cannot be done (SQLite abandoned the transaction, or the rollback failed)
    nothing after it runs and `lost` is set; when BEGIN or COMMIT fails, `error` is. Either way nothing
    is committed, and what is left of the transaction is for the event loop to roll back
    (Store._rollback, which can replace the writer).
    """
    group = _Group()
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as err:
        group.error = err
        return group
    merged = _together(works)
    if merged is not None:
        try:
            connection.execute("SAVEPOINT request")
            results = run_to_end(merged, connection)
            if len(results) != len(works):
                raise RuntimeError(f"a merged write gave {len(results)} results for {len(works)} requests")
            connection.execute("RELEASE request")
        except Exception as err:  # noqa: BLE001 -- written again one by one, each hearing its own failure
            log.warning("a group of %d tablets' batches failed written together (%r); writing each alone",
                        len(works), err)
            if not _undo_savepoint(connection):
                # The transaction went with it (SQLITE_FULL can do that), and nothing of it ran but the
                # merged write: as if BEGIN had failed, every request is written again on its own.
                group.error = err
                return group
        else:
            group.outcomes = [(True, result) for result in results]
            works = []
    for work in works:
        try:
            connection.execute("SAVEPOINT request")
            result = run_to_end(work, connection)
            connection.execute("RELEASE request")
        except Exception as err:  # noqa: BLE001 -- the request's own failure, for it to raise
            group.outcomes.append((False, err))
            if not _undo_savepoint(connection):
                group.lost = True
                return group
        else:
            group.outcomes.append((True, result))
    try:
        # Durable before anyone hears of it: with synchronous=FULL this returns after the WAL's fsync.
        connection.execute("COMMIT")
    except sqlite3.Error as err:
        group.error = err
        return group
    group.committed = True
    return group


class _Group:
    """What _write_group did: (True, result) or (False, error) per work that ran, and whether it committed."""

    def __init__(self) -> None:
        self.outcomes: list[tuple[bool, Any]] = []
        self.committed = False
        self.lost = False                        # a work's failure took the transaction with it
        self.error: Exception | None = None  # BEGIN or COMMIT failed (or a merged write, with the transaction)


def _write_groups(connection: sqlite3.Connection, take: Callable[[bool], list[Any]],
                  answer: Callable[[list[Any], _Group], None]) -> tuple[list[Any], _Group] | None:
    """In the writer's thread: group after group of what `take` gives, each committed, then answered,
    until `take` gives nothing (None) or a group does not commit (it and its jobs are returned)."""
    first = True
    while True:
        jobs = take(first)
        first = False
        if not jobs:
            return None
        group = _write_group(connection, [work for work, _ in jobs])
        if not group.committed:
            return jobs, group
        answer(jobs, group)


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


async def _connect_reader(path: Path) -> aiosqlite.Connection:
    # The reader stays an aiosqlite connection (its own thread): reads never queue behind the writer's.
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = aiosqlite.Row
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("PRAGMA busy_timeout=10000")
    await db.execute("PRAGMA foreign_keys=ON")
    return db


def _connect_point_reader(path: Path) -> sqlite3.Connection:
    # Read-only and quick to give up: a WAL reader is busy only in rare moments (another connection
    # recovering the WAL), and then Store.read_row goes the reader's way, which waits.
    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA query_only=ON")
    db.execute("PRAGMA busy_timeout=0")
    return db


Job = tuple[Callable[[Any], Awaitable[Any]], asyncio.Future]


class Store:
    """The gateway's database: `transaction()` to write, `read()` to read."""

    def __init__(self, writer: Writer, reader: aiosqlite.Connection, path: Path):
        self._writer, self._reader, self._path = writer, reader, path
        self._points = _connect_point_reader(path)   # read_row's, used on the event loop's thread only
        self._lock = asyncio.Lock()
        # Tills' requests waiting for the writer. Appended on the event loop, taken by the writer's thread
        # (_take) as it goes from group to group; _queue_lock keeps a take and a shutdown's sweep apart.
        self._queue: deque[Job] = deque()
        self._queue_lock = threading.Lock()
        # The group the writer's thread took last (_take), the only one whose requests may not have been
        # answered: every group before it committed and had its answers handed to the event loop (which
        # runs them before it hears the thread is done) before the next was taken, and one that fails
        # ends the round (its reruns are its own requests). On a fault outside any request's work, these
        # are answered. Only that group: under a steady stream from the tablets the queue may not empty
        # for minutes, and a round's every request kept here, each with its batch's parsed documents,
        # held 54 MB more after 10,000 sales (issue 12's bench) until it did.
        self._round: list[Job] = []
        self._closed = False
        self._chain_open = False        # the writer's thread may take another group
        self._waiting = 0               # transaction() callers waiting for the lock
        self._grouper: asyncio.Task | None = None

    @classmethod
    async def open(cls, state_dir: Path) -> "Store":
        """Open (creating if needed) the state directory's database and migrate it."""
        state_dir.mkdir(parents=True, exist_ok=True)
        make_private(state_dir)
        writer = await Writer.open(state_dir / DB_NAME)
        try:
            await apply_migrations(writer)
            reader = await _connect_reader(state_dir / DB_NAME)
        except BaseException:
            await writer.close()
            raise
        try:
            return cls(writer, reader, state_dir / DB_NAME)
        except BaseException:
            await reader.close()
            await writer.close()
            raise

    async def close(self) -> None:
        self._closed = True   # new writes hear StorageClosed; those already queued finish first
        if self._grouper is not None and not self._grouper.done():
            # Writes already queued finish (and commit) before the connections go.
            await asyncio.gather(self._grouper, return_exceptions=True)
        self._points.close()
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        """One write transaction; committed when the block ends, rolled back on error. The connection
        it yields answers the calls of an aiosqlite connection (gateway/writer.py)."""
        if self._closed:
            raise StorageClosed()
        self._waiting += 1   # the writer's thread, going from group to group, lets us in after its current one
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            async with self._transaction() as db:
                yield db
        finally:
            self._lock.release()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Writer]:
        """transaction() for a caller already holding the lock."""
        try:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except BaseException:
                # Cancelled, the BEGIN may still run in the writer's thread: end it there, behind it, or
                # the writer would hold SQLite's write lock with nobody to COMMIT. (Failed: a no-op.)
                await self._rollback()
                raise
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

    async def grouped(self, work: Callable[[Any], Awaitable[T]]) -> T:
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
        nothing but the database (it may run twice; only one run is ever committed). Works that are
        Together (the tills' batches) are written in one go, in one SAVEPOINT; should that fail, one
        by one as above.

        The whole group, BEGIN to COMMIT, is one hand-over to the writer's thread (_write_group),
        so its statements never wait for the event loop, busy validating the next tablets' batches,
        to pass each result along. `work` runs there (writer.run_to_end): the connection it is given
        answers each call at once, and awaiting anything else fails it with NotOnlyTheDatabase.
        """
        if self._closed:
            raise StorageClosed()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._grouper is None or self._grouper.done():
            # A task of its own: a request whose client goes away must not take its neighbours' commit with it.
            self._grouper = asyncio.create_task(self._run_groups(), name="store-group-commit")
        return await future

    async def _run_groups(self) -> None:
        while self._queue:
            async with self._lock:
                self._round = []
                try:
                    await self._write_queued()
                except BaseException as err:
                    # Cancelled (shutdown) or a fault outside any request's work: nobody taken is left
                    # waiting (one already answered keeps its answer).
                    for _, future in self._round:
                        _fail(future, err if isinstance(err, Exception) else StorageClosed())
                    if isinstance(err, Exception) and self._round:
                        continue   # the rest of the queue gets its turn
                    # Cancelled, or the writer refused before taking anything (closed, or not to be
                    # reopened): the queue would only meet the same; answer it all rather than spin.
                    with self._queue_lock:
                        left, self._queue = list(self._queue), deque()
                    for _, future in left:
                        _fail(future, StorageClosed() if not isinstance(err, Exception) else err)
                    if not isinstance(err, Exception):
                        raise
                    return

    async def _write_queued(self) -> None:
        """Write what is queued, group after group, in one hand-over to the writer's thread (_write_groups).

        There each group is committed and its requests answered (through the event loop, which need not
        be free for the thread to go on), and the next group, whatever queued meanwhile, begins at once:
        the writer never waits for the event loop, busy validating the next tablets' batches, between
        groups. It stops when the queue is empty, when a transaction() caller is waiting for the writer
        (it goes next, then the tills' requests again), or at a group that did not commit, which comes
        back here to be settled.
        """
        loop = asyncio.get_running_loop()

        def answer(jobs: list[Job], group: _Group) -> None:
            with contextlib.suppress(RuntimeError):   # the loop closed: nobody is left to answer
                loop.call_soon_threadsafe(self._settle_committed, jobs, group)
        self._chain_open = True
        try:
            failed = await self._in_writer(_write_groups, self._take, answer)
        finally:
            self._chain_open = False
        if failed is not None:
            await self._settle(*failed)

    def _take(self, first: bool) -> list[Job]:
        """In the writer's thread: the next group's requests, or none (see _write_queued)."""
        with self._queue_lock:
            if not self._chain_open or (self._waiting and not first):
                jobs = []
            else:
                jobs = [self._queue.popleft() for _ in range(min(GROUP_MAX, len(self._queue)))]
            self._round = jobs   # the group before it is answered: let it go (see __init__)
            return jobs

    async def _in_writer(self, function: Callable[..., T], *args: Any) -> T:
        """self._writer.run, leaving no transaction behind should the caller be cancelled meanwhile."""
        try:
            return await self._writer.run(function, *args)
        except BaseException:
            # Cancelled, the writer's thread may still be writing: this ROLLBACK, queued behind it there,
            # ends whatever it began (a COMMIT that got there first stands; its requests, unless already
            # answered, hear StorageClosed: the tills send those documents again and hear "duplicate").
            # No further group is taken meanwhile.
            self._chain_open = False
            await self._rollback()
            raise

    async def _run_group(self, jobs: list[Job]) -> None:
        """Write the jobs in one transaction, one hand-over; answer each once committed (or failed)."""
        await self._settle(jobs, await self._in_writer(_write_group, [work for work, _ in jobs]))

    @staticmethod
    def _settle_committed(jobs: list[Job], group: "_Group") -> None:
        for (_, future), (ok, value) in zip(jobs, group.outcomes):   # only now does any of them hear
            if ok:
                _succeed(future, value)
            else:
                _fail(future, _storage_error(value))

    async def _settle(self, jobs: list[Job], group: "_Group") -> None:
        """Answer a group's requests. A job alone is a group of one: its failure, or its transaction's, is
        its answer. In a larger group, when the transaction is lost or will not commit, nothing of it is
        kept and every job whose answer that leaves open runs again alone."""
        if group.committed:
            self._settle_committed(jobs, group)
            return
        if self._writer.in_transaction:
            await self._rollback()
        if len(jobs) == 1:
            failed = [value for ok, value in group.outcomes if not ok]
            _fail(jobs[0][1], _storage_error(failed[0] if failed else group.error))
            return
        alone: list[Job] = []
        if group.lost:
            # The transaction is gone or suspect, whoever raised last may not be at fault (a full disk).
            alone = [job for job, (ok, _) in zip(jobs, group.outcomes) if ok] + jobs[len(group.outcomes) - 1:]
            for job, (ok, value) in zip(jobs, group.outcomes[:-1]):
                if not ok:
                    _fail(job[1], _storage_error(value))
        else:   # BEGIN or COMMIT failed: the jobs that raised keep their own errors
            for job, (ok, value) in zip(jobs, group.outcomes):
                if ok:
                    alone.append(job)
                else:
                    _fail(job[1], _storage_error(value))
            alone += jobs[len(group.outcomes):]   # BEGIN failed: none ran
        for job in alone:
            await self._run_group([job])

    async def _rollback(self) -> None:
        """Roll back; if even that fails, replace the writer so the next transaction starts clean.

        A writer stuck inside a transaction would refuse every later BEGIN, and the box would stop
        taking sales until restarted. Closing it discards the transaction (SQLite rolls back).
        """
        try:
            await self._writer.execute("ROLLBACK")
        except sqlite3.Error:
            # "no transaction is active" (SQLite already rolled back, or a COMMIT queued in the writer's
            # thread finished first) is harmless; anything else leaves the connection suspect.
            if not self._writer.in_transaction:
                return
            path = self._path
            with contextlib.suppress(sqlite3.Error, ValueError, RuntimeError):
                await self._writer.close()
            self._writer = await Writer.open(path)

    def read(self) -> aiosqlite.Connection:
        """The read connection (committed data only)."""
        return self._reader

    async def read_row(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | aiosqlite.Row | None:
        """One row found through an index (a tablet's token, say), read on the event loop itself.

        Such a read takes microseconds, while the hop to the reader's thread and back waits for the loop
        to come round again: with 10 tablets pushing batches that was 10 ms at the median (issue 12, the
        box's ack). Only for reads that touch a few pages; anything that may scan goes through read().
        Committed data only, like read(); should SQLite be busy for a moment, the reader's way waits.
        """
        try:
            # fetchall: stepped to its end, the statement ends its read transaction at once (one left
            # open would hold back the WAL's checkpoints and keep showing this moment's data).
            rows = self._points.execute(sql, params).fetchall()
            return rows[0] if rows else None
        except sqlite3.OperationalError as err:
            # The primary code: Python reports the extended one (SQLITE_BUSY_RECOVERY while another
            # connection recovers the WAL, say).
            if err.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
        return await (await self._reader.execute(sql, params)).fetchone()


def make_private(state_dir: Path) -> None:
    """The state directory 0700 and its database files 0600, whatever the umask (and for older boxes)."""
    os.chmod(state_dir, 0o700)
    database = state_dir / DB_NAME
    # Created before SQLite opens it, so the file never exists with the umask's mode.
    os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
    for path in (database, state_dir / f"{DB_NAME}-wal", state_dir / f"{DB_NAME}-shm"):
        if path.exists():
            os.chmod(path, 0o600)


# One reader's consistent view: the reader connection is shared, so its read transactions take turns.
_READ_LOCKS: "weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Lock]" = weakref.WeakKeyDictionary()


@asynccontextmanager
async def one_read(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """Every statement inside sees the same committed state (a read transaction; WAL readers never block
    the writer). `db` is the store's reader, or the writer inside a caller's transaction, which already is
    one consistent view (never the writer outside one: no lock is taken for it).

    The reader is shared by every request: one read transaction at a time, in turn. Another request's
    open transaction is no view of ours (it commits when that request is done, and our later
    statements would see newer data), so the reader always waits for its turn."""
    if not isinstance(db, aiosqlite.Connection):   # the writer, inside its caller's transaction
        yield db
        return
    lock = _READ_LOCKS.setdefault(db, asyncio.Lock())
    async with lock:
        if db.in_transaction:
            # A read left open by a request cancelled between its BEGIN and its COMMIT: end it, or no
            # consistent read could begin on this connection again.
            await db.execute("COMMIT")
        try:
            await db.execute("BEGIN")
            yield db
        finally:
            if db.in_transaction:
                await db.execute("COMMIT")   # it only read
