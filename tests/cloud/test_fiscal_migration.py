"""Migration 0006 (fiscal reporting): a cloud made by the previous version upgrades in place; its shops
read as fiscal mode off with no token, its products report the default PCT code, its sales carry no
service fee, and all of them then take fiscal settings, PCT codes and fees."""
from __future__ import annotations

from sqlalchemy import text

from cloud_api.catalog import load_catalog, put_product
from cloud_api.contract import FiscalSettingsIn, ProductIn
from cloud_api.database import migrate
from cloud_api.fiscal import fiscal_state, put_fiscal
from tests.conftest import cloud_at_revision


async def test_migration_0006_upgrades_a_cloud_of_the_previous_version(cloud_db_url: str):
    engine = await cloud_at_revision(cloud_db_url, "0005")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO shops (id, name, owner_token_digest, timezone, catalog_version, "
                                "created_at) VALUES ('s', 'Madina', 'digest', 'Asia/Karachi', 7, 'x')"))
        await conn.execute(text("INSERT INTO products (shop_id, sku, name, price, gst_bp, updated_at) "
                                "VALUES ('s', 'TAPAL-190', 'Tapal Danedar 190g', 55000, 1800, 'x')"))
        await conn.execute(text("INSERT INTO sale_facts (shop_id, document_id, kind, business_date, device_code, "
                                "total, tax) VALUES ('s', 'd1', 'sale', '2026-11-27', 'T1', 55000, 8390)"))
    await migrate(engine)
    try:
        async with engine.begin() as conn:
            catalog = await load_catalog(conn, "s", for_gateway=True)
            assert catalog.version == 7 and catalog.fiscal.mode == "off" and catalog.fiscal_token is None
            assert [(p.sku, p.pct_code) for p in catalog.products] == [("TAPAL-190", None)]
            await put_fiscal(conn, "s", FiscalSettingsIn(mode="fbr", token="t0ken"))
            await put_product(conn, "s", "TAPAL-190", ProductIn(name="Tapal Danedar 190g", price=55000, gst_bp=1800,
                                                                pct_code="0902.3000"))
        async with engine.connect() as conn:
            catalog = await load_catalog(conn, "s", for_gateway=True)
            state = await fiscal_state(conn, "s")
            version = (await conn.execute(text("SELECT catalog_version FROM shops"))).scalar_one()
            fee = (await conn.execute(text("SELECT service_fee FROM sale_facts"))).scalar_one()
    finally:
        await engine.dispose()
    assert catalog.fiscal.mode == "fbr" and catalog.fiscal_token == "t0ken" and state.token_set
    assert catalog.products[0].pct_code == "0902.3000"
    assert version == 9   # each change moved the catalog
    assert fee == 0
