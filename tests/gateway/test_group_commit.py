"""Group commit (Store.grouped): requests waiting for the writer share one transaction and one fsync.

What must not change with it: an answer comes only after the COMMIT holding the request's rows
(the reader connection, which sees committed data only, already has them), and one request's
failure is its own: a bug raising in its write, a transaction SQLite abandons, a COMMIT that fails.
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway import journal
from gateway.keys import STORE
from gateway.store import GROUP_MAX, Store, Together
from tests.conftest import make_sale
from tests.gateway.conftest import paired


class Poison(Exception):
    """A bug in one request's write."""


async def count_commits(store: Store) -> list[str]:
    """Every COMMIT SQLite runs on the writer connection, recorded (its trace callback, in the writer's
    thread: a group's COMMIT runs there too, not through the event loop's calls)."""
    seen: list[str] = []

    def trace(sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            seen.append(sql)
    await store._writer.run(lambda connection: connection.set_trace_callback(trace))
    return seen


async def trace_statements(store: Store) -> list[str]:
    """Every statement SQLite runs on the writer connection, in order (as count_commits)."""
    seen: list[str] = []
    await store._writer.run(lambda connection: connection.set_trace_callback(seen.append))
    return seen


def transactions_writing(statements: list[str], table: str) -> int:
    """How many committed transactions among `statements` inserted into `table`."""
    count, writing = 0, False
    for sql in statements:
        word = sql.strip().upper()
        if word.startswith("BEGIN"):
            writing = False
        elif word.startswith(f"INSERT INTO {table.upper()} "):
            writing = True
        elif word == "COMMIT" and writing:
            count, writing = count + 1, False
    return count


async def held_then_released(store: Store, works: list[Any]) -> list[Any]:
    """Start every work while another transaction holds the writer, so they all queue; then let go.
    Each task answers (its result or its exception, the rows the reader saw when it was answered)."""
    async def one(work: Any) -> Any:
        try:
            result = await store.grouped(work)
        except Exception as err:  # noqa: BLE001 -- the verdict under test
            result = err
        rows = await store.read().execute_fetchall("SELECT n FROM t ORDER BY n")
        return result, [row[0] for row in rows]

    async with store.transaction():
        tasks = [asyncio.create_task(one(work)) for work in works]
        while len(store._queue) < len(works):
            await asyncio.sleep(0.01)
    return await asyncio.gather(*tasks)


def insert(n: int, fail: Any = None) -> Any:
    async def work(db: Any) -> int:
        await db.execute("INSERT INTO t (n) VALUES (?)", (n,))
        if fail is not None:
            await fail(db)
        return n
    return work


async def new_store(tmp_path: Any) -> Store:
    store = await Store.open(tmp_path / "state")
    async with store.transaction() as db:
        await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")   # a row written twice would raise
        await db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await db.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    return store


async def test_waiting_requests_share_one_commit_and_hear_only_after_it(tmp_path):
    store = await new_store(tmp_path)
    commits = await count_commits(store)
    answers = await held_then_released(store, [insert(n) for n in range(6)])
    assert [result for result, _ in answers] == list(range(6))
    # Durable before answered: when each heard its result, the committed data held all six rows.
    assert all(seen == list(range(6)) for _, seen in answers)
    assert len(commits) == 2   # the holding transaction's, and one for all six
    await store.close()


async def test_the_writer_keeps_only_the_group_it_is_writing(tmp_path):
    """Group after group without the queue emptying (tablets pushing without a pause): each answered
    group is let go at once, not kept, with every batch's parsed documents, until the stream stops."""
    store = await new_store(tmp_path)
    held: list[list[Any]] = []

    def looking(n: int) -> Any:
        async def work(db: Any) -> int:
            held.append([job_work for job_work, _ in store._round])   # what the store holds meanwhile
            return await insert(n)(db)
        return work
    works = [insert(n) for n in range(GROUP_MAX)] + [looking(GROUP_MAX), looking(GROUP_MAX + 1)]
    try:
        answers = await held_then_released(store, works)
    finally:
        await store.close()
    assert [result for result, _ in answers] == list(range(GROUP_MAX + 2))
    # The second group's two works ran with the first group (answered) let go.
    assert held == [works[GROUP_MAX:], works[GROUP_MAX:]]


async def test_a_request_whose_write_raises_fails_alone(tmp_path):
    store = await new_store(tmp_path)

    async def bug(_db: Any) -> None:
        raise Poison("a projection's bug")
    answers = await held_then_released(store, [insert(0), insert(1), insert(2, bug), insert(3)])
    results = [result for result, _ in answers]
    assert results[:2] == [0, 1] and results[3] == 3
    assert isinstance(results[2], Poison)
    rows = await store.read().execute_fetchall("SELECT n FROM t ORDER BY n")
    assert [row[0] for row in rows] == [0, 1, 3]   # the poison's own row was rolled back with it
    await store.close()


async def test_a_request_that_loses_the_transaction_costs_its_neighbours_nothing(tmp_path):
    """SQLite may abandon the whole transaction (SQLITE_FULL can): the others run again, each alone."""
    store = await new_store(tmp_path)

    async def abandon(db: Any) -> None:
        await db.execute("ROLLBACK")
        raise Poison("the transaction is gone")
    commits = await count_commits(store)
    answers = await held_then_released(store, [insert(0), insert(1), insert(2, abandon), insert(3)])
    results = [result for result, _ in answers]
    assert results[:2] == [0, 1] and results[3] == 3 and isinstance(results[2], Poison)
    rows = await store.read().execute_fetchall("SELECT n FROM t ORDER BY n")
    assert [row[0] for row in rows] == [0, 1, 3]
    assert len(commits) == 1 + 3   # the holder's, then each survivor in its own transaction
    assert not store._writer.in_transaction
    await store.close()


async def test_a_commit_that_fails_is_retried_request_by_request(tmp_path):
    """A deferred constraint fails at COMMIT, for the whole group: each request then runs alone,
    and only the one that broke it hears the error."""
    store = await new_store(tmp_path)

    async def orphan(db: Any) -> None:
        await db.execute("INSERT INTO child VALUES (42)")   # no parent 42: refused at COMMIT, not before
    answers = await held_then_released(store, [insert(0), insert(1, orphan), insert(2)])
    results = [result for result, _ in answers]
    assert results[0] == 0 and results[2] == 2
    assert "FOREIGN KEY" in str(results[1])
    rows = await store.read().execute_fetchall("SELECT (SELECT group_concat(n) FROM t), (SELECT count(*) FROM child)")
    assert tuple(rows[0]) == ("0,2", 0)
    async with store.transaction() as db:   # the writer is usable afterwards
        await db.execute("INSERT INTO t VALUES (9)")
    await store.close()


async def test_a_poison_batch_fails_only_its_own_tablet(gateway, provisioned, monkeypatch):
    """Over the LAN: four tablets push at once into one group; a bug in one tablet's projections
    answers that tablet 500 and nothing of its batch is kept, while the others' sales are stored."""
    tills = [await paired(gateway, provisioned) for _ in range(4)]
    poisoned = tills[2]["device_id"]
    record = journal.stock.record_moves_many

    async def buggy(db: Any, documents: list[Any]) -> None:
        if any(document.device_id == poisoned for document in documents):
            raise Poison("a bug in the stock projection")
        await record(db, documents)
    monkeypatch.setattr(journal.stock, "record_moves_many", buggy)
    batches = [[make_sale(device_id=t["device_id"], device_code=t["device_code"], seq=s) for s in (1, 2, 3)]
               for t in tills]
    store = gateway.app[STORE]
    # Statements, not COMMITs: the app's own background writes (a khata snapshot pulled from the cloud)
    # may take the writer between the holder and the group, in transactions of their own.
    statements = await trace_statements(store)

    async def push(till: dict[str, Any], batch: list[Any]) -> Any:
        response = await gateway.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": batch})
        return response.status, await response.json()

    async with store.transaction():   # the writer busy: all four requests queue for the next group
        tasks = [asyncio.create_task(push(t, b)) for t, b in zip(tills, batches)]
        while len(store._queue) < len(tills):
            await asyncio.sleep(0.01)
        before = len(statements)
    answers = await asyncio.gather(*tasks)
    assert [status for status, _ in answers] == [200, 200, 500, 200]
    for (status, body), batch in zip(answers, batches):
        if status == 200:
            assert [r["status"] for r in body["results"]] == ["stored"] * 3
    assert transactions_writing(statements[before:], "journal") == 1   # one transaction for the group
    stored = {row[0] for row in await store.read().execute_fetchall("SELECT id FROM journal")}
    expected = {doc["id"] for t, batch in zip(tills, batches) if t["device_id"] != poisoned for doc in batch}
    assert stored == expected
    moves = await store.read().execute_fetchall("SELECT count(DISTINCT document_id) FROM stock_moves")
    assert moves[0][0] == len(expected)   # projections of the survivors kept, the poison's none

    # The poisoned tablet's resend, once the bug is gone, lands its sales once.
    monkeypatch.setattr(journal.stock, "record_moves_many", record)
    again = await gateway.post("/api/v1/journal:batch", headers=tills[2]["headers"], json={"documents": batches[2]})
    assert [r["status"] for r in (await again.json())["results"]] == ["stored"] * 3


@pytest.mark.parametrize("order", ["fresh_first", "duplicate_first"])
async def test_grouped_batches_judge_ids_across_the_group(gateway, provisioned, order):
    """Two batches in one group that carry the same id: as if run one after the other, the first
    stores it and the later copies hear duplicate (same hash) or conflict (another hash)."""
    a = await paired(gateway, provisioned)
    sale = make_sale(device_id=a["device_id"], device_code=a["device_code"], seq=1)
    # The same id with other content, validly hashed: a conflict, not an invalid document.
    other = make_sale(device_id=a["device_id"], device_code=a["device_code"], seq=1, qty=7, doc_id=sale["id"])
    store = gateway.app[STORE]
    pushes = [(a, [sale]), (a, [sale, other])] if order == "fresh_first" else [(a, [sale, other]), (a, [sale])]

    async def push(till: dict[str, Any], batch: list[Any]) -> Any:
        response = await gateway.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": batch})
        assert response.status == 200
        return [r["status"] for r in (await response.json())["results"]]
    async with store.transaction():
        tasks = []
        for till, batch in pushes:   # queued in this order, so the group runs them in it
            tasks.append(asyncio.create_task(push(till, batch)))
            while len(store._queue) < len(tasks):
                await asyncio.sleep(0.01)
    verdicts = await asyncio.gather(*tasks)
    if order == "fresh_first":
        assert verdicts == [["stored"], ["duplicate", "conflict"]]
    else:
        assert verdicts == [["stored", "conflict"], ["duplicate"]]
    conflicts = await store.read().execute_fetchall("SELECT count(*) FROM conflicts")
    assert conflicts[0][0] == 1


def together(n: int, writes: list[list[int]], poison: int | None = None, abandon: bool = False) -> Together:
    """A Together work inserting n; its write records the items it was given, and raises at `poison`
    (after rolling the whole transaction back, as SQLITE_FULL can, when `abandon`)."""
    async def write(db: Any, items: list[int]) -> list[int]:
        writes.append(list(items))
        for item in items:
            await db.execute("INSERT INTO t (n) VALUES (?)", (item,))
            if item == poison:
                if abandon:
                    await db.execute("ROLLBACK")
                raise Poison("a bug in one tablet's batch")
        return items
    return Together("t", write, n)


async def test_together_works_share_one_write_and_each_hears_its_own_result(tmp_path):
    store = await new_store(tmp_path)
    writes: list[list[int]] = []
    statements = await trace_statements(store)
    answers = await held_then_released(store, [together(n, writes) for n in range(5)])
    assert [result for result, _ in answers] == list(range(5))
    assert all(seen == list(range(5)) for _, seen in answers)   # each answered after the commit
    assert writes == [list(range(5))]                            # one write for the group
    assert sum(sql.strip().upper().startswith("SAVEPOINT") for sql in statements) == 1
    await store.close()


async def test_a_together_write_that_fails_is_written_again_one_by_one(tmp_path):
    store = await new_store(tmp_path)
    writes: list[list[int]] = []
    answers = await held_then_released(store, [together(n, writes, poison=2) for n in range(4)])
    results = [result for result, _ in answers]
    assert results[:2] == [0, 1] and results[3] == 3
    assert isinstance(results[2], Poison)
    assert writes == [[0, 1, 2, 3], [0], [1], [2], [3]]   # the merged write, rolled back; then each alone
    rows = await store.read().execute_fetchall("SELECT n FROM t ORDER BY n")
    assert [row[0] for row in rows] == [0, 1, 3]
    await store.close()


async def test_works_of_other_keys_or_kinds_are_not_merged(tmp_path):
    store = await new_store(tmp_path)
    writes: list[list[int]] = []
    first = together(0, writes)
    answers = await held_then_released(store, [first, Together("another key", first.write, 1)])
    assert [result for result, _ in answers] == [0, 1] and writes == [[0], [1]]
    writes.clear()
    answers = await held_then_released(store, [together(2, writes), insert(3), together(4, writes)])
    assert [result for result, _ in answers] == [2, 3, 4] and writes == [[2], [4]]
    await store.close()


async def test_a_merged_write_that_loses_the_transaction_leaves_no_request_unanswered(tmp_path):
    store = await new_store(tmp_path)
    writes: list[list[int]] = []
    commits = await count_commits(store)
    answers = await asyncio.wait_for(
        held_then_released(store, [together(n, writes, poison=2, abandon=True) for n in range(4)]), 10)
    results = [result for result, _ in answers]
    assert results[:2] == [0, 1] and results[3] == 3 and isinstance(results[2], Poison)
    assert writes == [[0, 1, 2, 3], [0], [1], [2], [3]]
    rows = await store.read().execute_fetchall("SELECT n FROM t ORDER BY n")
    assert [row[0] for row in rows] == [0, 1, 3]
    assert len(commits) == 1 + 3 and not store._writer.in_transaction
    await store.close()


async def test_a_merged_write_giving_too_few_results_is_written_again_one_by_one(tmp_path):
    store = await new_store(tmp_path)
    writes: list[list[int]] = []

    async def short(db: Any, items: list[int]) -> list[int]:
        writes.append(list(items))
        for item in items:
            await db.execute("INSERT INTO t (n) VALUES (?)", (item,))
        return items[:1] if len(items) > 1 else items
    answers = await asyncio.wait_for(held_then_released(store, [Together("t", short, n) for n in range(3)]), 10)
    assert [result for result, _ in answers] == [0, 1, 2] and writes == [[0, 1, 2], [0], [1], [2]]
    await store.close()
