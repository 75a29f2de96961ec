"""A box with a backlog of sales waiting for the cloud, for the uplink's tests (drain, poison)."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from gateway.journal import receive_batch
from gateway.pairing import Device
from gateway.store import Store
from tests.conftest import make_sale

DEVICE = Device("dev-1", "T1", "Counter")


async def fill(store: Store, n: int, first_seq: int = 1, **sale: Any) -> list[dict[str, Any]]:
    """`n` sales from DEVICE received by the box, as tablets push them (250 a request)."""
    sales = [make_sale(device_id=DEVICE.device_id, seq=s, **sale) for s in range(first_seq, first_seq + n)]
    for start in range(0, n, 250):
        async with store.transaction() as db:
            await receive_batch(db, DEVICE, sales[start:start + 250])
    return sales


async def states(store: Store) -> dict[str, int]:
    """How many documents the box holds in each cloud state (pending, in_cloud, rejected, parked...)."""
    rows = await store.read().execute_fetchall("SELECT cloud_state, count(*) AS n FROM journal GROUP BY cloud_state")
    return {row["cloud_state"]: row["n"] for row in rows}


async def until(condition: Any, deadline_s: float = 60.0) -> None:
    """Wait for an async condition, failing the test past the deadline."""
    deadline = time.monotonic() + deadline_s
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
