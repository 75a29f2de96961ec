"""The box's khata LAN API (gateway/khata_api.py): customers with balances, a customer's entries, owner approvals."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

import gateway.app as gateway_app
from cloud_api.service.clock import utc_now
from gateway import owner_pin
from gateway.settings import GatewaySettings
from gateway.store import Store
from tests.gateway.conftest import paired
from tests.gateway.documents import make_adjustment, make_credit_sale, make_customer, make_khata_payment
from tests.gateway.test_admin import PIN, set_pin, start_box


async def push(client: Any, till: dict[str, Any], *documents: dict[str, Any]) -> None:
    answer = await client.post("/api/v1/journal:batch", headers=till["headers"], json={"documents": list(documents)})
    assert answer.status == 200
    assert [r["status"] for r in (await answer.json())["results"]] == ["stored"] * len(documents)


def own(till: dict[str, Any], seq: int) -> dict[str, Any]:
    return {"device_id": till["device_id"], "device_code": till["device_code"], "seq": seq}


async def no_snapshot(_store: Any, _cloud: Any) -> bool:
    return False


@pytest.fixture(autouse=True)
def box_counts_alone(monkeypatch: Any) -> None:
    """These tests read the box's own counting: the cloud's khata snapshot is left out (test_khata.py has it)."""
    monkeypatch.setattr(gateway_app, "pull_khata", no_snapshot)


@pytest.fixture
async def box(provisioned: GatewaySettings, aiohttp_client: Any) -> Any:
    await set_pin(provisioned)
    return await start_box(provisioned, aiohttp_client)


async def test_two_tablets_see_one_balance_and_the_entries_newest_first(box, provisioned):
    """A customer made on T1 buys on account on T2 and pays part in cash on T1: both read the same khata."""
    t1, t2 = await paired(box, provisioned), await paired(box, provisioned)
    ali = make_customer("Ali Raza", phone="0300 1234567", **own(t1, 1))
    await push(box, t1, ali)
    await push(box, t2, make_credit_sale(ali["customer_id"], qty=2, **own(t2, 1)))              # + Rs 1,100
    paid = make_khata_payment(ali["customer_id"], {"cash": 40000}, note="part", **own(t1, 2))  # - Rs 400
    await push(box, t1, paid)

    for till in (t1, t2):
        listed = await box.get("/api/v1/customers", headers=till["headers"])
        assert listed.status == 200
        body = await listed.json()
        assert body["snapshot_at"] is None       # no cloud snapshot yet: the box counts what it saw
        assert body["device_seq"] == (2 if till is t1 else 1)   # each tablet hears its own
        assert body["customers"] == [{
            "customer_id": ali["customer_id"], "name": "Ali Raza", "phone": "0300 1234567", "cnic": None,
            "ntn": None, "credit_limit": 500000, "balance": 70000, "updated_at": "2026-11-27T12:00:00.000Z",
            "last_entry_at": "2026-11-27T14:30:00.000Z"}]   # paid at 19:30 in Karachi, as the cloud writes it
    etag = listed.headers["ETag"]
    assert (await box.get("/api/v1/customers", headers={**t2["headers"], "If-None-Match": etag})).status == 304
    # The ETag is per tablet (device_seq is in the body): T1's answer is not T2's.
    assert (await box.get("/api/v1/customers", headers={**t1["headers"], "If-None-Match": etag})).status == 200

    one = await box.get(f"/api/v1/customers/{ali['customer_id']}", headers=t2["headers"])
    assert one.status == 200
    khata = await one.json()
    assert khata["customer"]["balance"] == 70000 and khata["device_seq"] == 1
    assert [(e["kind"], e["amount"], e["receipt_number"], e["note"]) for e in khata["entries"]] == [
        ("khata_payment", -40000, "T1-000002", "part"), ("sale", 110000, "T2-000001", None)]

    # A new entry changes the list's ETag.
    await push(box, t2, make_adjustment(ali["customer_id"], -5000, **own(t2, 2)))
    moved = await box.get("/api/v1/customers", headers={**t1["headers"], "If-None-Match": etag})
    assert moved.status == 200 and (await moved.json())["customers"][0]["balance"] == 65000


async def test_unpaired_callers_get_401_and_an_unknown_customer_404(box, provisioned):
    till = await paired(box, provisioned)
    unknown = str(uuid.uuid4())
    for path in ("/api/v1/customers", f"/api/v1/customers/{unknown}"):
        assert (await box.get(path)).status == 401
        assert (await box.get(path, headers={"Authorization": "Bearer nonsense"})).status == 401
    refused = await box.post("/api/v1/khata/approvals", json={"customer_id": unknown, "amount": 100,
                                                              "purpose": "credit", "pin": PIN})
    assert refused.status == 401
    missing = await box.get(f"/api/v1/customers/{unknown}", headers=till["headers"])
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "unknown_customer"


async def test_the_owner_pin_approves_credit_and_wrong_pins_are_limited(box, provisioned):
    till = await paired(box, provisioned)
    customer_id = str(uuid.uuid4())
    ask = {"customer_id": customer_id, "amount": 250000, "purpose": "credit"}

    right = await box.post("/api/v1/khata/approvals", headers=till["headers"], json={**ask, "pin": PIN})
    assert right.status == 201
    approval = await right.json()
    assert uuid.UUID(approval["approval_id"]).version == 4 and approval["approved_at"]
    store = await Store.open(provisioned.state_dir)
    try:
        row = await (await store.read().execute(
            "SELECT customer_id, amount, purpose, device_id FROM khata_approvals WHERE approval_id = ?",
            (approval["approval_id"],))).fetchone()
    finally:
        await store.close()
    assert tuple(row) == (customer_id, 250000, "credit", till["device_id"])

    bad = await box.post("/api/v1/khata/approvals", headers=till["headers"],
                         json={**ask, "amount": -5, "pin": PIN})
    assert bad.status == 400                       # credit is an amount above 0
    for _ in range(owner_pin.MAX_FREE_FAILURES):
        wrong = await box.post("/api/v1/khata/approvals", headers={**till["headers"], "X-Test-Remote": "10.0.0.9"},
                               json={**ask, "pin": "135790"})
        assert wrong.status == 403
        assert (await wrong.json())["error"]["message"] == "That is not the owner's PIN."
    locked = await box.post("/api/v1/khata/approvals", headers={**till["headers"], "X-Test-Remote": "10.0.0.9"},
                            json={**ask, "pin": PIN})   # even the right PIN waits now
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0
    assert re.fullmatch(r"Too many wrong PINs from this device\. Try again in \d+ seconds\.",
                        (await locked.json())["error"]["message"])
    # Another tablet (another address) is not locked out by that one's guesses.
    other = await box.post("/api/v1/khata/approvals", headers={**till["headers"], "X-Test-Remote": "10.0.0.10"},
                           json={**ask, "purpose": "adjustment", "amount": -300, "pin": PIN})
    assert other.status == 201


async def test_without_an_owner_pin_the_box_says_how_to_set_one(provisioned, aiohttp_client):
    box = await start_box(provisioned, aiohttp_client)
    till = await paired(box, provisioned)
    answer = await box.post("/api/v1/khata/approvals", headers=till["headers"],
                            json={"customer_id": str(uuid.uuid4()), "amount": 100, "purpose": "credit", "pin": PIN})
    assert answer.status == 409
    assert "posline-gateway admin-pin" in (await answer.json())["error"]["message"]


async def test_approvals_take_only_json(box, provisioned):
    till = await paired(box, provisioned)
    answer = await box.post("/api/v1/khata/approvals", headers=till["headers"], data="pin=246810")
    assert answer.status == 415


async def test_the_owner_reads_balances_and_flags_on_admin_and_in_status(box, provisioned, capsys):
    """/admin lists customers biggest balance first with the flags; `status --json` carries the flags."""
    import json

    from gateway.cli import _print_status, _status
    from tests.gateway.test_admin import sign_in
    t1, t2 = await paired(box, provisioned), await paired(box, provisioned)
    small = make_customer("Small Buyer", credit_limit=500000, **own(t1, 1))
    big = make_customer("Big Buyer", phone="0321 7654321", credit_limit=100000, **own(t1, 2))
    await push(box, t1, small, big)
    html = await (await box.get("/admin", headers=await sign_in(box))).text()
    assert "No customer owes anything that this box knows of" in html
    await push(box, t2, make_credit_sale(small["customer_id"], qty=1, **own(t2, 1)),
               make_credit_sale(big["customer_id"], qty=3, created_at=utc_now().replace("Z", "+00:00"),
                                **own(t2, 2)))                                     # 165000 > 100000: flagged
    await push(box, t1, make_adjustment(big["customer_id"], 10000, **own(t1, 3)))   # no approval: flagged

    html = await (await box.get("/admin", headers=await sign_in(box))).text()
    assert 'data-testid="tender-on_account">On account <b>Rs 1,650</b>' in html   # today's credit sales
    names = re.findall(r'data-testid="khata-customer"><td>([^<]*)</td>', html)
    assert names == ["Big Buyer", "Small Buyer"]
    assert "Owed to the shop: <strong>Rs 2,300</strong>." in html   # no advance held: none named
    flags = re.findall(r'data-testid="khata-flag"><td>[^<]*</td><td>([^<]*)</td>', html)
    assert "a tablet that was cut off from this box sold on credit on the last balance it knew" in " ".join(html.split())
    over = ("T2-000002 put Rs 1,650 on Big Buyer&#39;s khata, taking it to Rs 1,650, past the limit of Rs 1,000, "
            "without an approval from this box (made on a tablet cut off from the box, or on a balance that "
            "changed meanwhile)")
    assert flags == ["T1-000003 added Rs 100 to Big Buyer&#39;s khata without the owner&#39;s approval on this box",
                     over]

    status = json.loads(json.dumps(await _status(provisioned.state_dir)))   # what `status --json` prints
    assert status["khata_flag_count"] == 2
    assert [f["problem"] for f in status["khata_flags"]] == ["unapproved_adjustment", "over_limit"]
    _print_status(status)
    assert "khata flags: 2 entries" in capsys.readouterr().out

    # A customer who paid more than they owed: an advance the shop holds, shown apart from what is owed
    # (the back office's words), never netted against it.
    await push(box, t1, make_khata_payment(small["customer_id"], {"cash": 100000}, **own(t1, 4)))  # owed 55000
    html = await (await box.get("/admin", headers=await sign_in(box))).text()
    assert "Owed to the shop: <strong>Rs 1,750</strong>; advances held: <strong>Rs 450</strong>." in html


async def approve(box: Any, till: dict[str, Any], **ask: Any) -> tuple[int, dict[str, Any]]:
    answer = await box.post("/api/v1/khata/approvals", headers=till["headers"], json=ask)
    return answer.status, await answer.json()


async def test_the_box_approves_credit_within_the_limit_and_holds_it(box, provisioned):
    """Protocol v2: no PIN within balance + open holds + amount <= limit; past it the owner's PIN."""
    till = await paired(box, provisioned)
    zara = make_customer("Zara", credit_limit=150000, **own(till, 1))
    await push(box, till, zara, make_credit_sale(zara["customer_id"], qty=1, cash=5000, **own(till, 2)))  # 50000
    cid = zara["customer_id"]

    status, first = await approve(box, till, customer_id=cid, amount=60000, purpose="credit")
    assert status == 201
    assert {k: first[k] for k in ("balance", "credit_limit", "held", "by")} == {
        "balance": 50000, "credit_limit": 150000, "held": 0, "by": "box"}
    # 50000 + 60000 held + 50000 > 150000: the first approval holds its amount until a sale uses it.
    status, refused = await approve(box, till, customer_id=cid, amount=50000, purpose="credit")
    assert status == 403
    assert refused["error"]["code"] == "owner_approval_needed"
    assert (refused["balance"], refused["credit_limit"], refused["held"]) == (50000, 150000, 60000)
    status, owner = await approve(box, till, customer_id=cid, amount=50000, purpose="credit", pin=PIN)
    assert status == 201 and owner["by"] == "owner"

    # The sale that used the first approval releases its hold (its amount is now in the balance).
    await push(box, till, make_credit_sale(cid, qty=1, credit_approval_id=first["approval_id"],
                                           **own(till, 3)))   # 55000 on account
    status, after = await approve(box, till, customer_id=cid, amount=1000, purpose="credit")
    assert status == 403 and (after["balance"], after["held"]) == (105000, 50000)   # the owner's hold stays
    # ... until HOLD_S has passed.
    store = await Store.open(provisioned.state_dir)
    try:
        async with store.transaction() as db:
            await db.execute("UPDATE khata_approvals SET at = '2026-01-01T00:00:00.000Z' WHERE used_by IS NULL")
    finally:
        await store.close()
    status, later = await approve(box, till, customer_id=cid, amount=1000, purpose="credit")
    assert status == 201 and later["held"] == 0

    # A customer the box does not know: the shop's default limit, the one a till gives a new customer.
    status, unknown = await approve(box, till, customer_id=str(uuid.uuid4()), amount=500000, purpose="credit")
    assert status == 201 and unknown["credit_limit"] == 500000 and unknown["balance"] == 0
    # An adjustment always needs the owner.
    status, adjust = await approve(box, till, customer_id=cid, amount=-500, purpose="adjustment")
    assert status == 403 and adjust["error"]["code"] == "owner_approval_needed"


async def test_two_tablets_asking_at_once_cannot_both_take_the_last_of_a_limit(box, provisioned):
    t1, t2 = await paired(box, provisioned), await paired(box, provisioned)
    kamran = make_customer("Kamran", credit_limit=100000, **own(t1, 1))
    await push(box, t1, kamran)
    import asyncio
    answers = await asyncio.gather(*(approve(box, till, customer_id=kamran["customer_id"], amount=60000,
                                             purpose="credit") for till in (t1, t2, t1, t2)))
    assert sorted(status for status, _ in answers) == [201, 403, 403, 403]


async def test_a_wrong_pin_is_403_and_a_removed_tablet_401(box, provisioned):
    """The till tells "wrong PIN" from "this tablet is no longer paired" by status and code."""
    till = await paired(box, provisioned)
    ask = {"customer_id": str(uuid.uuid4()), "amount": 100, "purpose": "adjustment"}
    status, wrong = await approve(box, till, **ask, pin="135790")
    assert status == 403 and wrong["error"] == {"code": "wrong_pin", "message": "That is not the owner's PIN."}
    gone = await box.post("/api/v1/khata/approvals", headers={"Authorization": "Bearer revoked-or-unknown"},
                          json={**ask, "pin": PIN})
    assert gone.status == 401 and (await gone.json())["error"]["code"] == "unauthorised"
