"""The shop's catalog: products, cashiers and receipt settings, versioned so gateways pull it with ETags."""
from __future__ import annotations

import asyncio

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .service.clock import utc_now
from .contract import Cashier, CashierIn, Catalog, Product, ProductIn, ShopSettings
from .credentials import PIN_ITERATIONS, new_salt, pin_hash
from .database import insert_or_ignore


async def _bump_version(conn: AsyncConnection, shop_id: str) -> None:
    # Every change moves the version, so every gateway's ETag goes stale at once.
    await conn.execute(update(schema.shops).where(schema.shops.c.id == shop_id)
                       .values(catalog_version=schema.shops.c.catalog_version + 1))


async def put_product(conn: AsyncConnection, shop_id: str, sku: str, product: ProductIn) -> Product:
    """Create or replace a product."""
    values = dict(product.model_dump(), updated_at=utc_now())
    result = await conn.execute(insert_or_ignore(conn, schema.products).values(shop_id=shop_id, sku=sku, **values))
    if result.rowcount != 1:
        await conn.execute(update(schema.products).where(
            schema.products.c.shop_id == shop_id, schema.products.c.sku == sku).values(**values))
    await _bump_version(conn, shop_id)
    return Product(sku=sku, **product.model_dump())


async def put_cashier(conn: AsyncConnection, shop_id: str, cashier_id: str, cashier: CashierIn) -> None:
    """Create or replace a cashier; the PIN is kept only as a salted PBKDF2 hash."""
    salt = new_salt()
    hashed = await asyncio.to_thread(pin_hash, cashier.pin, salt, PIN_ITERATIONS)   # ~0.3 s: off the loop
    values = dict(name=cashier.name, pin_salt=salt, pin_hash=hashed, pin_iterations=PIN_ITERATIONS,
                  max_discount_bp=cashier.max_discount_bp, can_refund=cashier.can_refund, updated_at=utc_now())
    result = await conn.execute(insert_or_ignore(conn, schema.cashiers).values(
        shop_id=shop_id, cashier_id=cashier_id, **values))
    if result.rowcount != 1:
        await conn.execute(update(schema.cashiers).where(
            schema.cashiers.c.shop_id == shop_id, schema.cashiers.c.cashier_id == cashier_id).values(**values))
    await _bump_version(conn, shop_id)


SETTINGS_FIELDS = tuple(ShopSettings.model_fields)


async def put_settings(conn: AsyncConnection, shop_id: str, settings: ShopSettings) -> None:
    """Replace the shop's receipt settings; tills print them from the next catalog."""
    await conn.execute(update(schema.shops).where(schema.shops.c.id == shop_id).values(**settings.model_dump()))
    await _bump_version(conn, shop_id)


async def catalog_version(conn: AsyncConnection, shop_id: str) -> int:
    return (await conn.execute(
        select(schema.shops.c.catalog_version).where(schema.shops.c.id == shop_id))).scalar_one()


def catalog_etag(shop_id: str, version: int) -> str:
    return f'"{shop_id}.{version}"'


async def load_catalog(conn: AsyncConnection, shop_id: str) -> Catalog:
    """Everything a till needs to sell offline."""
    shop = (await conn.execute(select(schema.shops).where(schema.shops.c.id == shop_id))).one()
    p, c = schema.products.c, schema.cashiers.c
    products = (await conn.execute(select(p.sku, p.name, p.price, p.gst_bp, p.barcode, p.category, p.unit,
                                          p.name_ur, p.low_stock_at)
                                   .where(p.shop_id == shop_id).order_by(p.name))).all()
    cashiers = (await conn.execute(select(c.cashier_id, c.name, c.pin_salt, c.pin_hash, c.pin_iterations,
                                          c.max_discount_bp, c.can_refund)
                                   .where(c.shop_id == shop_id).order_by(c.name))).all()
    return Catalog(
        shop_id=shop_id, shop_name=shop.name, version=shop.catalog_version,
        products=[Product(**row._mapping) for row in products],
        cashiers=[Cashier(**row._mapping) for row in cashiers],
        settings=ShopSettings(**{name: getattr(shop, name) for name in SETTINGS_FIELDS}))
