"""The box's identity and small state, kept in the `box` table of its database."""
from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from .errors import NotProvisioned


@dataclass(frozen=True)
class CloudIdentity:
    """What enrolment gave this box: where the cloud is and how to prove who we are."""

    cloud_url: str
    api_key: str
    gateway_id: str
    shop_id: str
    shop_name: str


async def get_value(db: aiosqlite.Connection, key: str) -> str | None:
    row = await (await db.execute("SELECT value FROM box WHERE key = ?", (key,))).fetchone()
    return row[0] if row else None


async def set_values(db: aiosqlite.Connection, **values: str) -> None:
    """Write keys inside the caller's transaction."""
    await db.executemany("INSERT INTO box (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", list(values.items()))


async def cloud_identity(db: aiosqlite.Connection) -> CloudIdentity:
    """The box's enrolment, or NotProvisioned."""
    rows = dict(await db.execute_fetchall(
        "SELECT key, value FROM box WHERE key IN ('cloud_url','api_key','gateway_id','shop_id','shop_name')"))
    if len(rows) < 5:
        raise NotProvisioned("this gateway is not provisioned: run posline-gateway provision")
    return CloudIdentity(**rows)
