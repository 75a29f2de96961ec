"""Shared fixtures: settings -> database -> app -> client, for SQLite and PostgreSQL."""
from __future__ import annotations

import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import text

from cloud_api.app import create_app
from cloud_api.contract import document_hash, line_tax
from cloud_api.database import create_engine, migrate
from cloud_api.settings import CloudSettings

PG_DSN = os.environ.get("POSLINE_TEST_PG_DSN")

# No test may send a packet beyond loopback: every gateway a test makes (in process, or a child
# process inheriting this environment) binds mDNS and names its certificate for 127.0.0.1 only.
os.environ["POSLINE_GATEWAY_INTERFACES"] = "127.0.0.1"


# Where a gateway posts FBR / PRA invoices when a test does not say (the simulator, tests/fbr_sim.py):
# the discard port on loopback, which nothing answers. So no test can ever reach a real FBR / PRA host,
# whatever the catalog's mode and environment (gateway/fiscal_invoice.ENDPOINTS are used only when
# fiscal_url is unset). Child processes (the e2e rig's gateways) inherit it too.
UNROUTABLE_FISCAL_URL = "http://127.0.0.1:9/"


@pytest.fixture(autouse=True)
def no_real_fiscal_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: POSLINE_GATEWAY_FISCAL_URL points nowhere unless the test sets its own (a
    GatewaySettings(fiscal_url=...), monkeypatch.setenv, or the e2e rig's env for its simulator)."""
    monkeypatch.setenv("POSLINE_GATEWAY_FISCAL_URL", UNROUTABLE_FISCAL_URL)


def _pg_or_skip() -> str:
    if PG_DSN:
        return PG_DSN
    if os.environ.get("CI"):
        pytest.fail("CI must run the PostgreSQL suite: set POSLINE_TEST_PG_DSN (.ci/run does)")
    pytest.skip("POSLINE_TEST_PG_DSN is not set, so the PostgreSQL backend is not tested here")


async def new_cloud_shop(url: str, *, clean: bool = False, demo: bool = True) -> Any:
    """A migrated cloud database at `url` holding one shop (with the demo catalog unless told not).

    `clean` drops PostgreSQL's public schema first, so each run starts empty.
    """
    from cloud_api.demo_shop import seed_demo_catalog
    from cloud_api.shops import create_shop
    engine = create_engine(url)
    if clean and engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await migrate(engine)
    async with engine.begin() as conn:
        shop = await create_shop(conn, "Madina")
        if demo:
            await seed_demo_catalog(conn, shop.shop_id)
    await engine.dispose()
    return shop


@pytest.fixture(params=["sqlite", "postgresql"])
async def cloud_db_url(request: Any, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated cloud database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cloud.db'}"
    else:
        url = _pg_or_skip()
        engine = create_engine(url)
        async with engine.begin() as conn:   # a clean schema per test
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    yield url


@pytest.fixture
async def cloud_client(cloud_db_url: str, aiohttp_client: Any) -> Any:
    return await aiohttp_client(create_app(CloudSettings(db_url=cloud_db_url)))


def process_memory_kb(pid: int, field: str) -> int:
    """A process's memory figure from /proc/<pid>/status, in kB: "VmRSS" (resident now) or "VmHWM" (its peak)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def document_id(now_ms: int | None = None) -> str:
    """A document id as the till makes one (web_till/ids.js): a UUID version 7, its first 48 bits the
    Unix milliseconds it was made at, the rest random but for the version and variant bits."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)   # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)   # the RFC's variant
    return str(uuid.UUID(int=value))


def make_sale(device_id: str = "dev-1", device_code: str = "T1", seq: int = 1, *, qty: int = 2,
              price: int = 55000, doc_id: str | None = None, created_at: str = "2026-11-27T18:05:09+05:00",
              discount: int = 0, tender: str = "cash", **overrides: Any) -> dict[str, Any]:
    """A valid sale document, hashed as the till hashes it.

    `discount` (paisa) comes off the one line; a `tender` other than cash pays the exact total.
    """
    amount = qty * price - discount
    tax = line_tax(amount, 1800)
    line: dict[str, Any] = {"sku": "TAPAL-190", "name": "Tapal Danedar 190g", "qty": qty, "unit_price": price,
                            "gst_bp": 1800, "amount": amount, "tax": tax}
    doc: dict[str, Any] = {
        "id": doc_id or document_id(), "kind": "sale", "device_id": device_id, "device_code": device_code,
        "seq": seq, "created_at": created_at, "cashier_id": "c1", "lines": [line],
        "payments": [{"tender": "cash", "amount": amount + 10000}],
        "total": amount, "tax": tax, "change": 10000,
    }
    if discount:
        line["discount"] = discount
        doc["discount"] = discount
    if tender != "cash":
        doc.update(payments=[{"tender": tender, "amount": amount}], change=0)
    doc.update(overrides)
    doc["hash"] = document_hash(doc)
    return doc


async def cloud_at_revision(cloud_db_url: str, revision: str) -> Any:
    """An engine on the test database taken back to an older schema: every table dropped, then
    migrated to `revision` (the fixture made it at head). For migration tests, on both backends."""
    from sqlalchemy import text

    from cloud_api import schema
    from cloud_api.database import create_engine, migrate
    engine = create_engine(cloud_db_url)
    async with engine.begin() as conn:
        tables = ["alembic_version"] + [t.name for t in reversed(schema.metadata.sorted_tables)]
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(tables)} CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    await migrate(engine, revision)
    return engine
