"""Returns across tablets on the box: finding a sale, refunded quantities, over-refund flags for the owner."""
from __future__ import annotations

import json
import re
from typing import Any

import aiosqlite

from cloud_api.contract import document_hash
from gateway.cli import _print_status, _status
from gateway.heartbeat import build_heartbeat
from gateway.migrations import STEPS, apply_migrations
from gateway.returns import find_sale, over_refunds
from gateway.store import DB_NAME, Store
from tests.conftest import make_sale
from tests.gateway.conftest import paired
from tests.gateway.documents import make_loose_sale, make_refund
from tests.gateway.test_admin import set_pin, sign_in, start_box


def own(till: dict[str, Any], seq: int) -> dict[str, Any]:
    return dict(device_id=till["device_id"], device_code=till["device_code"], seq=seq)


async def push(client: Any, till: dict[str, Any], *documents: dict[str, Any]) -> list[str]:
    response = await client.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": list(documents)})
    assert response.status == 200
    return [r["status"] for r in (await response.json())["results"]]


async def lookup(client: Any, till: dict[str, Any], ref: str) -> Any:
    return await client.get(f"/api/v1/sales/{ref}", headers=till["headers"])


async def test_a_sale_from_one_tablet_is_returned_on_another(gateway, provisioned):
    t1, t2 = await paired(gateway, provisioned), await paired(gateway, provisioned)
    sale = make_sale(**own(t1, 4), qty=3)
    assert await push(gateway, t1, sale) == ["stored"]

    found = await lookup(gateway, t2, "t1-000004")   # typed on T2, in any case
    assert found.status == 200
    body = await found.json()
    assert body["sale"] == sale and body["receipt_number"] == "T1-000004"
    assert body["refunded"] == [0] and body["refunds"] == []

    refund = make_refund(sale, {0: 2}, **own(t2, 1))
    assert await push(gateway, t2, refund) == ["stored"]
    body = await (await lookup(gateway, t1, sale["id"])).json()   # by id, from T1 now
    assert body["refunded"] == [2]
    assert body["refunds"] == [{"id": refund["id"], "receipt_number": "T2-000001",
                                "created_at": refund["created_at"], "total": refund["total"],
                                "on_account": 0, "money": refund["total"]}]   # paid back in cash
    assert await push(gateway, t2, refund) == ["duplicate"]          # a resend counts once
    assert (await (await lookup(gateway, t1, "T1-000004")).json())["refunded"] == [2]


async def test_an_unknown_sale_is_a_404_a_cashier_understands(gateway, provisioned):
    till = await paired(gateway, provisioned)
    sale = make_sale(**own(till, 1))
    refund = make_refund(sale, {0: 1}, **own(till, 2))
    assert await push(gateway, till, sale, refund) == ["stored", "stored"]
    for ref, words in (("T1-000099", "not on the shop box"), ("T2-000001", "not on the shop box"),
                       ("T1-000002", "T1-000002 is a return, not a sale"), ("banana", "not a receipt number"),
                       ("00000000-0000-4000-8000-000000000000", "not on the shop box")):
        response = await lookup(gateway, till, ref)
        assert response.status == 404, ref
        error = (await response.json())["error"]
        assert error["code"] == "unknown_sale" and words in error["message"], (ref, error)
        # What is no sale is named for the till's program too, so it words it in its own language.
        named = {"kind": "refund", "receipt": "T1-000002"} if ref == "T1-000002" else {}
        assert {k: error[k] for k in ("kind", "receipt") if k in error} == named, (ref, error)
    assert (await gateway.get(f"/api/v1/sales/{sale['id']}")).status == 401   # tablets only


async def test_an_over_refund_is_stored_forwarded_and_flagged_for_the_owner(gateway, provisioned):
    """T1 sold 2; T1 (offline from the box) returned 1 and T2 returned 2: the money left, the box says so."""
    t1, t2 = await paired(gateway, provisioned), await paired(gateway, provisioned)
    sale = make_sale(**own(t1, 4), qty=2)
    first, second = make_refund(sale, {0: 1}, **own(t1, 5)), make_refund(sale, {0: 2}, **own(t2, 7))
    assert await push(gateway, t1, sale, first) == ["stored", "stored"]
    assert await push(gateway, t2, second) == ["stored"]                   # a fact: stored like any document

    body = await (await lookup(gateway, t1, "T1-000004")).json()
    assert body["refunded"] == [3]
    status = await _status(provisioned.state_dir)
    assert status["over_refund_count"] == 1
    [flag] = status["over_refunds"]
    assert flag["text"] == "T2-000007 returned 2 × Tapal Danedar 190g of T1-000004, which sold 2 (3 returned in all)"
    assert (flag["refund_id"], flag["sale_id"], flag["line_index"], flag["sold"], flag["refunded"]) == \
        (second["id"], sale["id"], 0, 2, 3)
    assert await push(gateway, t2, second) == ["duplicate"]                # no second flag for a resend
    assert (await _status(provisioned.state_dir))["over_refund_count"] == 1


async def test_a_sale_arriving_after_its_refunds_is_checked_then(gateway, provisioned):
    """Tablets push in any order: T2's returns reach the box before T1's sale does."""
    t1, t2 = await paired(gateway, provisioned), await paired(gateway, provisioned)
    sale = make_sale(**own(t1, 4), qty=2)
    sugar = make_loose_sale(**own(t1, 5), grams=1000)
    within = make_refund(sale, {0: 2}, **own(t2, 1))
    beyond = make_refund(sale, {0: 1}, **own(t2, 2))
    sugar_back = make_refund(sugar, {0: 1500}, **own(t2, 3))
    assert await push(gateway, t2, within, beyond, sugar_back) == ["stored", "stored", "stored"]
    assert (await _status(provisioned.state_dir))["over_refund_count"] == 0   # nothing to check against yet

    assert await push(gateway, t1, sale, sugar) == ["stored", "stored"]
    texts = [flag["text"] for flag in (await _status(provisioned.state_dir))["over_refunds"]]
    assert sorted(texts) == sorted([
        "T2-000002 returned 1 × Tapal Danedar 190g of T1-000004, which sold 2 (3 returned in all)",
        "T2-000003 returned 1.5 kg of Sugar (loose) of T1-000005, which sold 1 kg"])


async def test_a_return_of_a_line_the_sale_does_not_have_is_flagged(gateway, provisioned):
    till = await paired(gateway, provisioned)
    sale = make_sale(**own(till, 1), qty=2)
    ghost = make_refund(sale, {3: 1}, **own(till, 2))
    other = make_refund(sale, {0: 1}, **own(till, 3), sku="LIPTON-95", name="Lipton Yellow Label 95g")
    assert await push(gateway, till, sale, ghost, other) == ["stored", "stored", "stored"]
    flags = {flag["refund_id"]: flag for flag in (await _status(provisioned.state_dir))["over_refunds"]}
    assert flags[ghost["id"]]["text"] == \
        "T1-000002 returned 1 × Tapal Danedar 190g as line 4 of T1-000001, which has only 1 line"
    assert flags[other["id"]]["text"] == \
        "T1-000003 returned 1 × Lipton Yellow Label 95g as line 1 of T1-000001, which sold Tapal Danedar 190g there"
    assert flags[ghost["id"]]["sold"] is None and flags[other["id"]]["sold"] == 2


async def test_the_owner_reads_over_refunds_on_admin_and_in_status(provisioned, aiohttp_client, capsys):
    await set_pin(provisioned)
    box = await start_box(provisioned, aiohttp_client)
    t1, t2 = await paired(box, provisioned), await paired(box, provisioned)
    sale = make_sale(**own(t1, 4), qty=2)
    assert await push(box, t1, sale) == ["stored"]
    html = await (await box.get("/admin", headers=await sign_in(box))).text()
    assert "No return gave back more than was sold" in html
    assert await push(box, t2, make_refund(sale, {0: 3}, **own(t2, 7))) == ["stored"]

    html = await (await box.get("/admin", headers=await sign_in(box))).text()
    rows = re.findall(r'data-testid="over-refund"><td>[^<]*</td><td>([^<]*)</td>', html)
    assert rows == ["T2-000007 returned 3 × Tapal Danedar 190g of T1-000004, which sold 2"]

    status = json.loads(json.dumps(await _status(provisioned.state_dir)))   # what `status --json` prints
    assert status["over_refund_count"] == 1 and status["over_refunds"][0]["sold"] == 2
    _print_status(status)
    assert "T2-000007 returned 3 × Tapal Danedar 190g of T1-000004, which sold 2" in capsys.readouterr().out

    store = await Store.open(provisioned.state_dir)
    beat = await build_heartbeat(store, provisioned)
    await store.close()
    assert beat.over_refunds == ["T2-000007 returned 3 × Tapal Danedar 190g of T1-000004, which sold 2"]


async def test_an_older_box_projects_what_it_already_holds(tmp_path):
    """Migration 007 on a box that held sales and a return: returns see them; stock counts only the unsent."""
    old = tmp_path / "old-box"
    old.mkdir()
    sent, unsent = make_sale(seq=1, qty=2), make_sale(seq=2, qty=5)
    refund = make_refund(sent, {0: 3}, device_id="dev-1", device_code="T1", seq=3)
    async with aiosqlite.connect(old / DB_NAME, isolation_level=None) as db:   # a box as 006 left it
        await apply_migrations(db, STEPS[:6])
        for document, state in ((sent, "in_cloud"), (unsent, "pending"), (refund, "pending")):
            await db.execute("INSERT INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at, "
                             "cloud_state) VALUES (?, ?, 'dev-1', 'T1', ?, ?, ?, 'then', ?)",
                             (document["id"], document["kind"], document["seq"], document_hash(document),
                              json.dumps(document), state))
    store = await Store.open(old)
    db = store.read()
    moves = await db.execute_fetchall("SELECT document_id, sku, qty FROM stock_moves ORDER BY qty")
    found = await find_sale(db, "T1-000001")
    flags = await over_refunds(db)
    await store.close()
    assert [tuple(row) for row in moves] == [(unsent["id"], "TAPAL-190", -5), (refund["id"], "TAPAL-190", 3)]
    assert found["refunded"] == [3] and flags["over_refund_count"] == 1


async def test_a_return_paying_back_more_than_the_goods_were_paid_is_flagged(gateway, provisioned):
    """A till that ignored the sale's discount pays back the full price: the owner is told, in rupees."""
    t1, t2 = await paired(gateway, provisioned), await paired(gateway, provisioned)
    sale = make_sale(**own(t1, 4), qty=3)
    paid = sale["lines"][0]["amount"]
    fair = make_refund(sale, {0: 1}, **own(t2, 1))                     # what one of three was paid
    greedy = make_refund(sale, {0: 1}, **own(t2, 2), amount=paid)      # the whole line's money for one piece
    assert await push(gateway, t1, sale) == ["stored"]
    assert await push(gateway, t2, fair, greedy) == ["stored", "stored"]
    flags = (await _status(provisioned.state_dir))["over_refunds"]
    assert [(f["refund_id"], f["problem"]) for f in flags] == [(greedy["id"], "beyond_paid")]
    assert flags[0]["text"].startswith("T2-000002 paid back") and "of T1-000004" in flags[0]["text"]
