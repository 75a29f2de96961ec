"""`make run`: the cloud and a gateway on this machine, on embedded SQLite, with a demo shop.

Everything lives in ./.run (kept between runs, so paired tablets and sales
survive a restart). Prints the till's HTTPS address, the /setup address, a
fresh pairing code, the owner PIN of /admin and the cashier's PIN; Ctrl-C
stops both processes cleanly.

By default everything binds to 127.0.0.1 (mDNS too). `make run LAN=1`
(POSLINE_LAN=1) serves the box on this machine's LAN addresses as a box in a
shop would, so a phone or tablet on the same Wi-Fi can be set up and used.

The process helpers here also start the real processes of the end-to-end tests.
"""
from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from cloud_api.service.clock import shop_today

RUN_DIR = Path(os.environ.get("POSLINE_RUN_DIR", ".run"))
CLOUD_PORT = int(os.environ.get("POSLINE_CLOUD_PORT", "8700"))
GATEWAY_PORT = int(os.environ.get("POSLINE_GATEWAY_PORT", "8443"))        # HTTPS
GATEWAY_HTTP_PORT = int(os.environ.get("POSLINE_GATEWAY_HTTP_PORT", "8081"))  # /setup and a redirect
HOST = "127.0.0.1"
LAN = os.environ.get("POSLINE_LAN", "") not in ("", "0")


class CommandFailed(RuntimeError):
    pass


def run_command(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a posline-cloud / posline-gateway command (as `python -m`); return its stdout."""
    module = {"cloud": "cloud_api.cli", "gateway": "gateway.cli"}[args[0]]
    done = subprocess.run([sys.executable, "-m", module, *args[1:]], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)
    if done.returncode != 0:
        raise CommandFailed(f"{' '.join(args)}: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    return done.stdout.strip()


@dataclass
class Service:
    """A real server process: started, waited for, stopped with TERM or killed with KILL."""

    name: str
    args: list[str]
    url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    ca_file: Path | None = None   # an HTTPS service: trust only this CA (the box's own)
    process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 30) -> "Service":
        with open(self.log_path, "ab") as log:   # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, **self.env}, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandFailed(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(self.url + self.probe_path, timeout=1, verify=self.verify()).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise CommandFailed(f"{self.name} did not answer on {self.url} within {timeout_s}s")

    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTPS client of this service trusts: the box's CA, never "anything"."""
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else True

    @property
    def probe_path(self) -> str:
        return "/healthz" if self.name == "cloud" else "/api/v1/time"

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: a power cut, as far as the process can tell."""
        self.stop(signal.SIGKILL)


def cloud_service(db: Path | str, port: int, log_path: Path) -> Service:
    """The cloud on `db`: a SQLite file's path, or a database URL (postgresql://...)."""
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return Service("cloud", [sys.executable, "-m", "cloud_api.cli", "serve", "--db", url,
                             "--host", HOST, "--port", str(port)], f"http://{HOST}:{port}", log_path)


def gateway_service(state_dir: Path, port: int, log_path: Path, env: dict[str, str] | None = None,
                    http_port: int | None = None, host: str = HOST) -> Service:
    """A gateway serving HTTPS on `port` (and plain HTTP on `http_port`), its mDNS on loopback unless told."""
    args = [sys.executable, "-m", "gateway.cli", "serve", "--state-dir", str(state_dir), "--host", host,
            "--port", str(port)] + (["--http-port", str(http_port)] if http_port else [])
    return Service("gateway", args, f"https://{HOST}:{port}", log_path,
                   env={"POSLINE_GATEWAY_INTERFACES": HOST, **(env or {})},
                   ca_file=state_dir / "tls" / "ca.crt")


DEMO_OWNER_PIN = "246810"   # the box's /admin; a real box gets its own from posline.toml
# The owner's back office in the cloud (/office); a real owner chooses a password at create-shop.
DEMO_OWNER_LOGIN, DEMO_OWNER_PASSWORD = "03001234567", "madina-demo-2026"
DEMO_ZONE = "Asia/Karachi"   # the demo shop's time zone: its business day, and the day `make run` prints


def main() -> int:
    RUN_DIR.mkdir(exist_ok=True)
    shop_file, cloud_db, state_dir = RUN_DIR / "demo-shop.json", RUN_DIR / "cloud.db", RUN_DIR / "gateway"
    if not shop_file.exists():
        shop_file.write_text(run_command("cloud", "create-shop", "--name", "Madina General Store", "--demo",
                                         "--timezone", DEMO_ZONE, "--owner", DEMO_OWNER_LOGIN,
                                         "--owner-password", DEMO_OWNER_PASSWORD, "--db", f"sqlite:///{cloud_db}"))
    shop = json.loads(shop_file.read_text())
    if "owner_login" not in shop:   # a .run made before owner accounts: put its shop in the back office
        run_command("cloud", "attach-shop", "--shop-id", shop["shop_id"], "--owner", DEMO_OWNER_LOGIN,
                    "--owner-password", DEMO_OWNER_PASSWORD, "--db", f"sqlite:///{cloud_db}")
        shop["owner_login"] = DEMO_OWNER_LOGIN
        shop_file.write_text(json.dumps(shop))
    cloud = cloud_service(cloud_db, CLOUD_PORT, RUN_DIR / "cloud.log").start()
    gateway = None
    try:
        stock_the_shelves(cloud.url, shop)
        if not (state_dir / "gateway.db").exists():
            run_command("gateway", "provision", "--state-dir", str(state_dir), "--cloud-url", cloud.url,
                        "--enrol-token", shop["enrol_token"], "--name", "Counter box")
        # Every run: a .run made by an older version gets its owner PIN too.
        run_command("gateway", "admin-pin", "--state-dir", str(state_dir), "--pin", DEMO_OWNER_PIN)
        lan_env = {"POSLINE_GATEWAY_INTERFACES": "all"} if LAN else {}
        gateway = gateway_service(state_dir, GATEWAY_PORT, RUN_DIR / "gateway.log", env=lan_env,
                                  http_port=GATEWAY_HTTP_PORT, host="0.0.0.0" if LAN else HOST).start()
        code = run_command("gateway", "pair-code", "--state-dir", str(state_dir))
        print(_banner(shop, cloud, state_dir, code), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping…", flush=True)
        if gateway:
            gateway.stop()
        cloud.stop()
    return 0


def stock_the_shelves(cloud_url: str, shop: dict[str, Any]) -> None:
    """The demo shop's opening stock (demo_shop.OPENING_STOCK), received once through the owner's API.

    Every run sends it again under the same Idempotency-Key per product, which the cloud counts once
    (stock_movements.py): a .run made before there was opening stock gets it, and no run adds it twice.
    A product the cloud will not take (one a .run older than the list lacks: 404; a quantity changed in
    the list since: 409) is left as it is, said in one line: the demo still starts.
    """
    from cloud_api.demo_shop import OPENING_STOCK
    from gateway.cloud_client import error_message
    with httpx.Client(base_url=f"{cloud_url}/v1/shops/{shop['shop_id']}", timeout=10,
                      headers={"Authorization": f"Bearer {shop['owner_token']}"}) as cloud:
        for sku, qty in OPENING_STOCK.items():
            try:
                response = cloud.post("/stock-movements", json={"sku": sku, "qty": qty, "reason": "received"},
                                      headers={"Idempotency-Key": f"demo-opening-stock-{sku}"})
            except httpx.HTTPError as err:
                raise CommandFailed(f"the cloud did not take the demo's opening stock: {err}") from err
            if response.status_code in (404, 409):
                print(f"opening stock of {sku} left as it is: {error_message(response)}", flush=True)
            elif response.status_code != 201:
                raise CommandFailed(f"the cloud refused the demo's opening stock of {sku}: "
                                    f"HTTP {response.status_code} {error_message(response)}")


def _banner(shop: dict, cloud: Service, state_dir: Path, code: str, now: datetime | None = None) -> str:
    """What `make run` prints once both services answer; `now` (aware) is the moment its day is read at."""
    from gateway.certificates import ca_fingerprint
    from gateway.network import lan_addresses
    hosts = [HOST] if not LAN else [str(a) for a in lan_addresses("all") if not a.is_loopback] or [HOST]
    hosts = [f"[{h}]" if ":" in h else h for h in hosts]
    tills = "\n".join(f"  Till:          https://{h}:{GATEWAY_PORT}/" for h in hosts)
    if not LAN:
        # 127.0.0.1 is a secure context to any browser, whatever its certificate; a tablet's is not.
        tills += (f"\n  As a tablet:   chromium --host-resolver-rules='MAP posline.local {HOST}' "
                  f"https://posline.local:{GATEWAY_PORT}/")
    setups = "\n".join(f"  Tablet setup:  http://{h}:{GATEWAY_HTTP_PORT}/setup" for h in hosts)
    return f"""
POS Line is running (logs in {RUN_DIR}/){' on this machine only; `make run LAN=1` serves the LAN' if not LAN else ''}.

{setups}
                 install the box's certificate there once per browser (fingerprint below), then:
{tills}
  Pairing code:  {code}            (valid 10 minutes; more from the box's admin page, or
                 {sys.executable} -m gateway.cli pair-code --state-dir {state_dir})
  Cashier PIN:   {shop['cashier_pin']:<18}({shop['cashier_name']})
  Box admin:     https://{hosts[0]}:{GATEWAY_PORT}/admin    owner PIN {DEMO_OWNER_PIN}
                 (the same PIN approves, at the till, credit past a customer's limit and khata adjustments)
  CA SHA-256:    {ca_fingerprint(state_dir)}

  Back office:   {cloud.url}/office/    sign in as {DEMO_OWNER_LOGIN}, password {DEMO_OWNER_PASSWORD}

  Cloud:         {cloud.url}
  Shop id:       {shop['shop_id']}
  Owner token:   {shop['owner_token']}
  Today's sales: curl -H 'Authorization: Bearer {shop['owner_token']}' \\
                   '{cloud.url}/v1/shops/{shop['shop_id']}/reports/summary?date={shop_today(DEMO_ZONE, now)}'

Press Ctrl-C to stop."""


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    for sig in (signal.SIGINT, signal.SIGTERM):   # Ctrl-C, and a stop from a supervisor alike
        signal.signal(sig, _terminate)
    try:
        sys.exit(main())
    except CommandFailed as err:   # one line for whoever typed `make run`, not a traceback
        sys.exit(f"make run: {err}")
