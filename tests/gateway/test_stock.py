"""Stock on the box: the cloud's snapshot (faked with httpx.MockTransport) plus the box's own movements."""
from __future__ import annotations

import asyncio
import gzip
import json
import random
from typing import Any

import httpx

import gateway.app as gateway_app
from cloud_api.service.clock import utc_now
from gateway import stock
from gateway.cloud_client import CloudClient
from gateway.journal import receive_batch
from gateway.pairing import Device
from gateway.settings import GatewaySettings
from gateway.store import Store, one_read
from gateway.uplink import Uplink
from tests.conftest import make_sale
from tests.gateway.conftest import paired
from tests.gateway.documents import make_loose_sale, make_refund

T1 = Device("dev-1", "T1", "Counter")
T2 = Device("dev-2", "T2", "Back counter")


class CloudJournal:
    """The cloud's journal as the box's uplink meets it: an ingest_seq per stored document (the fake
    clouds of the stock and khata tests answer their snapshots by that watermark)."""

    def __init__(self) -> None:
        self.journal: list[dict[str, Any]] = []
        self.seq_of: dict[str, int] = {}

    def client(self) -> CloudClient:
        # Each fake cloud's handle() answers its snapshot and hands journal batches to ingest().
        return CloudClient("http://cloud.test", "key", 5,
                           transport=httpx.MockTransport(self.handle))   # type: ignore[attr-defined]

    def ingest(self, request: httpx.Request) -> httpx.Response:
        """POST /v1/journal:batch: each new id stored at the next ingest_seq, a known one a duplicate."""
        results = []
        for document in json.loads(gzip.decompress(request.content))["documents"]:
            status = "duplicate" if document["id"] in self.seq_of else "stored"
            if status == "stored":
                self.journal.append(document)
                self.seq_of[document["id"]] = len(self.journal)
            results.append({"id": document["id"], "status": status, "ingest_seq": self.seq_of[document["id"]]})
        return httpx.Response(200, json={"server_time": utc_now(), "results": results})


class FakeCloud(CloudJournal):
    """The cloud's journal as the box meets it: an ingest_seq per stored document, snapshots by watermark."""

    def __init__(self, base: dict[str, int]):
        super().__init__()
        self.base = dict(base)
        self.lag = 0                 # answer snapshots this many documents behind the journal
        self.stock_status = 200      # 404: a cloud older than GET /v1/stock
        self.stock_calls = 0

    def stock_at(self, watermark: int) -> dict[str, int]:
        return moved(self.base, self.journal[:watermark])

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/journal:batch":
            return self.ingest(request)
        assert request.url.path == "/v1/stock" and request.headers["authorization"] == "Bearer key"
        self.stock_calls += 1
        if self.stock_status != 200:
            return httpx.Response(self.stock_status, json={"error": {"code": "not_found", "message": "no route"}})
        watermark = max(0, len(self.journal) - self.lag)
        return httpx.Response(200, json={"watermark": watermark, "stock": self.stock_at(watermark)})


def moved(base: dict[str, int], documents: list[dict[str, Any]]) -> dict[str, int]:
    """The shelf after these documents, worked out independently of the box: sales out, returns back."""
    shelf = dict(base)
    for document in documents:
        sign = -1 if document["kind"] == "sale" else 1
        for line in document["lines"]:
            shelf[line["sku"]] = shelf.get(line["sku"], 0) + sign * line["qty"]
    return shelf


class Snapshots:
    """A cloud whose GET /v1/stock answers whatever the test sets."""

    def __init__(self) -> None:
        self.answer: tuple[int, Any] = (404, {"error": {"code": "not_found", "message": "no"}})

    def client(self) -> CloudClient:
        return CloudClient("http://cloud.test", "key", 5,
                           transport=httpx.MockTransport(lambda request: httpx.Response(self.answer[0], json=self.answer[1])))

    def set(self, watermark: int, figures: dict[str, int]) -> None:
        self.answer = (200, {"watermark": watermark, "stock": figures})


async def receive(store: Store, device: Device, *documents: dict[str, Any]) -> None:
    async with store.transaction() as db:
        results = await receive_batch(db, device, list(documents))
    assert {r.status for r in results} == {"stored"}


async def ack(store: Store, document: dict[str, Any], ingest_seq: int) -> None:
    async with store.transaction() as db:
        await stock.record_ingest_seq(db, document["id"], ingest_seq)


async def test_each_document_counts_once_whether_the_snapshot_covers_it_or_not(store):
    """The rule itself: snapshot + movements of documents with ingest_seq null or above its watermark."""
    a = make_sale(device_id=T1.device_id, seq=1, qty=2)
    b = make_sale(device_id=T1.device_id, seq=2, qty=3)
    sugar = make_loose_sale(device_id=T1.device_id, device_code="T1", seq=3, grams=1250)
    back = make_refund(a, {0: 1}, device_id=T2.device_id, device_code="T2", seq=1)
    await receive(store, T1, a, b, sugar)
    await receive(store, T2, back)
    cloud = Snapshots()
    client = cloud.client()
    db = store.read()

    assert not await stock.pull_stock(store, client)          # an older cloud: 404, no snapshot yet
    assert await stock.on_hand(db) is None
    assert json.loads((await stock.stock_for_tills(db, T1.device_id))[1]) == {"stock": {}, "device_seq": 3}

    cloud.set(10, {"TAPAL-190": 100, "SUGAR-LOOSE": 5000, "LIPTON-95": 7})
    assert await stock.pull_stock(store, client)
    # Nothing acked: every held document moves the figures (sales out, the return back; grams for sugar).
    assert await stock.on_hand(db) == {"TAPAL-190": 96, "SUGAR-LOOSE": 3750, "LIPTON-95": 7}

    await ack(store, a, 11)   # acked between two snapshots: above the held watermark, still the box's to count
    assert (await stock.on_hand(db))["TAPAL-190"] == 96
    cloud.set(11, {"TAPAL-190": 98, "SUGAR-LOOSE": 5000, "LIPTON-95": 7})   # the cloud now counts a
    assert await stock.pull_stock(store, client)
    assert (await stock.on_hand(db))["TAPAL-190"] == 96

    for document, seq in ((b, 12), (sugar, 13), (back, 14)):
        await ack(store, document, seq)
    cloud.set(13, {"TAPAL-190": 95, "SUGAR-LOOSE": 3750, "LIPTON-95": 7})   # b and the sugar, not the return
    assert await stock.pull_stock(store, client)
    assert await stock.on_hand(db) == {"TAPAL-190": 96, "SUGAR-LOOSE": 3750, "LIPTON-95": 7}

    cloud.set(12, {"TAPAL-190": 95, "SUGAR-LOOSE": 5000, "LIPTON-95": 7})   # an older answer, arriving late
    assert not await stock.pull_stock(store, client)
    assert await stock.on_hand(db) == {"TAPAL-190": 96, "SUGAR-LOOSE": 3750, "LIPTON-95": 7}
    row = await (await db.execute("SELECT watermark FROM stock_snapshot")).fetchone()
    assert row[0] == 13

    cloud.set(14, {"TAPAL-190": 96, "SUGAR-LOOSE": 3750, "LIPTON-95": 6})   # the owner wrote one off
    assert await stock.pull_stock(store, client)
    assert await stock.on_hand(db) == {"TAPAL-190": 96, "SUGAR-LOOSE": 3750, "LIPTON-95": 6}
    await client.aclose()


async def test_a_document_acked_without_a_number_is_left_to_the_snapshots(store):
    """An older cloud acks without ingest_seq (and has no snapshots); once upgraded, its first snapshot
    counts that sale: the box must not count it a second time, ever."""
    sale = make_sale(device_id=T1.device_id, seq=1, qty=2)
    await receive(store, T1, sale)
    async with store.transaction() as db:
        await stock.record_ingest_seq(db, sale["id"], None)
    cloud = Snapshots()
    client = cloud.client()
    cloud.set(1, {"TAPAL-190": 98})            # the upgraded cloud's first snapshot already counts the sale
    assert await stock.pull_stock(store, client)
    assert await stock.on_hand(store.read()) == {"TAPAL-190": 98}
    await client.aclose()


async def test_figures_match_the_shelf_through_any_order_of_sales_acks_and_snapshots(store, tmp_path):
    """Random interleavings of tablets' documents, uplink batches and (lagging) snapshots: never off by one."""
    base = {"TAPAL-190": 500, "SUGAR-LOOSE": 50000}
    for seed in range(4):
        rng = random.Random(seed)
        cloud = FakeCloud(base)
        client = cloud.client()
        gateway_store = await Store.open(tmp_path / f"gw-{seed}")
        uplink = Uplink(gateway_store, client, GatewaySettings(state_dir=tmp_path / f"gw-{seed}", uplink_batch_size=2))
        held: list[dict[str, Any]] = []
        sales: list[dict[str, Any]] = []
        seqs = {T1: 0, T2: 0}
        snapshot = False
        for _ in range(80):
            action = rng.choice(["sale", "sale", "refund", "push", "push", "snapshot"])
            if action in ("sale", "refund"):
                device = rng.choice([T1, T2])
                seqs[device] += 1
                own = dict(device_id=device.device_id, device_code=device.device_code, seq=seqs[device])
                if action == "refund" and sales:
                    document = make_refund(rng.choice(sales), {0: 1}, **own)
                elif rng.random() < 0.5:
                    document = make_loose_sale(grams=rng.randint(100, 2000), **own)
                else:
                    document = make_sale(qty=rng.randint(1, 4), **own)
                if document["kind"] == "sale":
                    sales.append(document)
                await receive(gateway_store, device, document)
                held.append(document)
            elif action == "push":
                await uplink.push_once()
            else:
                cloud.lag = rng.choice([0, 0, 1, 3])
                snapshot = await stock.pull_stock(gateway_store, client) or snapshot
            if snapshot:
                figures = await stock.on_hand(gateway_store.read())
                assert figures == moved(base, held), f"seed {seed}: {action}"
        assert snapshot and cloud.journal, "the walk never reached the cloud"
        await gateway_store.close()
        await client.aclose()


async def test_the_uplink_pulls_the_snapshot_once_it_has_drained(store, tmp_path):
    cloud = FakeCloud({"TAPAL-190": 100})
    client = cloud.client()
    sales = [make_sale(device_id=T1.device_id, seq=n, qty=1) for n in range(1, 6)]
    await receive(store, T1, *sales)
    settings = GatewaySettings(state_dir=tmp_path / "gw", uplink_batch_size=2, uplink_idle_s=0.05,
                               uplink_backoff_base_s=0.01, uplink_backoff_cap_s=0.02)
    uplink = Uplink(store, client, settings, on_drained=lambda: stock.pull_stock(store, client))
    task = asyncio.create_task(uplink.run())
    try:
        for _ in range(200):
            row = await (await store.read().execute("SELECT watermark FROM stock_snapshot")).fetchone()
            if row is not None:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)   # idle rounds: no delivery since, so no further pull
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert row is not None and row[0] == 5             # pulled after the last of three batches, not before
    assert cloud.stock_calls == 1
    seqs = await store.read().execute_fetchall("SELECT id, ingest_seq FROM journal ORDER BY rx_seq")
    assert [r["ingest_seq"] for r in seqs] == [1, 2, 3, 4, 5]     # each document's place, from the answers
    assert await stock.on_hand(store.read()) == {"TAPAL-190": 95}
    await client.aclose()


async def test_tills_get_shop_wide_stock_with_an_etag(gateway, provisioned, monkeypatch):
    """GET /api/v1/stock: a sale from one tablet moves the figure another tablet reads; 304 while unchanged."""
    snapshots = Snapshots()
    snapshots.set(0, {"TAPAL-190": 40})
    fake = snapshots.client()
    monkeypatch.setattr(gateway_app, "pull_stock", lambda store, _cloud: stock.pull_stock(store, fake))
    t1 = await paired(gateway, provisioned)
    t2 = await paired(gateway, provisioned)
    assert (await gateway.get("/api/v1/stock")).status == 401

    async def figures() -> Any:
        for _ in range(200):
            response = await gateway.get("/api/v1/stock", headers=t2["headers"])
            assert response.status == 200
            body = await response.json()
            if body["stock"]:
                return response, body
            await asyncio.sleep(0.05)
        raise AssertionError("no stock snapshot reached the box")

    first, body = await figures()
    assert body == {"stock": {"TAPAL-190": 40}, "device_seq": 0}   # the box holds none of t2's documents
    etag = first.headers["ETag"]
    unchanged = await gateway.get("/api/v1/stock", headers={**t2["headers"], "If-None-Match": etag})
    assert unchanged.status == 304

    sales = [make_sale(device_id=t1["device_id"], device_code=t1["device_code"], seq=seq, qty=3) for seq in (1, 2)]
    stored = await gateway.post("/api/v1/journal:batch", headers=t1["headers"], json={"documents": sales})
    assert [r["status"] for r in (await stored.json())["results"]] == ["stored", "stored"]
    moved_on = await gateway.get("/api/v1/stock", headers={**t2["headers"], "If-None-Match": etag})
    assert moved_on.status == 200 and moved_on.headers["ETag"] != etag
    assert await moved_on.json() == {"stock": {"TAPAL-190": 34}, "device_seq": 0}
    # Each tablet hears its own highest seq the box holds, counted in the stock with the rest.
    mine = await gateway.get("/api/v1/stock", headers=t1["headers"])
    assert await mine.json() == {"stock": {"TAPAL-190": 34}, "device_seq": 2}
    assert mine.headers["ETag"] != moved_on.headers["ETag"]
    await fake.aclose()



async def test_the_real_clouds_snapshot_and_the_boxs_sales_add_up(gateway, provisioned, cloud):
    """Against cloud_api itself: goods received in the cloud, a sale through the box, the figures agree."""
    server, shop = cloud
    owner = {"Authorization": f"Bearer {shop.owner_token}"}
    http = httpx.AsyncClient(base_url=str(server.make_url("")).rstrip("/"), headers=owner)

    async def cloud_figures() -> dict[str, int]:
        return {row["sku"]: row["on_hand"] for row in (await http.get(f"/v1/shops/{shop.shop_id}/stock")).json()}

    received = await http.post(f"/v1/shops/{shop.shop_id}/stock-movements",
                               json={"sku": "TAPAL-190", "qty": 50, "reason": "received"})
    assert received.status_code < 300, received.text
    before = (await cloud_figures())["TAPAL-190"]
    till = await paired(gateway, provisioned)
    sale = make_sale(device_id=till["device_id"], device_code=till["device_code"], seq=1, qty=3)
    answer = await gateway.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": [sale]})
    assert (await answer.json())["results"][0]["status"] == "stored"
    store = await Store.open(provisioned.state_dir)
    try:
        for _ in range(200):   # acked with its ingest_seq, and a snapshot pulled that counts it
            row = await (await store.read().execute(
                "SELECT j.ingest_seq, s.watermark FROM journal j, stock_snapshot s WHERE j.id = ?",
                (sale["id"],))).fetchone()
            if row is not None and row["ingest_seq"] is not None and row["watermark"] >= row["ingest_seq"]:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the box never held a snapshot counting its sale")
    finally:
        await store.close()
    box = (await (await gateway.get("/api/v1/stock", headers=till["headers"])).json())["stock"]
    after = await cloud_figures()
    await http.aclose()
    assert box["TAPAL-190"] == after["TAPAL-190"] == before - 3
    assert box == after


async def test_a_batchs_answers_recorded_together_file_each_document_as_one_at_a_time(tmp_path):
    """The uplink records a batch's answers with one statement per table (record_ingest_seqs): every
    table ends as recording them one document at a time leaves it, a missing number (None) included."""
    from tests.gateway.documents import make_credit_sale, make_customer
    customer = make_customer("Bilal", device_id=T1.device_id, device_code="T1", seq=1)
    documents = [customer,
                 make_credit_sale(customer["customer_id"], device_id=T1.device_id, device_code="T1", seq=2),
                 make_sale(device_id=T1.device_id, seq=3, qty=2),
                 make_loose_sale(device_id=T1.device_id, device_code="T1", seq=4, grams=750),
                 make_sale(device_id=T1.device_id, seq=5, qty=1)]   # not answered yet: stays NULL
    filed = [(documents[0]["id"], 7), (documents[1]["id"], None), (documents[2]["id"], 9), (documents[3]["id"], 8)]
    tables = {"journal": "id", "stock_moves": "document_id", "khata_entries": "document_id",
              "customer_versions": "document_id"}
    seen = []
    for together in (False, True):
        store = await Store.open(tmp_path / f"together-{together}")
        try:
            await receive(store, T1, *documents)
            async with store.transaction() as db:
                if together:
                    await stock.record_ingest_seqs(db, filed)
                else:   # the reference: the statements the uplink used to run for each document
                    for document_id, ingest_seq in filed:
                        seq = stock.COVERED if ingest_seq is None else ingest_seq
                        for table, key in tables.items():
                            await db.execute(f"UPDATE {table} SET ingest_seq = ? WHERE {key} = ?", (seq, document_id))
            db = store.read()
            seen.append({table: sorted(tuple(row) for row in await db.execute_fetchall(
                f"SELECT {key}, ingest_seq FROM {table}")) for table, key in tables.items()})
        finally:
            await store.close()
    one_at_a_time, together = seen
    assert together == one_at_a_time
    # And what they hold is the rule: the number given, COVERED for None, NULL for the unanswered.
    assert dict(together["journal"]) == {documents[0]["id"]: 7, documents[1]["id"]: stock.COVERED,
                                         documents[2]["id"]: 9, documents[3]["id"]: 8, documents[4]["id"]: None}
    assert {seq for _, seq in together["khata_entries"]} == {stock.COVERED}
    assert {seq for _, seq in together["customer_versions"]} == {7}
    assert {document_id: seq for document_id, seq in together["stock_moves"]} == {
        documents[2]["id"]: 9, documents[3]["id"]: 8, documents[1]["id"]: stock.COVERED, documents[4]["id"]: None}


async def test_a_consistent_read_is_never_another_requests_transaction(store):
    """Two requests reading through the shared reader at once (store.one_read: the stock with its
    device_seq, a khata list with its): each one's statements see one committed state, even when the
    other's read ends and writes commit in between. The second waits for its turn; it never runs inside
    the first's transaction, which ends (and lets newer data in) when the first request is done."""
    db = store.read()
    first_in, first_may_end, read_a, go_b = (asyncio.Event() for _ in range(4))

    async def first() -> None:
        async with one_read(db):
            await db.execute_fetchall("SELECT count(*) FROM journal")
            first_in.set()
            await first_may_end.wait()

    async def second() -> tuple[int, int]:
        async with one_read(db):
            a = (await db.execute_fetchall("SELECT count(*) FROM journal"))[0][0]
            read_a.set()
            await go_b.wait()
            b = (await db.execute_fetchall("SELECT count(*) FROM journal"))[0][0]
        return a, b

    reading = asyncio.create_task(first())
    await first_in.wait()
    counting = asyncio.create_task(second())
    await asyncio.sleep(0.05)
    await receive(store, T1, make_sale(device_id=T1.device_id, seq=1))   # committed while the first reads
    first_may_end.set()
    await reading
    await asyncio.wait_for(read_a.wait(), 5)
    await receive(store, T1, make_sale(device_id=T1.device_id, seq=2))   # committed between the second's reads
    go_b.set()
    a, b = await asyncio.wait_for(counting, 5)
    assert a == b, f"the second read saw {a} sales, then {b}, inside one consistent read"


async def test_a_read_left_open_by_a_cancelled_request_does_not_stop_the_next(store):
    """A request cancelled between its read's BEGIN and COMMIT leaves the shared reader in a transaction;
    the next consistent read ends it and begins its own, instead of failing for good."""
    db = store.read()
    await db.execute("BEGIN")
    await receive(store, T1, make_sale(device_id=T1.device_id, seq=1))
    async with one_read(db):
        assert (await db.execute_fetchall("SELECT count(*) FROM journal"))[0][0] == 1   # a fresh view
    assert not db.in_transaction
