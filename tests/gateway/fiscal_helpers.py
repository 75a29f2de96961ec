"""A box's fiscal queue against the FBR / PRA simulator (tests/fbr_sim.py), without the web app.

The store is real (SQLite on disk), documents enter through journal.receive_batch as a till's
batch does, the catalog through catalog.save_catalog as a pull does, and the queue posts over
real HTTP to the simulator on 127.0.0.1.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from cloud_api.contract import Catalog, FiscalSettings, Product
from gateway.catalog import save_catalog
from gateway.fiscal_queue import FiscalQueue
from gateway.journal import receive_batch
from gateway.pairing import Device
from gateway.settings import GatewaySettings
from gateway.store import Store
from tests.fbr_sim import SIM_TOKEN, FbrSimulator

T1 = Device("dev-1", "T1", "Counter 1")
T2 = Device("dev-2", "T2", "Counter 2")
POS_T1, POS_T2 = 123456, 123457


def fiscal_catalog(*, mode: str = "fbr", pos_ids: dict[str, int] | None = None, token: str | None = SIM_TOKEN,
                   retry_requested_at: str | None = None, version: int = 1) -> Catalog:
    """A shop's catalog with fiscal settings, as the cloud gives it to a box (token included)."""
    return Catalog(
        shop_id="shop-1", shop_name="Madina", version=version, cashiers=[],
        products=[Product(sku="TAPAL-190", name="Tapal Danedar 190g", price=55000, gst_bp=1800,
                          pct_code="09023000")],
        fiscal=FiscalSettings(mode=mode, pos_ids={T1.device_id: POS_T1} if pos_ids is None else pos_ids,
                              retry_requested_at=retry_requested_at),
        fiscal_token=token)


def quick_settings(state_dir: Path, sim: FbrSimulator, **extra: Any) -> GatewaySettings:
    """Short timeouts and backoffs, the simulator as the authority."""
    values: dict[str, Any] = dict(fiscal_url=sim.url("fbr"), fiscal_timeout_s=0.5, fiscal_backoff_base_s=0.05,
                                  fiscal_backoff_cap_s=0.2, fiscal_idle_s=0.2, fiscal_ambiguous_after=3)
    values.update(extra)
    return GatewaySettings(state_dir=state_dir, interfaces="127.0.0.1", mdns=False, **values)


@dataclass
class FiscalBox:
    settings: GatewaySettings
    store: Store
    queue: FiscalQueue
    sim: FbrSimulator

    async def catalog(self, catalog: Catalog) -> bool:
        async with self.store.transaction() as db:
            changed = await save_catalog(db, self.settings.state_dir, catalog, f'"v{catalog.version}"')
        self.queue.wake()   # as app.py's catalog job does after a pull that changed something
        return changed

    async def receive(self, device: Device, documents: list[dict[str, Any]]) -> list[str]:
        async with self.store.transaction() as db:
            results = await receive_batch(db, device, documents, zone=self.settings.timezone)
        self.queue.wake_for_documents({doc["kind"] for doc in documents})   # as the till API does after a batch
        return [result.status for result in results]

    async def jobs(self) -> list[dict[str, Any]]:
        return [dict(row) for row in await self.store.read().execute_fetchall(
            "SELECT * FROM fiscal_jobs ORDER BY position")]

    async def job(self, usin: str) -> dict[str, Any]:
        return next(job for job in await self.jobs() if job["usin"] == usin)


async def open_box(state_dir: Path, sim: FbrSimulator, catalog: Catalog | None = None, **extra: Any) -> FiscalBox:
    settings = quick_settings(state_dir, sim, **extra)
    store = await Store.open(settings.state_dir)
    box = FiscalBox(settings, store, FiscalQueue(store, settings), sim)
    await box.catalog(catalog or fiscal_catalog())
    return box


async def close_box(box: FiscalBox) -> None:
    await box.queue.stop()
    await box.store.close()


async def eventually(check: Callable[[], Awaitable[Any]], timeout_s: float = 10.0) -> Any:
    """The first truthy value of check(), polled; fails the test after timeout_s."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {check.__qualname__}")
        await asyncio.sleep(0.05)
