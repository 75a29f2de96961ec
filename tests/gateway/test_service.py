"""The gateway as systemd runs it: a real process, a real notify socket, SIGTERM mid-request."""
from __future__ import annotations

import json
import signal
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from gateway.demo import cloud_service, gateway_service, run_command
from tests.conftest import make_sale
from tests.e2e.conftest import free_port


@pytest.fixture
def shop(tmp_path):
    db = tmp_path / "cloud.db"
    shop = json.loads(run_command("cloud", "create-shop", "--name", "Madina", "--demo", "--db", f"sqlite:///{db}"))
    cloud = cloud_service(db, free_port(), tmp_path / "cloud.log").start()
    run_command("gateway", "provision", "--state-dir", str(tmp_path / "gw"), "--cloud-url", cloud.url,
                "--enrol-token", shop["enrol_token"])
    yield tmp_path
    cloud.stop()


def receive_all(sock: socket.socket) -> list[str]:
    messages = []
    sock.setblocking(False)
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_ready_watchdog_status_then_sigterm_finishes_the_request_in_flight(shop):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(shop / "notify.sock"))
    port = free_port()
    gateway = gateway_service(shop / "gw", port, shop / "gw.log", {
        "NOTIFY_SOCKET": str(shop / "notify.sock"), "WATCHDOG_USEC": "400000"})
    gateway.start()
    code = run_command("gateway", "pair-code", "--state-dir", str(shop / "gw"))
    till = httpx.post(f"{gateway.url}/api/v1/pair", json={"code": code}, verify=gateway.verify()).json()
    time.sleep(1.0)
    messages = receive_all(notify)
    assert messages[0].startswith("READY=1")
    assert messages.count("WATCHDOG=1") >= 3   # every 0.2 s, from the event loop
    assert any(m.startswith("STATUS=WAN ") and "backlog 0" in m for m in messages)

    # Someone else holds the database's write lock, so the till's batch is mid-transaction
    # (waiting on BEGIN IMMEDIATE) when systemd stops the box.
    sales = [make_sale(device_id=till["device_id"], device_code=till["device_code"], seq=n) for n in (1, 2, 3)]
    blocker = sqlite3.connect(shop / "gw" / "gateway.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with ThreadPoolExecutor(1) as pool:
        pushed = pool.submit(httpx.post, f"{gateway.url}/api/v1/journal:batch", json={"documents": sales},
                             headers={"Authorization": f"Bearer {till['token']}"}, timeout=30,
                             verify=gateway.verify())
        time.sleep(0.5)
        gateway.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(OSError):   # no new requests once stopping
            socket.create_connection(("127.0.0.1", port), timeout=1)
        assert not pushed.done()
        blocker.execute("ROLLBACK")
        blocker.close()
        reply = pushed.result()
    assert reply.status_code == 200
    assert [r["status"] for r in reply.json()["results"]] == ["stored"] * 3
    assert gateway.process.wait(timeout=20) == 0
    assert "STOPPING=1" in receive_all(notify)
    notify.close()
    with sqlite3.connect(shop / "gw" / "gateway.db") as db:
        assert {row[0] for row in db.execute("SELECT id FROM journal")} == {s["id"] for s in sales}
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_make_runs_demo_shop_opens_with_stock_on_its_shelves_counted_once(tmp_path, monkeypatch, capsys):
    # `make run` receives the opening stock on every start: a shop owner's first sale must show "23 left",
    # not "-1 left", and a restart must not fill the shelves again.
    from cloud_api.demo_shop import OPENING_STOCK, PRODUCTS
    from gateway.demo import stock_the_shelves
    assert set(OPENING_STOCK) == {sku for sku, *_ in PRODUCTS}
    db = tmp_path / "cloud.db"
    shop = json.loads(run_command("cloud", "create-shop", "--name", "Madina", "--demo", "--db", f"sqlite:///{db}"))
    cloud = cloud_service(db, free_port(), tmp_path / "cloud.log").start()
    try:
        stock_the_shelves(cloud.url, shop)
        stock_the_shelves(cloud.url, shop)   # the next `make run`
        # A list changed since a .run was made: a new quantity (409 under its key) and a product that .run
        # lacks (404) are said in a line each and left alone; the demo still starts.
        monkeypatch.setitem(OPENING_STOCK, "COKE-1500", 30)
        monkeypatch.setitem(OPENING_STOCK, "NEW-PRODUCT", 5)
        stock_the_shelves(cloud.url, shop)
        said = capsys.readouterr().out.splitlines()
        monkeypatch.undo()
        on_hand = httpx.get(f"{cloud.url}/v1/shops/{shop['shop_id']}/stock", timeout=10,
                            headers={"Authorization": f"Bearer {shop['owner_token']}"}).json()
    finally:
        cloud.stop()
    assert {row["sku"]: row["on_hand"] for row in on_hand} == OPENING_STOCK
    assert [line.split(":")[0] for line in said] == ["opening stock of COKE-1500 left as it is",
                                                      "opening stock of NEW-PRODUCT left as it is"]
