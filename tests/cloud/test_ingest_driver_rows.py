"""Ingest's rows go straight through the driver (database.insert_rows), on SQLite and PostgreSQL:
what the database refuses still comes back as SQLAlchemy's exceptions (IntegrityError, ...), so a batch
still answers per document; nothing is cut short on its way in; a failure after the documents went in
leaves the connection usable and nothing half-stored."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

import cloud_api.ingest
from cloud_api import schema
from cloud_api.contract import JournalBatch
from cloud_api.database import create_engine, insert_rows
from cloud_api.ingest import ingest_batch
from cloud_api.shops import GatewayIdentity, create_shop
from tests.cloud.test_ingest import _poison_trigger
from tests.conftest import _pg_or_skip, make_sale, new_cloud_shop


async def _shop(url: str) -> str:
    engine = create_engine(url)
    async with engine.begin() as conn:
        shop_id = (await create_shop(conn, "Madina")).shop_id
    await engine.dispose()
    return shop_id


async def _count(url: str, table, shop_id: str) -> int:
    engine = create_engine(url)
    async with engine.connect() as conn:
        n = (await conn.execute(select(func.count()).select_from(table).where(table.c.shop_id == shop_id))).scalar_one()
    await engine.dispose()
    return n


async def _ingest(url: str, shop_id: str, documents: list) -> list:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            return await ingest_batch(conn, GatewayIdentity("box-1", shop_id), JournalBatch(documents=documents))
    finally:
        await engine.dispose()


async def test_a_refused_projection_row_makes_its_document_invalid_and_keeps_the_rest(cloud_db_url: str) -> None:
    shop_id = await _shop(cloud_db_url)
    sales = [make_sale(seq=n) for n in range(1, 6)]
    # The database refuses one document's line facts, as a constraint would (a projection, not the document).
    await _poison_trigger(cloud_db_url, f"NEW.document_id = '{sales[3]['id']}'", table="line_facts")
    results = await _ingest(cloud_db_url, shop_id, sales)
    assert [r.status for r in results] == ["stored", "stored", "stored", "invalid", "stored"]
    assert "poison line" in results[3].reason
    # The refused document went with its projections; the others are whole.
    assert await _count(cloud_db_url, schema.documents, shop_id) == 4
    assert await _count(cloud_db_url, schema.sale_facts, shop_id) == 4
    assert await _count(cloud_db_url, schema.line_facts, shop_id) == 4
    assert await _count(cloud_db_url, schema.tender_facts, shop_id) == 8   # payment and change of each
    assert await _count(cloud_db_url, schema.rejected_documents, shop_id) == 1


async def _begin(conn, begun: bool) -> None:
    """`begun`: a statement first, so the driver's own transaction has begun (SQLAlchemy's asyncpg
    adapter begins it at the first statement) and a plain insert on PostgreSQL is a COPY
    (database._pg_copy); otherwise the insert is the transaction's first statement, through unnest."""
    if begun:
        await conn.execute(select(1))


def _assert_path(engine, err: pytest.ExceptionInfo, begun: bool) -> None:
    # Which way the rows went on PostgreSQL: so both ways are known to raise the same exceptions.
    if engine.dialect.name == "postgresql":
        assert err.value.statement.startswith("COPY" if begun else "INSERT"), err.value.statement


@pytest.mark.parametrize("begun", [False, True], ids=["first-statement", "after-a-statement"])
async def test_insert_rows_raises_what_conn_execute_raises(cloud_db_url: str, begun: bool) -> None:
    shop_id = await _shop(cloud_db_url)
    row = (shop_id, "d-1", 0, "2026-11-27", "TAPAL-190", "each", 1, 55000, 0, 1800, "Tapal")
    columns = ("shop_id", "document_id", "line_no", "business_date", "sku", "unit", "qty", "amount", "tax",
               "gst_bp", "name")
    engine = create_engine(cloud_db_url)
    try:
        with pytest.raises(IntegrityError) as err:   # the same line twice: its primary key
            async with engine.begin() as conn:
                await _begin(conn, begun)
                await conn.run_sync(insert_rows, schema.line_facts, columns, [row, row])
        _assert_path(engine, err, begun)
        async with engine.begin() as conn:    # nothing of the failed statement stayed
            assert (await conn.execute(select(func.count()).select_from(schema.line_facts))).scalar_one() == 0
            await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
        async with engine.begin() as conn:
            stored = (await conn.execute(select(schema.line_facts.c.sku, schema.line_facts.c.qty))).all()
        assert [tuple(r) for r in stored] == [("TAPAL-190", 1)]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("begun", [False, True], ids=["first-statement", "after-a-statement"])
async def test_insert_rows_never_cuts_a_long_value_short(cloud_db_url: str, begun: bool) -> None:
    """PostgreSQL: the arrays travel as text[] (and COPY sends the text as it is), so the column's own
    length check refuses a long value (a cast to varchar(200)[] would silently keep its first 200
    characters). SQLite keeps it whole. (The contract bounds every field, so ingest never meets this:
    it is the last line, not the first.)"""
    shop_id = await _shop(cloud_db_url)
    long_sku = "S" * 201
    columns = ("shop_id", "document_id", "line_no", "business_date", "sku", "unit", "qty", "amount")
    row = (shop_id, "d-1", 0, "2026-11-27", long_sku, "each", 1, 55000)
    engine = create_engine(cloud_db_url)
    try:
        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="too long") as err:   # as asyncpg's error reaches conn.execute too
                async with engine.begin() as conn:
                    await _begin(conn, begun)
                    await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
            _assert_path(engine, err, begun)
        else:
            async with engine.begin() as conn:
                await _begin(conn, begun)
                await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
                assert (await conn.execute(select(schema.line_facts.c.sku))).scalar_one() == long_sku
    finally:
        await engine.dispose()


@pytest.mark.parametrize("value, refusal", [(2**40, "out of"), ("many", "integer")], ids=["too-large", "not-a-number"])
@pytest.mark.parametrize("begun", [False, True], ids=["first-statement", "after-a-statement"])
async def test_a_value_the_column_cannot_hold_is_a_database_error(cloud_db_url: str, begun: bool, value, refusal) -> None:
    """A number too large for its column, or text where a number goes: the same SQLAlchemy exception
    whichever way the rows go (on PostgreSQL COPY's encoder refuses it before it leaves, where through
    unnest the server does), so the error middleware treats both alike."""
    shop_id = await _shop(cloud_db_url)
    columns = ("shop_id", "document_id", "line_no", "business_date", "sku", "unit", "qty", "amount")
    row = (shop_id, "d-1", value, "2026-11-27", "TAPAL-190", "each", 1, 55000)
    engine = create_engine(cloud_db_url)
    try:
        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match=refusal) as err:
                async with engine.begin() as conn:
                    await _begin(conn, begun)
                    await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
            _assert_path(engine, err, begun)
        else:   # SQLite keeps what it is given in any column (type affinity): the value as it came
            async with engine.begin() as conn:
                await _begin(conn, begun)
                await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
                assert (await conn.execute(select(schema.line_facts.c.line_no))).scalar_one() == value
    finally:
        await engine.dispose()


async def test_rows_inserted_first_in_a_transaction_go_with_it(cloud_db_url: str) -> None:
    """Rows inserted as a transaction's first statement are rolled back with it. (A COPY sent before
    the driver's transaction began would have committed on its own, whatever came after.)"""
    shop_id = await _shop(cloud_db_url)
    columns = ("shop_id", "document_id", "line_no", "business_date", "sku", "unit", "qty", "amount")
    row = (shop_id, "d-1", 0, "2026-11-27", "TAPAL-190", "each", 1, 55000)
    engine = create_engine(cloud_db_url)
    try:
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
                await conn.run_sync(insert_rows, schema.line_facts, columns, [row])   # its primary key again
        assert await _count(cloud_db_url, schema.line_facts, shop_id) == 0
    finally:
        await engine.dispose()


async def test_insert_rows_returns_new_rows_in_order_and_skips_conflicts(cloud_db_url: str) -> None:
    shop_id = await _shop(cloud_db_url)
    columns = ("shop_id", "id", "kind", "device_id", "device_code", "seq", "created_at", "business_date",
               "cashier_id", "hash", "body", "ingested_at")

    def doc(n: int) -> tuple:
        return (shop_id, f"id-{n}", "sale", "dev", "T1", n, "2026-11-27T10:00:00Z", "2026-11-27", "c1", "h", "{}",
                "2026-11-27T10:00:00Z")
    engine = create_engine(cloud_db_url)
    try:
        async with engine.begin() as conn:
            first = await conn.run_sync(insert_rows, schema.documents, columns, [doc(1), doc(2)],
                                        ignore_conflicts=True, returning=("id", "ingest_seq"))
            again = await conn.run_sync(insert_rows, schema.documents, columns, [doc(3), doc(1), doc(4)],
                                        ignore_conflicts=True, returning=("id", "ingest_seq"))
    finally:
        await engine.dispose()
    assert [doc_id for doc_id, _ in first] == ["id-1", "id-2"]
    assert [doc_id for doc_id, _ in again] == ["id-3", "id-4"]     # id-1 was there: skipped, not returned
    seqs = [seq for _, seq in first + again]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4             # drawn in the rows' order


async def test_a_failure_after_the_documents_went_in_leaves_nothing_and_a_usable_connection(
        cloud_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The projections are worked out once the documents' insert has returned: a bug there fails the
    batch, and the transaction rolls back whole, the documents' rows with it."""
    shop_id = await _shop(cloud_db_url)
    sales = [make_sale(seq=n) for n in range(1, 4)]
    project = cloud_api.ingest.project

    def failing(rows, shop, document, when, now):
        if document.id == sales[1]["id"]:
            raise RuntimeError("a cloud bug")
        project(rows, shop, document, when, now)
    monkeypatch.setattr(cloud_api.ingest, "project", failing)
    engine = create_engine(cloud_db_url)
    try:
        with pytest.raises(RuntimeError, match="a cloud bug"):
            async with engine.begin() as conn:
                await ingest_batch(conn, GatewayIdentity("box-1", shop_id), JournalBatch(documents=sales))
        monkeypatch.setattr(cloud_api.ingest, "project", project)
        async with engine.begin() as conn:   # the same pool, the same connection: still good
            results = await ingest_batch(conn, GatewayIdentity("box-1", shop_id), JournalBatch(documents=sales))
    finally:
        await engine.dispose()
    assert [r.status for r in results] == ["stored"] * 3
    assert await _count(cloud_db_url, schema.documents, shop_id) == 3
    assert await _count(cloud_db_url, schema.sale_facts, shop_id) == 3


async def test_projection_rows_through_the_driver_match_sqlalchemy_core(cloud_db_url: str) -> None:
    """Every kind of document, its projections written by database.insert_rows in one shop and by
    SQLAlchemy Core's insert (what the driver path replaced) in another: the same rows, value for value.
    (test_set_based_ingest.py compares the two ingest paths, which share Projection.write; this holds
    that shared writer to Core's.)"""
    from contextlib import nullcontext
    from unittest import mock

    from sqlalchemy import select as core_select

    from tests.cloud.test_set_based_ingest import GATEWAY_ID, NOW, TABLES, _device_day, _FirstChoice

    def core_insert_rows(conn, table, columns, rows, **_options):
        conn.execute(table.insert(), [dict(zip(columns, row)) for row in rows])
        return []

    day = _device_day("T1", _FirstChoice()) + _device_day("T2", _FirstChoice())
    batches = [day[::2], day[1::2]]   # a shift's closing may come in the batch before its opening
    engine = create_engine(cloud_db_url)
    try:
        async with engine.begin() as conn:
            shops = {"driver": (await create_shop(conn, "A")).shop_id, "core": (await create_shop(conn, "B")).shop_id}
        with mock.patch("cloud_api.ingest.utc_now", lambda: NOW):
            for documents in batches:
                for how, shop_id in shops.items():
                    with mock.patch("cloud_api.projections.insert_rows", core_insert_rows) if how == "core" \
                            else nullcontext():
                        async with engine.begin() as conn:
                            results = await ingest_batch(conn, GatewayIdentity(GATEWAY_ID, shop_id),
                                                         JournalBatch(documents=documents))
                    assert {r.status for r in results} == {"stored"}
        rows = {}
        async with engine.connect() as conn:
            for how, shop_id in shops.items():
                rows[how] = {}
                for name, (table, left_out, order) in TABLES.items():
                    kept = [c for c in table.columns if c.name not in left_out]
                    rows[how][name] = [tuple(row) for row in (await conn.execute(
                        core_select(*kept).where(table.c.shop_id == shop_id)
                        .order_by(*(table.c[o] for o in order)))).all()]
    finally:
        await engine.dispose()
    for name in TABLES:
        assert rows["driver"][name] == rows["core"][name], name
    for name in ("sale_facts", "tender_facts", "line_facts", "stock_ledger", "shifts", "cash_movements",
                 "customers", "khata_entries"):
        assert rows["driver"][name], f"the documents made no {name} rows: the comparison proves nothing there"


def test_sqlite_statements_come_in_a_few_fixed_sizes() -> None:
    """Each row count would otherwise be a statement text of its own, prepared afresh and kept in
    sqlite3's cache of 128, up to a megabyte each."""
    from cloud_api.database import _SQLITE_VALUES_PER_STATEMENT, _sqlite_chunks
    sizes = set()
    for n in range(0, 3000):
        chunks = _sqlite_chunks(n, 14)
        assert sum(chunks) == n and chunks == sorted(chunks, reverse=True)
        assert all(size * 14 <= _SQLITE_VALUES_PER_STATEMENT for size in chunks)
        sizes.update(chunks)
    assert sizes == {1, 2, 4, 8, 16, 32, 64, 128, 256}


async def test_insert_rows_returns_every_row_of_many_statements_in_order(cloud_db_url: str) -> None:
    shop_id = await _shop(cloud_db_url)
    columns = ("shop_id", "id", "kind", "device_id", "device_code", "seq", "created_at", "business_date",
               "cashier_id", "hash", "body", "ingested_at")
    rows = [(shop_id, f"id-{n}", "sale", "dev", "T1", n, "2026-11-27T10:00:00Z", "2026-11-27", "c1", "h", "{}",
             "2026-11-27T10:00:00Z") for n in range(1, 701)]   # 256 + 256 + 128 + 32 + 16 + 8 + 4 on SQLite
    engine = create_engine(cloud_db_url)
    try:
        async with engine.begin() as conn:
            inserted = await conn.run_sync(insert_rows, schema.documents, columns, rows,
                                           ignore_conflicts=True, returning=("id", "ingest_seq"))
    finally:
        await engine.dispose()
    assert [doc_id for doc_id, _ in inserted] == [f"id-{n}" for n in range(1, 701)]
    seqs = [seq for _, seq in inserted]
    assert seqs == sorted(seqs) and len(set(seqs)) == 700


async def test_a_connection_lost_during_a_copy_is_invalidated_as_sqlalchemy_does() -> None:
    """PostgreSQL: the server ends the connection just before a COPY. The error says the connection was
    invalidated (so the error middleware answers 503, "send it again", not a 500 the box's uplink would
    count against the documents: database_faults) and the pool opens a new connection for the next."""
    import asyncpg
    from sqlalchemy import text
    url = _pg_or_skip()
    shop_id = (await new_cloud_shop(url, clean=True, demo=False)).shop_id
    columns = ("shop_id", "document_id", "line_no", "business_date", "sku", "unit", "qty", "amount")
    row = (shop_id, "d-1", 0, "2026-11-27", "TAPAL-190", "each", 1, 55000)
    engine = create_engine(url)
    try:
        with pytest.raises(DBAPIError) as err:
            async with engine.begin() as conn:
                backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()   # its transaction begun
                killer = await asyncpg.connect(url)
                try:
                    assert await killer.fetchval("SELECT pg_terminate_backend($1)", backend)
                finally:
                    await killer.close()
                await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
        assert err.value.statement.startswith("COPY") and err.value.connection_invalidated
        async with engine.begin() as conn:   # a new connection: the rows go in
            await conn.execute(select(1))
            await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
        assert await _count(url, schema.line_facts, shop_id) == 1
    finally:
        await engine.dispose()


@pytest.mark.parametrize("extra", [-1, 1], ids=["short", "long"])
async def test_a_row_of_the_wrong_width_is_refused_whichever_way(cloud_db_url: str, extra: int) -> None:
    """A row with fewer or more values than columns is a programming error, refused whole: never a
    value dropped (COPY alone would read the first eight values of a row of nine and drop the last)."""
    shop_id = await _shop(cloud_db_url)
    columns = ("shop_id", "document_id", "line_no", "business_date", "sku", "unit", "qty", "amount")
    row = (shop_id, "d-1", 0, "2026-11-27", "TAPAL-190", "each", 1, 55000, 0)[:len(columns) + extra]
    engine = create_engine(cloud_db_url)
    try:
        for begun in (False, True):
            with pytest.raises((ValueError, DBAPIError)):
                async with engine.begin() as conn:
                    await _begin(conn, begun)
                    await conn.run_sync(insert_rows, schema.line_facts, columns, [row])
        assert await _count(cloud_db_url, schema.line_facts, shop_id) == 0
    finally:
        await engine.dispose()


async def test_copy_and_unnest_refuse_with_the_same_exception_class() -> None:
    """PostgreSQL: each refusal raises exactly the same SQLAlchemy class whichever way the rows went
    (pytest.raises alone would let a subclass through), so ingest's per-document retry and the error
    middleware cannot tell the two apart."""
    url = _pg_or_skip()
    shop_id = (await new_cloud_shop(url, clean=True, demo=False)).shop_id
    columns = ("shop_id", "document_id", "line_no", "business_date", "sku", "unit", "qty", "amount")
    good = (shop_id, "d-1", 0, "2026-11-27", "TAPAL-190", "each", 1, 55000)
    bad = {"twice": [good, good], "too long": [(*good[:4], "S" * 201, *good[5:])],
           "too large": [(*good[:2], 2**40, *good[3:])], "not a number": [(*good[:2], "x", *good[3:])],
           "no shop": [(None, *good[1:])]}
    engine = create_engine(url)
    try:
        for name, rows in bad.items():
            raised = []
            for begun in (False, True):
                with pytest.raises(DBAPIError) as err:
                    async with engine.begin() as conn:
                        await _begin(conn, begun)
                        await conn.run_sync(insert_rows, schema.line_facts, columns, rows)
                _assert_path(engine, err, begun)
                raised.append(type(err.value))
            assert raised[0] is raised[1], (name, raised)
    finally:
        await engine.dispose()
