"""Printing through the box, end to end over real TCP: a paired tablet asks, the box renders from the
documents it holds, queues per printer and sends to a fake ESC/POS printer on 127.0.0.1."""
from __future__ import annotations

import asyncio
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cloud_api.contract import document_hash
from cloud_api.service.clock import utc_after
from gateway import print_jobs, printers
from gateway.app import create_app
from gateway.escpos_receipt import KICK
from gateway.keys import STORE
from gateway.print_queue import PRINT_QUEUE
from gateway.printer_wire import Timeouts, probe, send
from gateway.settings import GatewaySettings
from tests.fake_printer import FakePrinter, raster_bitmap, raster_images
from tests.gateway import print_documents as docs
from tests.gateway.conftest import paired
from tests.gateway.documents import make_customer
from tests.gateway.test_print_slip import fonts_or_skip

CUT = b"\x1dV"


@pytest.fixture
def print_settings(provisioned: GatewaySettings) -> GatewaySettings:
    return provisioned.model_copy(update={
        "print_connect_timeout_s": 0.5, "print_status_timeout_s": 0.3, "print_backoff_base_s": 0.05,
        "print_backoff_cap_s": 0.2, "print_idle_s": 0.1})


@pytest.fixture
async def printer() -> Any:
    fake = await FakePrinter().on()
    yield fake
    await fake.off()


@pytest.fixture
async def box(print_settings: GatewaySettings, cloud: Any, aiohttp_client: Any) -> Any:
    """The box, for a shop whose receipt settings are plain English (the demo's footer has Urdu in it,
    which would make every receipt a raster: tests/gateway/test_print_slip.py covers that)."""
    server, shop = cloud
    async with aiohttp.ClientSession() as session:
        response = await session.put(server.make_url(f"/v1/shops/{shop.shop_id}/settings"),
                                     json={"address": "Shop 12, Main Market", "receipt_footer": "Thank you!"},
                                     headers={"Authorization": f"Bearer {shop.owner_token}"})
        assert response.status == 200, await response.text()
    client = await aiohttp_client(create_app(print_settings))
    for _ in range(200):   # receipts name the cashier and print the footer once the catalog is here
        if await client.server.app[STORE].read().execute_fetchall("SELECT 1 FROM catalog"):
            return client
        await asyncio.sleep(0.05)
    raise AssertionError("the box never got its catalog")


async def counter(box: Any, settings: GatewaySettings, fake: FakePrinter | None, width: int = 576) -> dict[str, Any]:
    """A paired tablet, given a printer on the box (the fake one) unless `fake` is None."""
    tablet = await paired(box, settings)
    if fake is not None:
        async with box.server.app[STORE].transaction() as db:
            printer_id = await printers.add_printer(db, "Counter 1", "lan", fake.host, fake.port, width_dots=width)
            assert await printers.assign(db, tablet["device_id"], printer_id)
    return tablet


def now_pk(ago_s: float = 0) -> str:
    """A document's created_at, `ago_s` seconds ago on a Pakistani tablet's clock."""
    return (datetime.now(timezone(timedelta(hours=5))) - timedelta(seconds=ago_s)).isoformat(timespec="seconds")


def mine(tablet: dict[str, Any], doc: dict[str, Any], ago_s: float = 0) -> dict[str, Any]:
    """A document made by this tablet (its identity) `ago_s` seconds ago, hashed again."""
    doc = {**doc, "device_id": tablet["device_id"], "device_code": tablet["device_code"], "created_at": now_pk(ago_s)}
    doc["hash"] = document_hash(doc)
    return doc


async def push(box: Any, tablet: dict[str, Any], *documents: dict[str, Any]) -> None:
    response = await box.post("/api/v1/journal:batch", json={"documents": list(documents)}, headers=tablet["headers"])
    assert response.status == 200
    assert {r["status"] for r in (await response.json())["results"]} == {"stored"}


async def ask(box: Any, tablet: dict[str, Any], expect: int = 202, **body: Any) -> dict[str, Any]:
    response = await box.post("/api/v1/print", json=body, headers=tablet["headers"])
    answer = await response.json()
    assert response.status == expect, answer
    return answer


async def job(box: Any, tablet: dict[str, Any], job_id: int) -> dict[str, Any]:
    response = await box.get(f"/api/v1/print/{job_id}", headers=tablet["headers"])
    assert response.status == 200
    return await response.json()


async def until(box: Any, tablet: dict[str, Any], job_id: int, check: Any, timeout_s: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        state = await job(box, tablet, job_id)
        if check(state):
            return state
        assert asyncio.get_running_loop().time() < deadline, state
        await asyncio.sleep(0.05)


def printed(state: dict[str, Any]) -> bool:
    return state["status"] == "printed"


MARK = b"-- marker --"


async def all_sent(box: Any, tablet: dict[str, Any], fake: FakePrinter) -> list[bytes]:
    """What the printer got, once a marker job queued now has come: jobs of a printer go first in, first
    out, so anything still to come (a second copy, a second kick) would have come before it."""
    async with box.server.app[STORE].transaction() as db:
        printer = await printers.printer_for(db, tablet["device_id"])
        await print_jobs.enqueue(db, printer_id=printer.printer_id, device_id=None, document_id=None, what="test_page",
                                 copy="original", kick=False, payload=MARK)
    box.server.app[PRINT_QUEUE].wake(printer.printer_id)
    for _ in range(200):
        if MARK in fake.jobs:
            return fake.jobs[:fake.jobs.index(MARK)]
        await fake.wait_for_jobs(len(fake.jobs) + 1)
    raise AssertionError("the marker never came")


async def pushed_and_printed(box: Any, tablet: dict[str, Any], doc: dict[str, Any], **body: Any) -> dict[str, Any]:
    """The tablet pushes its document and asks for its receipt; the job, once printed."""
    await push(box, tablet, doc)
    asked = await ask(box, tablet, document_id=doc["id"], **body)
    return await until(box, tablet, asked["job_id"], printed)


async def asked_while_off(box: Any, tablet: dict[str, Any], fake: FakePrinter, **body: Any) -> dict[str, Any]:
    """The printer switched off, then a print asked for (its documents pushed first): the job's answer."""
    await fake.off()
    await push(box, tablet, *body.pop("documents"))
    return await ask(box, tablet, **body)


async def test_a_cash_sale_prints_with_the_drawer_kick_and_a_card_sale_without(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    cash, card = mine(tablet, docs.discounted_sale(seq=1)), mine(tablet, docs.card_sale(seq=2))
    await push(box, tablet, cash, card)
    first = await ask(box, tablet, document_id=cash["id"])
    second = await ask(box, tablet, document_id=card["id"])
    assert first["status"] == "queued" and first["printer"] == "Counter 1"
    assert printed(await until(box, tablet, first["job_id"], printed))
    assert printed(await until(box, tablet, second["job_id"], printed))
    cash_slip, card_slip = await printer.wait_for_jobs(2)
    number = f"{tablet['device_code']}-000001".encode()
    for words in (b"Madina", b"Shop 12, Main Market", number, b"Tapal Danedar 190g", b"Sugar (loose)", b"Total",
                  b"Rs 1,161", b"Change", b"Thank you!"):
        assert words in cash_slip, words
    assert cash_slip.startswith(KICK) and CUT in cash_slip[-8:]          # the drawer opens as the slip prints
    assert KICK not in card_slip and b"Card" in card_slip and CUT in card_slip[-8:]


async def test_the_box_needs_the_document_and_the_tablet_a_printer(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    lonely = await counter(box, print_settings, None)
    sale = mine(lonely, docs.sale())
    await push(box, lonely, sale)
    answer = await ask(box, lonely, 404, document_id=sale["id"])
    assert answer["error"]["code"] == "no_printer"                    # the till prints through the browser
    assert (await box.get("/api/v1/printer", headers=lonely["headers"])).status == 404
    tablet = await counter(box, print_settings, printer)
    unsent = mine(tablet, docs.sale(seq=1))
    assert (await ask(box, tablet, 409, document_id=unsent["id"]))["error"]["code"] == "not_at_box"
    await push(box, tablet, unsent)                                    # the till pushes, then asks again
    assert printed(await until(box, tablet, (await ask(box, tablet, document_id=unsent["id"]))["job_id"], printed))
    mine_now = await (await box.get("/api/v1/printer", headers=tablet["headers"])).json()
    assert mine_now["name"] == "Counter 1" and mine_now["status"]["paper"] == "ok"
    # The box's status names each paired till's printer (the till asks it every sync cycle), null for none;
    # to a request with no token, nothing of printers.
    status = await (await box.get("/api/v1/status", headers=tablet["headers"])).json()
    assert status["printer"] == {"printer_id": mine_now["printer_id"], "name": "Counter 1"}
    assert (await (await box.get("/api/v1/status", headers=lonely["headers"])).json())["printer"] is None
    assert "printer" not in await (await box.get("/api/v1/status")).json()
    assert (await ask(box, tablet, 400, what="z_report"))["error"]["code"] == "bad_request"
    other = await box.get("/api/v1/print/1", headers=lonely["headers"])          # another tablet's job
    assert other.status == 404
    assert (await box.post("/api/v1/print", json={"document_id": sale["id"]})).status == 401


async def test_a_printer_that_is_off_gets_the_job_once_when_it_is_back(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    sale = mine(tablet, docs.sale())
    asked = await asked_while_off(box, tablet, printer, documents=[sale], document_id=sale["id"])
    waiting = await until(box, tablet, asked["job_id"], lambda s: s["problem"] == "offline")
    assert waiting["status"] in ("queued", "printing") and waiting["attempts"] >= 1 and "cannot reach" in waiting["error"]
    await printer.on()
    assert printed(await until(box, tablet, asked["job_id"], printed))
    sent = await all_sent(box, tablet, printer)                        # a second copy would have come first
    assert len(sent) == 1 and sent[0].count(b"Tapal Danedar 190g") == 1 and sent[0].startswith(KICK)


async def test_paper_out_mid_job_prints_the_slip_again_without_a_second_kick(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    printer.runs_out_mid_job = True
    asked = await pushed_and_printed(box, tablet, mine(tablet, docs.sale()))
    first, again = await all_sent(box, tablet, printer)                # cut short by the roll, then whole again
    assert first.startswith(KICK) and b"Tapal Danedar 190g" in again and KICK not in again
    kick = await box.server.app[STORE].read().execute_fetchall("SELECT kick FROM print_jobs WHERE job_id = ?",
                                                               (asked["job_id"],))
    assert [row["kick"] for row in kick] == [print_jobs.KICK_SENT]


async def test_a_tablet_prints_only_its_own_documents(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    t1, t2 = await counter(box, print_settings, printer), await counter(box, print_settings, printer)
    opening, shift_docs, closing = docs.shift_documents(t1["device_id"])
    sale = mine(t1, docs.sale(seq=7))
    await push(box, t1, *[mine(t1, d) for d in (opening, closing)], sale)
    for body in ({"document_id": sale["id"]}, {"document_id": sale["id"], "copy": "duplicate"},
                 {"what": "z_report", "shift_id": opening["id"]}):
        refused = await ask(box, t2, 404, **body)
        assert refused["error"]["code"] == "not_found" and "not this tablet's" in refused["error"]["message"]
    asked = await ask(box, t1, document_id=sale["id"])                  # its own tablet may
    assert printed(await until(box, t1, asked["job_id"], printed))
    await ask(box, t2, 404, document_id=sale["id"])                     # nor is T1's job, once there, answered to T2
    sent = await all_sent(box, t1, printer)
    assert len(sent) == 1 and sent[0].startswith(KICK)                  # T2's asking printed nothing


async def test_a_late_original_prints_without_opening_the_drawer(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    await pushed_and_printed(box, tablet, mine(tablet, docs.sale(), ago_s=600))   # pushed ten minutes late
    [slip] = await all_sent(box, tablet, printer)
    assert b"Tapal Danedar 190g" in slip and b"\x1bp" not in slip


async def test_out_of_paper_kicks_the_drawer_at_once_and_keeps_the_slip_until_the_roll_is_changed(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    printer.paper_out = True
    sale = mine(tablet, docs.sale())                                   # paid in cash: the change is in the drawer
    await push(box, tablet, sale)
    asked = await ask(box, tablet, document_id=sale["id"])
    assert await printer.wait_for_jobs(1) == [KICK]                    # the drawer needs no paper: kicked at once
    waiting = await until(box, tablet, asked["job_id"], lambda s: s["problem"] == "paper_out")
    assert waiting["status"] in ("queued", "printing") and printer.jobs == [KICK]   # the slip waits for paper
    printer.paper_out = False
    assert printed(await until(box, tablet, asked["job_id"], printed))
    kick, slip = await all_sent(box, tablet, printer)                  # once, and never a second kick
    assert kick == KICK and b"Tapal Danedar 190g" in slip and b"\x1bp" not in slip


async def test_open_drawer_behind_a_stuck_receipt_kicks_at_once_and_the_till_can_follow_it(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    printer.paper_out = True
    card = mine(tablet, docs.card_sale())
    await push(box, tablet, card)
    stuck = await ask(box, tablet, document_id=card["id"])
    await until(box, tablet, stuck["job_id"], lambda s: s["problem"] == "paper_out")
    drawer = mine(tablet, {"id": str(uuid.uuid4()), "kind": "drawer_open", "seq": 2, "cashier_id": "c1",
                           "reason": "Change for a customer"})
    await push(box, tablet, drawer)
    followed = await ask(box, tablet, what="drawer", document_id=drawer["id"])
    assert await printer.wait_for_jobs(1) == [KICK]                    # ahead of the slip stuck for paper
    assert printed(await until(box, tablet, followed["job_id"], printed))
    again = await ask(box, tablet, what="drawer", document_id=drawer["id"])   # asked again: the same job
    assert again["job_id"] == followed["job_id"]
    assert (await job(box, tablet, stuck["job_id"]))["problem"] == "paper_out"
    assert (await ask(box, tablet, 404, what="drawer", document_id=card["id"]))["error"]["code"] == "not_found"
    printer.paper_out = False
    assert printed(await until(box, tablet, stuck["job_id"], printed))
    kick, slip = await all_sent(box, tablet, printer)
    assert kick == KICK and b"Card" in slip and b"\x1bp" not in slip
    rows = await box.server.app[STORE].read().execute_fetchall("SELECT count(*) FROM print_jobs WHERE what = 'drawer'")
    assert rows[0][0] == 1


async def test_a_printer_that_is_off_cannot_kick_and_the_job_says_so(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    await printer.off()
    drawer = mine(tablet, {"id": str(uuid.uuid4()), "kind": "drawer_open", "seq": 1, "cashier_id": "c1",
                           "reason": "Check the float"})
    await push(box, tablet, drawer)
    followed = await ask(box, tablet, what="drawer", document_id=drawer["id"])
    failed = await until(box, tablet, followed["job_id"], lambda s: s["status"] == "failed")
    assert failed["problem"] == "offline"                             # the till says: open it with its key
    await printer.on()
    assert await all_sent(box, tablet, printer) == []                  # and it never springs open later


async def test_a_reprint_says_duplicate_and_never_opens_the_drawer(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    sale = mine(tablet, docs.sale())
    await push(box, tablet, sale)
    first = await ask(box, tablet, document_id=sale["id"])
    again = await ask(box, tablet, document_id=sale["id"])            # a lost answer, asked again
    assert again["job_id"] == first["job_id"]
    copy = await ask(box, tablet, document_id=sale["id"], copy="duplicate", kick=True)
    assert printed(await until(box, tablet, copy["job_id"], printed))
    original, duplicate = await printer.wait_for_jobs(2)
    assert b"DUPLICATE" not in original and original.startswith(KICK)
    assert b"DUPLICATE" in duplicate and KICK not in duplicate
    assert original.split(b"Madina", 1)[1].replace(b"\x1b!\x00", b"") in duplicate.replace(b"\x1b!\x00", b"")
    await pushed_and_printed(box, tablet, mine(tablet, docs.sale(seq=2)), kick=False)
    assert not (await printer.wait_for_jobs(3))[2].startswith(KICK)


async def test_a_khata_payment_in_cash_prints_its_slip_and_opens_the_drawer_and_by_card_does_not(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    who = make_customer("Ayesha Bibi", device_id=tablet["device_id"], device_code=tablet["device_code"], seq=1)
    owed = mine(tablet, docs.credit_sale(seq=2, customer_id=who["customer_id"]), ago_s=60)
    cash = mine(tablet, docs.khata_payment(seq=3, customer_id=who["customer_id"], note="November's tea"))
    card = mine(tablet, docs.khata_payment(seq=4, customer_id=who["customer_id"],
                                           payments=[{"tender": "card", "amount": 20000, "reference": "AUTH-7"}]))
    await push(box, tablet, who, owed, cash, card)
    for paid in (cash, card):
        assert printed(await until(box, tablet, (await ask(box, tablet, document_id=paid["id"]))["job_id"], printed))
    cash_slip, card_slip = await printer.wait_for_jobs(2)
    # Two packs of tea on account (Rs 1,100), then Rs 500 in cash: Rs 600 owed after it, Rs 400 after the card.
    for words in (b"KHATA PAYMENT", b"Madina", f"{tablet['device_code']}-000003".encode(), b"Amount received",
                  b"Rs 500", b"Cash", b"Customer", b"Ayesha Bibi", b"Balance after", b"Rs 600",
                  b"Note: November's tea"):
        assert words in cash_slip, words
    for words in (b"GST", b"Change", b"Tapal", b"Thank you!"):    # no sale's lines, taxes or footer
        assert words not in cash_slip, words
    assert cash_slip.startswith(KICK) and CUT in cash_slip[-8:]           # cash in: the drawer opens
    assert KICK not in card_slip and b"AUTH-7" in card_slip and b"Rs 400" in card_slip


async def test_the_z_report_prints_from_the_shifts_documents(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    opening, shift_docs, closing = docs.shift_documents(tablet["device_id"])
    held = [mine(tablet, d) for d in (opening, *shift_docs, closing)]
    # The refund names the sale by id: re-point it at the sale as this tablet made it.
    held[3] = mine(tablet, {**held[3], "original_id": held[1]["id"]})
    assert (await ask(box, tablet, 409, what="z_report", shift_id=held[0]["id"]))["error"]["code"] == "not_at_box"
    await push(box, tablet, *held)
    asked = await ask(box, tablet, what="z_report", shift_id=held[0]["id"])
    assert printed(await until(box, tablet, asked["job_id"], printed))
    slip = (await printer.wait_for_jobs(1))[0]
    for words in (b"Z-REPORT", f"{tablet['device_code']}-000006".encode(), b"Sales total", b"Expected cash",
                  b"Counted cash", b"Paid out"):
        assert words in slip, words
    assert KICK not in slip


async def test_open_drawer_kicks_the_tablets_printer_once_and_only_when_fresh(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)

    def drawer_open(seq: int, ago_s: float) -> dict[str, Any]:
        return mine(tablet, {"id": str(uuid.uuid4()), "kind": "drawer_open", "seq": seq, "cashier_id": "c1",
                             "reason": "Change for a customer"}, ago_s)
    stale = drawer_open(1, 600)        # pressed ten minutes ago while the box was out of reach
    await push(box, tablet, stale)
    fresh = drawer_open(2, 0)
    await push(box, tablet, fresh)
    await printer.wait_for_jobs(1)
    assert await all_sent(box, tablet, printer) == [KICK]               # a second kick would have come first
    rows = await box.server.app[STORE].read().execute_fetchall(
        "SELECT document_id, status FROM print_jobs WHERE what = 'drawer'")
    assert [(r["document_id"], r["status"]) for r in rows] == [(fresh["id"], "printed")]


async def test_an_urdu_receipt_through_the_box_is_a_raster_of_the_printers_width(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    fonts_or_skip()
    tablet = await counter(box, print_settings, printer, width=384)
    await pushed_and_printed(box, tablet, mine(tablet, docs.urdu_sale()), language="ur")
    slip = (await printer.wait_for_jobs(1))[0]
    assert slip.startswith(KICK) and raster_bitmap(slip).width == 384
    assert {w for w, _, _ in raster_images(slip)} == {48}
    payload = await box.server.app[STORE].read().execute_fetchall("SELECT payload FROM print_jobs")
    assert [row["payload"] for row in payload] == [None]               # printed: its 100 KB of pixels let go


async def test_a_receipt_nobody_could_print_in_time_fails_as_expired(
        print_settings: GatewaySettings, aiohttp_client: Any, printer: FakePrinter) -> None:
    box = await aiohttp_client(create_app(print_settings.model_copy(update={"print_job_expiry_s": 0.3})))
    tablet = await counter(box, print_settings, printer)
    sale = mine(tablet, docs.sale())
    asked = await asked_while_off(box, tablet, printer, documents=[sale], document_id=sale["id"])
    gone = await until(box, tablet, asked["job_id"], lambda s: s["status"] == "failed")
    assert gone["problem"] == "expired"
    await printer.on()
    assert await all_sent(box, tablet, printer) == []


async def test_a_z_report_never_expires(
        print_settings: GatewaySettings, aiohttp_client: Any, printer: FakePrinter) -> None:
    box = await aiohttp_client(create_app(print_settings.model_copy(update={"print_job_expiry_s": 0.3})))
    tablet = await counter(box, print_settings, printer)
    opening, _, closing = docs.shift_documents(tablet["device_id"])
    shift = [mine(tablet, d) for d in (opening, closing)]
    asked = await asked_while_off(box, tablet, printer, documents=shift, what="z_report", shift_id=opening["id"])
    async with box.server.app[STORE].transaction() as db:              # asked for an hour ago
        await db.execute("UPDATE print_jobs SET created_at = ? WHERE job_id = ?",
                         (utc_after(-3600), asked["job_id"]))
    await until(box, tablet, asked["job_id"], lambda s: s["attempts"] >= 2)
    await printer.on()
    assert printed(await until(box, tablet, asked["job_id"], printed))
    assert b"Z-REPORT" in (await all_sent(box, tablet, printer))[0]


async def test_ids_beyond_sqlites_integers_and_a_kick_that_is_not_a_bool_are_refused(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    for job_id in ("99999999999999999999999", str(2**63), "0", "-1", "1e3", "\u0661"):
        answer = await box.get(f"/api/v1/print/{job_id}", headers=tablet["headers"])
        assert answer.status == 404 and (await answer.json())["error"]["code"] == "not_found", job_id
    sale = mine(tablet, docs.sale())
    await push(box, tablet, sale)
    assert (await ask(box, tablet, 400, document_id=sale["id"], kick="yes"))["error"]["code"] == "bad_request"
    assert (await ask(box, tablet, 400, document_id=sale["id"], kick=1))["error"]["code"] == "bad_request"


async def test_a_usb_printer_is_written_without_blocking(tmp_path: Path) -> None:
    node = tmp_path / "lp0"
    os.mkfifo(node)                     # stands in for /dev/usb/lp0: a device node that takes bytes
    got = bytearray()

    def read() -> None:
        with open(node, "rb") as pipe:
            while chunk := pipe.read(65536):
                got.extend(chunk)
    reader = threading.Thread(target=read)
    reader.start()
    usb = printers.Printer(1, "USB", "usb", None, 9100, str(node), 576)
    await asyncio.sleep(0.1)            # the reader has the pipe open (a FIFO has no writer side without one)
    data = b"\x1b@" + os.urandom(300_000) + b"\x1dV\x00"
    status = await send(usb, data, Timeouts(write_s=5))
    reader.join(5)
    assert bytes(got) == data and status.reachable and status.paper == "unknown"
    missing = await probe(printers.Printer(2, "USB", "usb", None, 9100, str(tmp_path / "lp9"), 576), Timeouts())
    assert not missing.reachable and "No such file" in missing.error


async def test_an_upgraded_box_never_kicks_for_drawer_opens_it_already_held(tmp_path: Path) -> None:
    import aiosqlite

    from gateway.box import get_value
    from gateway.migrations import STEPS, apply_migrations
    db = await aiosqlite.connect(tmp_path / "old.db", isolation_level=None)
    try:
        await apply_migrations(db, [step for step in STEPS if step[0] < "009"])   # a box from before printing
        await db.execute("INSERT INTO journal (id, kind, device_id, device_code, seq, hash, body, received_at) "
                         "VALUES ('d1', 'drawer_open', 'dev', 'T1', 7, 'h', '{}', '2026-11-27T10:00:00.000Z')")
        assert "009_printers" in await apply_migrations(db)
        assert await get_value(db, "print_drawer_rx_seq") == "1"   # what it held is history
    finally:
        await db.close()
