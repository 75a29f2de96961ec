"""The cloud's database: one async engine, SQLite embedded or PostgreSQL.

`--db` takes `sqlite:///file.db` or `postgresql://...`; we pick the async
driver (aiosqlite, asyncpg) here so nobody else has to know. On SQLite a
gateway's batches are stored by a writer of their own: a synchronous engine on
the same file and the one thread that uses it (write_at_once).
"""
from __future__ import annotations

import asyncio
import os
import sqlite3
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, suppress
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator, Sequence, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Boolean, Connection, Engine, Integer, String, Table, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

from .service.errors import BadRequest

DEFAULT_DB = "sqlite:///posline-cloud.db"


def resolve_db_url(url: str | None) -> str:
    """--db, else $POSLINE_CLOUD_DB, else a SQLite file in the working directory."""
    return url or os.environ.get("POSLINE_CLOUD_DB") or DEFAULT_DB


def async_url(url: str) -> str:
    """Map a user's database URL to the SQLAlchemy async driver URL."""
    try:
        parsed = make_url(url)
    except Exception as err:
        raise BadRequest(f"not a database URL: {url!r}") from err
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise BadRequest(f"unsupported database {backend!r}: use sqlite:///file.db or postgresql://...")


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, synchronous=FULL and a busy timeout."""
    engine = create_async_engine(async_url(url))
    if engine.dialect.name == "sqlite":
        _sqlite_connections(engine.sync_engine)
    return engine


def _sqlite_connections(engine: Engine) -> None:
    """How every connection to the cloud's SQLite file is set up, the async engine's and the writer's."""
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")   # an acked batch survives a power cut
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # Python's sqlite3 would begin transactions behind our back and let a RELEASE
        # SAVEPOINT commit the outer transaction; ingest relies on real savepoints
        # (one per document when a batch fails), so we issue BEGIN ourselves.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Writers: IMMEDIATE takes the write lock up front (waiting up to busy_timeout), rather
        # than fail to upgrade a read snapshot mid-transaction when another writer got there first.
        # Readers (`reading`): a plain BEGIN reads a WAL snapshot and never queues behind ingest.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


READ_ONLY = "posline_read_only"

# Locks that queue a process's requests for something one engine's database can do one at a time,
# by (engine, what). Per engine, as an asyncio.Lock belongs to the event loop it first waits in.
_ENGINE_LOCKS: weakref.WeakKeyDictionary[Any, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def engine_lock(engine: AsyncEngine, what: str) -> asyncio.Lock:
    """The process's one lock for `what` on `engine`'s database (see `writing`, ingest.receive_batch)."""
    return _ENGINE_LOCKS.setdefault(engine.sync_engine, {}).setdefault(what, asyncio.Lock())


_SHOP_LOCKS: weakref.WeakKeyDictionary[Any, weakref.WeakValueDictionary[str, asyncio.Lock]] = \
    weakref.WeakKeyDictionary()


def shop_lock(engine: AsyncEngine, shop_id: str) -> asyncio.Lock:
    """This process's lock for one shop's writes on `engine` (ingest.receive_batch on PostgreSQL); kept
    only while someone holds or waits for it, so a cloud of many shops does not keep one per shop."""
    locks = _SHOP_LOCKS.setdefault(engine.sync_engine, weakref.WeakValueDictionary())
    lock = locks.get(shop_id)
    if lock is None:
        lock = locks[shop_id] = asyncio.Lock()
    return lock


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """engine.begin() for the busy writers (heartbeats; journal batches through write_at_once, which
    queues on the same lock): on SQLite, queued in this process for the write lock in the order they
    asked; on PostgreSQL, just a transaction (its locks are per row, and ingest's per shop:
    stock.hold_journal_for_ingest).

    SQLite has one writer at a time. A writer that finds the lock taken sleeps in SQLite's busy handler
    (1, 2, 5, ... 100 ms naps) and notices its turn up to tens of milliseconds late; writers queued on
    an asyncio.Lock instead each start the moment the last one commits.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    lock = engine_lock(engine, "write")
    async with lock, engine.begin() as conn:
        yield conn


T = TypeVar("T")


async def write_at_once(engine: AsyncEngine, work: Callable[..., T], *args: Any) -> T:
    """`work(conn, *args)` in one write transaction, as `writing` would run it, for work of many
    statements that needs nothing from the event loop while it runs (a gateway's batch): written
    as plain synchronous SQLAlchemy (a `Connection`), it is handed to the database once.

    On a SQLite file it runs whole in the database's writer thread (`_SqliteWriter`), on a
    connection of its own, queued behind the process's other writers as `writing` queues them.
    Through aiosqlite each statement was a hand-off to the database's thread and back, with
    SQLAlchemy's async machinery around it: ~0.35 ms a statement, where the same statement costs a
    tenth of that on the thread that holds the connection. There a cancelled caller does not cancel
    the work: it ends (committed, or rolled back on an error) before the next writer starts, and
    what it stored is answered to whoever asks again (ingest is idempotent).

    On PostgreSQL (and an in-memory SQLite, which another connection would not see) it runs on an
    async connection through `run_sync`, each statement still one round trip to the server, as
    `writing` would make it; a cancelled caller's transaction is rolled back.
    """
    if not writes_in_thread(engine):
        async with writing(engine) as conn:
            return await conn.run_sync(work, *args)
    writer = _sqlite_writer(engine)
    async with engine_lock(engine, "write"):
        done = asyncio.get_running_loop().run_in_executor(writer.thread, writer.run, work, args)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            # Hold the lock until the transaction has ended, however often the caller is cancelled
            # meanwhile: the next writer then never waits in SQLite's busy handler behind it (nor
            # gives up there, after busy_timeout, with "database is locked").
            while not done.done():
                with suppress(asyncio.CancelledError):
                    await asyncio.wait([done])
            raise


def writes_in_thread(engine: AsyncEngine) -> bool:
    """Whether write_at_once runs its work on the writer's thread (a SQLite file), beside the event loop,
    rather than on the event loop through run_sync (PostgreSQL, an in-memory SQLite)."""
    return engine.dialect.name == "sqlite" and not _in_memory(engine)


def _in_memory(engine: AsyncEngine) -> bool:
    return engine.url.database in (None, "", ":memory:") or "mode=memory" in str(engine.url)


async def close_engine(engine: AsyncEngine) -> None:
    """engine.dispose(), and the writer's thread and connection with it (a running cloud's engine is
    never collected: service/serving.py freezes what start-up made)."""
    writer = _SQLITE_WRITERS.pop(engine.sync_engine, None)
    if writer is not None:
        writer.close()
    await engine.dispose()


class _SqliteWriter:
    """A synchronous engine on the cloud's SQLite file and the one thread that uses it (write_at_once)."""

    def __init__(self, url: Any):
        # check_same_thread off only so that closing (from whichever thread collects the engine) is
        # allowed: the connection is used on the writer thread alone.
        self.engine = create_sync_engine(url.set(drivername="sqlite+pysqlite"), pool_size=1,
                                         connect_args={"check_same_thread": False})
        _sqlite_connections(self.engine)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloud-sqlite-writer")

    def run(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.engine.begin() as conn:
            return work(conn, *args)

    def close(self) -> None:
        # Without waiting: this runs when the engine is collected, on whichever thread collects it
        # (the writer's own included), and nothing is left to write by then.
        self.thread.shutdown(wait=False)
        self.engine.dispose()


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Any, _SqliteWriter] = weakref.WeakKeyDictionary()


def _sqlite_writer(engine: AsyncEngine) -> _SqliteWriter:
    """The writer of `engine`'s SQLite file, made on first use and closed when the engine is collected."""
    writer = _SQLITE_WRITERS.get(engine.sync_engine)
    if writer is None:
        writer = _SQLITE_WRITERS[engine.sync_engine] = _SqliteWriter(engine.url)
        weakref.finalize(engine.sync_engine, writer.close)
    return writer


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for queries only: reports, health and look-ups never take SQLite's write lock."""
    async with engine.connect() as conn:
        await conn.execution_options(**{READ_ONLY: True})
        yield conn


def insert_or_ignore(conn: Connection | AsyncConnection, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the connection's dialect."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing()


# SQLite binds at most 32,766 values in one statement (3.32+); a multi-row VALUES stays well below.
_SQLITE_VALUES_PER_STATEMENT = 4_096


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
                *, ignore_conflicts: bool = False, returning: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """INSERT `rows` (tuples in the order of `columns`) into `table` straight through the driver, in
    the caller's transaction; the `returning` columns of each inserted row, in the rows' order.

    For the hot path (ingest writes several rows per document; it runs as synchronous SQLAlchemy,
    write_at_once): SQLAlchemy's per-row parameter processing cost as much as the database's own
    work. The values go to the driver as they are, so they must already be what the driver binds
    (str, int, bool, None). A refused row raises the SQLAlchemy exception conn.execute would
    (IntegrityError for a constraint, ...). `ignore_conflicts`: ON CONFLICT DO NOTHING (RETURNING
    then omits the rows it skipped).

    PostgreSQL: a plain insert (no conflicts to ignore, nothing returned) is a binary COPY (_pg_copy);
    otherwise one statement, one array per column through unnest (a fixed number of parameters and
    one prepared statement whatever the row count; the rows are inserted, and serial keys drawn, in
    their order). SQLite: multi-row VALUES of a few fixed sizes (_sqlite_chunks).
    """
    if not rows:
        return []
    postgres = conn.dialect.name == "postgresql"
    if postgres and not ignore_conflicts and not returning and _pg_copy(conn, table, columns, rows):
        return []
    head, tail = _insert_sql(postgres, table, tuple(columns), ignore_conflicts, tuple(returning))
    if postgres:
        arrays = tuple(list(values) for values in zip(*rows, strict=True))   # a short row is an error, not a shift
        result = conn.exec_driver_sql(head + tail, arrays)
        return [tuple(row) for row in result.all()] if returning else []
    # SQLite: a cursor of the driver's connection, inside the transaction SQLAlchemy began on it, and
    # multi-row VALUES: one step of a statement for many rows, where executemany steps (and lets go of
    # Python's GIL and takes it back) once a row.
    cursor = conn.connection.dbapi_connection.cursor()
    out: list[tuple[Any, ...]] = []
    start = 0
    try:
        for count in _sqlite_chunks(len(rows), len(columns)):
            sql = _sqlite_values_sql(head, tail, len(columns), count)
            with _as_sqlalchemy_error(sql):
                cursor.execute(sql, tuple(chain.from_iterable(rows[start:start + count])))
                if returning:
                    out.extend(cursor.fetchall())
            start += count
        return out
    finally:
        cursor.close()


def _pg_copy(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> bool:
    """COPY `rows` into `table` in the caller's transaction (asyncpg's binary COPY); False, and nothing
    done, if the driver's transaction has not begun yet (SQLAlchemy's asyncpg adapter begins it at the
    first statement: a COPY before it would commit on its own).

    Why COPY for the projections' rows: an unnest insert's arrays are checked element by element on
    the client (asyncpg's array encoder asks of every value whether it is itself an iterable), which
    was a seventh of the cloud's CPU per fresh batch on PostgreSQL; COPY encodes each value once, and
    the server loads the rows without planning a statement (tests/bench/cloud_ingest.py: the batch's
    CPU about 15% less). A refusal raises the SQLAlchemy exception the same rows through unnest raise
    (IntegrityError for a constraint, DBAPIError for a value the column cannot hold)."""
    adapted = conn.connection.dbapi_connection   # SQLAlchemy's adapter around the asyncpg connection
    driver = adapted.driver_connection
    if not driver.is_in_transaction():
        return False
    width = len(columns)
    if any(len(row) != width for row in rows):   # COPY would read the first `width` and drop the rest
        raise ValueError(f"insert_rows: a row of {table.name} does not have the {width} values of its columns")
    dbapi = conn.dialect.loaded_dbapi
    try:
        try:
            await_only(driver.copy_records_to_table(table.name, records=rows, columns=list(columns)))
        except (OverflowError, TypeError, ValueError) as err:
            # Encoding refused a value before it left (an int too large for its column, a str where a
            # number goes): through unnest the server refused the same value.
            raise dbapi.Error(str(err)) from err
        except Exception as err:   # asyncpg's: mapped to the DB-API error the dialect gives them
            # (SQLAlchemy's own adapter method, as its cursor uses; pyproject keeps SQLAlchemy below 2.2)
            adapted._handle_exception(err)
    except dbapi.Error as err:
        # A connection lost mid-COPY is what SQLAlchemy makes of one lost mid-statement: invalidated, so
        # the pool opens a new one, and marked so, so the error middleware answers 503, not 500
        # (database_faults).
        lost = driver.is_closed()
        if lost and not conn.invalidated:
            conn.invalidate(err)
        raise DBAPIError.instance(f'COPY "{table.name}"', None, err, dbapi.Error, hide_parameters=True,
                                  connection_invalidated=lost) from err
    return True


def _sqlite_chunks(n: int, width: int) -> list[int]:
    """Rows per statement for `n` rows of `width` values: as many of the largest as fit, then the
    remainder's binary digits (500 rows: 256, 128, 64, 32, 16, 4). So a table has a few statement
    texts, whatever the row counts, and sqlite3's cache of prepared statements holds them: a text for
    every row count would be prepared afresh each time and kept, up to a megabyte each, 128 of them."""
    largest = 1 << ((_SQLITE_VALUES_PER_STATEMENT // width).bit_length() - 1)
    chunks = [largest] * (n // largest)
    rest = n % largest
    while rest:
        top = 1 << (rest.bit_length() - 1)
        chunks.append(top)
        rest -= top
    return chunks


@lru_cache(maxsize=None)
def _sqlite_values_sql(head: str, tail: str, width: int, count: int) -> str:
    one_row = "(" + ", ".join("?" * width) + ")"
    return f"{head} VALUES {', '.join([one_row] * count)}{tail}"


@contextmanager
def _as_sqlalchemy_error(sql: str) -> Iterator[None]:
    """A refusal from sqlite3 as the SQLAlchemy exception conn.execute would raise (IntegrityError for a
    constraint, OperationalError for a locked or full database, ...), which ingest and the error
    middleware (database_faults) tell apart."""
    try:
        yield
    except sqlite3.Error as err:
        raise DBAPIError.instance(sql, None, err, sqlite3.Error, hide_parameters=True) from err


@lru_cache(maxsize=None)
def _insert_sql(postgres: bool, table: Table, columns: tuple[str, ...], ignore_conflicts: bool,
                returning: tuple[str, ...]) -> tuple[str, str]:
    """The statement around its values: (INSERT INTO ... [SELECT FROM unnest(...)], [ON CONFLICT ...][RETURNING ...])."""
    names = ", ".join(f'"{name}"' for name in columns)
    head = f'INSERT INTO "{table.name}" ({names})'
    if postgres:
        arrays = ", ".join(f"${n}::{_pg_array_type(table.c[name].type)}[]" for n, name in enumerate(columns, 1))
        head += f" SELECT * FROM unnest({arrays})"
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if returning:
        tail += " RETURNING " + ", ".join(f'"{name}"' for name in returning)
    return head, tail


def _pg_array_type(column_type: Any) -> str:
    # Strings travel as text[]: a cast to varchar(n)[] would silently cut a long value short, where
    # the column itself refuses it, as it refuses a one-row insert's. Integers as bigint[]: an int
    # column refuses what does not fit rather than wrap it.
    if isinstance(column_type, String):
        return "text"
    if isinstance(column_type, Boolean):
        return "boolean"
    if isinstance(column_type, Integer):   # BigInteger included
        return "bigint"
    raise TypeError(f"insert_rows has no PostgreSQL array type for {column_type!r}")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision`, the newest by default (idempotent)."""
    config = _alembic_config()

    def _upgrade(sync_conn: Any) -> None:
        config.attributes["connection"] = sync_conn
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
