"""Poison in the pipe: one document the cloud refuses, in the middle of 1,000 queued ones.

The real cloud app runs in-process. The other 999 must arrive exactly once, and the
one must be parked with its reason, visible in `posline-gateway status` and in the
cloud's health (through the heartbeat); a restart makes it pending again.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import cloud_api.ingest
from cloud_api import schema
from cloud_api.database import create_engine
from gateway.box import cloud_identity
from gateway.cli import _status
from gateway.cloud_client import CloudClient
from gateway.heartbeat import send_heartbeat
from gateway.settings import GatewaySettings
from gateway.store import Store
from gateway.uplink import Uplink
from tests.conftest import make_sale
from tests.gateway.backlog import fill, states, until

N, POISON_AT = 1000, 500








def _cloud_bug_on(doc_id: str, monkeypatch: Any) -> None:
    """The cloud's own code fails on one document: the whole batch answers 500."""
    project = cloud_api.ingest.project   # the projection ingest calls (cloud_api/projections.py)

    def failing(rows: Any, shop_id: str, document: Any, day: str, now: str) -> None:
        if document.id == doc_id:
            raise RuntimeError("a cloud bug this document alone triggers")
        project(rows, shop_id, document, day, now)
    monkeypatch.setattr(cloud_api.ingest, "project", failing)


@pytest.mark.parametrize("poison", ["cloud answers 500", "cloud answers 400"])
async def test_one_poison_among_1000_is_parked_and_the_rest_arrive_once(
        poison: str, provisioned: GatewaySettings, cloud: Any, monkeypatch: Any, tmp_path: Path) -> None:
    server, shop = cloud
    store = await Store.open(provisioned.state_dir)
    sales = await fill(store, N)
    bad = sales[POISON_AT - 1]
    if poison == "cloud answers 500":
        _cloud_bug_on(bad["id"], monkeypatch)
        reason = "500"
    else:   # a row the box already holds (straight into its journal) whose envelope the cloud refuses
        async with store.transaction() as db:
            await db.execute("UPDATE journal SET received_at = ? WHERE id = ?", ("x" * 100, bad["id"]))
        reason = "received_at"
    identity = await cloud_identity(store.read())
    client = CloudClient(identity.cloud_url, identity.api_key, 10)
    uplink = Uplink(store, client, provisioned)
    task = asyncio.create_task(uplink.run())
    try:
        await until(lambda: _no_pending(store))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert await states(store) == {"in_cloud": N - 1, "parked": 1}
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")   # the `cloud` fixture's database
    async with engine.connect() as conn:
        d = schema.documents.c
        stored = (await conn.execute(select(d.id, func.count()).group_by(d.id))).all()
        facts = (await conn.execute(select(func.count()).select_from(schema.sale_facts))).scalar_one()
    await engine.dispose()
    assert {doc_id for doc_id, _ in stored} == {s["id"] for s in sales} - {bad["id"]}
    assert {count for _, count in stored} == {1} and facts == N - 1      # exactly once, projections too

    status = await _status(provisioned.state_dir)
    assert status["parked"] == 1 and status["backlog"] == 0
    [parked] = status["parked_documents"]
    assert parked["id"] == bad["id"] and parked["receipt_number"] == f"T1-{POISON_AT:06d}"
    assert reason in parked["reason"]

    await send_heartbeat(store, client, provisioned)           # the owner sees it in the cloud too
    async with httpx.AsyncClient(base_url=identity.cloud_url) as http:
        health = (await http.get(f"/v1/shops/{shop.shop_id}/health",
                                 headers={"Authorization": f"Bearer {shop.owner_token}"})).json()
    assert health["gateways"][0]["parked"] == 1 and reason in health["gateways"][0]["parked_reasons"][0]

    # The next start (say, after an upgrade) tries it again; nothing was dropped.
    assert await Uplink(store, client, provisioned).retry_parked() == 1
    assert await states(store) == {"in_cloud": N - 1, "pending": 1}
    await client.aclose()
    await store.close()


async def _no_pending(store: Store) -> bool:
    return "pending" not in await states(store)


async def test_parked_documents_are_offered_again_every_hour_without_a_restart(gateway, provisioned):
    """The cloud may be upgraded while the box runs: an hourly job un-parks, and the uplink delivers."""
    import sqlite3
    from gateway.keys import SCHEDULER
    from tests.gateway.conftest import paired
    till = await paired(gateway, provisioned)
    sale = make_sale(device_id=till["device_id"], device_code=till["device_code"], seq=1)
    assert (await gateway.post("/api/v1/journal:batch", headers=till["headers"],
                               json={"documents": [sale]})).status == 200
    await _wait(lambda: _state_of(provisioned, sale["id"]) == "in_cloud")

    def park() -> None:   # as if the cloud had refused it
        with sqlite3.connect(provisioned.state_dir / "gateway.db", timeout=30) as db:
            db.execute("UPDATE journal SET cloud_state = 'parked', cloud_reason = 'invalid: old cloud' WHERE id = ?",
                       (sale["id"],))
    # Off the event loop: the box runs on this test's loop, and a write of its own that is under way (the
    # uplink recording an answer, a heartbeat) holds SQLite's lock until the loop lets it finish.
    await asyncio.to_thread(park)
    job = gateway.server.app[SCHEDULER].get_job("parked")
    assert job.trigger.interval.total_seconds() == provisioned.parked_retry_s == 3600
    await job.func()
    await _wait(lambda: _state_of(provisioned, sale["id"]) == "in_cloud")   # offered again, taken (duplicate)


def _state_of(settings, doc_id: str) -> str:
    import sqlite3
    with sqlite3.connect(settings.state_dir / "gateway.db") as db:
        return db.execute("SELECT cloud_state FROM journal WHERE id = ?", (doc_id,)).fetchone()[0]


async def _wait(check, timeout_s: float = 10) -> None:
    import asyncio
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
