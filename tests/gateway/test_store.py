"""The gateway's store: private files, a writer that survives a failed COMMIT, and a full disk."""
from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from gateway.errors import StorageFull
from gateway.keys import STORE
from gateway.store import DB_NAME, Store
from tests.conftest import make_sale
from tests.gateway.conftest import paired


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_state_is_private_whatever_the_umask(tmp_path):
    old = os.umask(0o002)   # a box started by hand from a permissive shell
    try:
        store = await Store.open(tmp_path / "state")
        async with store.transaction() as db:
            await db.execute("INSERT INTO box (key, value) VALUES ('k', 'v')")
        state = tmp_path / "state"
        assert mode(state) == 0o700
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            assert mode(state / name) == 0o600, name
        await store.close()
        os.chmod(state / DB_NAME, 0o644)   # an older box, made before this rule
        os.chmod(state, 0o755)
        await (await Store.open(state)).close()
        assert (mode(state), mode(state / DB_NAME)) == (0o700, 0o600)
    finally:
        os.umask(old)


async def test_a_failed_commit_leaves_the_writer_usable(tmp_path):
    store = await Store.open(tmp_path / "state")
    async with store.transaction() as db:
        await db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await db.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        async with store.transaction() as db:   # a deferred constraint fails at COMMIT, not before
            await db.execute("INSERT INTO child VALUES (42)")
    async with store.transaction() as db:       # without the rollback: "cannot start a transaction within a transaction"
        await db.execute("INSERT INTO parent VALUES (1)")
    rows = await store.read().execute_fetchall("SELECT (SELECT count(*) FROM child), (SELECT count(*) FROM parent)")
    assert tuple(rows[0]) == (0, 1)
    await store.close()


async def test_disk_full_on_the_box(gateway, provisioned, monkeypatch):
    """The till hears 507 storage_full and keeps its documents; once space returns the same batch lands, once."""
    till = await paired(gateway, provisioned)
    own = dict(device_id=till["device_id"], device_code=till["device_code"])
    first = [make_sale(seq=1, **own)]
    assert (await gateway.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": first})).status == 200
    store = gateway.app[STORE]
    writer = store._writer   # the one writer connection: SQLite's page limit stands in for a full SD card
    pages = (await (await writer.execute("PRAGMA page_count")).fetchone())[0]
    await writer.execute(f"PRAGMA max_page_count = {pages}")
    batch = [make_sale(seq=n, qty=n, **own) for n in range(2, 200)]
    full = await gateway.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": batch})
    assert full.status == 507
    assert await full.json() == {"error": {"code": "storage_full", "message": "the shop box's storage is full"}}
    # The writer is not stuck in a transaction: the box keeps answering, and nothing acked is lost.
    assert (await gateway.get("/api/v1/catalog", headers=till["headers"])).status in (200, 503)
    ids = {row[0] for row in await store.read().execute_fetchall("SELECT id FROM journal")}
    assert ids == {first[0]["id"]}

    await writer.execute("PRAGMA max_page_count = 1073741823")   # space returns
    again = await gateway.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": batch})
    assert again.status == 200
    assert {r["status"] for r in (await again.json())["results"]} == {"stored"}
    rows = await store.read().execute_fetchall("SELECT id, count(*) FROM journal GROUP BY id")
    assert len(rows) == 1 + len(batch) and all(row[1] == 1 for row in rows)
    assert (await (await store.read().execute("PRAGMA integrity_check")).fetchone())[0] == "ok"


async def test_storage_full_is_its_own_error(tmp_path):
    store = await Store.open(tmp_path / "state")
    pages = (await (await store._writer.execute("PRAGMA page_count")).fetchone())[0]
    await store._writer.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageFull):
        async with store.transaction() as db:
            await db.execute("CREATE TABLE big (x)")
            for _ in range(50):
                await db.execute("INSERT INTO big VALUES (randomblob(4000))")
    assert not store._writer.in_transaction
    await store.close()


async def test_a_writer_whose_rollback_fails_is_replaced_and_the_next_transaction_works(tmp_path):
    """If even ROLLBACK fails, the box must not keep a writer stuck inside a transaction."""
    import sqlite3
    from gateway.store import Store
    store = await Store.open(tmp_path)
    stuck = store._writer
    real_execute = stuck.execute

    async def failing_rollback(sql, *args):
        if sql == "ROLLBACK":
            raise sqlite3.OperationalError("disk I/O error")
        return await real_execute(sql, *args)

    stuck.execute = failing_rollback
    with pytest.raises(RuntimeError):
        async with store.transaction() as db:
            await db.execute("INSERT INTO box (key, value) VALUES ('k', 'lost')")
            raise RuntimeError("the work failed")
    assert store._writer is not stuck   # replaced, not left inside a transaction
    async with store.transaction() as db:
        await db.execute("INSERT INTO box (key, value) VALUES ('k', 'kept')")
    rows = await store.read().execute_fetchall("SELECT value FROM box WHERE key = 'k'")
    assert [r[0] for r in rows] == ["kept"]
    await store.close()


async def test_a_row_read_on_the_loop_sees_each_commit_at_once_and_nothing_uncommitted(tmp_path):
    """Store.read_row (a tablet's token on every request) reads on the event loop's own connection: it
    must not keep an old snapshot between reads, nor see a transaction still open."""
    store = await Store.open(tmp_path / "state")
    try:
        async with store.transaction() as db:
            await db.execute("INSERT INTO box (key, value) VALUES ('k', 'one')")
        read = "SELECT value FROM box WHERE key = ?"
        assert (await store.read_row(read, ("k",)))["value"] == "one"
        async with store.transaction() as db:
            await db.execute("UPDATE box SET value = 'two' WHERE key = 'k'")
            assert (await store.read_row(read, ("k",)))["value"] == "one"   # not committed yet
        assert (await store.read_row(read, ("k",)))["value"] == "two"
        assert await store.read_row(read, ("nobody",)) is None
    finally:
        await store.close()


async def test_a_busy_moment_goes_the_readers_way_and_other_errors_are_raised(tmp_path):
    store = await Store.open(tmp_path / "state")
    try:
        async with store.transaction() as db:
            await db.execute("INSERT INTO box (key, value) VALUES ('k', 'one')")

        class Busy:
            def execute(self, *_args: object) -> None:
                # Python reports the extended code: here, another connection recovering the WAL.
                err = sqlite3.OperationalError("database is locked")
                err.sqlite_errorcode = sqlite3.SQLITE_BUSY_RECOVERY
                raise err

            def close(self) -> None:
                pass
        points, store._points = store._points, Busy()
        assert (await store.read_row("SELECT value FROM box WHERE key = ?", ("k",)))["value"] == "one"
        store._points = points
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await store.read_row("SELECT value FROM nowhere WHERE key = ?", ("k",))
    finally:
        await store.close()
