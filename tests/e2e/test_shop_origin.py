"""The box as a tablet in a shop meets it: plain HTTP only for setup, /setup, an insecure origin,
and the owner's /admin pairing and revoking tablets from a phone."""
from __future__ import annotations

import os
import re
import httpx
import pytest

from gateway.certificates import ca_der

from .conftest import CHROMIUM, CHROMIUM_ARGS, OWNER_PIN, SHOP_HOST, screenshot, wait_js, wait_until

pytestmark = pytest.mark.e2e


def test_plain_http_serves_setup_and_the_ca_and_sends_everything_else_to_https(rig):
    plain = f"http://127.0.0.1:{rig.http_port}"
    host = {"Host": f"{SHOP_HOST}:{rig.http_port}"}   # as a tablet that typed posline.local sends it
    till = httpx.get(plain + "/", headers=host)
    assert till.status_code == 307 and till.headers["location"] == rig.till_url
    post = httpx.post(plain + "/api/v1/journal:batch?x=1", headers=host, json={"documents": []})
    assert post.status_code == 307   # a POST stays a POST, on HTTPS
    assert post.headers["location"] == rig.till_url + "api/v1/journal:batch?x=1"
    by_address = httpx.get(plain + "/admin")
    assert by_address.headers["location"] == f"https://127.0.0.1:{rig.https_port}/admin"

    secure = f"https://127.0.0.1:{rig.https_port}"
    for base in (plain, secure):
        setup = httpx.get(base + "/setup", verify=rig.gateway.verify())
        assert setup.status_code == 200 and "Download the certificate" in setup.text
        assert "frame-ancestors 'none'" in setup.headers["content-security-policy"]
        ca = httpx.get(base + "/ca.crt", verify=rig.gateway.verify())
        assert ca.headers["content-type"] == "application/x-x509-ca-cert"
        assert ca.content == ca_der(rig.state_dir)   # DER, what phones and Windows install
        assert "strict-transport-security" not in {k.lower() for k in ca.headers}
    till_page = httpx.get(secure + "/", verify=rig.gateway.verify())
    assert till_page.status_code == 200 and "strict-transport-security" not in till_page.headers


def test_setup_page_tells_a_trusting_tablet_it_is_ready(rig, browser):
    page = browser.new_page(viewport={"width": 800, "height": 1000})
    page.goto(rig.setup_url)
    check = page.get_by_role("status")
    wait_js(page, "document.getElementById('trust-check').dataset.state !== 'checking'")
    assert check.inner_text().startswith("Yes: this browser trusts the box")
    fingerprint = rig.gateway_status()["ca_fingerprint"]
    assert page.get_by_test_id("fingerprint").inner_text() == fingerprint
    assert page.get_by_role("link", name="Download the certificate").get_attribute("href") == "/ca.crt"
    assert page.get_by_role("link", name="Open the till").get_attribute("href") == (
        f"https://{SHOP_HOST}:{rig.https_port}/")
    screenshot(page, "7-setup", full_page=True)
    page.close()


def test_a_tablet_without_the_ca_is_told_so_and_cannot_open_the_till(rig, tmp_path):
    """A browser that never installed the CA: /setup says "Not yet", and the till's origin fails hard."""
    from playwright.sync_api import Error, sync_playwright
    home = tmp_path / "untrusting-home"
    (home / ".pki" / "nssdb").mkdir(parents=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, env={**os.environ, "HOME": str(home)},
            args=CHROMIUM_ARGS + [f"--host-resolver-rules=MAP {SHOP_HOST} 127.0.0.1"])
        page = chromium.new_page()
        page.goto(rig.setup_url)
        wait_js(page, "document.getElementById('trust-check').dataset.state !== 'checking'")
        assert page.get_by_role("status").inner_text().startswith("Not yet: install the certificate")
        assert page.get_by_role("link", name="Open the till").is_hidden()
        with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(rig.till_url)
        chromium.close()


def test_the_till_on_an_insecure_origin_shows_the_setup_screen(rig, browser):
    """Forced: the till's own files served on http://posline.local (the browser intercepts and answers
    with the box's HTTPS responses), where no secure context exists."""
    insecure = f"http://{SHOP_HOST}:{rig.http_port}"
    context = browser.new_context()
    errors: list[str] = []
    with httpx.Client(base_url=f"https://127.0.0.1:{rig.https_port}", verify=rig.gateway.verify()) as box:
        def from_the_box(route):
            path = route.request.url[len(insecure):] or "/"
            answer = box.get(path)
            route.fulfill(status=answer.status_code, body=answer.content,
                          headers={"content-type": answer.headers.get("content-type", "text/html")})
        context.route(re.compile(re.escape(insecure) + r"/(?!setup).*"), from_the_box)
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))   # "refuses to half-work" means no crash
        page.goto(insecure + "/")
        assert page.evaluate("window.isSecureContext") is False
        alert = page.get_by_role("alert")
        page.get_by_role("heading", name="This tablet is not set up for the till yet").wait_for()
        assert "secure connection" in alert.inner_text()
        assert page.get_by_role("textbox", name="Pairing code").count() == 0   # no half-working till
        page.get_by_role("link", name="Open the setup page").click()
        page.get_by_role("heading", name="Set up this tablet for the till").wait_for()
        assert page.url == insecure + "/setup"
    assert errors == []
    context.close()


def admin_sign_in(browser, rig):
    """The owner on a phone: the box's admin page, signed in with the owner PIN."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-PK", timezone_id="Asia/Karachi")
    page = phone.new_page()
    page.set_default_timeout(15000)
    page.goto(rig.till_url + "admin")
    page.get_by_role("textbox", name="Owner PIN").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("textbox", name="Owner PIN").wait_for()   # wrong: still the sign-in form
    assert page.get_by_role("alert").inner_text() == "That PIN is not right."
    page.get_by_role("textbox", name="Owner PIN").fill(OWNER_PIN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Pair a tablet").wait_for()
    return phone, page


def test_owner_pairs_a_tablet_from_the_admin_page_and_revokes_it_without_losing_a_sale(rig, browser, tablets):
    phone, admin = admin_sign_in(browser, rig)
    admin.get_by_role("button", name="Pair a tablet").click()
    code = admin.get_by_test_id("pairing-code").inner_text().strip()
    link = admin.get_by_test_id("till-url").get_attribute("href")
    assert re.fullmatch(r"\d{6}", code) and link == f"{rig.till_url}#pair={code}"
    screenshot(admin, "9-admin-pair")

    tablet = tablets()
    page = tablet.page
    page.goto(link)   # what the QR code opens
    assert page.evaluate("window.isSecureContext") is True
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_have_value(code)
    page.get_by_role("button", name="Pair").click()
    page.get_by_role("textbox", name="PIN").fill(rig.shop["cashier_pin"])
    tablet.expect(page.get_by_role("button", name="Sign in")).to_be_enabled(timeout=20000)
    page.get_by_role("button", name="Sign in").click()
    tablet.wait_shell_cached()
    assert tablet.sell(["Tapal Danedar 190g"]) == "T1-000001"
    tablet.wait_status(r"^Online · 0 unsynced$")
    admin.goto(rig.till_url + "admin")
    assert admin.get_by_test_id("last-sync").inner_text() != "never"   # the uplink recorded its ack

    # The owner may use a counter tablet too: its service worker must let the box's pages through.
    own = tablet.context.new_page()
    own.goto(rig.till_url + "admin")
    tablet.expect(own.get_by_role("textbox", name="Owner PIN")).to_be_visible()
    own.goto(rig.till_url + "setup")
    tablet.expect(own.get_by_role("heading", name="Set up this tablet for the till")).to_be_visible()
    own.close()

    # The tablet keeps selling with the Wi-Fi off; meanwhile the owner revokes it.
    tablet.context.set_offline(True)
    kept = [tablet.sell(["Lux Soap 130g"]), tablet.sell(["Coca-Cola 1.5L"])]
    admin.goto(rig.till_url + "admin")
    tablet_row = admin.locator("tr[data-device-code='T1']")
    assert tablet_row.count() == 1 and "Revoked" not in tablet_row.inner_text()
    admin.get_by_role("button", name="Revoke T1").click()
    tablet.expect(admin.locator("tr[data-device-code='T1']")).to_contain_text("Revoked")
    assert admin.get_by_role("button", name="Revoke T1").count() == 0
    screenshot(admin, "8-admin", full_page=True)
    tablet.context.set_offline(False)
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_be_visible(timeout=30000)
    tablet.expect(page.get_by_text("This tablet was removed from the shop box")).to_be_visible()
    pending = [row for row in tablet.journal() if row["state"] == "pending"]
    assert len(pending) == 2   # its unsynced sales stay on the tablet
    assert rig.gateway_journal_ids().isdisjoint({row["id"] for row in pending})

    # Paired again (a new code from the owner): same numbering, and the two kept sales land once.
    admin.goto(rig.till_url + "admin")
    admin.get_by_role("button", name="Pair a tablet").click()
    page.get_by_role("textbox", name="Pairing code").fill(admin.get_by_test_id("pairing-code").inner_text().strip())
    page.get_by_role("button", name="Pair").click()
    tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=45)
    numbers = sorted(doc["receipt_number"] for doc in rig.cloud_documents())
    assert numbers == ["T1-000001"] + sorted(kept) == ["T1-000001", "T1-000002", "T1-000003"]
    phone.close()


def test_the_admin_page_shows_today_from_the_box_with_the_cloud_down(rig, browser, tablets):
    tablet = tablets().open_and_pair()
    rig.cloud.stop()
    tablet.sell(["Tapal Danedar 190g"])
    tablet.sell(["Olper's Milk 1L", "Lux Soap 130g"])
    wait_until(lambda: rig.gateway_status()["backlog"] == 2, what="the box holds both sales")
    phone, admin = admin_sign_in(browser, rig)
    assert admin.get_by_test_id("sales-count").inner_text().split()[-1] == "2"
    assert admin.get_by_test_id("backlog").inner_text().startswith("2 ")
    assert admin.get_by_test_id("wan-state").inner_text().startswith("Cloud unreachable")
    assert admin.get_by_test_id("fingerprint").inner_text() == rig.gateway_status()["ca_fingerprint"]
    phone.close()


def test_a_page_the_worker_missed_when_it_activated_asks_and_is_claimed(rig, tablets):
    """A page still loading when the worker's activation claimed its pages (a second load while the
    first was installing it: the race that left a CI run's page uncontrolled) stays uncontrolled, as
    a page a hard reload kept from the worker does. The latter is the case made here: the page asks
    the active worker to claim it, and is in the worker's hands without another load."""
    tablet = tablets().open()
    tablet.wait_shell_cached()
    page = tablet.page
    page.add_init_script("window.controlledAtStart = Boolean(navigator.serviceWorker.controller)")
    cdp = page.context.new_cdp_session(page)
    with page.expect_event("load"):
        cdp.send("Page.reload", {"ignoreCache": True})
    assert page.evaluate("window.controlledAtStart") is False   # the case: loaded past the worker
    page.evaluate("window.sameDocument = true")
    tablet.expect(page.get_by_role("textbox", name="Pairing code")).to_be_visible()
    tablet.wait_shell_cached()   # controlled...
    assert page.evaluate("window.sameDocument === true") is True   # ...without another load
