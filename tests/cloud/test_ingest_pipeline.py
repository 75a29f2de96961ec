"""How the cloud takes a batch (ingest.receive_batch): every document checked before the transaction,
the event loop given turns while it checks, and SQLite's writers queued in the process rather than in
SQLite's busy handler (database.writing). The verdicts themselves are test_ingest's and
test_set_based_ingest's business; these are about what waits for what."""
from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

import cloud_api.ingest as ingest
from cloud_api import schema
from cloud_api.contract import JournalBatch
from cloud_api.database import (_SQLITE_WRITERS, _sqlite_writer, close_engine, create_engine, engine_lock, reading,
                                write_at_once, writing)
from cloud_api.shops import GatewayIdentity, create_shop
from tests.conftest import _pg_or_skip, make_sale


async def _engine_and_gateway(url: str):
    engine = create_engine(url)
    async with engine.begin() as conn:
        shop_id = (await create_shop(conn, "Madina")).shop_id
    return engine, GatewayIdentity("gw-1", shop_id)


async def _stored(engine, shop_id: str) -> int:
    async with reading(engine) as conn:   # a reader: never queues behind the writer holding SQLite
        d = schema.documents.c
        return (await conn.execute(select(func.count()).select_from(schema.documents)
                                   .where(d.shop_id == shop_id))).scalar_one()


async def test_a_batch_is_checked_while_another_holds_the_database(cloud_db_url: str, monkeypatch) -> None:
    engine, gateway = await _engine_and_gateway(cloud_db_url)
    checked = []
    real_parse = ingest._parse
    monkeypatch.setattr(ingest, "_parse", lambda raw: checked.append(raw["id"]) or real_parse(raw))
    docs = [make_sale(seq=n + 1) for n in range(40)]
    try:
        holding = asyncio.Event()
        release = asyncio.Event()

        async def other_writer() -> None:
            async with writing(engine):
                holding.set()
                await release.wait()

        other = asyncio.create_task(other_writer())
        await holding.wait()
        receiving = asyncio.create_task(ingest.receive_batch(engine, gateway, JournalBatch(documents=docs)))
        for _ in range(200):   # the whole batch checked, though the database is not free yet
            if len(checked) == len(docs):
                break
            await asyncio.sleep(0.01)
        assert len(checked) == len(docs)
        assert not receiving.done() and await _stored(engine, gateway.shop_id) == 0
        release.set()
        results = await receiving
        await other
        assert [r.status for r in results] == ["stored"] * len(docs)
        assert await _stored(engine, gateway.shop_id) == len(docs)
    finally:
        await engine.dispose()


async def test_the_next_batch_is_checked_beside_the_last_ones_commit_on_sqlite_and_its_storing_on_postgresql(
        cloud_db_url: str, monkeypatch) -> None:
    # Two batches of one shop in flight, as a box's uplink sends them. On SQLite the second is checked once
    # the first's rows are written (beside its COMMIT, not beside its statements: they would take the GIL
    # from each other); on PostgreSQL while the first is stored, and stored after it, one at a time.
    engine, gateway = await _engine_and_gateway(cloud_db_url)
    events: list[tuple[str, str]] = []
    real_parse, real_store = ingest._parse, ingest.store_batch
    monkeypatch.setattr(ingest, "_parse", lambda raw: events.append(("check", raw["device_id"])) or real_parse(raw))

    def store(conn, gateway, batch, set_based=True):
        device = batch.batch.documents[0]["device_id"]
        events.append(("store", device))
        try:
            return real_store(conn, gateway, batch, set_based)
        finally:
            events.append(("stored", device))
    monkeypatch.setattr(ingest, "store_batch", store)
    batches = {device: [make_sale(device_id=device, seq=n + 1) for n in range(100)] for device in ("A", "B")}
    checked_during_commit: list[bool] = []
    if cloud_db_url.startswith("sqlite"):
        # A's COMMIT held (on the writer's thread) until B has been checked, or 5 s: B is checked beside it.
        def on_commit(_conn) -> None:
            if not checked_during_commit:
                deadline = time.monotonic() + 5
                while ("check", "B") not in events and time.monotonic() < deadline:
                    time.sleep(0.005)
                checked_during_commit.append(("check", "B") in events)
        event.listen(_sqlite_writer(engine).engine, "commit", on_commit)
    try:
        results = await asyncio.gather(*(ingest.receive_batch(engine, gateway, JournalBatch(documents=docs))
                                         for docs in batches.values()))
    finally:
        await engine.dispose()
    assert [{r.status for r in answer} for answer in results] == [{"stored"}, {"stored"}]
    b_checked, a_stored = events.index(("check", "B")), events.index(("stored", "A"))
    if cloud_db_url.startswith("sqlite"):
        assert a_stored < b_checked and checked_during_commit == [True]
    else:
        assert b_checked < a_stored < events.index(("store", "B"))


async def test_checking_a_batch_gives_the_event_loop_turns(monkeypatch) -> None:
    ticks = 0
    seen = []
    real_parse = ingest._parse
    monkeypatch.setattr(ingest, "_parse", lambda raw: seen.append(ticks) or real_parse(raw))

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        parsed = await ingest.parse_batch(JournalBatch(documents=[make_sale(seq=n + 1) for n in range(200)]))
    finally:
        task.cancel()
    assert len(parsed.parsed) == 200
    # Other work ran between turns: the ticker moved on at least once per _PARSE_TURN documents.
    assert len(set(seen)) >= 200 // ingest._PARSE_TURN
    assert seen == sorted(seen)


async def test_sqlite_writers_wait_in_the_process_not_in_sqlite(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    order = []
    try:
        first_in = asyncio.Event()
        release = asyncio.Event()

        async def writer(name: str) -> None:
            async with writing(engine) as conn:
                order.append(name)
                await conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x TEXT)")
                await conn.exec_driver_sql("INSERT INTO t VALUES (?)", (name,))
                if name == "first":
                    first_in.set()
                    await release.wait()

        tasks = [asyncio.create_task(writer("first"))]
        await first_in.wait()
        tasks += [asyncio.create_task(writer(name)) for name in ("second", "third")]
        await asyncio.sleep(0.2)
        # The others queue on the lock, holding no connection: none is inside BEGIN IMMEDIATE,
        # sleeping in SQLite's busy handler until a nap happens to end after the commit.
        assert engine_lock(engine, "write").locked()
        assert engine.sync_engine.pool.checkedout() == 1
        release.set()
        await asyncio.gather(*tasks)
        assert order == ["first", "second", "third"]   # in the order they asked
    finally:
        await engine.dispose()


async def test_postgresql_writers_are_plain_transactions() -> None:
    # PostgreSQL only (its row and advisory locks queue writers); CI sets the DSN, and fails without it.
    engine = create_engine(_pg_or_skip())
    try:
        async with writing(engine), writing(engine):   # two at once: no lock of ours between them
            assert engine.sync_engine.pool.checkedout() == 2
    finally:
        await engine.dispose()


def _insert(conn, name: str) -> str:
    """write_at_once's work in these tests: a row of `name`, and the thread it ran on."""
    conn.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT PRIMARY KEY)"))
    conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": name})
    return threading.current_thread().name


async def _rows(engine) -> list[str]:
    """The rows of t in the order they went in (SQLite's rowid; t is only ever this order's on SQLite)."""
    order = "rowid" if engine.dialect.name == "sqlite" else "x"
    async with reading(engine) as conn:
        return [row.x for row in (await conn.execute(text(f"SELECT x FROM t ORDER BY {order}"))).all()]


async def test_sqlite_batches_are_stored_on_the_writer_thread_in_turn_with_the_other_writers(tmp_path) -> None:
    """ingest.receive_batch stores through database.write_at_once: on SQLite the whole transaction runs
    on the writer's thread, queued behind (and in order with) the writers of `writing`."""
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    try:
        holding, release = asyncio.Event(), asyncio.Event()

        async def other_writer() -> None:
            async with writing(engine) as conn:
                await conn.exec_driver_sql("CREATE TABLE t (x TEXT PRIMARY KEY)")
                await conn.exec_driver_sql("INSERT INTO t VALUES ('writing')")
                holding.set()
                await release.wait()

        other = asyncio.create_task(other_writer())
        await holding.wait()
        stores = [asyncio.create_task(write_at_once(engine, _insert, name)) for name in ("first", "second")]
        await asyncio.sleep(0.2)
        assert not any(store.done() for store in stores)
        # Waiting their turn in the process: the writer holds no connection, so none of them is inside
        # BEGIN IMMEDIATE, napping in SQLite's busy handler.
        assert engine_lock(engine, "write").locked()
        assert _sqlite_writer(engine).engine.pool.checkedout() == 0
        release.set()
        await other
        threads = await asyncio.gather(*stores)
        assert all(name.startswith("cloud-sqlite-writer") for name in threads), threads
        assert await _rows(engine) == ["writing", "first", "second"]   # committed, in the order they asked
    finally:
        await engine.dispose()


async def test_a_failed_store_rolls_back_whole_and_raises_what_sqlalchemy_raises(cloud_db_url: str) -> None:
    engine = create_engine(cloud_db_url)

    def twice(conn, name: str) -> None:
        _insert(conn, name)
        _insert(conn, name)   # its primary key again

    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS t"))
        with pytest.raises(IntegrityError):
            await write_at_once(engine, twice, "again")
        await write_at_once(engine, _insert, "after")   # the writer is still good
        assert await _rows(engine) == ["after"]        # nothing of the failed transaction stayed
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS t"))
        await engine.dispose()


async def test_a_cancelled_store_ends_before_the_next_writer_starts(tmp_path) -> None:
    """A caller that goes away (its request cancelled) does not cut the transaction short: it ends,
    committed, and the process's write lock is held until it has, so the next writer never sleeps in
    SQLite's busy handler behind it."""
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    started, go_on = threading.Event(), threading.Event()

    def slow(conn, name: str) -> str:
        started.set()
        go_on.wait(10)
        return _insert(conn, name)

    try:
        store = asyncio.create_task(write_at_once(engine, slow, "cancelled"))
        while not started.is_set():
            await asyncio.sleep(0.01)
        for _ in range(2):   # however often (a server shutting down cancels again after its grace)
            store.cancel()
            await asyncio.sleep(0.1)
            assert not store.done() and engine_lock(engine, "write").locked()
        go_on.set()
        with pytest.raises(asyncio.CancelledError):
            await store
        assert not engine_lock(engine, "write").locked()
        await write_at_once(engine, _insert, "next")
        assert await _rows(engine) == ["cancelled", "next"]
    finally:
        go_on.set()
        await engine.dispose()


async def test_the_writer_closes_with_its_engine(tmp_path) -> None:
    """The writer's thread and its connection go when the engine they serve is collected."""
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    seen = []
    await write_at_once(engine, lambda conn: seen.append((threading.current_thread(),
                                                          conn.connection.dbapi_connection)))
    thread, connection = seen[0]
    connection.execute("SELECT 1")   # open while the engine lives
    await engine.dispose()
    del engine
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute("SELECT 1")


async def test_closing_the_engine_closes_its_writer(tmp_path) -> None:
    """A running cloud's engine is never collected (service/serving.py freezes it): the app's cleanup
    closes the writer itself (app.py: close_engine)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    seen = []
    await write_at_once(engine, lambda conn: seen.append((threading.current_thread(),
                                                          conn.connection.dbapi_connection)))
    thread, connection = seen[0]
    await close_engine(engine)
    thread.join(5)
    assert not thread.is_alive()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute("SELECT 1")
    assert engine.sync_engine not in _SQLITE_WRITERS


async def test_an_in_memory_database_is_written_on_its_own_connection() -> None:
    """Another connection to `sqlite://` would be another, empty database: no writer of its own there."""
    engine = create_engine("sqlite://")
    try:
        assert await write_at_once(engine, _insert, "kept")
        assert await _rows(engine) == ["kept"]
        assert engine.sync_engine not in _SQLITE_WRITERS
    finally:
        await engine.dispose()
