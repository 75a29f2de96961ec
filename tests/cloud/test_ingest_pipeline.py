"""How the cloud takes a batch (ingest.receive_batch): every document checked before the transaction,
the event loop given turns while it checks, and SQLite's writers queued in the process rather than in
SQLite's busy handler (database.writing). The verdicts themselves are test_ingest's and
test_set_based_ingest's business; these are about what waits for what."""
from __future__ import annotations

import asyncio

from sqlalchemy import func, select

import cloud_api.ingest as ingest
from cloud_api import schema
from cloud_api.contract import JournalBatch
from cloud_api.database import create_engine, engine_lock, reading, writing
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
