"""The shop's catalog: products, cashiers, receipt and fiscal settings, versioned so gateways pull it with ETags."""
from __future__ import annotations

import asyncio
from typing import Any, Iterable

from sqlalchemy import bindparam, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .service.clock import utc_now
from .contract import (Cashier, CashierIn, CashierPermissions, Catalog, FiscalSettings, Product, ProductIn,
                       ShopSettings)
from .credentials import PIN_ITERATIONS, new_salt, pin_hash
from .database import insert_or_ignore
from .product_import import Said
from .service.errors import Conflict

# How a unit is named in "SUGAR-LOOSE is sold by kg ... to sell it by the piece" (Urdu in office/words_catalog.py).
UNIT_WORDS = {"each": Said("the piece"), "kg": Said("kg"), "l": Said("the litre")}
_CHUNK = 500   # bounded IN lists: PostgreSQL and SQLite both take 500 easily


class UnitChangeRefused(Conflict):
    """A SKU with stock or sales may not change its unit: the stock ledger and the sold lines hold grams / ml
    of a loose product and pieces of the others, so 5,000 g would silently become 5,000 pieces."""

    def __init__(self, sku: str, unit: str, new_unit: str):
        self.sku, self.unit, self.new_unit = sku, unit, new_unit
        self.said = Said("{sku} is sold by {unit}: its stock and sales are counted that way; "
                         "make a new SKU to sell it by {other}", sku=sku, unit=UNIT_WORDS.get(unit, unit),
                         other=UNIT_WORDS.get(new_unit, new_unit))
        super().__init__(str(self.said))


def _chunks(items: Iterable[str]) -> Iterable[list[str]]:
    items = list(items)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


async def refused_unit_changes(conn: AsyncConnection, shop_id: str,
                               units: dict[str, str]) -> dict[str, UnitChangeRefused]:
    """Of these SKUs and the unit each is to be sold by, those the shop sells by another unit and that have
    a history (stock_ledger rows or sold lines): sku -> the refusal. The one rule of every path that
    changes a product (the owner API, the product form, the CSV import); a SKU with no history may move."""
    p, sl, lf = schema.products.c, schema.stock_ledger.c, schema.line_facts.c
    changing: dict[str, str] = {}
    for chunk in _chunks(units):
        for sku, unit in (await conn.execute(select(p.sku, p.unit).where(p.shop_id == shop_id,
                                                                         p.sku.in_(chunk)))).all():
            if unit != units[sku]:
                changing[sku] = unit
    history: set[str] = set()
    for chunk in _chunks(changing):
        history.update((await conn.execute(union(
            select(sl.sku).where(sl.shop_id == shop_id, sl.sku.in_(chunk)),
            select(lf.sku).where(lf.shop_id == shop_id, lf.sku.in_(chunk))))).scalars())
    return {sku: UnitChangeRefused(sku, unit, units[sku]) for sku, unit in changing.items() if sku in history}


async def bump_version(conn: AsyncConnection, shop_id: str) -> None:
    # Every change moves the version, so every gateway's ETag goes stale at once.
    await conn.execute(update(schema.shops).where(schema.shops.c.id == shop_id)
                       .values(catalog_version=schema.shops.c.catalog_version + 1))


async def put_product(conn: AsyncConnection, shop_id: str, sku: str, product: ProductIn) -> tuple[Product, bool]:
    """Create or replace a product: (the product, whether it is archived; PUT leaves that as it was).

    UnitChangeRefused (409) if it has stock or sales counted in another unit.
    """
    p = schema.products.c
    before = (await conn.execute(select(p.unit, p.archived).where(p.shop_id == shop_id, p.sku == sku))).first()
    if before is not None and before.unit != product.unit:
        refused = await refused_unit_changes(conn, shop_id, {sku: product.unit})
        if refused:
            raise refused[sku]
    values = dict(product.model_dump(), updated_at=utc_now())
    result = await conn.execute(insert_or_ignore(conn, schema.products).values(shop_id=shop_id, sku=sku, **values))
    if result.rowcount != 1:
        await conn.execute(update(schema.products).where(
            schema.products.c.shop_id == shop_id, schema.products.c.sku == sku).values(**values))
    await bump_version(conn, shop_id)
    return Product(sku=sku, **product.model_dump()), bool(before is not None and before.archived)


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
    await bump_version(conn, shop_id)


async def put_products(conn: AsyncConnection, shop_id: str, products: list[Product],
                       fields: Iterable[str] | None = None) -> tuple[int, int]:
    """Create or change many products (a CSV import) with ONE version bump; (created, changed).

    A product the shop has changes only in `fields` (ProductIn's; all if None): the columns the file has,
    so a file without unit or barcode leaves them as they are. A new one gets every field, defaults too.
    UnitChangeRefused (409, nothing saved) if one would change the unit its stock or sales are counted in.
    """
    p = schema.products.c
    written = tuple(ProductIn.model_fields) if fields is None else tuple(fields)
    unknown = set(written) - set(ProductIn.model_fields)
    if unknown:
        raise ValueError(f"not product fields: {sorted(unknown)}")
    existing: dict[str, str] = {}
    for chunk in _chunks(product.sku for product in products):
        result = await conn.execute(select(p.sku, p.unit).where(p.shop_id == shop_id, p.sku.in_(chunk)))
        existing.update((sku, unit) for sku, unit in result)
    if "unit" in written:
        refused = await refused_unit_changes(conn, shop_id, {
            product.sku: product.unit for product in products
            if product.sku in existing and existing[product.sku] != product.unit})
        if refused:
            raise next(iter(refused.values()))
    now = utc_now()
    new = [dict(product.model_dump(), shop_id=shop_id, updated_at=now) for product in products
           if product.sku not in existing]
    changed = [dict({f"v_{name}": getattr(product, name) for name in written}, b_sku=product.sku, v_updated_at=now)
               for product in products if product.sku in existing]
    if new:
        await conn.execute(schema.products.insert(), new)
    if changed:
        # An archived product stays archived: importing last year's spreadsheet must not bring it back.
        await conn.execute(update(schema.products).where(p.shop_id == shop_id, p.sku == bindparam("b_sku"))
                           .values({name: bindparam(f"v_{name}") for name in (*written, "updated_at")}), changed)
    if products:
        await bump_version(conn, shop_id)
    return len(new), len(changed)


async def archive_product(conn: AsyncConnection, shop_id: str, sku: str, archived: bool = True) -> bool:
    """Take a product out of the catalog (or bring it back); False if the shop has no such SKU."""
    p = schema.products.c
    result = await conn.execute(update(schema.products).where(p.shop_id == shop_id, p.sku == sku)
                                .values(archived=archived, updated_at=utc_now()))
    if result.rowcount != 1:
        return False
    await bump_version(conn, shop_id)
    return True


async def set_cashier_disabled(conn: AsyncConnection, shop_id: str, cashier_id: str, disabled: bool = True) -> bool:
    """Disable a cashier (their row stays, for reports; the catalog leaves them out) or enable them again."""
    return await _change_cashier(conn, shop_id, cashier_id, disabled=disabled)


async def set_cashier_permissions(conn: AsyncConnection, shop_id: str, cashier_id: str,
                                  permissions: CashierPermissions) -> bool:
    """Change what a cashier may do beyond selling; False if the shop has no such cashier."""
    return await _change_cashier(conn, shop_id, cashier_id, **permissions.model_dump())


async def set_cashier_pin(conn: AsyncConnection, shop_id: str, cashier_id: str, pin: str) -> bool:
    """A new PIN (already checked against the policy by the caller's CashierIn or PinIn)."""
    salt = new_salt()
    hashed = await asyncio.to_thread(pin_hash, pin, salt, PIN_ITERATIONS)
    return await _change_cashier(conn, shop_id, cashier_id, pin_salt=salt, pin_hash=hashed,
                                 pin_iterations=PIN_ITERATIONS)


async def _change_cashier(conn: AsyncConnection, shop_id: str, cashier_id: str, **values: object) -> bool:
    c = schema.cashiers.c
    result = await conn.execute(update(schema.cashiers).where(c.shop_id == shop_id, c.cashier_id == cashier_id)
                                .values(**values, updated_at=utc_now()))
    if result.rowcount != 1:
        return False
    await bump_version(conn, shop_id)
    return True


SETTINGS_FIELDS = tuple(ShopSettings.model_fields)


async def put_shop_details(conn: AsyncConnection, shop_id: str, name: str, timezone: str,
                           settings: ShopSettings) -> None:
    """The shop's name and time zone with its receipt settings (the back office's settings page)."""
    await conn.execute(update(schema.shops).where(schema.shops.c.id == shop_id)
                       .values(name=name, timezone=timezone, **settings.model_dump()))
    await bump_version(conn, shop_id)


# Settings a PUT that leaves them out keeps (a client from before issue 10 knows only the receipt's).
KEPT_WHEN_LEFT_OUT = ("default_credit_limit", "offline_credit_allowance")


async def put_settings(conn: AsyncConnection, shop_id: str, settings: ShopSettings) -> ShopSettings:
    """Replace the shop's receipt settings (tills print them from the next catalog) and the khata's credit
    settings the body names; answers the settings now held."""
    values = {name: value for name, value in settings.model_dump().items()
              if name not in KEPT_WHEN_LEFT_OUT or name in settings.model_fields_set}
    await conn.execute(update(schema.shops).where(schema.shops.c.id == shop_id).values(**values))
    await bump_version(conn, shop_id)
    held = await shop_details(conn, shop_id)
    return ShopSettings(**{name: getattr(held, name) for name in SETTINGS_FIELDS})


def stored_fiscal(value: str | None) -> FiscalSettings:
    """shops.fiscal as FiscalSettings: NULL (a shop from before issue 9, or never set) is mode off."""
    return FiscalSettings.model_validate_json(value) if value else FiscalSettings()


async def catalog_version(conn: AsyncConnection, shop_id: str) -> int:
    return (await conn.execute(
        select(schema.shops.c.catalog_version).where(schema.shops.c.id == shop_id))).scalar_one()


def catalog_etag(shop_id: str, version: int) -> str:
    return f'"{shop_id}.{version}"'


async def load_catalog(conn: AsyncConnection, shop_id: str, *, for_gateway: bool = False) -> Catalog:
    """Everything a till needs to sell offline: products on sale (not archived), cashiers who may sign in
    (not disabled), receipt settings, the tablets the owner revoked (the box unpairs them) and the fiscal
    settings. The fiscal token only `for_gateway` (GET /v1/catalog as a box): no other answer carries it."""
    shop = (await conn.execute(select(schema.shops).where(schema.shops.c.id == shop_id))).one()
    p, c = schema.products.c, schema.cashiers.c
    products = (await conn.execute(select(p.sku, p.name, p.price, p.gst_bp, p.barcode, p.category, p.unit,
                                          p.name_ur, p.low_stock_at, p.pct_code)
                                   .where(p.shop_id == shop_id, p.archived.is_(False)).order_by(p.name))).all()
    cashiers = (await conn.execute(select(c.cashier_id, c.name, c.pin_salt, c.pin_hash, c.pin_iterations,
                                          c.max_discount_bp, c.can_refund)
                                   .where(c.shop_id == shop_id, c.disabled.is_(False)).order_by(c.name))).all()
    dv = schema.devices.c
    revoked = (await conn.execute(select(dv.device_id).where(dv.shop_id == shop_id, dv.revoked_at.is_not(None))
                                  .order_by(dv.device_id))).scalars().all()
    return Catalog(
        shop_id=shop_id, shop_name=shop.name, version=shop.catalog_version,
        products=[Product(**row._mapping) for row in products],
        cashiers=[Cashier(**row._mapping) for row in cashiers],
        settings=ShopSettings(**{name: getattr(shop, name) for name in SETTINGS_FIELDS}),
        revoked_devices=list(revoked), fiscal=stored_fiscal(shop.fiscal),
        fiscal_token=shop.fiscal_token if for_gateway else None)


# --- what the back office reads (archived products and disabled cashiers included) ---------------

async def shop_products(conn: AsyncConnection, shop_id: str, archived: bool | None = None) -> list[Any]:
    """The shop's products by name (rows with sku, the ProductIn fields and archived)."""
    p = schema.products.c
    query = select(p.sku, *(p[name] for name in ProductIn.model_fields), p.archived).where(p.shop_id == shop_id)
    if archived is not None:
        query = query.where(p.archived.is_(archived))
    return list((await conn.execute(query.order_by(p.name, p.sku))).all())


async def shop_product(conn: AsyncConnection, shop_id: str, sku: str) -> Any | None:
    p = schema.products.c
    return (await conn.execute(select(p.sku, *(p[name] for name in ProductIn.model_fields), p.archived)
                               .where(p.shop_id == shop_id, p.sku == sku))).first()


async def shop_cashiers(conn: AsyncConnection, shop_id: str) -> list[Any]:
    """Every cashier of the shop, disabled ones too (no PIN hashes)."""
    c = schema.cashiers.c
    return list((await conn.execute(select(c.cashier_id, c.name, c.max_discount_bp, c.can_refund, c.disabled)
                                    .where(c.shop_id == shop_id).order_by(c.disabled, c.name))).all())


async def shop_details(conn: AsyncConnection, shop_id: str) -> Any:
    """The shop's name, time zone and receipt settings."""
    s = schema.shops.c
    return (await conn.execute(select(s.name, s.timezone, *(s[name] for name in SETTINGS_FIELDS))
                               .where(s.id == shop_id))).one()


async def set_device_revoked(conn: AsyncConnection, shop_id: str, device_id: str, revoked: bool = True) -> bool:
    """Revoke a tablet (or allow it again) and move the catalog, whose revoked_devices its box unpairs by.

    False if the shop has no such tablet or it already was so.
    """
    dv = schema.devices.c
    state = dv.revoked_at.is_(None) if revoked else dv.revoked_at.is_not(None)
    changed = await conn.execute(update(schema.devices).where(dv.shop_id == shop_id, dv.device_id == device_id, state)
                                 .values(revoked_at=utc_now() if revoked else None))
    if changed.rowcount != 1:
        return False
    await bump_version(conn, shop_id)
    return True
