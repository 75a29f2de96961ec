"""The owner's printers page, /admin/printers: add, status, assign, test page, remove; signed in and CSRF-bound."""
from __future__ import annotations

import re
from typing import Any

import pytest

from gateway import printers
from gateway.keys import STORE
from gateway.settings import GatewaySettings
from tests.fake_printer import FakePrinter, raster_images
from tests.gateway.conftest import paired
from tests.gateway.test_admin import set_pin, sign_in, start_box
from tests.gateway.test_print_slip import FONTS


@pytest.fixture
async def owner_box(provisioned: GatewaySettings, aiohttp_client: Any) -> Any:
    settings = provisioned.model_copy(update={"print_connect_timeout_s": 0.5, "print_status_timeout_s": 0.3,
                                              "print_backoff_base_s": 0.05, "print_backoff_cap_s": 0.2})
    await set_pin(settings)
    return await start_box(settings, aiohttp_client)


@pytest.fixture
async def printer() -> Any:
    fake = await FakePrinter().on()
    yield fake
    await fake.off()


async def printers_page(box: Any, session: dict[str, str]) -> tuple[str, str]:
    response = await box.get("/admin/printers", headers=session, allow_redirects=False)
    assert response.status == 200
    html = await response.text()
    return html, re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


async def post(box: Any, path: str, session: dict[str, str], **form: Any) -> Any:
    return await box.post(path, data=form, headers=session, allow_redirects=False)


async def test_the_page_needs_the_owner(owner_box: Any) -> None:
    response = await owner_box.get("/admin/printers", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/admin"
    assert (await owner_box.post("/admin/printers/add", data={"name": "x"})).status == 401
    session = await sign_in(owner_box)
    assert 'href="/admin/printers"' in await (await owner_box.get("/admin", headers=session)).text()
    assert (await post(owner_box, "/admin/printers/add", session, name="No token", connection="lan",
                       host="192.168.1.50", width_dots="576")).status == 403   # no CSRF token: refused


async def test_add_assign_test_and_remove_a_printer(owner_box: Any, provisioned: GatewaySettings,
                                                    printer: FakePrinter) -> None:
    session = await sign_in(owner_box)
    html, csrf = await printers_page(owner_box, session)
    assert "No printer yet" in html
    bad = await post(owner_box, "/admin/printers/add", session, csrf=csrf, name="Counter", connection="lan",
                     host="not an address!", width_dots="576")
    assert bad.status == 400 and "IP address" in await bad.text()
    added = await post(owner_box, "/admin/printers/add", session, csrf=csrf, name="Counter 1", connection="lan",
                       host=printer.host, port=str(printer.port), width_dots="384")
    assert added.status == 303 and added.headers["Location"] == "/admin/printers"
    store = owner_box.server.app[STORE]
    [counter] = await printers.list_printers(store.read())
    assert (counter.name, counter.host, counter.port, counter.width_dots) == ("Counter 1", "127.0.0.1", printer.port, 384)
    html, csrf = await printers_page(owner_box, session)
    status = re.search(r'data-testid="printer-status"[^>]*>([^<]*)<', html).group(1)
    assert status == "ready" and "58 mm" in html

    tablet = await paired(owner_box, provisioned)
    assigned = await post(owner_box, "/admin/printers/assign", session, csrf=csrf, device_id=tablet["device_id"],
                          printer_id=str(counter.printer_id))
    assert assigned.status == 303
    assert (await printers.printer_for(store.read(), tablet["device_id"])) == counter
    mine = await (await owner_box.get("/api/v1/printer", headers=tablet["headers"])).json()
    assert mine["name"] == "Counter 1" and mine["width_dots"] == 384

    if not FONTS.missing():
        tested = await post(owner_box, f"/admin/printers/{counter.printer_id}/test", session, csrf=csrf)
        assert tested.status == 303
        [page] = await printer.wait_for_jobs(1)
        assert {w for w, _, _ in raster_images(page)} == {384 // 8}        # its Urdu line: a raster, 58 mm wide

    printer.paper_out = True
    html, csrf = await printers_page(owner_box, session)
    assert re.search(r'data-testid="printer-status"[^>]*>([^<]*)<', html).group(1) == "out of paper"
    await printer.off()
    html, csrf = await printers_page(owner_box, session)
    assert "not reachable" in re.search(r'data-testid="printer-status"[^>]*>([^<]*)<', html).group(1)

    removed = await post(owner_box, f"/admin/printers/{counter.printer_id}/remove", session, csrf=csrf)
    assert removed.status == 303
    assert await printers.list_printers(store.read()) == []
    assert await printers.printer_for(store.read(), tablet["device_id"]) is None   # back to the browser's print
    unassign = await post(owner_box, "/admin/printers/assign", session, csrf=csrf, device_id="no-such-tablet",
                          printer_id="")
    assert unassign.status == 400


def test_printer_fields_are_checked() -> None:
    assert printers.check("USB", "usb", "", "", "/dev/usb/lp0", "576")[4] == "/dev/usb/lp0"
    assert printers.check("Counter", "lan", "printer-1.local", "", "", "576")[2] == "printer-1.local"
    for bad in (("", "lan", "192.168.1.5", 9100, "", 576), ("P", "lan", "192.168.1.5", 70000, "", 576),
                ("P", "usb", "", 9100, "/etc/passwd", 576), ("P", "lan", "192.168.1.5", 9100, "", 500),
                ("P", "serial", "", 9100, "", 576), ("P", "lan", "192.168.1.300", 9100, "", 576)):
        with pytest.raises(printers.BadPrinter):
            printers.check(*bad)


async def test_printer_ids_beyond_sqlites_integers_are_refused_not_a_crash(owner_box: Any,
                                                                           provisioned: GatewaySettings) -> None:
    session = await sign_in(owner_box)
    _, csrf = await printers_page(owner_box, session)
    tablet = await paired(owner_box, provisioned)
    for printer_id in ("99999999999999999999999", str(2**63), "0"):
        for action in ("remove", "test"):
            answer = await post(owner_box, f"/admin/printers/{printer_id}/{action}", session, csrf=csrf)
            assert answer.status == 404, (printer_id, action)
        chosen = await post(owner_box, "/admin/printers/assign", session, csrf=csrf, device_id=tablet["device_id"],
                            printer_id=printer_id)
        assert chosen.status == 400, printer_id


async def test_without_pillows_shaper_urdu_is_refused_never_printed_unshaped(
        owner_box: Any, provisioned: GatewaySettings, printer: FakePrinter, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import features
    real = features.check_feature
    monkeypatch.setattr(features, "check_feature", lambda name: False if name == "raqm" else real(name))
    tablet = await paired(owner_box, provisioned)
    async with owner_box.server.app[STORE].transaction() as db:
        assert await printers.assign(db, tablet["device_id"], await printers.add_printer(db, "C", "lan", printer.host,
                                                                                          printer.port))
    answer = await owner_box.post("/api/v1/print", headers=tablet["headers"],
                                  json={"document_id": "00000000-0000-4000-8000-000000000001", "language": "ur"})
    body = await answer.json()
    assert answer.status == 503 and body["error"]["code"] == "fonts_missing" and "libraqm" in body["error"]["message"]
    html, _ = await printers_page(owner_box, await sign_in(owner_box))
    assert 'data-testid="fonts-missing"' in html and "libraqm" in html
    assert printer.jobs == []
