"""The box's own writer (gateway/writer.py): a sqlite3 connection driven by one thread of ours.

What must hold: every write runs in that one thread; the connection is the durable one (WAL,
synchronous=FULL, foreign keys, a busy timeout); an acknowledged write is on disk for any other
connection, even once the process that made it is killed; many-row INSERTs put in exactly what an
executemany would; and the writer goes from group to group without the event loop, yet lets a waiting
transaction() in between two groups.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gateway.store import DB_NAME, StorageClosed, Store
from gateway.writer import MANY_ROWS, _chunk, Writer
from tests.gateway.test_group_commit import held_then_released, insert, new_store


async def test_the_writer_is_the_durable_connection(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "state")
    try:
        async with store.transaction() as db:
            pragmas = {name: (await db.execute_fetchall(f"PRAGMA {name}"))[0][0]
                       for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
        assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 10000}
    finally:
        await store.close()


async def test_every_write_runs_in_the_writers_own_thread(tmp_path: Path) -> None:
    store = await new_store(tmp_path)
    seen: set[str] = set()

    def note(connection: sqlite3.Connection) -> None:
        connection.create_function("writer_thread", 0, lambda: seen.add(threading.current_thread().name) or 1)
    await store._writer.run(note)

    async def work(db: Any) -> None:
        await db.execute("INSERT INTO t (n) SELECT writer_thread()")
    async with store.transaction() as db:
        await db.execute("INSERT INTO t (n) SELECT writer_thread() + 1")
    await held_then_released(store, [work])   # a group
    await store.grouped(lambda db: db.execute("SELECT writer_thread()"))   # a group of one
    await store.close()
    assert len(seen) == 1 and seen.pop().startswith("box-writer")
    assert threading.current_thread().name not in seen


async def test_answered_means_on_disk_for_any_other_connection(tmp_path: Path) -> None:
    store = await new_store(tmp_path)
    answers = await held_then_released(store, [insert(n) for n in range(5)])
    assert [result for result, _ in answers] == list(range(5))
    # Another connection (another process would be the same): the rows are there, committed.
    other = sqlite3.connect(tmp_path / "state" / DB_NAME)
    try:
        assert [row[0] for row in other.execute("SELECT n FROM t ORDER BY n")] == list(range(5))
    finally:
        other.close()
    await store.close()


_KILLED_AFTER_ACKS = """
import asyncio, sys
from pathlib import Path
from gateway.store import Store

async def main():
    store = await Store.open(Path(sys.argv[1]))
    async with store.transaction() as db:
        await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    async def one(n):
        await store.grouped(lambda db: db.execute("INSERT INTO t (n) VALUES (?)", (n,)))
        print(n, flush=True)   # the ack: only after grouped() returned
    await asyncio.gather(*(one(n) for n in range(200)))
    await asyncio.sleep(60)   # killed long before

asyncio.run(main())
"""


def test_an_acknowledged_write_survives_kill_9(tmp_path: Path) -> None:
    """The process is killed (SIGKILL) while tills' writes are still going in: every write it had
    acknowledged is in the database afterwards."""
    state = tmp_path / "state"
    child = subprocess.Popen([sys.executable, "-c", _KILLED_AFTER_ACKS, str(state)], stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parents[2])
    acked = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acked.append(int(line))
            if len(acked) == 50:   # mid-stream: more groups are being written
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        child.kill()
        child.wait()
    assert len(acked) == 50
    with sqlite3.connect(state / DB_NAME) as db:
        stored = {row[0] for row in db.execute("SELECT n FROM t")}
    assert set(acked) <= stored


@pytest.mark.parametrize("rows", [0, 1, 3, 50, 130, 250, 301, 600])
async def test_many_row_inserts_put_in_what_executemany_would(tmp_path: Path, rows: int) -> None:
    schema = ["CREATE TABLE a (pk INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE, v INTEGER)",
              "CREATE TABLE b (k TEXT, total INTEGER)"]
    data = [(f"k{i % max(1, rows // 2 + 1)}", i) for i in range(rows)]   # repeats: ignored rows
    statements = [
        ("INSERT OR IGNORE INTO a (k, v) VALUES (?, ?)", data),
        ("insert into b(k,total) values(?,?)", data),
        # Not placeholders only: row by row, each seeing the rows before it, as executemany does.
        ("INSERT INTO b (k, total) VALUES (?, (SELECT count(*) FROM b) + ?)", data),
    ]

    def plain(path: Path) -> tuple[list[int], list[list[tuple]]]:
        with sqlite3.connect(path, isolation_level=None) as db:
            for sql in schema:
                db.execute(sql)
            counts = [db.executemany(sql, params).rowcount for sql, params in statements]
            return counts, [db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in "ab"]

    writer = await Writer.open(tmp_path / "many.db")
    try:
        for sql in schema:
            await writer.execute(sql)
        counts = [(await writer.executemany(sql, params)).rowcount for sql, params in statements]
        tables = [[tuple(r) for r in await writer.execute_fetchall(f"SELECT * FROM {t} ORDER BY rowid")] for t in "ab"]
    finally:
        await writer.close()
    assert (counts, tables) == plain(tmp_path / "plain.db")


async def test_a_many_row_insert_that_fails_raises_what_executemany_raises(tmp_path: Path) -> None:
    writer = await Writer.open(tmp_path / "many.db")
    try:
        await writer.execute("CREATE TABLE a (k TEXT PRIMARY KEY)")
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            await writer.executemany("INSERT INTO a (k) VALUES (?)", [("x",), ("y",), ("x",)])
        with pytest.raises(sqlite3.ProgrammingError):   # the wrong number of values: sqlite3's own error
            await writer.executemany("INSERT INTO a (k) VALUES (?)", [("z", 1)])
    finally:
        await writer.close()


async def test_the_writer_goes_on_to_the_next_group_and_lets_a_waiting_transaction_in_between(tmp_path: Path) -> None:
    """Requests queued while a group is being written form the next group, written without the event
    loop's help; a transaction() caller that waits meanwhile goes before that next group."""
    store = await new_store(tmp_path)
    inside, go = threading.Event(), threading.Event()

    async def first(db: Any) -> str:
        inside.set()
        go.wait(10)   # the writer's thread is held here, in the first group
        await db.execute("INSERT INTO t (n) VALUES (1)")
        return "first"

    first_answer = asyncio.create_task(store.grouped(first))
    await asyncio.to_thread(inside.wait, 10)
    queued = [asyncio.create_task(store.grouped(insert(n))) for n in (10, 11)]

    async def owner_edit() -> None:
        async with store.transaction() as db:
            await db.execute("INSERT INTO t (n) SELECT coalesce(max(n), 0) + 100 FROM t")
    waiting = asyncio.create_task(owner_edit())
    while store._waiting == 0 or len(store._queue) < 2:
        await asyncio.sleep(0.01)
    go.set()
    assert await first_answer == "first"
    await asyncio.gather(waiting, *queued)
    rows = [row[0] for row in await store.read().execute_fetchall("SELECT n FROM t ORDER BY rowid")]
    # The owner's edit came after the first group and before the queued requests: it saw only 1.
    assert sorted(rows) == [1, 10, 11, 101]
    await store.close()


async def test_a_second_group_is_written_while_the_event_loop_is_busy(tmp_path: Path) -> None:
    """Two groups in a row: the second begins as soon as the first is committed, even while the event
    loop is busy (here: blocked) and so cannot take part."""
    store = await new_store(tmp_path)
    inside, go, second_done = threading.Event(), threading.Event(), threading.Event()

    async def first(db: Any) -> None:
        inside.set()
        go.wait(10)
        await db.execute("INSERT INTO t (n) VALUES (1)")

    async def second(db: Any) -> None:
        await db.execute("INSERT INTO t (n) VALUES (2)")
        second_done.set()

    tasks = [asyncio.create_task(store.grouped(first))]
    await asyncio.to_thread(inside.wait, 10)
    tasks.append(asyncio.create_task(store.grouped(second)))
    await asyncio.sleep(0)   # queued
    go.set()
    # Block the event loop itself: the writer's thread must write the second group on its own.
    assert second_done.wait(10)
    await asyncio.gather(*tasks)
    await store.close()


async def test_a_transaction_cancelled_at_its_begin_leaves_the_writer_free(tmp_path: Path) -> None:
    """A request that goes away while its BEGIN runs in the writer's thread (here: waiting for another
    process's write lock): that BEGIN still succeeds there, and must not leave the writer holding
    SQLite's write lock with nobody to COMMIT."""
    store = await new_store(tmp_path)
    other = sqlite3.connect(tmp_path / "state" / DB_NAME, timeout=0.1, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")   # another process writing: the box's BEGIN waits (busy_timeout)

    async def edit() -> None:
        async with store.transaction() as db:
            await db.execute("INSERT INTO t (n) VALUES (1)")
    gone = asyncio.create_task(edit())
    await asyncio.sleep(0.2)   # its BEGIN is running in the writer's thread, waiting for the lock
    gone.cancel()
    other.execute("ROLLBACK")  # the lock is free: that BEGIN now succeeds
    with pytest.raises(asyncio.CancelledError):
        await gone
    async with store.transaction() as db:   # "cannot start a transaction within a transaction" if left open
        await db.execute("INSERT INTO t (n) VALUES (2)")
    try:
        other.execute("BEGIN IMMEDIATE")   # nobody holds the write lock
        other.execute("ROLLBACK")
        assert [row[0] for row in other.execute("SELECT n FROM t")] == [2]
    finally:
        other.close()
    await store.close()


async def test_a_closed_store_refuses_writes_at_once(tmp_path: Path) -> None:
    """After close() a write hears StorageClosed at once: no grouper spinning on a closed writer (the
    event loop stays free), no transaction begun on it."""
    store = await new_store(tmp_path)
    await store.close()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    try:
        with pytest.raises(StorageClosed):
            await asyncio.wait_for(store.grouped(insert(1)), 5)
        with pytest.raises(StorageClosed):
            async with store.transaction():
                pass
        await asyncio.sleep(0.1)
        assert ticks >= 5   # the loop went on turning
    finally:
        task.cancel()


async def test_a_grouper_stopped_while_a_failed_group_is_rerun_answers_every_request(tmp_path: Path) -> None:
    """A group whose transaction is lost is rerun request by request; should the service stop during the
    reruns, every request still hears an answer (its result, or StorageClosed): none waits forever."""
    store = await new_store(tmp_path)
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) FROM c"
    started: list[int] = []

    def work(n: int) -> Any:
        async def run(db: Any) -> int:
            started.append(n)
            await db.execute_fetchall(slow)
            await db.execute("INSERT INTO t (n) VALUES (?)", (n,))
            return n
        return run

    async def lose_the_transaction(db: Any) -> None:
        await db.execute("ROLLBACK")
        raise RuntimeError("the transaction went away")

    try:
        async with store.transaction():
            futures = [asyncio.ensure_future(store.grouped(work(n))) for n in range(6)]
            futures.append(asyncio.ensure_future(store.grouped(lose_the_transaction)))
            while len(store._queue) < len(futures):
                await asyncio.sleep(0.01)
        for _ in range(2000):   # the reruns have begun: request 1 runs a second time
            if started.count(1) >= 2:
                break
            await asyncio.sleep(0.005)
        assert started.count(1) >= 2
        store._grouper.cancel()
        done, pending = await asyncio.wait(futures, timeout=10)
        assert not pending
        for future in done:
            assert isinstance(future.exception(), (StorageClosed, RuntimeError)) or future.result() in range(6)
    finally:
        await store.close()


def test_many_rows_go_in_few_statements_of_few_sizes() -> None:
    """Each statement is one more wait for the GIL in the writer's thread (a group's 250 sales used to be
    six: one per bit of 250); each size is one more text in the statement cache."""
    sizes: set[int] = set()
    for rows in range(1, 3 * MANY_ROWS):
        chunks, left = [], rows
        while left:
            chunks.append(_chunk(min(MANY_ROWS, left)))
            left -= chunks[-1]
        assert sum(chunks) == rows and all(0 < chunk <= MANY_ROWS for chunk in chunks)
        assert len(chunks) <= rows // MANY_ROWS + 5, (rows, chunks)   # full ones, a multiple of 16, and 1-2-4-8
        sizes.update(chunks)
    assert len(sizes) <= MANY_ROWS // 16 + 4
    assert _chunk(250) == 240 and _chunk(10) == 8
