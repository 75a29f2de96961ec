"""Khata on the box (gateway/khata.py): projection, snapshot + uncovered entries, latest-wins details, flags."""
from __future__ import annotations

import gzip
import json
import random
import uuid
from typing import Any

import httpx

from cloud_api.contract import document_hash
from cloud_api.service.clock import utc_now
from gateway import khata, stock
from gateway.cloud_client import CloudClient
from gateway.journal import receive_batch
from gateway.migrations import STEPS, apply_migrations
from gateway.pairing import Device
from gateway.settings import GatewaySettings
from gateway.store import Store
from gateway.uplink import Uplink
from tests.conftest import make_sale
from tests.gateway.documents import make_adjustment, make_credit_sale, make_customer, make_khata_payment, make_refund
from tests.gateway.test_stock import CloudJournal, receive

T1 = Device("dev-1", "T1", "Counter")
T2 = Device("dev-2", "T2", "Back counter")


def own(device: Device, seq: int) -> dict[str, Any]:
    return {"device_id": device.device_id, "device_code": device.device_code, "seq": seq}


def owed(documents: list[dict[str, Any]]) -> dict[str, int]:
    """Balances worked out independently of the box, from the documents themselves."""
    balances: dict[str, int] = {}
    for document in documents:
        customer_id = document.get("customer_id")
        if document["kind"] in ("sale", "refund"):
            amount = sum(p["amount"] for p in document["payments"] if p["tender"] == "on_account")
            amount = amount if document["kind"] == "sale" else -amount
        elif document["kind"] == "khata_payment":
            amount = -document["amount"]
        elif document["kind"] == "khata_adjustment":
            amount = document["amount"]
        else:
            continue
        if amount:
            balances[customer_id] = balances.get(customer_id, 0) + amount
    return balances


class KhataCloud(CloudJournal):
    """The cloud as the box meets it: an ingest_seq per stored document, khata snapshots by watermark
    (plus back-office adjustments, which never pass through a box)."""

    def __init__(self) -> None:
        super().__init__()
        self.office: dict[str, int] = {}      # back-office adjustments per customer
        self.lag = 0
        self.status = 200
        self.calls = 0

    def snapshot(self, watermark: int) -> dict[str, Any]:
        balances = owed(self.journal[:watermark])
        for customer_id, amount in self.office.items():
            balances[customer_id] = balances.get(customer_id, 0) + amount
        names = {d["customer_id"]: d for d in self.journal[:watermark] if d["kind"] == "customer"}
        ids = sorted(set(balances) | set(names))
        return {"watermark": watermark, "customers": [
            {"customer_id": c, "name": names[c]["name"] if c in names else "?", "credit_limit": 500000,
             "updated_at": "2026-11-27T11:00:00Z", "balance": balances.get(c, 0)} for c in ids]}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/journal:batch":
            return self.ingest(request)
        assert request.url.path == "/v1/khata" and request.headers["authorization"] == "Bearer key"
        self.calls += 1
        if self.status != 200:
            return httpx.Response(self.status, json={"error": {"code": "not_found", "message": "no route"}})
        body = self.snapshot(max(0, len(self.journal) - self.lag))
        etag = f'"{body["watermark"]}-{len(self.office)}"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, json=body, headers={"ETag": etag})


class Snapshots:
    """A cloud whose GET /v1/khata answers whatever the test sets."""

    def __init__(self) -> None:
        self.answer: tuple[int, Any] = (404, {"error": {"code": "not_found", "message": "no"}})

    def client(self) -> CloudClient:
        return CloudClient("http://cloud.test", "key", 5, transport=httpx.MockTransport(
            lambda request: httpx.Response(self.answer[0], json=self.answer[1])))

    def set(self, watermark: int, customers: list[dict[str, Any]]) -> None:
        self.answer = (200, {"watermark": watermark, "customers": customers})


async def ack(store: Store, document: dict[str, Any], ingest_seq: int | None) -> None:
    async with store.transaction() as db:
        await stock.record_ingest_seq(db, document["id"], ingest_seq)


async def balances(store: Store) -> dict[str, int]:
    records, _ = await khata.customers(store.read())
    return {customer_id: record["balance"] for customer_id, record in records.items() if record["balance"]}


async def test_two_tablets_documents_make_one_balance(store):
    """Sale on account on T2 (part cash), payment on T1, a refund on account, an adjustment: the box's sum."""
    ali = make_customer("Ali Raza", **own(T1, 1))
    aid = ali["customer_id"]
    sale = make_credit_sale(aid, qty=4, cash=20000, **own(T2, 1))           # 220000 - 20000 on account
    back = make_refund(sale, {0: 1}, **own(T2, 2))                           # 55000 back, on account
    back["payments"] = [{"tender": "on_account", "amount": back["total"]}]
    back["customer_id"] = aid
    back["hash"] = document_hash(back)
    paid = make_khata_payment(aid, {"cash": 50000, "wallet": 10000}, **own(T1, 2))
    opening = make_adjustment(aid, 30000, **own(T1, 3))
    cash_sale = make_sale(**own(T1, 4))                                      # writes nothing
    await receive(store, T1, ali)
    await receive(store, T2, sale, back)
    await receive(store, T1, paid, opening, cash_sale)
    assert await balances(store) == {aid: 200000 - 55000 - 60000 + 30000} == owed([sale, back, paid, opening])
    rows = await store.read().execute_fetchall("SELECT kind, amount, device_code, seq FROM khata_entries ORDER BY pk")
    assert [tuple(r) for r in rows] == [("sale", 200000, "T2", 1), ("refund", -55000, "T2", 2),
                                        ("khata_payment", -60000, "T1", 2), ("khata_adjustment", 30000, "T1", 3)]
    # The same batch again is duplicate everywhere: nothing is counted twice.
    async with store.transaction() as db:
        again = await receive_batch(db, T2, [sale, back])
    assert {r.status for r in again} == {"duplicate"}
    assert (await balances(store))[aid] == 115000


async def test_each_entry_counts_once_whatever_the_order_of_acks_and_snapshots(store):
    a, b = make_customer("A", **own(T1, 1)), make_customer("B", **own(T1, 2))
    sale_a = make_credit_sale(a["customer_id"], qty=2, **own(T1, 3))      # a +110000
    sale_b = make_credit_sale(b["customer_id"], qty=1, **own(T2, 1))      # b +55000
    pay_a = make_khata_payment(a["customer_id"], {"cash": 10000}, **own(T2, 2))   # a -10000
    await receive(store, T1, a, b, sale_a)
    await receive(store, T2, sale_b, pay_a)
    cloud = Snapshots()
    client = cloud.client()
    db = store.read()
    assert not await khata.pull_khata(store, client)       # an older cloud: 404, the box counts alone
    assert await balances(store) == {a["customer_id"]: 100000, b["customer_id"]: 55000}

    def record(customer: dict[str, Any], balance: int) -> dict[str, Any]:
        return {"customer_id": customer["customer_id"], "name": customer["name"], "credit_limit": 500000,
                "updated_at": "2026-11-27T11:00:00Z", "balance": balance}

    # A snapshot before any ack: with the owner's back-office adjustment of +7000 on a.
    cloud.set(10, [record(a, 7000)])
    assert await khata.pull_khata(store, client)
    assert await balances(store) == {a["customer_id"]: 107000, b["customer_id"]: 55000}
    await ack(store, sale_a, 11)                          # acked above the watermark: still the box's
    assert (await balances(store))[a["customer_id"]] == 107000
    cloud.set(11, [record(a, 117000)])                     # now the cloud counts sale_a
    assert await khata.pull_khata(store, client)
    assert await balances(store) == {a["customer_id"]: 107000, b["customer_id"]: 55000}
    for document, seq in ((sale_b, 12), (pay_a, 13)):
        await ack(store, document, seq)
    cloud.set(12, [record(a, 117000), record(b, 55000)])
    assert await khata.pull_khata(store, client)
    assert await balances(store) == {a["customer_id"]: 107000, b["customer_id"]: 55000}
    cloud.set(11, [record(a, 117000)])                     # an older answer arriving late is not kept
    assert not await khata.pull_khata(store, client)
    assert await balances(store) == {a["customer_id"]: 107000, b["customer_id"]: 55000}
    row = await (await db.execute("SELECT watermark FROM khata_snapshot")).fetchone()
    assert row[0] == 12
    await client.aclose()


async def test_an_ack_without_a_number_is_left_to_the_snapshots(store):
    c = make_customer("C", **own(T1, 1))
    sale = make_credit_sale(c["customer_id"], **own(T1, 2))
    await receive(store, T1, c, sale)
    await ack(store, sale, None)      # an older cloud: its first snapshot will count it
    cloud = Snapshots()
    client = cloud.client()
    cloud.set(1, [{"customer_id": c["customer_id"], "name": "C", "updated_at": "2026-11-27T11:00:00Z",
                   "credit_limit": 0, "balance": 110000}])
    assert await khata.pull_khata(store, client)
    assert await balances(store) == {c["customer_id"]: 110000}
    await client.aclose()


async def test_balances_match_the_documents_through_any_order_of_sales_acks_and_snapshots(tmp_path):
    """Random interleavings of two tablets' khata documents, uplink batches and lagging snapshots."""
    for seed in range(4):
        rng = random.Random(seed)
        cloud = KhataCloud()
        client = cloud.client()
        box = await Store.open(tmp_path / f"gw-{seed}")
        uplink = Uplink(box, client, GatewaySettings(state_dir=tmp_path / f"gw-{seed}", uplink_batch_size=2))
        held: list[dict[str, Any]] = []
        customers: list[str] = []
        seqs = {T1: 0, T2: 0}
        snapshot = False
        for _ in range(80):
            action = rng.choice(["customer", "credit", "credit", "payment", "push", "push", "snapshot", "office"])
            device = rng.choice([T1, T2])
            if action in ("credit", "payment") and not customers or action == "customer":
                seqs[device] += 1
                document = make_customer(f"C{len(customers)}", **own(device, seqs[device]))
                customers.append(document["customer_id"])
            elif action == "credit":
                seqs[device] += 1
                document = make_credit_sale(rng.choice(customers), qty=rng.randint(1, 3), **own(device, seqs[device]))
            elif action == "payment":
                seqs[device] += 1
                document = make_khata_payment(rng.choice(customers), {"cash": rng.randint(1, 9) * 1000},
                                              **own(device, seqs[device]))
            elif action == "push":
                await uplink.push_once()
                continue
            elif action == "office":
                if customers:
                    who = rng.choice(customers)
                    cloud.office[who] = cloud.office.get(who, 0) + 500
                continue
            else:
                cloud.lag = rng.choice([0, 0, 1, 3])
                snapshot = await khata.pull_khata(box, client) or snapshot
                continue
            await receive(box, device, document)
            held.append(document)
            if snapshot:
                expected = owed(held)
                # The box knows the office's adjustments only from a snapshot: take what its last one said.
                row = await (await box.read().execute("SELECT body FROM khata_snapshot")).fetchone()
                noted = {r["customer_id"]: r["balance"] for r in json.loads(row["body"])}
                wm = (await (await box.read().execute("SELECT watermark FROM khata_snapshot")).fetchone())[0]
                base = owed(cloud.journal[:wm])
                for customer_id, balance in noted.items():
                    office = balance - base.get(customer_id, 0)
                    if office:
                        expected[customer_id] = expected.get(customer_id, 0) + office
                assert await balances(box) == {k: v for k, v in expected.items() if v}, f"seed {seed}"
        assert snapshot and cloud.journal, "the walk never reached the cloud"
        await box.close()
        await client.aclose()


async def test_the_latest_details_win_by_true_time_whatever_arrives_first(store):
    """A customer renamed on T2 (later) before T1's older edit reaches the box: the later one stays."""
    new = make_customer("Bilal", phone="0300 1111111", created_at="2026-11-27T10:00:00+05:00", **own(T1, 1))
    cid = new["customer_id"]
    later = make_customer("Bilal Ahmed", phone="0300 2222222", customer_id=cid, credit_limit=800000,
                          created_at="2026-11-27T12:00:00+05:00", **own(T2, 1))
    earlier = make_customer("Bilal A.", customer_id=cid, created_at="2026-11-27T11:00:00+05:00", **own(T1, 2))
    await receive(store, T1, new)
    await receive(store, T2, later)
    await receive(store, T1, earlier)
    records, _ = await khata.customers(store.read())
    assert records[cid]["name"] == "Bilal Ahmed" and records[cid]["phone"] == "0300 2222222"
    assert records[cid]["credit_limit"] == 800000 and records[cid]["updated_at"] == "2026-11-27T07:00:00.000Z"

    # The cloud's snapshot, with an owner's edit in the back office newer than both: it wins ...
    cloud = Snapshots()
    client = cloud.client()
    cloud.set(0, [{"customer_id": cid, "name": "Bilal (office)", "credit_limit": 300000,
                   "updated_at": "2026-11-27T08:00:00.000Z", "balance": 0}])
    assert await khata.pull_khata(store, client)
    records, snapshot_at = await khata.customers(store.read())
    assert records[cid]["name"] == "Bilal (office)" and records[cid]["credit_limit"] == 300000
    assert snapshot_at is not None
    # ... and a till's edit after it wins again.
    newest = make_customer("Bilal Khan", customer_id=cid, created_at="2026-11-27T14:00:00+05:00", **own(T1, 3))
    await receive(store, T1, newest)
    records, _ = await khata.customers(store.read())
    assert records[cid]["name"] == "Bilal Khan"
    await client.aclose()


async def test_a_clock_running_fast_cannot_win_the_details(store):
    """True time is never later than the box received it: a tablet a year ahead does not win forever."""
    import asyncio
    future = make_customer("Sana (fast clock)", created_at="2027-06-01T10:00:00+05:00", **own(T2, 1))
    cid = future["customer_id"]
    await receive(store, T2, future)          # counted as of its arrival, not June 2027
    await asyncio.sleep(0.01)
    fixed = make_customer("Sana", customer_id=cid, created_at=utc_now().replace("Z", "+00:00"), **own(T1, 1))
    await receive(store, T1, fixed)
    records, _ = await khata.customers(store.read())
    assert records[cid]["name"] == "Sana"


async def test_flags_credit_past_the_limit_and_adjustments_without_the_boxs_approval(store):
    zara = make_customer("Zara", credit_limit=150000, **own(T1, 1))
    zid = zara["customer_id"]
    await receive(store, T1, zara)
    within = make_credit_sale(zid, qty=2, **own(T1, 2))                      # 110000 <= 150000
    past = make_credit_sale(zid, qty=1, **own(T2, 1))                        # 165000 > 150000: flagged
    async with store.transaction() as db:
        approval = await khata.issue_approval(db, zid, 55000, "credit", T2.device_id, "10.0.0.2")
        other = await khata.issue_approval(db, str(uuid.uuid4()), 55000, "credit", T2.device_id, "10.0.0.2")
        adjust_ok = await khata.issue_approval(db, zid, -5000, "adjustment", T1.device_id, "10.0.0.1")
    approved = make_credit_sale(zid, qty=1, credit_approval_id=approval["approval_id"], **own(T2, 2))
    borrowed = make_credit_sale(zid, qty=1, credit_approval_id=other["approval_id"], **own(T2, 3))
    fixed = make_adjustment(zid, -5000, approval_id=adjust_ok["approval_id"], **own(T1, 3))
    unapproved = make_adjustment(zid, 20000, **own(T1, 4))
    # One batch: "past the limit" is judged after each document, not after the whole batch.
    await receive(store, T1, within)
    await receive(store, T2, past, approved, borrowed)
    await receive(store, T1, fixed, unapproved)
    flagged = await khata.flags(store.read())
    assert flagged["khata_flag_count"] == 4
    by_problem = {(f["receipt_number"], f["problem"]): f for f in flagged["khata_flags"]}
    assert set(by_problem) == {("T2-000001", "over_limit"), ("T2-000003", "approval_other_customer"),
                               ("T2-000003", "over_limit"), ("T1-000004", "unapproved_adjustment")}
    assert by_problem["T2-000001", "over_limit"]["balance"] == 165000
    # Another customer's approval approves nothing here: flagged for that, and past the limit too.
    assert by_problem["T2-000003", "over_limit"]["balance"] == 275000
    assert by_problem["T2-000003", "approval_other_customer"]["text"] == (
        "T2-000003 put Rs 550 on Zara's khata with an approval given for another customer")
    assert by_problem["T2-000001", "over_limit"]["text"] == (
        "T2-000001 put Rs 550 on Zara's khata, taking it to Rs 1,650, past the limit of Rs 1,500, without an "
        "approval from this box (made on a tablet cut off from the box, or on a balance that changed meanwhile)")
    # The flagged documents were stored and count: a flag never refuses.
    assert await balances(store) == {zid: 110000 + 55000 * 3 - 5000 + 20000}


async def test_a_sale_within_the_limit_in_a_batch_is_judged_on_the_balance_at_its_place(store):
    cust = make_customer("Kamran", credit_limit=120000, **own(T1, 1))
    cid = cust["customer_id"]
    first = make_credit_sale(cid, qty=2, **own(T1, 2))     # 110000: within
    pay = make_khata_payment(cid, {"cash": 100000}, **own(T1, 3))
    second = make_credit_sale(cid, qty=1, **own(T1, 4))    # 10000 + 55000: within
    await receive(store, T1, cust, first, pay, second)
    assert (await khata.flags(store.read()))["khata_flag_count"] == 0


async def test_an_older_box_projects_the_khata_it_already_holds(tmp_path):
    """m010 and m011 on a box that held khata documents under 009 (a till ran ahead): balances and acks
    carried over."""
    import aiosqlite
    from cloud_api.contract import canonical_json
    async with aiosqlite.connect(tmp_path / "old.db", isolation_level=None) as db:   # closed even if a check fails
        db.row_factory = aiosqlite.Row
        await apply_migrations(db, STEPS[:9])
        c = make_customer("Old", **own(T1, 1))
        sale = make_credit_sale(c["customer_id"], **own(T1, 2))
        for n, document in enumerate((c, sale), start=1):
            await db.execute("INSERT INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at, "
                             "ingest_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (document["id"], document["kind"], T1.device_id, "T1", n, document["hash"],
                              canonical_json(document).decode(), "2026-11-27T13:00:00.000Z", 5 if n == 2 else None))
        assert await apply_migrations(db) == ["010_khata", "011_khata_true_time"]
        records, _ = await khata.customers(db)
        assert records[c["customer_id"]]["name"] == "Old" and records[c["customer_id"]]["balance"] == 110000
        row = await (await db.execute("SELECT ingest_seq FROM khata_entries")).fetchone()
        assert row[0] == 5
        assert (await khata.flags(db))["khata_flag_count"] == 0


async def test_get_khata_reads_the_snapshot_with_its_etag():
    seen: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return httpx.Response(200, headers={"ETag": '"v1"'}, json={"watermark": 3, "customers": [
            {"customer_id": "x", "name": "X", "updated_at": "2026-11-27T11:00:00Z", "balance": -500,
             "ageing": {"0-7": 1}}]})   # a newer cloud's extra field is ignored

    client = CloudClient("http://cloud.test", "key", 5, transport=httpx.MockTransport(handle))
    snapshot, etag = await client.get_khata(None)
    assert (snapshot.watermark, etag, snapshot.customers[0].balance) == (3, '"v1"', -500)
    assert await client.get_khata('"v1"') is None
    assert seen == [None, '"v1"']
    await client.aclose()


async def test_the_real_clouds_snapshot_and_the_box_agree_to_the_paisa(provisioned, aiohttp_client):
    """Against cloud_api itself: T1 makes a customer, T2 sells on account, T1 takes part in cash; once the
    box has drained and pulled the cloud's khata snapshot, box and cloud say the same balance."""
    import asyncio

    from gateway.app import create_app
    from gateway.box import get_value
    from tests.gateway.conftest import paired
    box = await aiohttp_client(create_app(provisioned))
    t1, t2 = await paired(box, provisioned), await paired(box, provisioned)

    def mine(till: dict[str, Any], seq: int) -> dict[str, Any]:
        return {"device_id": till["device_id"], "device_code": till["device_code"], "seq": seq}
    ali = make_customer("Ali Raza", phone="0300 1234567", **mine(t1, 1))
    documents = [(t1, ali), (t2, make_credit_sale(ali["customer_id"], qty=3, cash=15000, **mine(t2, 1))),
                 (t1, make_khata_payment(ali["customer_id"], {"cash": 50000}, **mine(t1, 2)))]
    for till, document in documents:
        answer = await box.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": [document]})
        assert (await answer.json())["results"][0]["status"] == "stored"
    expected = 165000 - 15000 - 50000
    store = await Store.open(provisioned.state_dir)
    try:
        for _ in range(300):   # every document acked with its ingest_seq, and a snapshot covering them all
            row = await (await store.read().execute(
                "SELECT (SELECT max(ingest_seq) FROM khata_entries) AS seq, (SELECT count(*) FROM khata_entries "
                "WHERE ingest_seq IS NULL) AS unacked, (SELECT watermark FROM khata_snapshot) AS watermark")).fetchone()
            if row["unacked"] == 0 and row["watermark"] is not None and row["watermark"] >= row["seq"]:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the box never held a khata snapshot counting its documents")
        cloud_url, api_key = await get_value(store.read(), "cloud_url"), await get_value(store.read(), "api_key")
    finally:
        await store.close()
    listed = await (await box.get("/api/v1/customers", headers=t2["headers"])).json()
    assert listed["snapshot_at"] is not None
    [customer] = listed["customers"]
    assert (customer["name"], customer["balance"]) == ("Ali Raza", expected)
    async with httpx.AsyncClient(base_url=cloud_url, headers={"Authorization": f"Bearer {api_key}"}) as http:
        snapshot = (await http.get("/v1/khata")).json()
    [record] = [c for c in snapshot["customers"] if c["customer_id"] == ali["customer_id"]]
    assert record["balance"] == expected and record["name"] == "Ali Raza"


async def test_a_document_the_cloud_refuses_leaves_the_boxs_balances(store, tmp_path):
    """The cloud's balance is the shop's: what it refuses for good counts nowhere, before or after a snapshot."""
    cloud = KhataCloud()
    refused: set[str] = set()
    inner = cloud.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/journal:batch":
            documents = json.loads(gzip.decompress(request.content))["documents"]
            if any(d["id"] in refused for d in documents):
                return httpx.Response(200, json={"server_time": utc_now(), "results": [
                    {"id": d["id"], "status": "invalid", "reason": "refused in this test"} for d in documents]})
        return inner(request)

    client = CloudClient("http://cloud.test", "key", 5, transport=httpx.MockTransport(handle))
    c = make_customer("D", **own(T1, 1))
    kept = make_credit_sale(c["customer_id"], qty=1, **own(T1, 2))
    bad = make_credit_sale(c["customer_id"], qty=2, **own(T1, 3))
    refused.add(bad["id"])
    await receive(store, T1, c, kept)
    await receive(store, T1, bad)
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw", uplink_batch_size=2))
    assert await balances(store) == {c["customer_id"]: 55000 + 110000}   # the box counts what it has seen
    shown = await khata.customer_khata(store.read(), c["customer_id"], T1.device_id)
    assert [e["in_cloud"] for e in shown["entries"]] == [False, False]   # at the box, on their way
    while await uplink.push_once():
        pass
    assert await balances(store) == {c["customer_id"]: 55000}
    # Nor in a customer's entries, nor in the balance after an earlier receipt; the one kept is in the cloud.
    shown = await khata.customer_khata(store.read(), c["customer_id"], T1.device_id)
    assert [(e["document_id"], e["in_cloud"]) for e in shown["entries"]] == [(kept["id"], True)]
    assert (await khata.receipt_customer(store.read(), kept))["balanceAfter"] == 55000
    assert (await khata.receipt_customer(store.read(), bad))["balanceAfter"] is None
    assert await khata.pull_khata(store, client)
    assert await balances(store) == {c["customer_id"]: 55000}
    await client.aclose()


async def test_an_entry_says_where_it_is_as_the_journal_tells_the_tablets(store, tmp_path):
    """at the box, then in the cloud, or refused where the cloud holds another version (a conflict: the
    tablet hears "rejected" for it, so its khata must not say "in cloud"); and a damaged journal body
    does not fail the customers' list (the uplink parks such a body; the list reads its clock offset)."""
    cloud = KhataCloud()
    inner = cloud.handle
    clash: set[str] = set()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/journal:batch":
            documents = json.loads(gzip.decompress(request.content))["documents"]
            if any(d["id"] in clash for d in documents):
                return httpx.Response(200, json={"server_time": utc_now(), "results": [
                    {"id": d["id"], "status": "conflict" if d["id"] in clash else "stored", "reason": None}
                    for d in documents]})
        return inner(request)

    client = CloudClient("http://cloud.test", "key", 5, transport=httpx.MockTransport(handle))
    c = make_customer("F", **own(T1, 1))
    kept = make_credit_sale(c["customer_id"], qty=1, **own(T1, 2))
    clashing = make_credit_sale(c["customer_id"], qty=2, created_at="2026-11-27T18:06:00+05:00", **own(T1, 3))
    clash.add(clashing["id"])
    await receive(store, T1, c, kept)
    await receive(store, T1, clashing)

    async def states() -> list[tuple[str, bool, bool]]:
        shown = await khata.customer_khata(store.read(), c["customer_id"], T1.device_id)
        return [(e["document_id"], e["in_cloud"], e["refused"]) for e in shown["entries"]]
    assert await states() == [(clashing["id"], False, False), (kept["id"], False, False)]   # at the box
    uplink = Uplink(store, client, GatewaySettings(state_dir=tmp_path / "gw", uplink_batch_size=1))
    while await uplink.push_once():
        pass
    assert await states() == [(clashing["id"], False, True), (kept["id"], True, False)]
    async with store.transaction() as db:
        await db.execute("UPDATE journal SET body = '{damaged' WHERE id = ?", (clashing["id"],))
    records, _ = await khata.customers(store.read())
    assert records[c["customer_id"]]["last_entry_at"] == "2026-11-27T13:06:00.000Z"   # its own clock then
    await client.aclose()


async def test_the_tills_list_is_made_again_whenever_what_it_counts_changes(store):
    """GET /api/v1/customers is kept between requests: a new entry, a late ack the held snapshot already
    covers (a lost reply), a new snapshot each make it again; nothing else does."""
    c = make_customer("E", **own(T1, 1))
    sale = make_credit_sale(c["customer_id"], qty=1, **own(T1, 2))
    await receive(store, T1, c, sale)
    db = store.read()

    async def listed() -> tuple[str, int]:
        etag, body = await khata.customers_for_tills(db, T1.device_id)
        return etag, json.loads(body)["customers"][0]["balance"]

    first = await listed()
    assert first[1] == 55000 and await listed() == first
    cloud = Snapshots()
    client = cloud.client()
    # The cloud stored the sale as its 4th document; the box never heard (a lost reply). Its snapshot counts it.
    cloud.set(4, [{"customer_id": c["customer_id"], "name": "E", "updated_at": "2026-11-27T11:00:00Z",
                   "balance": 55000}])
    assert await khata.pull_khata(store, client)
    doubled = await listed()
    assert doubled[1] == 110000          # the blur stock.py describes, until the resend's answer comes back
    await ack(store, sale, 4)            # ... and then the box stops counting it: the list must say so
    assert (await listed())[1] == 55000
    await receive(store, T1, make_khata_payment(c["customer_id"], {"cash": 5000}, **own(T1, 3)))
    assert (await listed())[1] == 50000
    await client.aclose()


async def test_approvals_are_checked_on_arrival_and_used_once(store):
    """Protocol v2: the approval must be this box's, for this customer and purpose, for at least the sale's
    on-account amount (an adjustment: exactly its amount), and unused by any other document."""
    zara = make_customer("Zara", credit_limit=10_000_000, **own(T1, 1))
    zid = zara["customer_id"]
    await receive(store, T1, zara)
    async with store.transaction() as db:
        credit = await khata.issue_approval(db, zid, 110000, "credit", T1.device_id, None, by="box")
        small = await khata.issue_approval(db, zid, 50000, "credit", T1.device_id, None, by="box")
        adjust = await khata.issue_approval(db, zid, -5000, "adjustment", T1.device_id, None)
    ok = make_credit_sale(zid, qty=2, credit_approval_id=credit["approval_id"], **own(T1, 2))      # 110000
    again = make_credit_sale(zid, qty=1, credit_approval_id=credit["approval_id"], **own(T2, 1))   # reused
    short = make_credit_sale(zid, qty=1, credit_approval_id=small["approval_id"], **own(T2, 2))    # 55000 > 50000
    forged = make_credit_sale(zid, qty=1, credit_approval_id=str(uuid.uuid4()), **own(T2, 3))
    wrong_sum = make_adjustment(zid, -6000, approval_id=adjust["approval_id"], **own(T1, 3))
    wrong_use = make_adjustment(zid, 110000, approval_id=credit["approval_id"], **own(T1, 4))
    await receive(store, T1, ok)
    await receive(store, T2, again, short, forged)
    await receive(store, T1, wrong_sum, wrong_use)
    flagged = {(f["receipt_number"], f["problem"]): f["text"] for f in (await khata.flags(store.read()))["khata_flags"]}
    assert flagged == {
        ("T2-000001", "approval_reused"): "T2-000001 put Rs 550 on Zara's khata with an approval already used by T1-000002",
        ("T2-000002", "approval_short"): "T2-000002 put Rs 550 on Zara's khata with an approval for only Rs 500",
        ("T2-000003", "approval_unknown"): "T2-000003 put Rs 550 on Zara's khata with an approval this box never gave",
        ("T1-000003", "approval_other_amount"): "T1-000003 took off Rs 60 from Zara's khata with an approval to take off Rs 50",
        ("T1-000004", "approval_reused"):
            "T1-000004 added Rs 1,100 to Zara's khata with an approval already used by T1-000002"}
    row = await (await store.read().execute("SELECT used_by FROM khata_approvals WHERE approval_id = ?",
                                            (credit["approval_id"],))).fetchone()
    assert row[0] == ok["id"]
    # Used only by a document it fits: the adjustment's approval is still free for the right one.
    await receive(store, T1, make_adjustment(zid, -5000, approval_id=adjust["approval_id"], **own(T1, 5)))
    assert (await khata.flags(store.read()))["khata_flag_count"] == 5


async def test_the_clouds_placeholder_customer_gets_the_shops_default_limit(store):
    """A sale on account reached the cloud before its customer: the snapshot's placeholder (name "",
    updated_at "", limit 0) is an unknown customer, with the default limit in the flags and for tablets."""
    cid = str(uuid.uuid4())
    cloud = Snapshots()
    client = cloud.client()
    cloud.set(0, [{"customer_id": cid, "name": "", "credit_limit": 0, "updated_at": "", "balance": 100000}])
    assert await khata.pull_khata(store, client)
    await receive(store, T1, make_credit_sale(cid, qty=1, **own(T1, 1)))     # 155000 <= 500000
    assert (await khata.flags(store.read()))["khata_flag_count"] == 0
    records, _ = await khata.customers(store.read())
    assert (records[cid]["name"], records[cid]["credit_limit"], records[cid]["balance"]) == (
        khata.UNKNOWN_NAME, 500000, 155000)
    etag, body = await khata.customers_for_tills(store.read(), T1.device_id)
    assert json.loads(body)["customers"][0]["credit_limit"] == 500000
    await client.aclose()


async def test_a_till_changing_a_known_customers_limit_is_flagged(store):
    ali = make_customer("Ali", credit_limit=500000, created_at="2026-11-27T10:00:00+05:00", **own(T1, 1))
    cid = ali["customer_id"]
    renamed = make_customer("Ali Raza", customer_id=cid, credit_limit=500000, created_at="2026-11-27T11:00:00+05:00",
                            **own(T1, 2))
    raised = make_customer("Ali Raza", customer_id=cid, credit_limit=2_000_000,
                           created_at="2026-11-27T12:00:00+05:00", **own(T2, 1))
    await receive(store, T1, ali, renamed)      # a new customer, then a new name: no flag
    assert (await khata.flags(store.read()))["khata_flag_count"] == 0
    await receive(store, T2, raised)
    [flag] = (await khata.flags(store.read()))["khata_flags"]
    assert (flag["problem"], flag["amount"], flag["credit_limit"]) == ("limit_changed", 2_000_000, 500000)
    assert flag["text"] == ("T2-000001 changed Ali Raza's credit limit from Rs 5,000 to Rs 20,000 on a tablet; "
                            "only the owner sets a credit limit")


async def test_device_seq_is_the_asking_tablets_highest_khata_seq(store):
    c = make_customer("F", **own(T1, 1))
    await receive(store, T1, c, make_credit_sale(c["customer_id"], **own(T1, 2)))
    await receive(store, T2, make_credit_sale(c["customer_id"], **own(T2, 7)))
    assert json.loads((await khata.customers_for_tills(store.read(), T1.device_id))[1])["device_seq"] == 2
    assert json.loads((await khata.customers_for_tills(store.read(), T2.device_id))[1])["device_seq"] == 7
    assert json.loads((await khata.customers_for_tills(store.read(), "dev-none"))[1])["device_seq"] == 0
    assert (await khata.customer_khata(store.read(), c["customer_id"], T2.device_id))["device_seq"] == 7
    # A cash sale is no khata document: the list (and its ETag) stays as it was, so the tablet does not
    # fetch every customer again after each sale.
    etag, _ = await khata.customers_for_tills(store.read(), T2.device_id)
    await receive(store, T2, make_sale(**own(T2, 8)))
    assert (await khata.customers_for_tills(store.read(), T2.device_id))[0] == etag


def paid_back(refund: dict[str, Any], customer_id: str | None, **tenders: int) -> dict[str, Any]:
    refund["payments"] = [{"tender": tender, "amount": amount} for tender, amount in tenders.items()]
    if customer_id:
        refund["customer_id"] = customer_id
    refund["hash"] = document_hash(refund)
    return refund


async def test_refunds_paid_to_another_khata_or_past_the_caps_are_flagged(store):
    """The till's caps, checked again at the box: on account only to the sale's customer, no more on
    account than the sale put there, no more money than it was paid in money."""
    from gateway.returns import over_refunds
    ali, bilal = make_customer("Ali", **own(T1, 1)), make_customer("Bilal", **own(T1, 2))
    sale = make_credit_sale(ali["customer_id"], qty=2, cash=50000, **own(T1, 3))     # 60000 on account, 50000 cash
    await receive(store, T1, ali, bilal, sale)
    elsewhere = paid_back(make_refund(sale, {0: 1}, **own(T2, 1)), bilal["customer_id"], on_account=55000)
    await receive(store, T2, elsewhere)
    too_much_money = paid_back(make_refund(sale, {0: 1}, **own(T2, 2)), None, cash=55000)   # 55000 > 50000
    await receive(store, T2, too_much_money)
    flagged = {(f["refund_receipt"], f["problem"]): f["text"] for f in (await over_refunds(store.read()))["over_refunds"]}
    assert flagged == {
        ("T2-000001", "other_customer"): "T2-000001 paid Rs 550 back on Bilal's khata for T1-000003, which was sold "
                                         "on Ali's khata",
        ("T2-000002", "beyond_money"): "T2-000002 paid Rs 550 back in money for T1-000003, which was paid Rs 500 in "
                                       "money"}

    # All back on account, within what was sold but past the 60000 the sale put there.
    other = make_credit_sale(ali["customer_id"], qty=2, cash=50000, **own(T1, 4))
    await receive(store, T1, other)
    await receive(store, T2, paid_back(make_refund(other, {0: 2}, **own(T2, 3)), ali["customer_id"],
                                       on_account=110000))
    # What the till caps a return with: each earlier refund, split on account / money.
    from gateway.returns import find_sale
    found = await find_sale(store.read(), "T1-000003")
    assert [(r["receipt_number"], r["on_account"], r["money"]) for r in found["refunds"]] == [
        ("T2-000001", 55000, 0), ("T2-000002", 0, 55000)]
    [flag] = [f for f in (await over_refunds(store.read()))["over_refunds"] if f["refund_receipt"] == "T2-000003"]
    assert flag["problem"] == "beyond_on_account"
    assert flag["text"] == "T2-000003 paid Rs 1,100 back on account for T1-000004, which put Rs 600 on account"


async def test_an_unknown_customer_gets_the_limit_the_shop_set(store):
    """The shop's default_credit_limit from the catalog the box holds: for flags and tablets alike."""
    async with store.transaction() as db:
        await db.execute("INSERT INTO catalog (id, etag, body, fetched_at) VALUES (1, '\"limit-test-300k\"', ?, ?)",
                         (json.dumps({"settings": {"default_credit_limit": 100000}}), utc_now()))
    cid = str(uuid.uuid4())
    await receive(store, T1, make_credit_sale(cid, qty=2, **own(T1, 1)))     # 110000 > 100000: flagged
    [flag] = (await khata.flags(store.read()))["khata_flags"]
    assert (flag["problem"], flag["credit_limit"]) == ("over_limit", 100000)
    records, _ = await khata.customers(store.read())
    assert records[cid]["credit_limit"] == 100000


async def test_device_seq_and_balances_are_one_read(store, monkeypatch):
    """A tablet's document arriving while the box adds up: device_seq and the balances both leave it out
    (read in one read transaction), so the till counts it once, itself."""
    c = make_customer("G", **own(T1, 1))
    cid = c["customer_id"]
    await receive(store, T1, c, make_credit_sale(cid, qty=2, **own(T1, 2)))    # 110000
    real = khata.customers
    arrivals = iter(range(3, 10))

    async def arriving_meanwhile(db: Any, ids: Any = None) -> Any:
        if db is store.read():   # a till's read (the ingest's own flag check reads on the writer)
            await receive(store, T1, make_credit_sale(cid, qty=1, **own(T1, next(arrivals))))   # committed now
        return await real(db, ids)

    monkeypatch.setattr(khata, "customers", arriving_meanwhile)
    khata._LISTS.clear()
    listed = json.loads((await khata.customers_for_tills(store.read(), T1.device_id))[1])
    assert (listed["device_seq"], listed["customers"][0]["balance"]) == (2, 110000)
    # Seq 3 arrived during the list (counted by neither there); now seq 4 arrives between balances and device_seq.
    real_seq = khata.device_seq

    async def arriving_before_the_seq(db: Any, device_id: str) -> int:
        await receive(store, T1, make_credit_sale(cid, qty=1, **own(T1, next(arrivals))))
        return await real_seq(db, device_id)

    monkeypatch.setattr(khata, "device_seq", arriving_before_the_seq)
    monkeypatch.setattr(khata, "customers", real)
    one = await khata.customer_khata(store.read(), cid, T1.device_id)
    assert (one["device_seq"], one["customer"]["balance"]) == (3, 110000 + 55000)
    assert await real_seq(store.read(), T1.device_id) == 4   # counted by the next answer, in both


async def test_the_last_entry_is_the_later_of_the_clouds_and_the_boxs(store):
    """The owner's back-office adjustments never pass through the box: the cloud's snapshot says when a
    customer's newest entry was, and the box shows the later of that and its own newest entry."""
    office, tills = str(uuid.uuid4()), str(uuid.uuid4())
    cloud = Snapshots()
    client = cloud.client()
    record = {"name": "Ali", "credit_limit": 500000, "updated_at": "2026-11-01T00:00:00.000Z", "balance": 500}
    cloud.set(0, [{**record, "customer_id": office, "last_entry_at": "2026-11-28T09:00:00.000Z"},
                  {**record, "customer_id": tills, "last_entry_at": "2026-11-20T09:00:00.000Z"}])
    assert await khata.pull_khata(store, client)
    # Each has a sale on account at the box, at 10:00 in Karachi on the 27th (05:00 UTC).
    for n, cid in enumerate((office, tills), 1):
        await receive(store, T1, make_credit_sale(cid, qty=1, created_at="2026-11-27T10:00:00+05:00", **own(T1, n)))
    records, _ = await khata.customers(store.read())
    assert records[office]["last_entry_at"] == "2026-11-28T09:00:00.000Z"    # the owner's, in the office, later
    assert records[tills]["last_entry_at"] == "2026-11-27T05:00:00.000Z"     # the box's own, later (its true time)
    # A tablet whose clock runs two days fast (its offset says so) sells on account to the office's
    # customer: by its raw clock on the 29th, truly on the 27th, before the owner's entry of the 28th.
    fast = make_credit_sale(office, qty=1, created_at="2026-11-29T10:00:00+05:00", **own(T1, 3))
    fast["clock_offset_ms"] = -2 * 24 * 3600 * 1000
    fast["hash"] = document_hash(fast)
    await receive(store, T1, fast)
    records, _ = await khata.customers(store.read())
    assert records[office]["last_entry_at"] == "2026-11-28T09:00:00.000Z"    # still the owner's
    await client.aclose()


def _skewed(document: dict[str, Any], offset_ms: int) -> dict[str, Any]:
    """The document as a tablet whose clock is `offset_ms` behind the box's (offset = box - tablet) sends it."""
    document = {**document, "clock_offset_ms": offset_ms}
    document.pop("hash")
    return {**document, "hash": document_hash(document)}


async def test_a_customers_entries_and_newest_follow_true_time_not_clock_or_arrival(store):
    """T2 pushes late an entry made before T1's; T1's clock runs two days fast. The khata lists them by
    when they truly happened, and the newest is the one truly last, whatever came in last."""
    cid = str(uuid.uuid4())
    first = make_credit_sale(cid, qty=1, created_at="2026-11-27T09:00:00+05:00", **own(T1, 1))
    # Made at 10:00 on the 27th by a clock two days fast: by its raw clock the 29th.
    fast = _skewed(make_credit_sale(cid, qty=1, created_at="2026-11-29T10:00:00+05:00", **own(T1, 2)),
                   -2 * 24 * 3600 * 1000)
    # Made at 11:00, pushed after both (T2 was out of the box's reach): the latest, received last.
    late = make_credit_sale(cid, qty=1, created_at="2026-11-27T11:00:00+05:00", **own(T2, 1))
    early_late = make_credit_sale(cid, qty=1, created_at="2026-11-27T08:00:00+05:00", **own(T2, 2))
    await receive(store, T1, first, fast)
    await receive(store, T2, late, early_late)
    got = await khata.customer_khata(store.read(), cid, T1.device_id)
    assert [e["document_id"] for e in got["entries"]] == [late["id"], fast["id"], first["id"], early_late["id"]]
    assert got["entries"][1]["at"] == fast["created_at"]       # shown as its receipt printed it
    # The newest is T2's 11:00 entry (06:00 UTC), not the 29th of the fast clock, nor T2's 08:00 received last.
    assert got["customer"]["last_entry_at"] == "2026-11-27T06:00:00.000Z"


async def test_an_upgrade_gives_the_khata_entries_a_box_holds_their_true_time(tmp_path):
    """A box at m010 with entries: m011 works out each one's true time from its journal row, and a
    document m010 projected is not projected again (its entry keeps its refused mark)."""
    import aiosqlite
    from cloud_api.contract import canonical_json
    async with aiosqlite.connect(tmp_path / "old.db", isolation_level=None) as db:   # closed even if a check fails
        db.row_factory = aiosqlite.Row
        await apply_migrations(db, STEPS[:10])
        cid = str(uuid.uuid4())
        fast = _skewed(make_credit_sale(cid, qty=1, created_at="2026-11-29T10:00:00+05:00", **own(T1, 1)),
                       -2 * 24 * 3600 * 1000)
        plain = make_credit_sale(cid, qty=1, created_at="2026-11-27T11:00:00+05:00", **own(T1, 2))
        for n, document in enumerate((fast, plain), start=1):
            # The second was refused by the cloud (a conflict): its journal row has a number, its entry is refused.
            await db.execute("INSERT INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at, "
                             "ingest_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (document["id"], document["kind"], T1.device_id, "T1", n, document["hash"],
                              canonical_json(document).decode(), "2026-11-27T13:00:00.000Z", 7 if n == 2 else None))
            await db.execute("INSERT INTO khata_entries (document_id, customer_id, kind, amount, created_at, device_id, "
                             "device_code, seq, ingest_seq) VALUES (?, ?, 'sale', 55000, ?, ?, 'T1', ?, ?)",
                             (document["id"], cid, document["created_at"], T1.device_id, n,
                              khata.REFUSED if n == 2 else None))
        assert await apply_migrations(db) == ["011_khata_true_time"]
        rows = await db.execute_fetchall("SELECT document_id, true_at, ingest_seq FROM khata_entries ORDER BY pk")
        assert [tuple(row) for row in rows] == [(fast["id"], "2026-11-27T05:00:00.000Z", None),
                                                (plain["id"], "2026-11-27T06:00:00.000Z", khata.REFUSED)]
