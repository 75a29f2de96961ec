"""The back office's products, cashiers and shop settings: pages change the catalog boxes pull (both backends)."""
from __future__ import annotations

import csv
import io
import re
from typing import Any

import aiohttp

from cloud_api import schema
from cloud_api.database import create_engine
from cloud_api.product_import import COLUMNS
from tests.cloud.office_helpers import PASSWORD, csrf_of, owned_shop


async def sign_in(client: Any, shop_id: str) -> str:
    """Signed in as the first owner; the CSRF token, read from one of this module's own pages."""
    response = await client.post("/office/sign-in", data={"login": "03001234567", "password": PASSWORD},
                                 allow_redirects=False)
    assert response.status == 303
    return await csrf_of(client, f"/office/shops/{shop_id}/settings")


async def _gateway_key(client: Any, enrol_token: str) -> dict[str, str]:
    enrolled = await client.post("/v1/gateways:enrol", json={"enrol_token": enrol_token, "name": "box"})
    assert enrolled.status == 201, await enrolled.text()
    return {"Authorization": f"Bearer {(await enrolled.json())['api_key']}"}


async def _catalog(client: Any, gateway: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """What a box pulls: (ETag, catalog)."""
    response = await client.get("/v1/catalog", headers=gateway)
    assert response.status == 200
    return response.headers["ETag"], await response.json()


def _product(catalog: dict[str, Any], sku: str) -> dict[str, Any] | None:
    return next((p for p in catalog["products"] if p["sku"] == sku), None)


def _product_form(csrf: str, **overrides: str) -> dict[str, str]:
    form = {"csrf": csrf, "sku": "GOLD-LEAF", "name": "Gold Leaf Tea 200g", "name_ur": "گولڈ لیف چائے",
            "barcode": "8961000000011", "category": "Tea", "gst_percent": "18", "unit": "each",
            "price_rs": "1,234.50", "low_stock_at": "4", "pct_code": "0902.3000"}
    return {**form, **overrides}


def _csv(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _rows(n: int) -> list[dict[str, str]]:
    return [{"sku": f"SKU-{i:04d}", "name": f"Product {i}", "name_ur": f"چیز {i}", "barcode": f"{8960000000000 + i}",
             "category": "Bulk", "gst_percent": "18", "unit": "each", "price_rs": f"{100 + i}.50",
             "low_stock_at": "3"} for i in range(n)]


def _upload(csrf: str, data: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("file", data, filename="products.csv", content_type="text/csv")
    return form


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name}"
    return found.group(1)


async def test_products_made_edited_and_archived_in_the_office_reach_the_catalog(cloud_client: Any,
                                                                                 cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    base = f"/office/shops/{shop.shop_id}"
    etag, _ = await _catalog(cloud_client, gateway)

    made = await cloud_client.post(f"{base}/products/new", data=_product_form(csrf), allow_redirects=False)
    assert made.status == 303, await made.text()
    etag2, catalog = await _catalog(cloud_client, gateway)
    assert etag2 != etag
    assert _product(catalog, "GOLD-LEAF") == {
        "sku": "GOLD-LEAF", "name": "Gold Leaf Tea 200g", "name_ur": "گولڈ لیف چائے", "barcode": "8961000000011",
        "category": "Tea", "gst_bp": 1800, "unit": "each", "price": 123450, "low_stock_at": 4, "pct_code": "0902.3000"}

    # Edit: a new price (rupees typed with a decimal), the SKU cannot move.
    edited = await cloud_client.post(f"{base}/products/edit", data=_product_form(csrf, price_rs="1299.9",
                                                                                 gst_percent="17.5"),
                                     allow_redirects=False)
    assert edited.status == 303
    etag3, catalog = await _catalog(cloud_client, gateway)
    assert etag3 != etag2 and _product(catalog, "GOLD-LEAF")["price"] == 129990
    assert _product(catalog, "GOLD-LEAF")["gst_bp"] == 1750
    page = await (await cloud_client.get(f"{base}/products/edit?sku=GOLD-LEAF")).text()
    assert 'value="1299.90"' in page and 'value="17.5"' in page

    archived = await cloud_client.post(f"{base}/products/archive", data={"csrf": csrf, "sku": "TAPAL-190",
                                                                         "archived": "1"}, allow_redirects=False)
    assert archived.status == 303
    etag4, catalog = await _catalog(cloud_client, gateway)
    assert etag4 != etag3 and _product(catalog, "TAPAL-190") is None
    listing = await (await cloud_client.get(f"{base}/products")).text()
    on_sale, archived_part = listing.split('id="archived"')
    assert "Tapal Danedar 190g" in archived_part and "Tapal Danedar 190g" not in on_sale
    searched = await (await cloud_client.get(f"{base}/products?q=8961014010016")).text()   # Olper's barcode
    assert "Olper" in searched and "Lipton" not in searched

    back = await cloud_client.post(f"{base}/products/archive", data={"csrf": csrf, "sku": "TAPAL-190",
                                                                     "archived": "0"}, allow_redirects=False)
    assert back.status == 303
    assert _product((await _catalog(cloud_client, gateway))[1], "TAPAL-190")["price"] == 55000


async def test_a_bad_product_form_is_400_with_the_message_and_saves_nothing(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    base = f"/office/shops/{shop.shop_id}"
    etag, _ = await _catalog(cloud_client, gateway)
    for field, value, message in (("price_rs", "12.345", "must be rupees with up to 2 decimals"),
                                  ("price_rs", "-5", "must be rupees with up to 2 decimals"),
                                  ("gst_percent", "101", "must be from 0 to 100"),
                                  ("unit", "box", "must be each, kg or l"),
                                  ("name", "", "is required"),
                                  ("low_stock_at", "2.5", "must be a whole number"),
                                  ("pct_code", "0902", "must be a PCT code of 8 digits")):
        response = await cloud_client.post(f"{base}/products/new", data=_product_form(csrf, **{field: value}))
        page = await response.text()
        assert response.status == 400 and message in page, (field, value)
        assert 'value="Gold Leaf Tea 200g"' in page or field == "name"   # what the owner typed stays
    duplicate = await cloud_client.post(f"{base}/products/new", data=_product_form(csrf, sku="TAPAL-190"))
    assert duplicate.status == 400 and "exists already" in await duplicate.text()
    edit = await cloud_client.post(f"{base}/products/edit", data=_product_form(csrf, sku="TAPAL-190", price_rs="x"))
    assert edit.status == 400
    etag2, catalog = await _catalog(cloud_client, gateway)
    assert etag2 == etag and _product(catalog, "GOLD-LEAF") is None
    assert _product(catalog, "TAPAL-190")["price"] == 55000


async def test_forms_without_the_csrf_token_are_refused(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    await sign_in(cloud_client, shop.shop_id)
    base = f"/office/shops/{shop.shop_id}"
    for path, form in ((f"{base}/products/new", _product_form("0" * 64)),
                       (f"{base}/products/archive", {"sku": "TAPAL-190"}),
                       (f"{base}/products/import", _upload("0" * 64, b"sku,name,gst_percent,price_rs\nA,T,18,1\n")),
                       (f"{base}/cashiers/disable", {"cashier_id": "c1"}),
                       (f"{base}/cashiers/pin", {"cashier_id": "c1", "pin": "24681357"}),
                       (f"{base}/settings", {"name": "Hacked", "timezone": "UTC"})):
        assert (await cloud_client.post(path, data=form)).status == 403, path


async def test_another_owners_shop_is_refused_on_every_page_and_post(cloud_client: Any, cloud_db_url: str):
    mine = await owned_shop(cloud_db_url)
    theirs = await owned_shop(cloud_db_url, login="someone@else.pk", name="Other")
    csrf = await sign_in(cloud_client, mine.shop_id)
    base = f"/office/shops/{theirs.shop_id}"
    for path in ("products", "products/new", "products/edit?sku=TAPAL-190", "products/import", "products.csv",
                 "cashiers", "cashiers/edit?id=c1", "settings"):
        response = await cloud_client.get(f"{base}/{path}")
        assert response.status == 403, path
    for path, form in (("products/new", _product_form(csrf)), ("products/edit", _product_form(csrf, sku="TAPAL-190")),
                       ("products/archive", {"sku": "TAPAL-190"}), ("products/import", {"step": "save", "csv": ""}),
                       ("cashiers/new", {"cashier_id": "c9", "name": "X", "pin": "24681357"}),
                       ("cashiers/disable", {"cashier_id": "c1"}),
                       ("cashiers/permissions", {"cashier_id": "c1", "max_discount_percent": "50"}),
                       ("cashiers/pin", {"cashier_id": "c1", "pin": "24681357"}),
                       ("settings", {"name": "Mine now", "timezone": "UTC"})):
        response = await cloud_client.post(f"{base}/{path}", data={"csrf": csrf, **form})
        assert response.status == 403, path
    # Nothing of theirs moved.
    gateway = await _gateway_key(cloud_client, theirs.enrol_token)
    _, catalog = await _catalog(cloud_client, gateway)
    assert catalog["shop_name"] == "Other" and _product(catalog, "TAPAL-190") is not None
    assert [c["cashier_id"] for c in catalog["cashiers"]] == ["c1"]


async def test_cashiers_added_disabled_enabled_and_given_a_new_pin(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    base = f"/office/shops/{shop.shop_id}"
    short = await cloud_client.post(f"{base}/cashiers/new", data={"csrf": csrf, "cashier_id": "c2", "name": "Bilal",
                                                                  "pin": "1234", "max_discount_percent": "5"})
    assert short.status == 400 and "a cashier PIN must be 6 to 12 digits" in await short.text()
    added = await cloud_client.post(f"{base}/cashiers/new", data={
        "csrf": csrf, "cashier_id": "c2", "name": "Bilal", "pin": "24681357", "max_discount_percent": "5"},
        allow_redirects=False)
    assert added.status == 303
    etag, catalog = await _catalog(cloud_client, gateway)
    bilal = next(c for c in catalog["cashiers"] if c["cashier_id"] == "c2")
    assert bilal["max_discount_bp"] == 500 and bilal["can_refund"] is False

    disabled = await cloud_client.post(f"{base}/cashiers/disable", data={"csrf": csrf, "cashier_id": "c1",
                                                                         "disabled": "1"}, allow_redirects=False)
    assert disabled.status == 303
    etag2, catalog = await _catalog(cloud_client, gateway)
    assert etag2 != etag and [c["cashier_id"] for c in catalog["cashiers"]] == ["c2"]
    listing = await (await cloud_client.get(f"{base}/cashiers")).text()
    assert "Ayesha" in listing and "Disabled" in listing   # the row stays

    pin_before = bilal["pin_hash"]
    assert (await cloud_client.post(f"{base}/cashiers/pin", data={"csrf": csrf, "cashier_id": "c2",
                                                                  "pin": "12"})).status == 400
    reset = await cloud_client.post(f"{base}/cashiers/pin", data={"csrf": csrf, "cashier_id": "c2",
                                                                  "pin": "97531864"}, allow_redirects=False)
    assert reset.status == 303
    permissions = await cloud_client.post(f"{base}/cashiers/permissions", data={
        "csrf": csrf, "cashier_id": "c2", "max_discount_percent": "12.5", "can_refund": "1"}, allow_redirects=False)
    assert permissions.status == 303
    _, catalog = await _catalog(cloud_client, gateway)
    bilal = next(c for c in catalog["cashiers"] if c["cashier_id"] == "c2")
    assert bilal["pin_hash"] != pin_before and bilal["max_discount_bp"] == 1250 and bilal["can_refund"] is True

    enabled = await cloud_client.post(f"{base}/cashiers/disable", data={"csrf": csrf, "cashier_id": "c1",
                                                                        "disabled": "0"}, allow_redirects=False)
    assert enabled.status == 303
    _, catalog = await _catalog(cloud_client, gateway)
    assert sorted(c["cashier_id"] for c in catalog["cashiers"]) == ["c1", "c2"]


async def test_shop_settings_reach_the_catalog(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    page = f"/office/shops/{shop.shop_id}/settings"
    form = {"csrf": csrf, "name": "Madina Cash & Carry", "timezone": "other", "timezone_other": "Asia/Dubai",
            "address": "Plot 4, Saddar, Karachi", "phone": "021-1234567", "ntn": "7654321-0", "strn": "1122334455667",
            "receipt_footer": "No returns without receipt"}
    bad = await cloud_client.post(page, data={**form, "timezone_other": "Mars/Olympus"})
    assert bad.status == 400 and "is not a time zone" in await bad.text()
    assert (await cloud_client.post(page, data={**form, "timezone_other": "../../etc/passwd"})).status == 400
    assert (await cloud_client.post(page, data={**form, "ntn": "x" * 21})).status == 400
    etag, _ = await _catalog(cloud_client, gateway)
    saved = await cloud_client.post(page, data=form, allow_redirects=False)
    assert saved.status == 303
    etag2, catalog = await _catalog(cloud_client, gateway)
    assert etag2 != etag and catalog["shop_name"] == "Madina Cash & Carry"
    assert catalog["settings"] == {"address": "Plot 4, Saddar, Karachi", "phone": "021-1234567", "ntn": "7654321-0",
                                   "strn": "1122334455667", "receipt_footer": "No returns without receipt",
                                   # a form without the khata's settings keeps them (the defaults here)
                                   "default_credit_limit": 500000, "offline_credit_allowance": 200000}
    shown = await (await cloud_client.get(page)).text()
    assert 'value="Asia/Dubai"' in shown and "Madina Cash &amp; Carry" in shown


async def test_a_csv_with_bad_rows_previews_their_errors_and_saves_nothing_then_imports_in_one_bump(
        cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    base = f"/office/shops/{shop.shop_id}"
    rows = _rows(500)
    bad = [dict(r) for r in rows]
    bad[10]["price_rs"] = "12.345"        # row 12
    bad[200]["unit"] = "dozen"            # row 202
    bad[499]["sku"] = "SKU-0003"          # row 501: a duplicate of row 5
    etag, _ = await _catalog(cloud_client, gateway)

    preview = await cloud_client.post(f"{base}/products/import", data=_upload(csrf, _csv(bad)))
    page = await preview.text()
    assert preview.status == 200
    errors = re.findall(r'<tr><td class="num">(\d+)</td><td class="mono">(\w+)</td><td>([^<]*)</td></tr>', page)
    assert errors == [("12", "price_rs", "must be rupees with up to 2 decimals, e.g. 549.50"),
                      ("202", "unit", "must be each, kg or l"), ("501", "sku", "SKU-0003 is also on row 5")]
    assert "500 rows read, 3 with errors." in page
    assert (await _catalog(cloud_client, gateway))[0] == etag   # nothing saved by the preview

    # Saving the bad file without ticking "skip the bad rows" saves nothing either.
    refused = await cloud_client.post(f"{base}/products/import", data={"csrf": csrf, "step": "save",
                                                                       "csv": _hidden(page, "csv")})
    assert refused.status == 400 and (await _catalog(cloud_client, gateway))[0] == etag

    fixed = await cloud_client.post(f"{base}/products/import", data=_upload(csrf, _csv(rows)))
    page = await fixed.text()
    assert "Import 500 products" in page and "with errors" in page and "500 rows read, 0 with errors." in page
    saved = await cloud_client.post(f"{base}/products/import", data={"csrf": csrf, "step": "save",
                                                                     "csv": _hidden(page, "csv")},
                                    allow_redirects=False)
    assert saved.status == 303 and saved.headers["Location"].endswith("done=imported-500-0")
    etag2, catalog = await _catalog(cloud_client, gateway)
    assert int(etag2.strip('"').rsplit(".", 1)[1]) == int(etag.strip('"').rsplit(".", 1)[1]) + 1   # one bump
    assert len(catalog["products"]) == 515 and _product(catalog, "SKU-0042")["price"] == 14250


async def test_a_file_too_large_or_unreadable_is_refused_with_a_reason(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    csrf = await sign_in(cloud_client, shop.shop_id)
    path = f"/office/shops/{shop.shop_id}/products/import"
    huge = await cloud_client.post(path, data=_upload(csrf, b"x" * (3 * 1024 * 1024)))
    assert huge.status == 413 and "the file is too large" in await huge.text()
    no_header = await cloud_client.post(path, data=_upload(csrf, b"A,Tea,18,550\n"))
    assert no_header.status == 400 and "the first row must name the columns" in await no_header.text()
    assert "Import " not in (await no_header.text()).split('id="preview"')[1]


async def test_skipping_the_bad_rows_imports_only_the_good_ones(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    rows = _rows(5)
    rows[1]["gst_percent"] = ""
    preview = await (await cloud_client.post(f"/office/shops/{shop.shop_id}/products/import",
                                             data=_upload(csrf, _csv(rows)))).text()
    assert "is required (0 for goods without GST)" in preview
    saved = await cloud_client.post(f"/office/shops/{shop.shop_id}/products/import", data={
        "csrf": csrf, "step": "save", "csv": _hidden(preview, "csv"), "skip_bad": "1"}, allow_redirects=False)
    assert saved.status == 303
    _, catalog = await _catalog(cloud_client, gateway)
    assert _product(catalog, "SKU-0001") is None and _product(catalog, "SKU-0004") is not None


async def test_export_then_import_changes_nothing(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    base = f"/office/shops/{shop.shop_id}"
    # Awkward cells: a comma, quotes, a formula-looking name, Urdu, a loose product.
    await cloud_client.post(f"{base}/products/new", data=_product_form(
        csrf, sku="ODD", name='=HYPERLINK("x"), "quoted"', name_ur="عجیب، نام", barcode="", category="",
        unit="kg", price_rs="0.05", gst_percent="0", low_stock_at=""))
    first = await cloud_client.get(f"{base}/products.csv")
    assert first.status == 200 and first.headers["Content-Type"].startswith("text/csv")
    exported = await first.read()
    assert exported.startswith("\ufeff".encode()) and b"'=HYPERLINK" in exported   # a spreadsheet shows it as text
    assert exported.splitlines()[0].endswith(b",low_stock_at,pct_code") and b",,0902.3000\r\n" in exported
    _, before = await _catalog(cloud_client, gateway)

    preview = await (await cloud_client.post(f"{base}/products/import", data=_upload(csrf, exported))).text()
    assert "16 rows read, 0 with errors." in preview
    assert "Of the good rows, 0 are new products and 16 change products you have." in preview
    saved = await cloud_client.post(f"{base}/products/import", data={"csrf": csrf, "step": "save",
                                                                     "csv": _hidden(preview, "csv")},
                                    allow_redirects=False)
    assert saved.status == 303 and saved.headers["Location"].endswith("done=imported-0-16")
    _, after = await _catalog(cloud_client, gateway)
    assert after["products"] == before["products"]
    assert _product(after, "ODD")["name"] == '=HYPERLINK("x"), "quoted"'
    assert await (await cloud_client.get(f"{base}/products.csv")).read() == exported


async def test_the_owner_api_archives_products_and_disables_cashiers(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    api = f"/v1/shops/{shop.shop_id}"
    gone = await cloud_client.delete(f"{api}/products/TAPAL-190", headers=shop.bearer)
    assert gone.status == 200 and await gone.json() == {"sku": "TAPAL-190", "archived": True}
    assert (await cloud_client.delete(f"{api}/products/NOPE", headers=shop.bearer)).status == 404
    disabled = await cloud_client.post(f"{api}/cashiers/c1/disable", headers=shop.bearer)
    assert disabled.status == 200 and await disabled.json() == {"cashier_id": "c1", "disabled": True}
    assert (await cloud_client.post(f"{api}/cashiers/c9/disable", headers=shop.bearer)).status == 404
    _, catalog = await _catalog(cloud_client, gateway)
    assert _product(catalog, "TAPAL-190") is None and catalog["cashiers"] == []
    assert (await cloud_client.post(f"{api}/cashiers/c1/enable", headers=shop.bearer)).status == 200
    assert [c["cashier_id"] for c in (await _catalog(cloud_client, gateway))[1]["cashiers"]] == ["c1"]
    other = await owned_shop(cloud_db_url, login="someone@else.pk", name="Other")
    assert (await cloud_client.delete(f"/v1/shops/{other.shop_id}/products/TAPAL-190",
                                      headers=shop.bearer)).status == 403


async def test_pages_render_in_urdu(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    await sign_in(cloud_client, shop.shop_id)
    await cloud_client.get("/office/language?to=ur&next=/office/")
    base = f"/office/shops/{shop.shop_id}"
    for path in ("products", "products/new", "products/edit?sku=TAPAL-190", "products/import", "cashiers",
                 "cashiers/edit?id=c1", "settings"):
        response = await cloud_client.get(f"{base}/{path}")
        assert response.status == 200, path
        assert 'dir="rtl"' in await response.text()
    assert await csrf_of(cloud_client, f"{base}/products")


async def test_importing_an_archived_product_changes_it_but_keeps_it_archived(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    base = f"/office/shops/{shop.shop_id}"
    await cloud_client.post(f"{base}/products/archive", data={"csrf": csrf, "sku": "TAPAL-190", "archived": "1"})
    data = _csv([{"sku": "TAPAL-190", "name": "Tapal Danedar 190g", "gst_percent": "18", "price_rs": "600"}])
    preview = await (await cloud_client.post(f"{base}/products/import", data=_upload(csrf, data))).text()
    assert "1 of those are archived and stay archived." in preview
    saved = await cloud_client.post(f"{base}/products/import", data={"csrf": csrf, "step": "save",
                                                                     "csv": _hidden(preview, "csv")},
                                    allow_redirects=False)
    assert saved.status == 303
    assert _product((await _catalog(cloud_client, gateway))[1], "TAPAL-190") is None
    page = await (await cloud_client.get(f"{base}/products/edit?sku=TAPAL-190")).text()
    assert 'value="600.00"' in page and "This product is archived" in page


async def _import(client: Any, base: str, csrf: str, data: bytes, skip_bad: bool = False) -> tuple[str, Any]:
    """Preview `data`, then save it: (the preview page, the save's answer)."""
    preview = await (await client.post(f"{base}/products/import", data=_upload(csrf, data))).text()
    form = {"csrf": csrf, "step": "save", "csv": _hidden(preview, "csv"), **({"skip_bad": "1"} if skip_bad else {})}
    return preview, await client.post(f"{base}/products/import", data=form, allow_redirects=False)


async def test_an_import_of_some_columns_changes_only_those_of_the_products_there_are(cloud_client: Any,
                                                                                      cloud_db_url: str):
    # The reviewer's case: a file of prices alone wiped SUGAR-LOOSE's unit, Urdu name, category and low-stock
    # mark, and COKE-1500's barcode.
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    base = f"/office/shops/{shop.shop_id}"
    _, before = await _catalog(cloud_client, gateway)
    columns = ("sku", "name", "gst_percent", "price_rs")
    data = _csv([{"sku": "SUGAR-LOOSE", "name": "Sugar (loose, per kg)", "gst_percent": "18", "price_rs": "170"},
                 {"sku": "COKE-1500", "name": "Coca-Cola 1.5 litre", "gst_percent": "18", "price_rs": "230"},
                 {"sku": "NEW-1", "name": "Rooh Afza 800ml", "gst_percent": "18", "price_rs": "450"}], columns)
    preview, saved = await _import(cloud_client, base, csrf, data)
    assert "Of the good rows, 1 are new products and 2 change products you have." in preview
    kept = re.search(r'class="columns-kept">([^<]*)<code>([^<]*)</code>', preview)
    assert kept and "keep what they have in the columns this file leaves out" in kept.group(1)
    assert kept.group(2) == "name_ur,barcode,category,unit,low_stock_at,pct_code"
    assert "sold by another unit" not in preview
    assert saved.status == 303 and saved.headers["Location"].endswith("done=imported-1-2")

    _, after = await _catalog(cloud_client, gateway)
    assert _product(after, "SUGAR-LOOSE") == {**_product(before, "SUGAR-LOOSE"), "price": 17000}
    assert _product(after, "SUGAR-LOOSE")["unit"] == "kg" and _product(after, "SUGAR-LOOSE")["low_stock_at"] == 5000
    assert _product(after, "COKE-1500") == {**_product(before, "COKE-1500"), "price": 23000,
                                            "name": "Coca-Cola 1.5 litre"}
    assert _product(after, "COKE-1500")["barcode"] == "8964000710015"
    # A new product gets the defaults of the columns left out.
    assert _product(after, "NEW-1") == {"sku": "NEW-1", "name": "Rooh Afza 800ml", "price": 45000, "gst_bp": 1800,
                                        "unit": "each", "barcode": None, "category": None, "name_ur": None,
                                        "low_stock_at": None, "pct_code": None}
    # A column that is there but empty still empties it: the owner cleared it.
    data = _csv([{"sku": "COKE-1500", "name": "Coca-Cola 1.5L", "gst_percent": "18", "price_rs": "230",
                  "barcode": ""}], ("sku", "name", "gst_percent", "price_rs", "barcode"))
    _, saved = await _import(cloud_client, base, csrf, data)
    assert saved.status == 303
    coke = _product((await _catalog(cloud_client, gateway))[1], "COKE-1500")
    assert coke["barcode"] is None and coke["category"] == "Drinks" and coke["name_ur"] is not None


async def _sold_once(cloud_db_url: str, shop_id: str, sku: str, unit: str) -> None:
    """A sold line of `sku` in line_facts, as ingest writes it (and no stock movement)."""
    engine = create_engine(cloud_db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(schema.line_facts.insert().values(
                shop_id=shop_id, document_id="0b7c2a4e-1a55-4c1f-9f7e-3f2d6a1b9c01", line_no=1,
                business_date="2026-11-27", sku=sku, unit=unit, qty=2, amount=42000, name="Coca-Cola 1.5L"))
    finally:
        await engine.dispose()


async def test_a_sku_with_stock_or_sales_keeps_its_unit_on_every_path(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    csrf = await sign_in(cloud_client, shop.shop_id)
    base, api = f"/office/shops/{shop.shop_id}", f"/v1/shops/{shop.shop_id}"
    received = await cloud_client.post(f"{api}/stock-movements", headers=shop.bearer,
                                       json={"sku": "SUGAR-LOOSE", "qty": 5000, "reason": "received"})
    assert received.status == 201
    await _sold_once(cloud_db_url, shop.shop_id, "COKE-1500", "each")   # sales, no stock rows
    etag, before = await _catalog(cloud_client, gateway)
    message = ("SUGAR-LOOSE is sold by kg: its stock and sales are counted that way; "
               "make a new SKU to sell it by the piece")

    # The owner API: a 409 with the reason; nothing changes.
    sugar = {"name": "Sugar", "price": 17000, "gst_bp": 1800, "unit": "each"}
    refused = await cloud_client.put(f"{api}/products/SUGAR-LOOSE", headers=shop.bearer, json=sugar)
    assert refused.status == 409
    assert await refused.json() == {"error": {"code": "conflict", "message": message}}
    coke = await cloud_client.put(f"{api}/products/COKE-1500", headers=shop.bearer,
                                  json={"name": "Coke", "price": 21000, "gst_bp": 1800, "unit": "l"})
    assert coke.status == 409 and "COKE-1500 is sold by the piece" in (await coke.json())["error"]["message"]
    assert "to sell it by the litre" in (await coke.json())["error"]["message"]
    # The same unit is no change: the rest may change as ever.
    same = await cloud_client.put(f"{api}/products/SUGAR-LOOSE", headers=shop.bearer, json={**sugar, "unit": "kg"})
    assert same.status == 200 and (await same.json())["unit"] == "kg"
    assert _product((await _catalog(cloud_client, gateway))[1], "SUGAR-LOOSE")["price"] == 17000

    # The product form: the message at the unit field, nothing saved.
    etag, before = await _catalog(cloud_client, gateway)
    form = await cloud_client.post(f"{base}/products/edit", data=_product_form(
        csrf, sku="SUGAR-LOOSE", name="Sugar", unit="each", barcode="", price_rs="180", low_stock_at="5"))
    page = await form.text()
    assert form.status == 400 and f'<p class="bad" id="e-unit">Sold by: {message}</p>' in page
    assert (await _catalog(cloud_client, gateway))[0] == etag

    # The CSV import: a bad row in the preview; saved only with "skip the bad rows", and then not that one.
    rows = [{"sku": "SUGAR-LOOSE", "name": "Sugar", "gst_percent": "18", "unit": "each", "price_rs": "180"},
            {"sku": "COKE-1500", "name": "Coke", "gst_percent": "18", "unit": "each", "price_rs": "240"},
            {"sku": "DAAL-MASOOR-LOOSE", "name": "Masoor Daal 1kg pack", "gst_percent": "18", "unit": "each",
             "price_rs": "350"}]
    data = _csv(rows, ("sku", "name", "gst_percent", "unit", "price_rs"))
    preview, not_saved = await _import(cloud_client, base, csrf, data)
    errors = re.findall(r'<tr><td class="num">(\d+)</td><td class="mono">(\w+)</td><td>([^<]*)</td></tr>', preview)
    assert errors == [("2", "unit", message)]
    assert "1 with errors" in preview
    # A SKU without stock or sales may change its unit: the preview says so.
    changes = re.search(r'<ul class="unit-changes">(.*?)</ul>', preview, re.S)
    assert changes and re.findall(r'<span class="mono">([^<]*)</span>: ([^<]*)</li>', changes.group(1)) == [
        ("DAAL-MASOOR-LOOSE", "per kg → per piece")]
    assert not_saved.status == 400 and (await _catalog(cloud_client, gateway))[0] == etag
    _, saved = await _import(cloud_client, base, csrf, data, skip_bad=True)
    assert saved.status == 303 and saved.headers["Location"].endswith("done=imported-0-2")
    _, after = await _catalog(cloud_client, gateway)
    assert _product(after, "SUGAR-LOOSE") == _product(before, "SUGAR-LOOSE")
    assert _product(after, "COKE-1500")["price"] == 24000 and _product(after, "COKE-1500")["unit"] == "each"
    assert _product(after, "DAAL-MASOOR-LOOSE")["unit"] == "each"

    # A product with no history may change unit on the API and the form too.
    oil = await cloud_client.put(f"{api}/products/OIL-LOOSE", headers=shop.bearer,
                                 json={"name": "Khula Oil 1L pouch", "price": 52000, "gst_bp": 1800, "unit": "each"})
    assert oil.status == 200 and (await oil.json())["unit"] == "each"
    back = await cloud_client.post(f"{base}/products/edit", data=_product_form(
        csrf, sku="OIL-LOOSE", name="Khula Oil", unit="l", barcode="", price_rs="520"), allow_redirects=False)
    assert back.status == 303
    assert _product((await _catalog(cloud_client, gateway))[1], "OIL-LOOSE")["unit"] == "l"


async def test_the_owner_api_restores_an_archived_product_and_put_says_whether_it_is(cloud_client: Any,
                                                                                     cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    gateway = await _gateway_key(cloud_client, shop.enrol_token)
    api = f"/v1/shops/{shop.shop_id}"
    tapal = {"name": "Tapal Danedar 190g", "price": 56000, "gst_bp": 1800}
    assert (await cloud_client.delete(f"{api}/products/TAPAL-190", headers=shop.bearer)).status == 200
    put = await cloud_client.put(f"{api}/products/TAPAL-190", headers=shop.bearer, json=tapal)
    assert put.status == 200 and (await put.json())["archived"] is True and (await put.json())["price"] == 56000
    assert _product((await _catalog(cloud_client, gateway))[1], "TAPAL-190") is None

    etag, _ = await _catalog(cloud_client, gateway)
    restored = await cloud_client.post(f"{api}/products/TAPAL-190/restore", headers=shop.bearer)
    assert restored.status == 200 and await restored.json() == {"sku": "TAPAL-190", "archived": False}
    etag2, catalog = await _catalog(cloud_client, gateway)
    assert etag2 != etag and _product(catalog, "TAPAL-190")["price"] == 56000
    put = await cloud_client.put(f"{api}/products/TAPAL-190", headers=shop.bearer, json=tapal)
    assert await put.json() == {"sku": "TAPAL-190", **tapal, "barcode": None, "category": None, "unit": "each",
                                "name_ur": None, "low_stock_at": None, "pct_code": None, "archived": False}
    made = await cloud_client.put(f"{api}/products/NEW-1", headers=shop.bearer, json=tapal)
    assert made.status == 200 and (await made.json())["archived"] is False
    # Restoring one on sale is harmless; an unknown SKU is a 404, another owner's shop a 403.
    assert (await cloud_client.post(f"{api}/products/TAPAL-190/restore", headers=shop.bearer)).status == 200
    missing = await cloud_client.post(f"{api}/products/NOPE/restore", headers=shop.bearer)
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
    other = await owned_shop(cloud_db_url, login="someone@else.pk", name="Other")
    assert (await cloud_client.post(f"/v1/shops/{other.shop_id}/products/TAPAL-190/restore",
                                    headers=shop.bearer)).status == 403


async def test_the_import_and_the_form_say_their_errors_in_urdu(cloud_client: Any, cloud_db_url: str):
    shop = await owned_shop(cloud_db_url)
    csrf = await sign_in(cloud_client, shop.shop_id)
    await cloud_client.get("/office/language?to=ur&next=/office/")
    base, api = f"/office/shops/{shop.shop_id}", f"/v1/shops/{shop.shop_id}"
    assert (await cloud_client.post(f"{api}/stock-movements", headers=shop.bearer,
                                    json={"sku": "SUGAR-LOOSE", "qty": 5000, "reason": "received"})).status == 201
    rows = _rows(3)
    rows[0]["unit"] = "dozen"
    rows[1]["price_rs"] = "12.345"
    rows[2] = {**rows[0], "sku": "SUGAR-LOOSE", "unit": "each"}
    page = await (await cloud_client.post(f"{base}/products/import", data=_upload(csrf, _csv(rows + [rows[1]])))).text()
    errors = re.findall(r'<tr><td class="num">(\d+)</td><td class="mono">(\w+)</td><td>([^<]*)</td></tr>', page)
    assert errors == [("2", "unit", "each، kg یا l میں سے ایک ہو"),
                      ("3", "price_rs", "روپوں میں ہو، زیادہ سے زیادہ 2 اعشاریہ تک، مثلاً 549.50"),
                      ("4", "unit", "SUGAR-LOOSE کلو کے حساب سے بکتی ہے: اس کا اسٹاک اور فروخت اسی طرح گنے جاتے ہیں؛ "
                                    "اسے عدد کے حساب سے بیچنے کے لیے نیا SKU بنائیں"),
                      ("5", "sku", "SKU-0001 قطار 3 پر بھی ہے"),
                      ("5", "price_rs", "روپوں میں ہو، زیادہ سے زیادہ 2 اعشاریہ تک، مثلاً 549.50")]
    unreadable = await cloud_client.post(f"{base}/products/import",
                                         data=_upload(csrf, "sku,name,gst_percent,price_rs\n".encode("utf-16")))
    assert unreadable.status == 400
    assert "فائل UTF-8 متن نہیں: اسپریڈشیٹ سے اسے CSV UTF-8 کے طور پر محفوظ کریں" in await unreadable.text()
    form = await cloud_client.post(f"{base}/products/new", data=_product_form(csrf, unit="box"))
    assert form.status == 400 and "each، kg یا l میں سے ایک ہو" in await form.text()
