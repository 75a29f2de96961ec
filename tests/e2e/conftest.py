"""End-to-end fixtures: real cloud and gateway processes on 127.0.0.1, a fault proxy between
them, and Debian's Chromium driven by Playwright, one browser context per tablet."""
from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from gateway.demo import Service, cloud_service, gateway_service, run_command
from tests.faultproxy import FaultProxy

CHROMIUM = os.environ.get("POSLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# A gateway that notices things in about a second, so the tests wait seconds, not minutes.
FAST_GATEWAY = {
    "POSLINE_GATEWAY_CATALOG_INTERVAL_S": "1",
    "POSLINE_GATEWAY_HEARTBEAT_INTERVAL_S": "1",
    "POSLINE_GATEWAY_UPLINK_BACKOFF_BASE_S": "0.2",
    "POSLINE_GATEWAY_UPLINK_BACKOFF_CAP_S": "1",
    "POSLINE_GATEWAY_UPLINK_IDLE_S": "1",
    "POSLINE_GATEWAY_CLOUD_TIMEOUT_S": "5",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ShopRig:
    """One shop: cloud, proxy (the WAN), gateway, and the owner's view of the cloud."""

    tmp: Path
    cloud: Service
    proxy: FaultProxy
    gateway: Service
    shop: dict[str, Any]

    @property
    def state_dir(self) -> Path:
        return self.tmp / "gateway"

    def pair_code(self) -> str:
        return run_command("gateway", "pair-code", "--state-dir", str(self.state_dir))

    def gateway_status(self) -> dict[str, Any]:
        return json.loads(run_command("gateway", "status", "--state-dir", str(self.state_dir), "--json"))

    def owner_get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.cloud.url}/v1/shops/{self.shop['shop_id']}/{path}", params=params,
                             headers={"Authorization": f"Bearer {self.shop['owner_token']}"}, timeout=10)
        response.raise_for_status()
        return response.json()

    def cloud_documents(self, kind: str = "sale") -> list[dict[str, Any]]:
        documents, after = [], 0
        while True:
            page = self.owner_get("documents", kind=kind, after=after)
            documents += page["documents"]
            if page["next_after"] is None:
                return documents
            after = page["next_after"]

    def gateway_journal_ids(self) -> set[str]:
        """Read the gateway's SQLite directly, as the box holds it on disk."""
        with sqlite3.connect(self.state_dir / "gateway.db") as db:
            return {row[0] for row in db.execute("SELECT id FROM journal")}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[ShopRig]:
    cloud_db = tmp_path / "cloud.db"
    shop = json.loads(run_command("cloud", "create-shop", "--name", "Madina General Store", "--demo",
                                  "--db", f"sqlite:///{cloud_db}"))
    cloud = cloud_service(cloud_db, free_port(), tmp_path / "cloud.log").start()
    proxy = FaultProxy(int(cloud.url.rsplit(":", 1)[1])).start()
    run_command("gateway", "provision", "--state-dir", str(tmp_path / "gateway"), "--cloud-url", proxy.url,
                "--enrol-token", shop["enrol_token"])
    gateway = gateway_service(tmp_path / "gateway", free_port(), tmp_path / "gateway.log", FAST_GATEWAY).start()
    rig = ShopRig(tmp_path, cloud, proxy, gateway, shop)
    try:
        yield rig
    finally:
        gateway.stop()
        cloud.stop()
        proxy.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Tablet:
    """One counter tablet: its own browser profile, so its own IndexedDB and service worker."""

    def __init__(self, browser: Any, rig: ShopRig):
        from playwright.sync_api import expect
        self.expect = expect
        self.rig = rig
        self.context = browser.new_context(timezone_id="Asia/Karachi", locale="en-PK",
                                           viewport={"width": 1280, "height": 800})
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)

    def open_and_pair(self, pin: str | None = None) -> "Tablet":
        page = self.page
        page.goto(self.rig.gateway.url + "/")
        page.get_by_role("textbox", name="Pairing code").fill(self.rig.pair_code())
        page.get_by_role("button", name="Pair").click()
        page.get_by_role("textbox", name="PIN").fill(pin or self.rig.shop["cashier_pin"])
        self.expect(page.get_by_role("button", name="Sign in")).to_be_enabled(timeout=20000)
        page.get_by_role("button", name="Sign in").click()
        self.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
        return self

    def wait_shell_cached(self) -> None:
        self.page.wait_for_function("document.body.dataset.shell === 'cached'", timeout=15000)

    def sell(self, items: list[str], cash_rs: int | None = 5000, tender: str = "Cash") -> str:
        """Ring up a sale; return the receipt number the cashier sees."""
        page = self.page
        for name in items:
            page.get_by_role("button", name=name, exact=True).click()
        page.get_by_role("button", name="Pay").click()
        page.get_by_role("button", name=tender, exact=True).click()
        if tender == "Cash":
            page.get_by_role("textbox", name="Amount received").fill(str(cash_rs))
        page.get_by_role("button", name="Complete sale").click()
        number = page.get_by_test_id("receipt-number").inner_text()
        page.get_by_role("button", name="New sale").click()
        return number

    def status(self) -> Any:
        return self.page.get_by_role("status")

    def wait_status(self, pattern: str, timeout_s: float = 30) -> None:
        self.expect(self.status()).to_have_text(re.compile(pattern), timeout=timeout_s * 1000)

    def journal(self) -> list[dict[str, Any]]:
        """The tablet's IndexedDB documents: id, seq, state, and the document itself."""
        return self.page.evaluate("""() => new Promise((resolve, reject) => {
            const open = indexedDB.open("posline");
            open.onsuccess = () => {
              const req = open.result.transaction("documents").objectStore("documents").getAll();
              req.onsuccess = () => { resolve(req.result); open.result.close(); };
              req.onerror = () => reject(req.error);
            };
            open.onerror = () => reject(open.error);
        })""")

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tablets(browser: Any, rig: ShopRig) -> Iterator[Any]:
    made: list[Tablet] = []

    def make() -> Tablet:
        made.append(Tablet(browser, rig))
        return made[-1]

    yield make
    for tablet in made:
        tablet.close()


def wait_until(check: Any, timeout_s: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
