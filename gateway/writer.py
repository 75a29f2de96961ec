"""The box's one writer connection: a plain sqlite3 connection and the one thread that drives it.

Every statement of the writer runs in that thread (a ThreadPoolExecutor of one worker, so calls run
one at a time, in the order they were made): `Writer` offers the event loop the calls the gateway's
code makes on a connection (execute, executemany, execute_fetchall, in_transaction, total_changes),
each one hand-over to the thread; `Writer.run` hands over a whole function instead, which is how a
group of tills' batches is written with one hand-over (gateway/store.py). Ours rather than
aiosqlite's, so nothing leans on another library's private parts.

Work written for the event loop (`async def work(db)`, awaiting the connection's calls) runs unchanged
inside the thread with `run_to_end`: the connection it is handed there (`InThread`) answers each call at
once, so the coroutine finishes in a single step, never waiting for the event loop.
"""
from __future__ import annotations

import asyncio
import re
import sqlite3
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence, TypeVar

T = TypeVar("T")

# Statements prepared once and kept: an ingest makes a few hundred distinct ones (each many-row INSERT
# in up to 12 sizes, and id lookups as long as a group's batches), more than sqlite3's default cache of
# 128 would hold; the least recently used go first.
CACHED_STATEMENTS = 512
# Rows per many-row INSERT (see executemany): sizes are multiples of 16 up to this (_chunk), so each INSERT
# has at most 12 texts to prepare and cache (a 256-row text cached in every size cost 16 MB more memory);
# and never more bound variables than the connection allows (32,766 since SQLite 3.32; 999 before).
MANY_ROWS = 128


class NotOnlyTheDatabase(RuntimeError):
    """Work run in the writer's thread awaited something other than the writer connection."""


def connect(path: Path) -> sqlite3.Connection:
    """The writer's connection, its pragmas set; call it in the writer's thread."""
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a transaction is exactly what we wrote.
    # check_same_thread=False: the event loop reads in_transaction and total_changes (plain getters);
    # every statement still runs in the writer's thread.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                 cached_statements=CACHED_STATEMENTS)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        connection.close()
        raise
    return connection


class Cursor:
    """What a statement left: its rows (all fetched in the writer's thread), rowcount and lastrowid."""

    def __init__(self, cursor: sqlite3.Cursor | None, rows: list[Any], rowcount: int, lastrowid: int | None):
        self.description = None if cursor is None else cursor.description
        self.rowcount, self.lastrowid = rowcount, lastrowid
        self._rows, self._next = rows, 0

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Any]:
        rows, self._rows, self._next = self._rows[self._next:], [], 0
        return rows

    async def close(self) -> None:
        self._rows, self._next = [], 0


def execute(connection: sqlite3.Connection, sql: str, parameters: Any = None) -> Cursor:
    """One statement, its rows fetched here: a cursor read later must not step the connection from the
    event loop's thread while the writer's thread runs the next statement."""
    cursor = connection.execute(sql, () if parameters is None else parameters)
    rows = cursor.fetchall() if cursor.description is not None else []
    return Cursor(cursor, rows, cursor.rowcount, cursor.lastrowid)


_PLAIN_INSERT = re.compile(r"(\s*INSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\s+\w+\s*\([\w\s,]+\)\s*VALUES\s*)"
                           r"(\(\s*\?(?:\s*,\s*\?)*\s*\))\s*", re.IGNORECASE)


def executemany(connection: sqlite3.Connection, sql: str, parameters: Any) -> Cursor:
    """connection.executemany; an INSERT of nothing but `?` placeholders goes as many-row INSERTs.

    Why: SQLite runs each row of an executemany as its own step, and sqlite3 lets go of the GIL around
    every step, so the writer's thread must win the GIL back once per row. The event loop, busy
    validating the next tablets' batches, holds it for up to a switch interval each time: a batch's
    few hundred rows then took hundreds of ms. `INSERT ... VALUES (?, ?), (?, ?), ...` is one step for
    many rows. When it succeeds, the same rows go in, in the same order, with the same conflicts and
    ignores (the VALUES read nothing, so row n is inserted before row n+1 is looked at). When a row
    fails, the statement fails with the same error, but the rows of its chunk before it are not kept,
    where executemany would keep them: every caller in gateway/ rolls back to its savepoint or its
    transaction on such an error, so nothing relies on those. Anything else goes as it came.
    """
    match = _PLAIN_INSERT.fullmatch(sql)
    rows = parameters if isinstance(parameters, list) else list(parameters)
    width = match.group(2).count("?") if match else 0
    if not match or not rows or not all(isinstance(row, (tuple, list)) and len(row) == width for row in rows):
        cursor = connection.executemany(sql, rows)
        return Cursor(cursor, [], cursor.rowcount, None)
    head, one_row = match.group(1), match.group(2)
    most = min(MANY_ROWS, max(1, connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    count, start = 0, 0
    while start < len(rows):
        size = _chunk(min(most, len(rows) - start))
        chunk = rows[start:start + size]
        cursor = connection.execute(head + ",".join([one_row] * size), [value for row in chunk for value in row])
        count += cursor.rowcount
        start += size
    return Cursor(None, [], count, None)


def _chunk(rows: int) -> int:
    """How many rows the next many-row INSERT takes of `rows` (at most MANY_ROWS): a multiple of 16, or
    below 16 a power of two. So a statement has at most MANY_ROWS // 16 + 4 texts to prepare and cache,
    and the rows go in full chunks then at most five statements (a group's 250 sales: 128, 112, 8, 2),
    where powers of two alone took one per bit of n (six for 250): each statement is one more wait for
    the GIL in the writer's thread."""
    return rows - rows % 16 if rows >= 16 else 1 << (rows.bit_length() - 1)


def execute_fetchall(connection: sqlite3.Connection, sql: str, parameters: Any = None) -> list[Any]:
    return connection.execute(sql, () if parameters is None else parameters).fetchall()


class _Connection(ABC):
    """The calls of an aiosqlite connection the box's writes use, over the writer's sqlite3 connection;
    `_run` says where each is done (InThread: at once; Writer: handed over to the writer's thread)."""

    _connection: sqlite3.Connection

    @abstractmethod
    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(connection, *args)` where this connection does its work: each subclass says where."""

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    @property
    def total_changes(self) -> int:
        return self._connection.total_changes

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        return await self._run(execute, sql, parameters)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> Cursor:
        return await self._run(executemany, sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> list[Any]:
        return await self._run(execute_fetchall, sql, parameters)


class InThread(_Connection):
    """The writer connection as work run by `run_to_end` sees it, inside the writer's thread: each call
    is done at once on the sqlite3 connection, so awaiting it never leaves the thread."""

    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return function(self._connection, *args)


def run_to_end(work: Callable[[Any], Awaitable[T]], connection: sqlite3.Connection) -> T:
    """Run `work` to its end here, in the writer's thread; NotOnlyTheDatabase if it awaits anything
    but the connection (it would need the event loop, which this thread is not)."""
    coroutine = work(InThread(connection))
    try:
        coroutine.send(None)   # type: ignore[attr-defined]
    except StopIteration as done:
        return done.value
    coroutine.close()   # type: ignore[attr-defined]
    raise NotOnlyTheDatabase("grouped work may await only the writer connection")


class Writer(_Connection):
    """The writer connection as the event loop uses it: every call one hand-over to the writer's thread."""

    def __init__(self, connection: sqlite3.Connection, thread: ThreadPoolExecutor):
        self._connection, self._thread = connection, thread
        self._closed = False

    @classmethod
    async def open(cls, path: Path) -> "Writer":
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="box-writer")
        try:
            connection = await asyncio.get_running_loop().run_in_executor(thread, connect, path)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(connection, thread)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(connection, *args)` in the writer's thread, after every call made before it."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, self._connection, *args)

    _run = run

    async def close(self) -> None:
        """Close the connection (in its thread, after whatever was queued there), then end the thread."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.run(sqlite3.Connection.close)
        finally:
            self._thread.shutdown(wait=False)   # its last call has run: the thread ends at once
