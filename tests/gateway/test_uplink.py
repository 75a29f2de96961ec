"""The uplink against a cloud faked with httpx.MockTransport: results, failures, backoff."""
from __future__ import annotations

import asyncio
import gzip
import json
import random
import threading

import httpx
import pytest

from cloud_api.service.clock import utc_now
from gateway.backoff import backoff_delay
from gateway.cloud_client import CloudClient, batch_body
from gateway.errors import CloudRefused, CloudUnreachable, UplinkError
from gateway.journal import receive_batch
from gateway.pairing import Device
from gateway.settings import GatewaySettings
from gateway.store import Store
from gateway.uplink import Uplink
from tests.conftest import make_sale

DEVICE = Device("dev-1", "T1", "Counter")


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


async def test_every_kind_of_answer_files_each_document_where_its_answer_says(store, tmp_path):
    """One batch answered stored (with its number), duplicate (without one: an older cloud), conflict
    and invalid: the journal, the stock moves, the khata's projections and the dead letters each end
    as that document's answer says, whatever the others in its batch were told."""
    from gateway.khata import REFUSED
    from gateway.stock import COVERED
    from tests.gateway.documents import make_credit_sale, make_customer
    customer = make_customer("Bilal", device_id=DEVICE.device_id, device_code="T1", seq=1)
    documents = [customer,
                 make_credit_sale(customer["customer_id"], device_id=DEVICE.device_id, device_code="T1", seq=2),
                 make_sale(device_id=DEVICE.device_id, seq=3),
                 make_credit_sale(customer["customer_id"], device_id=DEVICE.device_id, device_code="T1", seq=4)]
    async with store.transaction() as db:
        await receive_batch(db, DEVICE, documents)
    ids = [document["id"] for document in documents]
    answers = [{"status": "stored", "ingest_seq": 41}, {"status": "duplicate"},
               {"status": "conflict", "ingest_seq": 7}, {"status": "invalid", "reason": "total: wrong"}]

    def handler(request: httpx.Request) -> httpx.Response:
        sent = [document["id"] for document in json.loads(gzip.decompress(request.content))["documents"]]
        assert sent == ids
        return httpx.Response(200, json={"server_time": utc_now(), "results": [
            {"id": document_id, **answer} for document_id, answer in zip(sent, answers)]})

    client = cloud(handler)
    assert await Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw")).push_once() == 4
    db = store.read()
    journal = {row["id"]: (row["cloud_state"], row["ingest_seq"]) for row in
               await db.execute_fetchall("SELECT id, cloud_state, ingest_seq FROM journal")}
    # The conflict's own number is not the box's to keep: the cloud counts its own version (COVERED).
    assert journal == {ids[0]: ("in_cloud", 41), ids[1]: ("in_cloud", COVERED), ids[2]: ("rejected", COVERED),
                       ids[3]: ("rejected", None)}
    moves = {row["document_id"]: row["ingest_seq"] for row in
             await db.execute_fetchall("SELECT document_id, ingest_seq FROM stock_moves")}
    # A sale the cloud refused still took its goods off the shelf: the box keeps counting it (NULL).
    assert moves == {ids[1]: COVERED, ids[2]: COVERED, ids[3]: None}
    assert {tuple(row) for row in await db.execute_fetchall(
        "SELECT document_id, ingest_seq FROM khata_entries")} == {(ids[1], COVERED), (ids[3], REFUSED)}
    assert {tuple(row) for row in await db.execute_fetchall(
        "SELECT document_id, ingest_seq FROM customer_versions")} == {(ids[0], 41)}
    dead = await db.execute_fetchall("SELECT document_id, reason FROM dead_letter ORDER BY pk")
    assert [row["document_id"] for row in dead] == [ids[2], ids[3]]
    assert dead[0]["reason"].startswith("conflict: ") and dead[1]["reason"] == "invalid: total: wrong"
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
            await client.post_batch(batch_body([], {}))
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


def _storing(request: httpx.Request) -> httpx.Response:
    docs = json.loads(gzip.decompress(request.content))["documents"]
    return httpx.Response(200, json={"server_time": utc_now(),
                                     "results": [{"id": d["id"], "status": "stored"} for d in docs]})


async def _run_until(uplink: Uplink, condition, deadline_s: float = 20.0) -> None:
    task = asyncio.create_task(uplink.run())
    deadline = asyncio.get_running_loop().time() + deadline_s
    try:
        while not await condition():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


FAST = dict(uplink_backoff_base_s=0.005, uplink_backoff_cap_s=0.02, uplink_idle_s=0.05)


@pytest.mark.parametrize("status", [400, 500])
async def test_a_failing_document_is_bisected_out_and_parked(store, tmp_path, status):
    sales = await fill(store, 40)
    poison = sales[22]["id"]
    sizes = []

    def handler(request: httpx.Request) -> httpx.Response:
        docs = json.loads(gzip.decompress(request.content))["documents"]
        sizes.append(len(docs))
        if any(d["id"] == poison for d in docs):
            return httpx.Response(status, json={"error": {"code": "x", "message": "cannot take it"}})
        return _storing(request)

    client = cloud(handler)
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw", **FAST))

    async def settled():
        return "pending" not in set((await states(store)).values())
    await _run_until(uplink, settled)
    final = await states(store)
    assert final.pop(poison) == "parked" and set(final.values()) == {"in_cloud"}
    row = (await store.read().execute_fetchall("SELECT cloud_reason FROM journal WHERE id = ?", (poison,)))[0]
    assert ("cannot take it" if status == 400 else "500") in row["cloud_reason"]
    assert len(sizes) <= 40   # a search, not one request per document
    await client.aclose()


@pytest.mark.parametrize("status", [500, 401, 404, 503])
async def test_when_every_document_fails_nothing_is_parked(store, tmp_path, status):
    await fill(store, 8)
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= 120:   # long enough for several searches (8 documents, 5 culprits at most)
            return httpx.Response(status, json={"error": {"code": "x", "message": "down"}})
        return _storing(request)

    client = cloud(handler)
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw", **FAST))

    async def recovered():
        return calls["n"] > 120 and "pending" not in set((await states(store)).values())
    await _run_until(uplink, recovered)
    # The cloud's fault, not the documents': when it recovers, every one is taken, none parked.
    assert set((await states(store)).values()) == {"in_cloud"}
    await client.aclose()


async def test_parked_documents_are_retried_on_start_and_a_damaged_row_is_parked(store, tmp_path):
    sales = await fill(store, 5)
    async with store.transaction() as db:
        await db.execute("UPDATE journal SET cloud_state = 'parked', cloud_reason = 'old cloud' WHERE id = ?",
                         (sales[0]["id"],))
        await db.execute("UPDATE journal SET body = '{not json' WHERE id = ?", (sales[3]["id"],))
    client = cloud(_storing)
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw", **FAST))

    async def settled():
        return "pending" not in set((await states(store)).values())
    await _run_until(uplink, settled)
    final = await states(store)
    assert final[sales[0]["id"]] == "in_cloud"       # parked before this start: sent again, and taken
    assert final.pop(sales[3]["id"]) == "parked"     # unreadable here: set aside, the rest flow
    assert set(final.values()) == {"in_cloud"}
    await client.aclose()


async def test_a_batch_packed_while_the_uplink_stops_is_not_sent(store, tmp_path):
    """stop() lets batches in flight finish but sends no new one: not even one whose body was being packed
    (on a worker thread) when it was asked to stop."""
    await fill(store, 3)
    requests: list[httpx.Request] = []
    client = cloud(lambda request: requests.append(request) or httpx.Response(503))
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw"))
    packing, release = threading.Event(), threading.Event()
    pack = uplink._packer.pack

    def slow_pack(*args):
        packing.set()
        release.wait(10)
        return pack(*args)
    uplink._packer.pack = slow_pack
    draining = asyncio.create_task(uplink.drain())
    assert await asyncio.to_thread(packing.wait, 10)
    stopping = asyncio.create_task(uplink.stop())
    await asyncio.sleep(0.05)
    release.set()
    assert await draining == 0
    await stopping
    assert requests == [] and set((await states(store)).values()) == {"pending"}
    await client.aclose()
