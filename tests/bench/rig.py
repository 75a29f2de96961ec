"""A shop for the bench: real cloud and gateway processes, the fault proxy between them, and Chromium
on the shop origin. The parts are the e2e rig's own (tests/e2e/conftest.py), put together here as
context managers because the bench is not pytest and cannot take fixtures.
"""
from __future__ import annotations

import json
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from gateway.demo import cloud_service, gateway_service, run_command
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OWNER_PIN,
    SHOP_HOST,
    ShopRig,
    free_port,
    trusting_home,
)
from tests.faultproxy import FaultProxy

# Every child gateway binds mDNS and names its certificate for loopback only, as in the tests.
os.environ.setdefault("POSLINE_GATEWAY_INTERFACES", "127.0.0.1")


@contextmanager
def shop_rig(tmp: Path, gateway_env: dict[str, str] | None = None) -> Iterator[ShopRig]:
    """The e2e `rig` fixture's shop, with the gateway's settings chosen by the caller (the drain runs the
    shipped timers; the browser figures run the e2e tests' fast ones)."""
    tmp.mkdir(parents=True, exist_ok=True)
    cloud_db = tmp / "cloud.db"
    shop = json.loads(run_command("cloud", "create-shop", "--name", "Madina General Store", "--demo",
                                  "--db", f"sqlite:///{cloud_db}"))
    cloud = cloud_service(cloud_db, free_port(), tmp / "cloud.log").start()
    proxy = FaultProxy(int(cloud.url.rsplit(":", 1)[1])).start()
    gateway = None
    try:
        run_command("gateway", "provision", "--state-dir", str(tmp / "gateway"), "--cloud-url", proxy.url,
                    "--enrol-token", shop["enrol_token"], "--admin-pin", OWNER_PIN)
        https_port, http_port = free_port(), free_port()
        gateway = gateway_service(tmp / "gateway", https_port, tmp / "gateway.log", gateway_env or {},
                                  http_port=http_port).start()
        yield ShopRig(tmp, cloud, proxy, gateway, shop, https_port, http_port)
    finally:
        if gateway is not None:
            gateway.stop()
        cloud.stop()
        proxy.stop()


def box_tls(rig: ShopRig) -> ssl.SSLContext:
    """What a tablet trusts: the box's own CA, never "anything"."""
    verify = rig.gateway.verify()
    assert isinstance(verify, ssl.SSLContext)
    return verify


def pair_tablet(rig: ShopRig, name: str) -> dict[str, Any]:
    """Pair a tablet over the LAN API as the till does: a one-time code, then its device and token."""
    response = httpx.post(f"{rig.gateway.url}/api/v1/pair", json={"code": rig.pair_code(), "name": name},
                          verify=box_tls(rig), timeout=30)
    response.raise_for_status()
    body = response.json()
    body["headers"] = {"Authorization": f"Bearer {body['token']}"}
    return body


@contextmanager
def chromium(rig: ShopRig, home: Path) -> Iterator[Any]:
    """Chromium launched as the e2e `browser` fixture launches it: the box's CA in its $HOME's NSS
    database (fetched from /ca.crt, imported with certutil), posline.local mapped to the box."""
    from playwright.sync_api import sync_playwright
    home = trusting_home(rig, home)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, env={**os.environ, "HOME": str(home)},
            args=CHROMIUM_ARGS + [f"--host-resolver-rules=MAP {SHOP_HOST} 127.0.0.1"])
        try:
            yield browser
        finally:
            browser.close()
