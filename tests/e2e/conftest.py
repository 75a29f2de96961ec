"""End-to-end fixtures: real cloud and gateway processes on 127.0.0.1, a fault proxy between
them, and Debian's Chromium driven by Playwright, one browser context per tablet.

Tablets open the till exactly as a tablet in a shop does: at https://posline.local:<port>/,
the name mapped to the box by Chromium's --host-resolver-rules, the connection trusted
because the test downloaded the box's /ca.crt and imported it with certutil into the NSS
database of the browser's own $HOME. Never a loopback origin (browsers treat 127.0.0.1
as secure, which hid every secure-context failure), never an ignored certificate error.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from gateway.demo import Service, cloud_service, gateway_service, run_command
from tests.conftest import PG_DSN, UNROUTABLE_FISCAL_URL
from tests.faultproxy import FaultProxy

CHROMIUM = os.environ.get("POSLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
# Screenshots go to an ignored folder; `make screenshots` points this at docs/screenshots for the README.
SCREENSHOTS = Path(os.environ.get("POSLINE_SCREENSHOTS",
                                  Path(__file__).resolve().parents[2] / "tests" / "_artifacts" / "screenshots"))
SHOP_HOST = "posline.local"   # the box's mDNS name, as a tablet in the shop types it

OWNER_PIN = "246810"   # the box's /admin
# The owner's back-office account in the cloud (create-shop --owner).
OWNER_LOGIN, OWNER_PASSWORD = "03001234567", "chai-and-biscuits"

# A gateway that notices things in about a second, so the tests wait seconds, not minutes.
FAST_GATEWAY = {
    "POSLINE_GATEWAY_CATALOG_INTERVAL_S": "1",
    "POSLINE_GATEWAY_HEARTBEAT_INTERVAL_S": "1",
    "POSLINE_GATEWAY_UPLINK_BACKOFF_BASE_S": "0.2",
    "POSLINE_GATEWAY_UPLINK_BACKOFF_CAP_S": "1",
    "POSLINE_GATEWAY_UPLINK_IDLE_S": "1",
    "POSLINE_GATEWAY_CLOUD_TIMEOUT_S": "5",
    # Never a real FBR / PRA host (tests/conftest.py's guard, passed explicitly to each gateway process
    # whatever fixture order); fiscal_gateway_env replaces it with the simulator's address.
    "POSLINE_GATEWAY_FISCAL_URL": UNROUTABLE_FISCAL_URL,
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
    https_port: int
    http_port: int
    cloud_db: str = ""   # the cloud's database URL, for commands run beside it (create-shop)

    @property
    def state_dir(self) -> Path:
        return self.tmp / "gateway"

    @property
    def till_url(self) -> str:
        """The till as a tablet in the shop opens it."""
        return f"https://{SHOP_HOST}:{self.https_port}/"

    @property
    def setup_url(self) -> str:
        return f"http://{SHOP_HOST}:{self.http_port}/setup"

    def pair_code(self) -> str:
        return run_command("gateway", "pair-code", "--state-dir", str(self.state_dir))

    def gateway_status(self) -> dict[str, Any]:
        return json.loads(run_command("gateway", "status", "--state-dir", str(self.state_dir), "--json"))

    def owner_get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.cloud.url}/v1/shops/{self.shop['shop_id']}/{path}", params=params,
                             headers={"Authorization": f"Bearer {self.shop['owner_token']}"}, timeout=10)
        response.raise_for_status()
        return response.json()

    def owner_put(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.put(f"{self.cloud.url}/v1/shops/{self.shop['shop_id']}/{path}", json=body,
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
def rig(request: Any, tmp_path: Path) -> Iterator[ShopRig]:
    with cloud_database(request, tmp_path) as cloud_db:
        yield from _rig(tmp_path, cloud_db)


@contextmanager
def cloud_database(request: Any, tmp_path: Path) -> Iterator[str]:
    """The cloud's database URL: SQLite, or for the back office's tests (test_office_*) a fresh
    PostgreSQL database of its own when POSLINE_TEST_PG_DSN is set (CI), dropped afterwards."""
    if not (PG_DSN and request.module.__name__.rsplit(".", 1)[-1].startswith("test_office")):
        yield f"sqlite:///{tmp_path / 'cloud.db'}"
        return
    import asyncpg
    from sqlalchemy.engine import make_url

    admin_url = make_url(PG_DSN)
    name = f"posline_e2e_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _rig(tmp_path: Path, cloud_db: str, env: dict[str, str] | None = None) -> Iterator[ShopRig]:
    shop = json.loads(run_command("cloud", "create-shop", "--name", "Madina General Store", "--demo",
                                  "--owner", OWNER_LOGIN, "--owner-password", OWNER_PASSWORD,
                                  "--db", cloud_db))
    cloud = cloud_service(cloud_db, free_port(), tmp_path / "cloud.log").start()
    proxy = FaultProxy(int(cloud.url.rsplit(":", 1)[1])).start()
    run_command("gateway", "provision", "--state-dir", str(tmp_path / "gateway"), "--cloud-url", proxy.url,
                "--enrol-token", shop["enrol_token"], "--admin-pin", OWNER_PIN)
    https_port, http_port = free_port(), free_port()
    gateway = gateway_service(tmp_path / "gateway", https_port, tmp_path / "gateway.log",
                              {**FAST_GATEWAY, **(env or {})}, http_port=http_port).start()
    rig = ShopRig(tmp_path, cloud, proxy, gateway, shop, https_port, http_port, cloud_db)
    try:
        yield rig
    finally:
        gateway.stop()
        cloud.stop()
        proxy.stop()


def trusting_home(rig: ShopRig, home: Path) -> Path:
    """A $HOME whose NSS database trusts the box's CA, fetched from the box's /ca.crt as a tablet does."""
    if shutil.which("certutil") is None:
        pytest.fail("certutil is missing: `make test` installs Debian's libnss3-tools")
    response = httpx.get(f"http://127.0.0.1:{rig.http_port}/ca.crt", timeout=10)
    response.raise_for_status()
    assert response.headers["content-type"] == "application/x-x509-ca-cert"
    ca = home / "posline-box-ca.crt"
    home.mkdir(parents=True, exist_ok=True)
    ca.write_bytes(response.content)   # DER, as served
    return import_ca(home, ca)


def import_ca(home: Path, ca_file: Path) -> Path:
    """Trust `ca_file` for websites in the NSS database of `home`, as installing it on a tablet does."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    if not (nssdb / "cert9.db").exists():
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "POS Line box", "-i", str(ca_file)],
                   check=True, capture_output=True)
    return home


@pytest.fixture
def browser(rig: ShopRig, tmp_path: Path) -> Iterator[Any]:
    """Chromium as the shop's tablets run it: the box's CA installed, posline.local resolving to the box."""
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    home = trusting_home(rig, tmp_path / "browser-home")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, env={**os.environ, "HOME": str(home)},
            args=CHROMIUM_ARGS + [f"--host-resolver-rules=MAP {SHOP_HOST} 127.0.0.1"])
        yield chromium
        chromium.close()


# One value of the till's journal meta store (web_till/journal.js), by key: read as the till stores it.
JOURNAL_META_JS = """(key) => new Promise((resolve, reject) => {
  const open = indexedDB.open("posline");
  open.onsuccess = () => {
    const get = open.result.transaction("meta").objectStore("meta").get(key);
    get.onsuccess = () => { open.result.close(); resolve(get.result ? get.result.value : null); };
    get.onerror = () => reject(get.error);
  };
  open.onerror = () => reject(open.error);
})"""


# Where the page's service worker stands, for a failure to say why the shell is not cached.
WORKER_STATE_JS = """async () => {
  const r = await navigator.serviceWorker.getRegistration();
  const state = (w) => (w ? w.state : null);
  return { controlled: Boolean(navigator.serviceWorker.controller), registered: Boolean(r),
           active: state(r && r.active), installing: state(r && r.installing), waiting: state(r && r.waiting),
           caches: await caches.keys() };
}"""


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

    def open(self) -> "Tablet":
        """Open the till on the shop's origin, and prove the browser gives it a secure context."""
        self.page.goto(self.rig.till_url)
        assert self.page.evaluate("window.isSecureContext") is True
        assert self.page.evaluate("location.origin") == self.rig.till_url.rstrip("/")
        return self

    def open_and_pair(self, pin: str | None = None) -> "Tablet":
        page = self.open().page
        page.get_by_role("textbox", name="Pairing code").fill(self.rig.pair_code())
        page.get_by_role("button", name="Pair").click()
        page.get_by_role("textbox", name="PIN").fill(pin or self.rig.shop["cashier_pin"])
        self.expect(page.get_by_role("button", name="Sign in")).to_be_enabled(timeout=20000)
        page.get_by_role("button", name="Sign in").click()
        self.expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
        self.wait_shell_cached()
        return self

    def wait_shell_cached(self) -> None:
        """A service worker controls the page: only possible on a trusted secure origin."""
        # 30 s: the worker fetches every file of the shell once; on a loaded 2-core CI machine that
        # has taken more than 15 s (the till sells meanwhile: only offline start-up needs it).
        try:
            wait_js(self.page, "document.body.dataset.shell === 'cached'", timeout_s=30)
        except AssertionError as err:
            try:
                worker = self.page.evaluate(WORKER_STATE_JS)
            except Exception as unread:  # noqa: BLE001 -- a crashed page: the failure still says why
                worker = f"unreadable ({unread})"
            raise AssertionError(f"{err}; the worker as the page sees it: {worker}") from None
        assert self.page.evaluate("navigator.serviceWorker.controller !== null") is True

    def sell(self, items: list[str], cash_rs: int | None = 5000, tender: str = "Cash", stay: bool = False) -> str:
        """Ring up a sale; return the receipt number the cashier sees (on its receipt screen if `stay`)."""
        page = self.page
        for name in items:
            page.get_by_role("button", name=name, exact=True).click()
        page.get_by_role("button", name="Pay").click()
        page.get_by_role("button", name=tender, exact=True).click()
        if tender == "Cash":
            page.get_by_role("textbox", name="Amount received").fill(str(cash_rs))
        page.get_by_role("button", name="Complete sale").click()
        number = page.get_by_test_id("receipt-number").inner_text()
        if not stay:
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
        screenshot(self.page, name)

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


def screenshot(page: Any, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def wait_js(page: Any, expression: str, timeout_s: float = 15) -> None:
    """Poll a page expression from here until it is true.

    Not page.wait_for_function: given a string, Playwright evaluates it with eval inside the page,
    which the till's Content-Security-Policy (no 'unsafe-eval') rightly refuses.
    """
    wait_until(lambda: page.evaluate(expression), timeout_s, what=expression)


def wait_until(check: Any, timeout_s: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


class OwnerOffice:
    """The owner's back office in its own browser context (a phone or a laptop), signed in."""

    def __init__(self, browser: Any, rig: ShopRig, viewport: dict[str, int] | None = None):
        from playwright.sync_api import expect
        self.expect = expect
        self.rig = rig
        self.context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        self.page = self.context.new_page()

    @property
    def url(self) -> str:
        return f"{self.rig.cloud.url}/office/"

    def shop_url(self, path: str = "") -> str:
        return f"{self.rig.cloud.url}/office/shops/{self.rig.shop['shop_id']}/{path}"

    def sign_in(self, login: str = OWNER_LOGIN, password: str = OWNER_PASSWORD) -> "OwnerOffice":
        page = self.page
        page.goto(self.url)
        page.get_by_label("Phone number or email").fill(login)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        self.expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return self

    def screenshot(self, name: str, full_page: bool = True) -> None:
        screenshot(self.page, name, full_page=full_page)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def office(browser: Any, rig: ShopRig) -> Iterator[Any]:
    """office() -> a signed-in back office; office(viewport={"width": 360, "height": 740}) for a phone."""
    made: list[OwnerOffice] = []

    def make(viewport: dict[str, int] | None = None, sign_in: bool = True) -> OwnerOffice:
        made.append(OwnerOffice(browser, rig, viewport))
        return made[-1].sign_in() if sign_in else made[-1]

    yield make
    for opened in made:
        opened.close()


# --- FBR / PRA (issue 9): the authority's simulator as a process, and a box that reports to it -----

class FbrSim:
    """tests/fbr_sim.py run as a process (`python -m tests.fbr_sim`), driven through its control API,
    which stays up on a port of its own while the authority is "down" (connection refused)."""

    def __init__(self, tmp_path: Path):
        import sys
        port, control = free_port(), free_port()
        self.log = (tmp_path / "fbr_sim.log").open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "tests.fbr_sim", "--port", str(port),
                                         "--control-port", str(control)],
                                        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE,
                                        stderr=self.log, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            self.stop()
            raise RuntimeError(f"the FBR simulator did not start; see {tmp_path / 'fbr_sim.log'}")
        self.urls: dict[str, str] = json.loads(line)

    def url(self, mode: str = "fbr") -> str:
        """The PostData URL of "fbr" or "pra"."""
        return self.urls[mode]

    def control(self, action: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.post(f"{self.urls['control']}/{action}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def get(self, what: str) -> Any:
        response = httpx.get(f"{self.urls['control']}/{what}", timeout=10)
        response.raise_for_status()
        return response.json()

    def invoices(self) -> list[dict[str, Any]]:
        """Every invoice the authority issued, in order of issue."""
        return self.get("invoices")

    def requests(self) -> list[dict[str, Any]]:
        return self.get("requests")

    def down(self) -> None:
        self.control("down")
        wait_until(lambda: self.get("state")["down"], 10, "the simulator down")

    def up(self) -> None:
        self.control("up")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


@pytest.fixture
def fbr_sim_process(tmp_path: Path) -> Iterator[FbrSim]:
    sim = FbrSim(tmp_path)
    try:
        yield sim
    finally:
        sim.stop()


def fiscal_gateway_env(sim: FbrSim, mode: str = "fbr") -> dict[str, str]:
    """A box that posts invoices to the simulator (never a real FBR / PRA host), quickly."""
    return {"POSLINE_GATEWAY_FISCAL_URL": sim.url(mode), "POSLINE_GATEWAY_FISCAL_TIMEOUT_S": "5",
            "POSLINE_GATEWAY_FISCAL_BACKOFF_BASE_S": "0.2", "POSLINE_GATEWAY_FISCAL_BACKOFF_CAP_S": "1",
            "POSLINE_GATEWAY_FISCAL_IDLE_S": "1"}


@pytest.fixture
def fiscal_mode() -> str:
    """The authority fiscal_rig's box posts to; a test says `@pytest.mark.parametrize("fiscal_mode", ["pra"])`."""
    return "fbr"


@pytest.fixture
def fiscal_rig(request: Any, tmp_path: Path, fbr_sim_process: FbrSim, fiscal_mode: str) -> Iterator[ShopRig]:
    """A shop whose box reports to the FBR / PRA simulator; use it as `rig` (a test module's own `rig`
    fixture returning it makes `tablets` and `browser` use this shop)."""
    with cloud_database(request, tmp_path) as cloud_db:
        yield from _rig(tmp_path, cloud_db, fiscal_gateway_env(fbr_sim_process, fiscal_mode))


def put_fiscal(rig: ShopRig, **settings: Any) -> dict[str, Any]:
    """The owner's fiscal settings (PUT /v1/shops/{id}/fiscal): mode, environment, service_fee,
    tender_tax_bp, token; the simulator's token unless another is given."""
    from tests.fbr_sim import SIM_TOKEN
    return rig.owner_put("fiscal", {"environment": "sandbox", "token": SIM_TOKEN, **settings})


def give_pos_id(rig: ShopRig, device_id: str, pos_id: int) -> None:
    """The tablet's POSID, once the cloud knows the tablet (the box's heartbeat names it)."""
    def put() -> bool:
        try:
            rig.owner_put(f"fiscal/pos-ids/{device_id}", {"pos_id": pos_id})
            return True
        except httpx.HTTPStatusError as err:
            if err.response.status_code != 404:
                raise
            return False
    wait_until(put, 30, f"the cloud to know tablet {device_id}")
