"""The uplink against a cloud faked with httpx.MockTransport: results, failures, backoff."""
from __future__ import annotations

import asyncio
import gzip
import json
import random

import httpx
import pytest

from cloud_api.service.clock import utc_now
from gateway.backoff import backoff_delay
from gateway.cloud_client import CloudClient
from gateway.errors import CloudRefused, CloudUnreachable, UplinkError
from gateway.journal import receive_batch
from gateway.pairing import Device
from gateway.settings import GatewaySettings
from gateway.store import Store
from gateway.uplink import Uplink
from tests.conftest import make_sale

DEVICE = Device("dev-1", "T1", "Counter")


@pytest.fixture
async def store(tmp_path):
    store = await Store.open(tmp_path / "gw")
    yield store
    await store.close()


async def fill(store: Store, n: int) -> list[dict]:
    sales = [make_sale(device_id=DEVICE.device_id, seq=i) for i in range(1, n + 1)]
    async with store.transaction() as db:
        await receive_batch(db, DEVICE, sales)
    return sales


def cloud(handler) -> CloudClient:
    return CloudClient("http://cloud.test", "key", 5, transport=httpx.MockTransport(handler))


async def states(store: Store) -> dict[str, str]:
    return {row["id"]: row["cloud_state"] for row in
            await store.read().execute_fetchall("SELECT id, cloud_state FROM journal ORDER BY rx_seq")}


def test_backoff_grows_to_its_cap_and_keeps_a_floor():
    rng = random.Random(7)
    delays = [backoff_delay(n, 1.0, 30.0, rng) for n in range(1, 10)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(30.0, 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 30.0
    assert len({round(d, 6) for d in delays}) == len(delays)   # jittered, not lockstep


async def test_results_are_applied_per_document(store, tmp_path):
    sales = await fill(store, 3)
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["content-encoding"] == "gzip"
        body = json.loads(gzip.decompress(request.content))
        sent.append(body)
        return httpx.Response(200, json={"server_time": utc_now(), "results": [
            {"id": body["documents"][0]["id"], "status": "stored"},
            {"id": body["documents"][1]["id"], "status": "duplicate"},
            {"id": body["documents"][2]["id"], "status": "invalid", "reason": "lines.0.tax: wrong"}]})

    client = cloud(handler)
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw"))
    assert await uplink.push_once() == 3
    assert [d["seq"] for d in sent[0]["documents"]] == [1, 2, 3]          # receive order
    assert set(sent[0]["received_at"]) == {s["id"] for s in sales}
    assert list((await states(store)).values()) == ["in_cloud", "in_cloud", "rejected"]
    dead = await store.read().execute_fetchall("SELECT document_id, reason, source FROM dead_letter")
    assert [(r["document_id"], r["source"]) for r in dead] == [(sales[2]["id"], "cloud")]
    assert "lines.0.tax" in dead[0]["reason"]
    assert await uplink.push_once() == 0      # nothing pending: nothing sent
    assert len(sent) == 1
    assert client.wan.state == "online"
    await client.aclose()


async def test_a_down_cloud_leaves_everything_pending(store, tmp_path):
    await fill(store, 2)

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = cloud(handler)
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw"))
    with pytest.raises(CloudUnreachable):
        await uplink.push_once()
    assert set((await states(store)).values()) == {"pending"}
    assert client.wan.state == "offline"
    await client.aclose()


async def test_a_short_answer_marks_nothing(store, tmp_path):
    await fill(store, 2)
    client = cloud(lambda request: httpx.Response(200, json={"server_time": utc_now(), "results": []}))
    with pytest.raises(UplinkError, match="0 results for 2"):
        await Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw")).push_once()
    assert set((await states(store)).values()) == {"pending"}
    await client.aclose()


async def test_refusals_and_server_errors_are_told_apart(store):
    for status, error, wan in [(503, CloudUnreachable, "offline"), (401, CloudRefused, "refused")]:
        client = cloud(lambda request, s=status: httpx.Response(s, json={"error": {"code": "x", "message": "no"}}))
        with pytest.raises(error):
            await client.post_batch([], {})
        assert client.wan.state == wan
        await client.aclose()


async def test_the_loop_retries_with_backoff_then_drains(store, tmp_path):
    await fill(store, 4)
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= 2:
            return httpx.Response(502)
        docs = json.loads(gzip.decompress(request.content))["documents"]
        return httpx.Response(200, json={"server_time": utc_now(),
                                         "results": [{"id": d["id"], "status": "stored"} for d in docs]})

    client = cloud(handler)
    settings = GatewaySettings(state_dir=tmp_path / "gw", uplink_batch_size=3, uplink_backoff_base_s=0.01,
                               uplink_backoff_cap_s=0.05, uplink_idle_s=10)
    task = asyncio.create_task(Uplink(store, client, settings).run())
    for _ in range(200):
        if set((await states(store)).values()) == {"in_cloud"}:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    assert set((await states(store)).values()) == {"in_cloud"}
    assert calls["n"] == 4    # two failures, then two batches (3 + 1)
    await client.aclose()


async def test_an_unreadable_answer_is_retried_not_fatal(store, tmp_path):
    await fill(store, 2)
    answers = iter([httpx.Response(200, text="<html>captive portal</html>"),
                    httpx.Response(200, json={"server_time": utc_now(), "results": "nope"})])
    client = cloud(lambda request: next(answers))
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw"))
    for _ in range(2):
        with pytest.raises(UplinkError, match="unreadable BatchResponse"):
            await uplink.push_once()
    assert set((await states(store)).values()) == {"pending"}
    await client.aclose()
