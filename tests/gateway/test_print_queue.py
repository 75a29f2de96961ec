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
from gateway import printers
from gateway.app import create_app
from gateway.escpos_receipt import KICK
from gateway.keys import STORE
from gateway.printer_wire import Timeouts, probe, send
from gateway.settings import GatewaySettings
from tests.fake_printer import FakePrinter, raster_bitmap, raster_images
from tests.gateway import print_documents as docs
from tests.gateway.conftest import paired
from tests.gateway.test_print_slip import FONTS

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


def mine(tablet: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """A document made by this tablet (its identity), hashed again."""
    doc = {**doc, "device_id": tablet["device_id"], "device_code": tablet["device_code"]}
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
    assert (await ask(box, tablet, 400, what="z_report"))["error"]["code"] == "bad_request"
    other = await box.get("/api/v1/print/1", headers=lonely["headers"])          # another tablet's job
    assert other.status == 404
    assert (await box.post("/api/v1/print", json={"document_id": sale["id"]})).status == 401


async def test_a_printer_that_is_off_gets_the_job_once_when_it_is_back(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    await printer.off()
    sale = mine(tablet, docs.sale())
    await push(box, tablet, sale)
    asked = await ask(box, tablet, document_id=sale["id"])
    waiting = await until(box, tablet, asked["job_id"], lambda s: s["problem"] == "offline")
    assert waiting["status"] in ("queued", "printing") and waiting["attempts"] >= 1 and "cannot reach" in waiting["error"]
    await printer.on()
    assert printed(await until(box, tablet, asked["job_id"], printed))
    await asyncio.sleep(0.5)                                           # time for a second copy, were there one
    assert len(printer.jobs) == 1 and printer.jobs[0].count(b"Tapal Danedar 190g") == 1


async def test_out_of_paper_keeps_the_job_until_the_roll_is_changed(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    tablet = await counter(box, print_settings, printer)
    printer.paper_out = True
    sale = mine(tablet, docs.sale())
    await push(box, tablet, sale)
    asked = await ask(box, tablet, document_id=sale["id"])
    waiting = await until(box, tablet, asked["job_id"], lambda s: s["problem"] == "paper_out")
    assert waiting["status"] in ("queued", "printing") and printer.jobs == []   # asked its paper sensor, sent nothing
    printer.paper_out = False
    assert printed(await until(box, tablet, asked["job_id"], printed))
    assert len(printer.jobs) == 1


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
    no_kick = mine(tablet, docs.sale(seq=2))
    await push(box, tablet, no_kick)
    quiet = await ask(box, tablet, document_id=no_kick["id"], kick=False)
    assert printed(await until(box, tablet, quiet["job_id"], printed))
    assert not (await printer.wait_for_jobs(3))[2].startswith(KICK)


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
        when = datetime.now(timezone(timedelta(hours=5))) - timedelta(seconds=ago_s)
        return mine(tablet, {"id": str(uuid.uuid4()), "kind": "drawer_open", "device_id": "", "device_code": "",
                             "seq": seq, "created_at": when.isoformat(timespec="seconds"), "cashier_id": "c1",
                             "reason": "Change for a customer"})
    stale = drawer_open(1, 600)        # pressed ten minutes ago while the box was out of reach
    await push(box, tablet, stale)
    fresh = drawer_open(2, 0)
    await push(box, tablet, fresh)
    kicks = await printer.wait_for_jobs(1)
    await asyncio.sleep(0.5)                                           # a second kick would have come by now
    assert printer.jobs == [KICK] and kicks == [KICK]
    rows = await box.server.app[STORE].read().execute_fetchall(
        "SELECT document_id, status FROM print_jobs WHERE what = 'drawer'")
    assert [(r["document_id"], r["status"]) for r in rows] == [(fresh["id"], "printed")]


async def test_an_urdu_receipt_through_the_box_is_a_raster_of_the_printers_width(
        box: Any, print_settings: GatewaySettings, printer: FakePrinter) -> None:
    if FONTS.missing():
        pytest.skip("fonts-noto-core is not installed")
    tablet = await counter(box, print_settings, printer, width=384)
    sale = mine(tablet, docs.urdu_sale())
    await push(box, tablet, sale)
    asked = await ask(box, tablet, document_id=sale["id"], language="ur")
    assert printed(await until(box, tablet, asked["job_id"], printed))
    slip = (await printer.wait_for_jobs(1))[0]
    assert slip.startswith(KICK) and raster_bitmap(slip).width == 384
    assert {w for w, _, _ in raster_images(slip)} == {48}
    payload = await box.server.app[STORE].read().execute_fetchall("SELECT payload FROM print_jobs")
    assert [row["payload"] for row in payload] == [None]               # printed: its 100 KB of pixels let go


async def test_a_receipt_nobody_could_print_in_time_fails_as_expired(
        print_settings: GatewaySettings, aiohttp_client: Any, printer: FakePrinter) -> None:
    box = await aiohttp_client(create_app(print_settings.model_copy(update={"print_job_expiry_s": 0.3})))
    tablet = await counter(box, print_settings, printer)
    await printer.off()
    sale = mine(tablet, docs.sale())
    await push(box, tablet, sale)
    asked = await ask(box, tablet, document_id=sale["id"])
    gone = await until(box, tablet, asked["job_id"], lambda s: s["status"] == "failed")
    assert gone["problem"] == "expired"
    await printer.on()
    await asyncio.sleep(0.5)
    assert printer.jobs == []


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
