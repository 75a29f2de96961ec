"""The back office's products: list and search, add, edit, archive, CSV import (preview first) and export.

Every change goes through cloud_api/catalog.py, which moves the catalog version, so each box pulls
the new catalog (its ETag went stale) and its tills show the new prices within a sync or two.

CSV import is two posts. The first uploads the file and shows every row with its errors; nothing
is saved. The preview carries the file back in a hidden field (base64, so not a byte changes on the
way) with the CSRF token; the second post parses it again from scratch and saves in one transaction
with one version bump: all the rows if none is bad, or only the good ones if the owner ticked "skip
the bad rows". Nothing from the first post is trusted. A product the shop has changes only in the
columns the file has (the preview names the others, and the products whose unit changes); a unit
change that catalog.py refuses (the SKU has stock or sales) is a bad row like any other.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ..catalog import (UnitChangeRefused, archive_product, put_product, put_products, refused_unit_changes,
                       shop_product, shop_products)
from ..gateway_api import ENGINE
from ..database import reading
from ..product_import import (MAX_BYTES, MAX_ROWS, ParsedFile, parse_csv, percent_text, product_from_fields,
                              products_csv, rupees_text, say)
from ..service.errors import BadRequest, NotFound, TooLarge
from .web import PREFIX, owner_shop, posted_form, query_text, render, shop_form, signed_in

routes = web.RouteTableDef()

SHOP = PREFIX + "/shops/{shop_id}"
FIELDS = ("sku", "name", "name_ur", "barcode", "category", "gst_percent", "unit", "price_rs", "low_stock_at",
          "pct_code")

# What product_import.py and catalog.py say about a file, a row or a field (Said phrases), which these pages
# show through say(message, t): each has Urdu in words_catalog.py. Listed here, where the words test looks
# for the phrases pages use; tests/cloud/test_product_import.py checks that none is left out.
MESSAGES = (
    "must be rupees with up to 2 decimals, e.g. 549.50", "must be a percent with up to 2 decimals, e.g. 18 or 17.5",
    "must be from 0 to 100", "is required (0 for goods without GST)", "must be each, kg or l",
    "must be a whole number (pieces, or grams / ml when sold loose)", "must be at most Rs 100,000,000",
    "the file is larger than {mb} MB: split it",
    "the file is not UTF-8 text: save it from the spreadsheet as CSV UTF-8", "the file is empty",
    "the first row must name the columns: {columns}", "the file has more than {n} products: split it",
    "row {row} is not valid CSV ({error})", "the file has a header but no products",
    "has {cells} cells, the header {columns}", "is required", "must be at most 200 characters, without NUL",
    "{sku} is also on row {row}", "must be at most {n} characters", "is out of range", "must be at most {n}",
    "must not contain NUL characters",
    "{sku} is sold by {unit}: its stock and sales are counted that way; make a new SKU to sell it by {other}",
    "the piece", "kg", "the litre", "must be a PCT code of 8 digits, e.g. 09023000 or 0902.3000",
)


def _products_url(shop_id: str, note: str = "") -> str:
    return f"{PREFIX}/shops/{shop_id}/products" + (f"?done={note}" if note else "")


def _form_values(product: Any) -> dict[str, str]:
    """A stored product as the form shows it: rupees and a GST percent, as the owner types them."""
    return {"sku": product.sku, "name": product.name, "name_ur": product.name_ur or "",
            "barcode": product.barcode or "", "category": product.category or "",
            "gst_percent": percent_text(product.gst_bp), "unit": product.unit, "price_rs": rupees_text(product.price),
            "low_stock_at": "" if product.low_stock_at is None else str(product.low_stock_at),
            "pct_code": product.pct_code or ""}


def _matches(product: Any, query: str) -> bool:
    query = query.casefold()
    return any(query in (value or "").casefold() for value in (product.name, product.name_ur, product.sku,
                                                                product.barcode))


@routes.get(SHOP + "/products")
async def products_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    query = request.query.get("q", "").strip()[:200]
    async with reading(request.app[ENGINE]) as conn:
        products = await shop_products(conn, shop.shop_id)
    if query:
        products = [p for p in products if _matches(p, query)]
    done = request.query.get("done", "")
    imported = [int(n) for n in done.split("-")[1:3] if n.isdigit()] if done.startswith("imported-") else []
    return render(request, session, "products.html", shop=shop, section="products", query=query,
                  active=[p for p in products if not p.archived], archived=[p for p in products if p.archived],
                  done=done, imported=imported if len(imported) == 2 else None, percent_text=percent_text)


def _form_page(request: web.Request, session: Any, shop: Any, editing: Any, values: dict[str, str],
               errors: dict[str, str], status: int = 200) -> web.Response:
    return render(request, session, "product_form.html", status=status, shop=shop, section="products",
                  editing=editing, values=values, errors=errors, say=say)


@routes.get(SHOP + "/products/new")
async def new_product_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    return _form_page(request, session, shop, None, {"unit": "each", "gst_percent": "18"}, {})


@routes.post(SHOP + "/products/new")
async def create_product(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    values = {name: str(form.get(name, "")) for name in FIELDS}
    values["sku"] = values["sku"].strip()
    body, errors = product_from_fields(values)
    if not values["sku"]:
        errors["sku"] = "is required"
    elif len(values["sku"]) > 200 or "\x00" in values["sku"]:
        errors["sku"] = "must be at most 200 characters, without NUL"
    async with request.app[ENGINE].begin() as conn:
        if not errors and await shop_product(conn, shop.shop_id, values["sku"]) is not None:
            errors["sku"] = "a product with this SKU exists already: edit it instead"
        if errors or body is None:
            return _form_page(request, session, shop, None, values, errors, status=400)
        await put_product(conn, shop.shop_id, values["sku"], body)
    raise web.HTTPSeeOther(_products_url(shop.shop_id, "saved"))


@routes.get(SHOP + "/products/edit")
async def edit_product_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    if "sku" not in request.query:   # no product named: the list to choose one from
        raise web.HTTPSeeOther(_products_url(shop.shop_id))
    async with reading(request.app[ENGINE]) as conn:
        product = await shop_product(conn, shop.shop_id, query_text(request, "sku", 200))
    if product is None:
        raise NotFound("this shop has no product with that SKU")
    return _form_page(request, session, shop, product, _form_values(product), {})


@routes.post(SHOP + "/products/edit")
async def edit_product(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    values = {name: str(form.get(name, "")) for name in FIELDS}
    async with request.app[ENGINE].begin() as conn:
        # The SKU is fixed once made: sales, stock and reports are keyed by it.
        product = await shop_product(conn, shop.shop_id, values["sku"])
        if product is None:
            raise NotFound("this shop has no product with that SKU")
        body, errors = product_from_fields(values)
        if errors or body is None:
            return _form_page(request, session, shop, product, values, errors, status=400)
        try:
            await put_product(conn, shop.shop_id, product.sku, body)
        except UnitChangeRefused as refused:   # checked before anything is written
            return _form_page(request, session, shop, product, values, {"unit": refused.said}, status=400)
    raise web.HTTPSeeOther(_products_url(shop.shop_id, "saved"))


@routes.post(SHOP + "/products/archive")
async def archive(request: web.Request) -> web.Response:
    """Archive (archived=1) or bring back (archived=0) one product."""
    session, shop, form = await shop_form(request)
    archived = str(form.get("archived", "1")) != "0"
    async with request.app[ENGINE].begin() as conn:
        if not await archive_product(conn, shop.shop_id, str(form.get("sku", "")), archived):
            raise NotFound("this shop has no product with that SKU")
    raise web.HTTPSeeOther(_products_url(shop.shop_id, "archived" if archived else "restored"))


@routes.get(SHOP + "/products.csv")
async def export_csv(request: web.Request) -> web.Response:
    """The products on sale (not archived) as a CSV that the import reads back unchanged."""
    session = await signed_in(request)
    shop = owner_shop(request, session)
    async with reading(request.app[ENGINE]) as conn:
        products = await shop_products(conn, shop.shop_id, archived=False)
    # The BOM makes Excel read the file as UTF-8 (Urdu names); the import takes it off again.
    body = ("\ufeff" + products_csv(products)).encode("utf-8")
    filename = quote(f"{shop.name} products.csv", safe="")
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"products.csv\"; filename*=UTF-8''{filename}",
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@routes.get(SHOP + "/products/import")
async def import_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    return _import_page(request, session, shop, None, b"")


@routes.post(SHOP + "/products/import")
async def import_csv(request: web.Request) -> web.Response:
    """Step 1 (a file uploaded): the preview, nothing saved. Step 2 (step=save): save, if the rows allow."""
    session = await signed_in(request)
    shop = owner_shop(request, session)
    try:
        form = await posted_form(request, session)
    except web.HTTPRequestEntityTooLarge as err:   # past the app's 2 MiB: a page that says why, not a bare 413
        raise TooLarge("the file is too large: split it into files of at most 1 MB") from err
    if form.get("step") != "save":
        upload = form.get("file")
        data = upload.file.read(MAX_BYTES + 1) if isinstance(upload, web.FileField) else b""
        if not data:
            raise BadRequest("choose a CSV file to import")
        parsed = parse_csv(data)
        if parsed.problem is not None:
            return _import_page(request, session, shop, parsed, data, status=400)
        async with reading(request.app[ENGINE]) as conn:
            preview = await _against_the_shop(conn, shop.shop_id, parsed)
        return _import_page(request, session, shop, parsed, data, **preview)
    try:
        data = base64.b64decode(str(form.get("csv", "")), validate=True)
    except binascii.Error as err:
        raise BadRequest("the import is out of date: upload the file again") from err
    parsed = parse_csv(data)
    skip_bad = form.get("skip_bad") == "1"
    if parsed.problem is not None:
        return _import_page(request, session, shop, parsed, data, status=400)
    async with request.app[ENGINE].begin() as conn:
        preview = await _against_the_shop(conn, shop.shop_id, parsed)   # again: the shop may have sold since
        if (parsed.errors and not skip_bad) or not parsed.good:
            return _import_page(request, session, shop, parsed, data, status=400, **preview)
        created, changed = await put_products(conn, shop.shop_id, parsed.good, parsed.fields)
    raise web.HTTPSeeOther(_products_url(shop.shop_id, f"imported-{created}-{changed}"))


async def _against_the_shop(conn: Any, shop_id: str, parsed: ParsedFile) -> dict[str, Any]:
    """The file beside the shop's products: a row whose unit change catalog.py refuses (stock or sales
    counted in the old unit) becomes a bad row; what the preview says of the products that exist."""
    known = {p.sku: p for p in await shop_products(conn, shop_id)}
    moves = {p.sku: p.unit for p in parsed.good if p.sku in known and known[p.sku].unit != p.unit}
    if "unit" in parsed.columns and moves:
        for sku, refusal in (await refused_unit_changes(conn, shop_id, moves)).items():
            parsed.refuse(sku, "unit", refusal.said)
    changing = [p for p in parsed.good if p.sku in known]
    unit_changes = [(p.sku, known[p.sku].unit, p.unit) for p in changing if known[p.sku].unit != p.unit]
    return {"changing": len(changing), "archived": sum(1 for p in changing if known[p.sku].archived),
            "unit_changes": unit_changes if "unit" in parsed.columns else []}


def _import_page(request: web.Request, session: Any, shop: Any, parsed: ParsedFile | None, data: bytes,
                 status: int = 200, changing: int | None = None, archived: int = 0,
                 unit_changes: list[tuple[str, str, str]] | None = None) -> web.Response:
    """The upload form, and the preview of `parsed`; `changing` of its products exist already (`archived` of
    them archived: an import changes them but leaves them archived), `unit_changes` (sku, from, to) of them
    are sold by another unit from now on."""
    return render(request, session, "products_import.html", status=status, shop=shop, section="products",
                  parsed=parsed, csv_b64=base64.b64encode(data).decode("ascii"), max_rows=MAX_ROWS,
                  max_mb=MAX_BYTES // 1_000_000, columns=FIELDS, changing=changing, archived=archived,
                  unit_changes=unit_changes or [], say=say)
