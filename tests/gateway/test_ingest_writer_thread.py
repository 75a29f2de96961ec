"""Grouped writes run whole in the writer's own thread (store.py's _write_group): same answers, same rows.

A till's batch is written by async code (journal.write_batch and the projections) against a stand-in
for the aiosqlite connection that runs each call at once on the sqlite3 connection. What must hold:
the verdicts and every projection are those of the same batches written on the event loop, the
stand-in answers as aiosqlite does, and work that awaits anything but the database fails alone.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gateway.journal import check_batch, receive_batch, write_batch
from gateway.store import NotOnlyTheDatabase, Store
from tests.gateway.test_group_commit import held_then_released, insert, new_store
from tests.gateway.test_ingest_set_based import DEVICE, TABLES, _documents


async def _tables(store: Store) -> dict[str, list[tuple]]:
    return {name: [tuple(row) for row in await store.read().execute_fetchall(sql)] for name, sql in TABLES.items()}


async def _ingest(path: Path, held: list[Any], batches: list[list[Any]], grouped: bool) -> tuple[list, dict]:
    store = await Store.open(path)
    try:
        async with store.transaction() as db:
            await receive_batch(db, DEVICE, held)
        if grouped:
            checked = [check_batch(DEVICE, batch) for batch in batches]
            tasks = []
            async with store.transaction():   # the writer busy: every batch queues for one group
                for one in checked:
                    tasks.append(asyncio.create_task(store.grouped(lambda db, one=one: write_batch(db, DEVICE, one))))
                    while len(store._queue) < len(tasks):
                        await asyncio.sleep(0.01)
            answers = await asyncio.gather(*tasks)
        else:
            answers = []
            for batch in batches:
                async with store.transaction() as db:
                    answers.append(await receive_batch(db, DEVICE, batch))
        tables = await _tables(store)
    finally:
        await store.close()
    return [[v.model_dump() for v in answer] for answer in answers], tables


@pytest.mark.parametrize("cuts", [(1,), (5, 12), (3, 9, 17)])
async def test_a_group_written_in_the_writers_thread_matches_the_event_loop(tmp_path: Path, cuts: tuple) -> None:
    held, batch = _documents()
    edges = [0, *cuts, len(batch)]
    batches = [batch[a:b] for a, b in zip(edges, edges[1:])]
    verdicts, tables = await _ingest(tmp_path / "thread", held, batches, grouped=True)
    expected_verdicts, expected_tables = await _ingest(tmp_path / "loop", held, batches, grouped=False)
    assert verdicts == expected_verdicts
    for name in TABLES:
        assert tables[name] == expected_tables[name], name
    statuses = {v["status"] for answer in verdicts for v in answer}
    assert statuses == {"stored", "duplicate", "conflict", "invalid"}
    assert tables["over_refunds"] and tables["stock_moves"]


async def test_work_that_awaits_anything_but_the_database_fails_alone(tmp_path: Path) -> None:
    store = await new_store(tmp_path)

    async def elsewhere(db: Any) -> None:
        await db.execute("INSERT INTO t (n) VALUES (7)")
        await asyncio.sleep(0)   # not the database: cannot run in the writer's thread

    answers = await held_then_released(store, [insert(0), elsewhere, insert(2)])
    results = [result for result, _ in answers]
    assert results[0] == 0 and results[2] == 2
    assert isinstance(results[1], NotOnlyTheDatabase)
    rows = await store.read().execute_fetchall("SELECT n FROM t ORDER BY n")
    assert [row[0] for row in rows] == [0, 2]   # its own row went with it
    await store.close()


@pytest.mark.parametrize("neighbours", [0, 2])
async def test_the_connection_in_the_thread_answers_as_aiosqlite(tmp_path: Path, neighbours: int) -> None:
    """Alone (its own transaction) or in a group (a savepoint): cursors, rows and counters as aiosqlite's."""
    store = await new_store(tmp_path)

    async def probe(db: Any) -> dict[str, Any]:
        before = db.total_changes
        cursor = await db.executemany("INSERT INTO t (n) VALUES (?)", [(10,), (11,), (12,)])
        many = cursor.rowcount
        deleted = (await db.execute("DELETE FROM t WHERE n = ?", (12,))).rowcount
        one = await (await db.execute("SELECT count(*) AS n FROM t WHERE n >= 10")).fetchone()
        rows = await db.execute_fetchall("SELECT n FROM t WHERE n >= ? ORDER BY n", (10,))
        every = await (await db.execute("SELECT n FROM t WHERE n >= 10 ORDER BY n")).fetchall()
        return {"in_transaction": db.in_transaction, "changes": db.total_changes - before, "many": many,
                "deleted": deleted, "count": one["n"], "rows": [row["n"] for row in rows],
                "every": [tuple(row) for row in every]}

    answers = await held_then_released(store, [insert(n) for n in range(neighbours)] + [probe])
    result, seen = answers[-1]
    assert result == {"in_transaction": True, "changes": 4, "many": 3, "deleted": 1, "count": 2,
                      "rows": [10, 11], "every": [(10,), (11,)]}
    assert seen == [*range(neighbours), 10, 11]   # committed before it was answered
    await store.close()
