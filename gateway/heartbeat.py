"""The heartbeat: the cloud hears the box's health even when no sale is moving."""
from __future__ import annotations

import shutil
from importlib.metadata import PackageNotFoundError, version

from cloud_api.contract import Heartbeat

from .cloud_client import CloudClient
from .fiscal_jobs import summary as fiscal_summary
from .journal import backlog, parked
from .returns import over_refunds
from .settings import GatewaySettings
from .store import Store


def gateway_version() -> str:
    try:
        return version("posline")
    except PackageNotFoundError:
        return "dev"


async def build_heartbeat(store: Store, settings: GatewaySettings) -> Heartbeat:
    db = store.read()
    pending = await backlog(db)
    set_aside = await parked(db)
    devices = [dict(row) for row in await db.execute_fetchall(
        "SELECT device_id, device_code, name, last_seen_at FROM devices ORDER BY device_code")]
    return Heartbeat(version=gateway_version(), backlog=pending["backlog"],
                     oldest_unsynced_at=pending["oldest_unsynced_at"],
                     disk_free_bytes=shutil.disk_usage(settings.state_dir).free, devices=devices,
                     parked=set_aside["parked"],
                     parked_reasons=[f"{d['receipt_number']}: {d['reason']}" for d in set_aside["parked_documents"]],
                     over_refunds=[flag["text"][:1000] for flag in
                                   (await over_refunds(db, limit=20))["over_refunds"]],
                     fiscal=await fiscal_summary(db, zone=settings.timezone))   # None while the shop does not report


async def send_heartbeat(store: Store, cloud: CloudClient, settings: GatewaySettings) -> None:
    await cloud.heartbeat(await build_heartbeat(store, settings))
