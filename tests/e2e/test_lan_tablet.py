"""A tablet on the shop's LAN, as the README promises a newcomer: a second host reaches the box at
its LAN address, installs the box's CA from /setup, sells, loses its Wi-Fi, reloads, sells again,
and every sale lands in the cloud once.

The "second host" is a network namespace this test makes (a veth pair, 10.213.x.0/30), so the
tablet's packets really cross a network to the box's LAN address and never leave this machine.
Chromium runs inside the namespace; the box listens only on its end of the veth.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
from collections import Counter
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from gateway.demo import cloud_service, gateway_service, run_command

from .conftest import CHROMIUM, CHROMIUM_ARGS, FAST_GATEWAY, OWNER_PIN, free_port, import_ca, wait_js

pytestmark = pytest.mark.e2e


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A tablet host in its own network namespace, wired to this machine (the box) by a veth pair."""
    n = random.randrange(1, 250)
    ns, box_if, tab_if = f"posline-tab{n}", f"plbox{n}", f"pltab{n}"
    box_ip, tablet_ip = f"10.213.{n}.1", f"10.213.{n}.2"
    ip("netns", "add", ns)
    try:
        ip("link", "add", box_if, "type", "veth", "peer", "name", tab_if)
        ip("link", "set", tab_if, "netns", ns)
        ip("addr", "add", f"{box_ip}/30", "dev", box_if)
        ip("link", "set", box_if, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", f"{tablet_ip}/30", "dev", tab_if)
        ip("netns", "exec", ns, "ip", "link", "set", tab_if, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        wrapper = tmp_path / "chromium-in-netns"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {ns} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        yield {"ns": ns, "box_ip": box_ip, "tablet_ip": tablet_ip, "chromium": str(wrapper)}
    finally:
        subprocess.run(["ip", "link", "del", box_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_a_tablet_on_the_lan_sets_up_sells_through_a_wifi_cut_and_lands_once(lan, tmp_path):
    from playwright.sync_api import Error, expect, sync_playwright

    shop = json.loads(run_command("cloud", "create-shop", "--name", "Madina General Store", "--demo",
                                  "--db", f"sqlite:///{tmp_path / 'cloud.db'}"))
    cloud = cloud_service(tmp_path / "cloud.db", free_port(), tmp_path / "cloud.log").start()
    state = tmp_path / "gateway"
    run_command("gateway", "provision", "--state-dir", str(state), "--cloud-url", cloud.url,
                "--enrol-token", shop["enrol_token"], "--admin-pin", OWNER_PIN)
    https_port, http_port = free_port(), free_port()
    # The box on its LAN address only; mDNS off, so not even a multicast crosses the veth.
    gateway = gateway_service(state, https_port, tmp_path / "gateway.log",
                              {**FAST_GATEWAY, "POSLINE_GATEWAY_INTERFACES": lan["box_ip"],
                               "POSLINE_GATEWAY_MDNS": "0"},
                              http_port=http_port, host=lan["box_ip"])
    gateway.url = f"https://{lan['box_ip']}:{https_port}"
    gateway.start()
    setup_url = f"http://{lan['box_ip']}:{http_port}/setup"
    till_url = f"https://{lan['box_ip']}:{https_port}/"
    home = tmp_path / "tablet-home"
    (home / ".pki" / "nssdb").mkdir(parents=True)
    try:
        with sync_playwright() as playwright:
            def launch():
                return playwright.chromium.launch(executable_path=lan["chromium"], headless=True, args=CHROMIUM_ARGS,
                                                  env={**os.environ, "HOME": str(home)})

            # 1. A new tablet: /setup says "not yet"; the till's address fails on the certificate.
            fresh = launch()
            page = fresh.new_page(accept_downloads=True)
            page.goto(setup_url)
            wait_js(page, "document.getElementById('trust-check').dataset.state === 'untrusted'")
            with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
                fresh.new_page().goto(till_url)
            with page.expect_download() as download:
                page.get_by_role("link", name="Download the certificate").click()
            ca_file = tmp_path / "downloaded-ca.crt"
            download.value.save_as(ca_file)
            fresh.close()
            import_ca(home, ca_file)   # what "install the certificate" does on the tablet

            # 2. Trusted now: open the till from /setup, pair, sell.
            browser = launch()
            context = browser.new_context(timezone_id="Asia/Karachi", locale="en-PK")
            page = context.new_page()
            page.set_default_timeout(20000)
            page.goto(setup_url)
            wait_js(page, "document.getElementById('trust-check').dataset.state === 'trusted'")
            page.get_by_role("link", name="Open the till").click()
            page.wait_for_url(till_url)
            assert page.evaluate("window.isSecureContext") is True
            page.get_by_role("textbox", name="Pairing code").fill(
                run_command("gateway", "pair-code", "--state-dir", str(state)))
            page.get_by_role("button", name="Pair").click()
            page.get_by_role("textbox", name="PIN").fill(shop["cashier_pin"])
            expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
            page.get_by_role("button", name="Sign in").click()
            wait_js(page, "document.body.dataset.shell === 'cached'")

            def sell(item: str) -> str:
                page.get_by_role("button", name=item, exact=True).click()
                page.get_by_role("button", name="Pay").click()
                page.get_by_role("textbox", name="Amount received").fill("5000")
                page.get_by_role("button", name="Complete sale").click()
                number = page.get_by_test_id("receipt-number").inner_text()
                page.get_by_role("button", name="New sale").click()
                return number

            numbers = [sell("Tapal Danedar 190g")]
            expect(page.get_by_role("status")).to_have_text("Online · 0 unsynced", timeout=30000)
            # 3. The Wi-Fi drops: reload, keep selling.
            context.set_offline(True)
            page.reload()
            expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
            numbers += [sell("Lux Soap 130g"), sell("Coca-Cola 1.5L")]
            expect(page.get_by_role("status")).to_have_text("Offline · 2 unsynced")
            context.set_offline(False)
            expect(page.get_by_role("status")).to_have_text("Online · 0 unsynced", timeout=30000)
            browser.close()
        documents = httpx.get(f"{cloud.url}/v1/shops/{shop['shop_id']}/documents", params={"kind": "sale"},
                              headers={"Authorization": f"Bearer {shop['owner_token']}"}).json()["documents"]
    finally:
        gateway.stop()
        cloud.stop()
    assert numbers == ["T1-000001", "T1-000002", "T1-000003"]
    counts = Counter(doc["id"] for doc in documents)
    assert len(counts) == 3 and set(counts.values()) == {1}   # each sale in the cloud, once
    assert sorted(doc["receipt_number"] for doc in documents) == numbers
