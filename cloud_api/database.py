"""The cloud's database: one async engine, SQLite embedded or PostgreSQL.

`--db` takes `sqlite:///file.db` or `postgresql://...`; we pick the async
driver (aiosqlite, asyncpg) here so nobody else has to know.
"""
from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

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
        @event.listens_for(engine.sync_engine, "connect")
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

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers: IMMEDIATE takes the write lock up front (waiting up to busy_timeout), rather
            # than fail to upgrade a read snapshot mid-transaction when another writer got there first.
            # Readers (`reading`): a plain BEGIN reads a WAL snapshot and never queues behind ingest.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
    return engine


READ_ONLY = "posline_read_only"


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for queries only: reports, health and look-ups never take SQLite's write lock."""
    async with engine.connect() as conn:
        await conn.execution_options(**{READ_ONLY: True})
        yield conn


def insert_or_ignore(conn: AsyncConnection, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the connection's dialect."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing()


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
