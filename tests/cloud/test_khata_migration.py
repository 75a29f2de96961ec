"""Migration 0007 (customers and khata): a cloud of the previous version upgrades in place; its shops read
the default credit settings and hold no customers, and then take customers and khata entries; the
downgrade takes the tables and columns away again."""
from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import inspect, text

from cloud_api.catalog import load_catalog
from cloud_api.database import _alembic_config, migrate
from cloud_api.khata import AdjustmentIn, CustomerIn, add_adjustment, create_customer, customers_with_balances
from tests.conftest import cloud_at_revision


async def _downgrade(engine: Any, revision: str) -> None:
    config = _alembic_config()

    def down(sync_conn: Any) -> None:
        config.attributes["connection"] = sync_conn
        command.downgrade(config, revision)
    async with engine.begin() as conn:
        await conn.run_sync(down)


async def test_migration_0007_upgrades_a_cloud_of_the_previous_version(cloud_db_url: str):
    engine = await cloud_at_revision(cloud_db_url, "0006")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO shops (id, name, owner_token_digest, timezone, catalog_version, "
                                "created_at) VALUES ('s', 'Madina', 'digest', 'Asia/Karachi', 7, 'x')"))
    await migrate(engine)
    try:
        async with engine.begin() as conn:
            catalog = await load_catalog(conn, "s")
            settings = catalog.settings
            assert (settings.default_credit_limit, settings.offline_credit_allowance) == (500000, 200000)
            assert await customers_with_balances(conn, "s") == []
            made = await create_customer(conn, "s", CustomerIn(name="Bilal", phone="0300 1234567"))
            assert made["credit_limit"] == 500000
            await add_adjustment(conn, "s", made["customer_id"], AdjustmentIn(amount=12345, reason="paper khata"))
            listed = await customers_with_balances(conn, "s")
        assert [(c["name"], c["balance"], c["ageing"]["0-7"]) for c in listed] == [("Bilal", 12345, 12345)]
        await _downgrade(engine, "0006")

        def tables(sync_conn):   # what the downgrade left
            found = inspect(sync_conn)
            return set(found.get_table_names()), {c["name"] for c in found.get_columns("shops")}
        async with engine.connect() as conn:
            names, columns = await conn.run_sync(tables)
        assert "customers" not in names and "khata_entries" not in names
        assert "default_credit_limit" not in columns and "offline_credit_allowance" not in columns
        await migrate(engine)   # and up again, for the fixture's next user
    finally:
        await engine.dispose()
