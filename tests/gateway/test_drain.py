"""The drain after an outage: several batches in flight, lost replies, the WAN's return, byte-bounded batches.

The real cloud app runs in-process behind a real TCP fault proxy (tests/faultproxy.py), so a lost
reply is a connection cut after the cloud committed, as on a real WAN. No speed is asserted here
(that is `make bench`): only that every sale lands once, and what the uplink saw and did.
"""
from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cloud_api import schema
from cloud_api.contract import document_hash
from cloud_api.database import create_engine
from cloud_api.service.clock import utc_now
from gateway.box import cloud_identity
from gateway.cloud_client import CloudClient
from gateway.journal import receive_batch
from gateway.settings import GatewaySettings
from gateway.store import Store
from gateway.uplink import Uplink
from tests.conftest import make_sale
from tests.gateway.backlog import DEVICE, fill, states, until
from tests.faultproxy import FaultProxy









async def _no_pending(store: Store) -> bool:
    return "pending" not in await states(store)


@pytest.fixture
async def wan(cloud: Any) -> Any:
    """A fault proxy between the box and the in-process cloud."""
    server, _shop = cloud
    proxy = FaultProxy(server.port).start()
    yield proxy
    proxy.stop()


async def _box(provisioned: GatewaySettings, proxy: FaultProxy, **settings: Any) -> tuple[Store, CloudClient,
                                                                                             GatewaySettings]:
    store = await Store.open(provisioned.state_dir)
    identity = await cloud_identity(store.read())
    return store, CloudClient(proxy.url, identity.api_key, 10), provisioned.model_copy(update=settings)


async def _cloud_counts(tmp_path: Path) -> tuple[dict[str, int], int, Any]:
    """Each document id the cloud holds with how many times, its sale facts, and the device's gap marks."""
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")   # the `cloud` fixture's database
    async with engine.connect() as conn:
        d = schema.documents.c
        stored = dict((await conn.execute(select(d.id, func.count()).group_by(d.id))).all())
        facts = (await conn.execute(select(func.count()).select_from(schema.sale_facts))).scalar_one()
        dv = schema.devices.c
        device = (await conn.execute(select(dv.contiguous_seq, dv.max_seq)
                                     .where(dv.device_id == DEVICE.device_id))).one()
    await engine.dispose()
    return stored, facts, device


async def _run(uplink: Uplink) -> asyncio.Task:
    return asyncio.create_task(uplink.run())


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_batches_in_flight_with_lost_replies_land_every_sale_exactly_once(
        provisioned: GatewaySettings, wan: FaultProxy, tmp_path: Path) -> None:
    store, client, settings = await _box(provisioned, wan, uplink_batch_size=40, uplink_window=4,
                                         uplink_probe_s=0.2)
    sales = await fill(store, 600)
    wan.set_mode("drop_reply", drop=6)    # six answers lost after the cloud committed, batches in flight
    uplink = Uplink(store, client, settings)
    task = await _run(uplink)
    try:
        await until(lambda: _no_pending(store))
    finally:
        await _stop(task)
    assert wan.dropped_replies == 6
    assert uplink.most_in_flight > 1                  # really several at once
    assert await states(store) == {"in_cloud": 600}
    stored, facts, device = await _cloud_counts(tmp_path)
    assert set(stored) == {s["id"] for s in sales}
    assert set(stored.values()) == {1} and facts == 600     # exactly once, projections too
    # Batches landed out of order and some twice; the gap report counts the seqs held: no gap.
    assert (device.contiguous_seq, device.max_seq) == (600, 600)
    await client.aclose()
    await store.close()


async def test_replies_lost_while_sales_keep_arriving_still_land_once(
        provisioned: GatewaySettings, wan: FaultProxy, tmp_path: Path) -> None:
    """Tablets keep pushing during the drain: new documents join batches behind those in flight."""
    store, client, settings = await _box(provisioned, wan, uplink_batch_size=25, uplink_window=3,
                                         uplink_probe_s=0.2)
    sales = await fill(store, 200)
    wan.set_mode("drop_reply", drop=4)
    uplink = Uplink(store, client, settings)
    task = await _run(uplink)
    try:
        for start in range(201, 401, 20):
            sales += await fill(store, 20, first_seq=start)
            uplink.wake()
            await asyncio.sleep(0.05)
        await until(lambda: _no_pending(store))
    finally:
        await _stop(task)
    stored, facts, device = await _cloud_counts(tmp_path)
    assert set(stored) == {s["id"] for s in sales} and set(stored.values()) == {1} and facts == 400
    assert (device.contiguous_seq, device.max_seq) == (400, 400)
    await client.aclose()
    await store.close()


async def test_the_probe_notices_the_wan_return_within_its_interval(
        provisioned: GatewaySettings, wan: FaultProxy, tmp_path: Path) -> None:
    # A backoff that alone would wait 15-30 s before the next try: only the probe can explain a quick return.
    probe_s = 0.3
    store, client, settings = await _box(provisioned, wan, uplink_backoff_base_s=30.0, uplink_backoff_cap_s=60.0,
                                         uplink_probe_s=probe_s, uplink_idle_s=60.0)
    sales = await fill(store, 120)
    wan.set_mode("cut")
    uplink = Uplink(store, client, settings)
    task = await _run(uplink)
    try:
        async def probing() -> bool:
            return uplink.state == "offline" and uplink.probes >= 3
        await until(probing, 20)
        assert client.wan.state == "offline" and await states(store) == {"pending": 120}
        returned_at = asyncio.get_running_loop().time()
        wan.set_mode("pass")
        await until(lambda: _no_pending(store), 10)
    finally:
        await _stop(task)
    back = [t for event, t in uplink.events if event == "wan_back"]
    assert back and back[0] >= returned_at
    # Seen by a probe within about one interval (generous: a loaded machine), not by the backoff's end.
    assert back[0] - returned_at < probe_s + 3.0
    assert "retry" not in {event for event, _ in uplink.events}
    assert client.wan.state == "online"
    stored, facts, _ = await _cloud_counts(tmp_path)
    assert set(stored) == {s["id"] for s in sales} and facts == 120
    await client.aclose()
    await store.close()


def _cloud_capturing(bodies: list[bytes]) -> CloudClient:
    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        docs = json.loads(gzip.decompress(request.content))["documents"]
        return httpx.Response(200, json={"server_time": utc_now(),
                                         "results": [{"id": d["id"], "status": "stored"} for d in docs]})
    return CloudClient("http://cloud.test", "key", 5, transport=httpx.MockTransport(handler))


async def test_a_tablet_push_wakes_an_idle_uplink_at_once(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "gw")
    bodies: list[bytes] = []
    client = _cloud_capturing(bodies)
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw", uplink_idle_s=60.0))
    task = await _run(uplink)
    try:
        await asyncio.sleep(0.2)            # drained (nothing), now asleep for up to a minute
        assert uplink.state == "idle" and not bodies
        await fill(store, 5)
        uplink.wake()                       # what the till API does after storing a batch
        await until(lambda: _no_pending(store), 10)
    finally:
        await _stop(task)
    assert len(bodies) == 1
    await client.aclose()
    await store.close()


@pytest.mark.parametrize("limit, lines", [(8 * 1024, 1), (4 * 1024, 12)])
async def test_batches_are_cut_by_their_gzipped_size(tmp_path: Path, limit: int, lines: int) -> None:
    store = await Store.open(tmp_path / "gw")
    sales = await fill(store, 400)
    if lines > 1:   # bigger documents: a long receipt
        async with store.transaction() as db:
            await db.execute("DELETE FROM journal")
        sales = []
        for seq in range(1, 201):
            sale = make_sale(device_id=DEVICE.device_id, seq=seq)
            sale["lines"] = sale["lines"] * lines
            sale.update(total=sale["total"] * lines, tax=sale["tax"] * lines,
                        payments=[{"tender": "cash", "amount": sale["total"] * lines + 10000}])
            sale["hash"] = document_hash(sale)
            sales.append(sale)
        async with store.transaction() as db:
            results = await receive_batch(db, DEVICE, sales)
        assert {r.status for r in results} == {"stored"}
    bodies: list[bytes] = []
    client = _cloud_capturing(bodies)
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw", uplink_batch_bytes=limit))
    assert await uplink.drain() == len(sales)
    assert await states(store) == {"in_cloud": len(sales)}
    sizes = [len(body) for body in bodies]
    counts = [len(json.loads(gzip.decompress(body))["documents"]) for body in bodies]
    assert len(bodies) > 2 and sum(counts) == len(sales)
    assert max(sizes) <= limit                          # the bound holds, as sent on the wire
    assert min(sizes[:-1]) >= limit // 2                # and batches are cut by it, not far below it
    assert max(counts) < 500                            # the count's bound never came into it
    sent_ids = [d["id"] for body in bodies for d in json.loads(gzip.decompress(body))["documents"]]
    assert sorted(sent_ids) == sorted(s["id"] for s in sales)   # no document in two batches
    await client.aclose()
    await store.close()
