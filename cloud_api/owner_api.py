"""The owner's API: catalog, receipt settings, stock, journal, reports, sync health, customers and khata.
Bearer owner_token."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field, StrictInt, TypeAdapter, ValidationError

from .catalog import archive_product, put_cashier, put_product, put_settings, set_cashier_disabled
from .contract import DOCUMENT_KINDS, MAX_QTY, CashierIn, FiscalSettingsIn, ProductIn, ShopSettings, Text, text
from .database import reading
from .fiscal import FiscalState, PosIdIn, fiscal_state, put_fiscal, request_retry, set_pos_id
from .gateway_api import ENGINE
from .khata import (AdjustmentIn, CustomerIn, add_adjustment, create_customer, customer, customers_with_balances,
                    khata_report, statement, update_customer)
from .reports import daily_summary, list_documents, sync_health
from .shift_reports import shift_reports
from .service.errors import BadRequest, Forbidden, NotFound
from .service.web import bearer_token, read_model
from .shops import issue_enrol_token, shop_for_owner_token
from .stock import on_hand
from .stock_movements import Movement, checked_key, record_movement

routes = web.RouteTableDef()


class StockMovementIn(BaseModel):
    sku: Text
    # Bounded like a sale line, so a typo of 2**62 cannot make /stock overflow.
    qty: Annotated[StrictInt, Field(ge=-MAX_QTY, le=MAX_QTY)]
    reason: text(64)


_path_text = TypeAdapter(Text)


def _key(request: web.Request, name: str) -> str:
    """A sku or cashier id from the path, held to the same rule as the body's (no NUL, <= 200)."""
    try:
        return _path_text.validate_python(request.match_info[name])
    except ValidationError as err:
        raise BadRequest(f"{name}: {err.errors()[0]['msg'].removeprefix('Value error, ')}") from err


async def _shop(request: web.Request) -> str:
    """The shop in the path, if the bearer's owner token opens it."""
    async with reading(request.app[ENGINE]) as conn:
        shop_id = await shop_for_owner_token(conn, bearer_token(request))
    if shop_id != request.match_info["shop_id"]:
        raise Forbidden("this owner token does not open that shop")
    return shop_id


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise BadRequest(f"{name} must be YYYY-MM-DD") from err


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    # ASCII digits only, and not too many: "²" or a 5,000-digit number is a 400, not a 500.
    if not (value.isascii() and value.isdigit() and len(value) <= 19) or not low <= int(value) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(value)


@routes.put("/v1/shops/{shop_id}/products/{sku}")
async def put_product_route(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    body = await read_model(request, ProductIn)
    async with request.app[ENGINE].begin() as conn:
        # A 409 (UnitChangeRefused) if the SKU has stock or sales counted in another unit.
        product, archived = await put_product(conn, shop_id, _key(request, "sku"), body)
    # archived: an archived product stays so (tills do not sell it) until POST .../restore.
    return web.json_response({**product.model_dump(), "archived": archived})


@routes.put("/v1/shops/{shop_id}/cashiers/{cashier_id}")
async def put_cashier_route(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    body = await read_model(request, CashierIn)
    async with request.app[ENGINE].begin() as conn:
        await put_cashier(conn, shop_id, _key(request, "cashier_id"), body)
    return web.json_response({"cashier_id": _key(request, "cashier_id"), "name": body.name,
                              "max_discount_bp": body.max_discount_bp, "can_refund": body.can_refund})


@routes.put("/v1/shops/{shop_id}/settings")
async def put_settings_route(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    body = await read_model(request, ShopSettings)
    async with request.app[ENGINE].begin() as conn:
        held = await put_settings(conn, shop_id, body)
    return web.json_response(held.model_dump())


@routes.post("/v1/shops/{shop_id}/enrol-tokens")
async def new_enrol_token(request: web.Request) -> web.Response:
    """A fresh one-time token, e.g. to enrol a replacement gateway."""
    shop_id = await _shop(request)
    async with request.app[ENGINE].begin() as conn:
        token = await issue_enrol_token(conn, shop_id)
    return web.json_response({"enrol_token": token}, status=201)


@routes.post("/v1/shops/{shop_id}/stock-movements")
async def stock_movement(request: web.Request) -> web.Response:
    """Record a movement; with an Idempotency-Key, a resend answers the first answer and counts once.

    A replay answers 201 with the first movement and `Idempotent-Replayed: true`; the same key with
    another body is a 409; an SKU the shop has no product for is a 404 (stock_movements.py).
    """
    shop_id = await _shop(request)
    key = checked_key(request.headers.get("Idempotency-Key"))
    body = await read_model(request, StockMovementIn)
    async with request.app[ENGINE].begin() as conn:
        recorded = await record_movement(conn, shop_id, Movement(body.sku, body.qty, body.reason), key=key)
    headers = {"Idempotent-Replayed": "true"} if not recorded.created else None
    return web.json_response(asdict(recorded.movement), status=201, headers=headers)


@routes.get("/v1/shops/{shop_id}/stock")
async def stock(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    async with reading(request.app[ENGINE]) as conn:
        stock = await on_hand(conn, shop_id)
    return web.json_response([{"sku": sku, "on_hand": qty} for sku, qty in stock.items()])


@routes.get("/v1/shops/{shop_id}/documents")
async def documents(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    q = request.query
    # A known kind or none: anything else (a NUL, on PostgreSQL) must not reach the query.
    if q.get("kind") is not None and q["kind"] not in DOCUMENT_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(DOCUMENT_KINDS)}")
    async with reading(request.app[ENGINE]) as conn:
        page = await list_documents(conn, shop_id, q.get("kind"), _date(q.get("from"), "from"),
                                    _date(q.get("to"), "to"), _int(q.get("after"), "after", 0, 0, 2**62),
                                    _int(q.get("limit"), "limit", 1000, 1, 5000))
    return web.json_response(page)


async def _day_report(request: web.Request, report: Any) -> web.Response:
    """A report of one business day (?date=YYYY-MM-DD, required) of the owner's shop."""
    shop_id = await _shop(request)
    day = _date(request.query.get("date"), "date")
    if day is None:
        raise BadRequest("date is required (YYYY-MM-DD)")
    async with reading(request.app[ENGINE]) as conn:
        return web.json_response(await report(conn, shop_id, day))


@routes.get("/v1/shops/{shop_id}/reports/summary")
async def summary(request: web.Request) -> web.Response:
    return await _day_report(request, daily_summary)


@routes.get("/v1/shops/{shop_id}/reports/shifts")
async def shifts(request: web.Request) -> web.Response:
    return await _day_report(request, shift_reports)


@routes.get("/v1/shops/{shop_id}/health")
async def health(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    async with reading(request.app[ENGINE]) as conn:
        return web.json_response(await sync_health(conn, shop_id))


# --- archiving products and disabling cashiers (the back office does the same from its pages) ----

@routes.delete("/v1/shops/{shop_id}/products/{sku}")
async def archive_product_route(request: web.Request) -> web.Response:
    """Archive a product: it leaves the catalog (tills stop selling it) but stays for reports; PUT edits it."""
    shop_id = await _shop(request)
    sku = _key(request, "sku")
    async with request.app[ENGINE].begin() as conn:
        if not await archive_product(conn, shop_id, sku):
            raise NotFound("this shop has no product with that sku")
    return web.json_response({"sku": sku, "archived": True})


@routes.post("/v1/shops/{shop_id}/products/{sku}/restore")
async def restore_product_route(request: web.Request) -> web.Response:
    """Bring an archived product back into the catalog (the mirror of DELETE, as /enable is of /disable)."""
    shop_id = await _shop(request)
    sku = _key(request, "sku")
    async with request.app[ENGINE].begin() as conn:
        if not await archive_product(conn, shop_id, sku, archived=False):
            raise NotFound("this shop has no product with that sku")
    return web.json_response({"sku": sku, "archived": False})


async def _cashier_disabled(request: web.Request, disabled: bool) -> web.Response:
    shop_id = await _shop(request)
    cashier_id = _key(request, "cashier_id")
    async with request.app[ENGINE].begin() as conn:
        if not await set_cashier_disabled(conn, shop_id, cashier_id, disabled):
            raise NotFound("this shop has no cashier with that id")
    return web.json_response({"cashier_id": cashier_id, "disabled": disabled})


@routes.post("/v1/shops/{shop_id}/cashiers/{cashier_id}/disable")
async def disable_cashier_route(request: web.Request) -> web.Response:
    """The cashier leaves the catalog: every till refuses their PIN after its next catalog sync."""
    return await _cashier_disabled(request, True)


@routes.post("/v1/shops/{shop_id}/cashiers/{cashier_id}/enable")
async def enable_cashier_route(request: web.Request) -> web.Response:
    return await _cashier_disabled(request, False)


# --- fiscal reporting to FBR / PRA (cloud_api/fiscal.py); every answer is the FiscalState, never the token ---

async def _fiscal_answer(conn: Any, shop_id: str) -> web.Response:
    state: FiscalState = await fiscal_state(conn, shop_id)
    return web.json_response(state.model_dump(mode="json"))


@routes.get("/v1/shops/{shop_id}/fiscal")
async def get_fiscal_route(request: web.Request) -> web.Response:
    """The settings, whether a token is set, and the newest heartbeat's summary of the box's fiscal queue."""
    shop_id = await _shop(request)
    async with reading(request.app[ENGINE]) as conn:
        return await _fiscal_answer(conn, shop_id)


@routes.put("/v1/shops/{shop_id}/fiscal")
async def put_fiscal_route(request: web.Request) -> web.Response:
    """Mode, environment, service fee, PRA tender rates; token write-only (absent or null keeps, "" forgets)."""
    shop_id = await _shop(request)
    body = await read_model(request, FiscalSettingsIn)
    async with request.app[ENGINE].begin() as conn:
        await put_fiscal(conn, shop_id, body)
        return await _fiscal_answer(conn, shop_id)


@routes.put("/v1/shops/{shop_id}/fiscal/pos-ids/{device_id}")
async def put_pos_id_route(request: web.Request) -> web.Response:
    """{"pos_id": 123456} gives the tablet its POSID, {"pos_id": null} takes it away; 404 for a tablet the
    shop does not know, 409 for a POSID another tablet has."""
    shop_id = await _shop(request)
    device_id = _key(request, "device_id")
    body = await read_model(request, PosIdIn)
    async with request.app[ENGINE].begin() as conn:
        await set_pos_id(conn, shop_id, device_id, body.pos_id)
        return await _fiscal_answer(conn, shop_id)


@routes.post("/v1/shops/{shop_id}/fiscal:retry")
async def fiscal_retry_route(request: web.Request) -> web.Response:
    """The box offers its parked (refused or unanswered) invoices to FBR / PRA again after its next catalog pull."""
    shop_id = await _shop(request)
    async with request.app[ENGINE].begin() as conn:
        await request_retry(conn, shop_id)
        return await _fiscal_answer(conn, shop_id)


# --- customers and khata (cloud_api/khata.py) ------------------------------------------------

@routes.get("/v1/shops/{shop_id}/customers")
async def customers_route(request: web.Request) -> web.Response:
    """Every customer with balance and ageing; ?q= keeps those whose name or phone holds it."""
    shop_id = await _shop(request)
    search = request.query.get("q", "")
    if len(search) > 200 or "\x00" in search:
        raise BadRequest("q must be at most 200 characters, without NUL")
    async with reading(request.app[ENGINE]) as conn:
        return web.json_response({"customers": await customers_with_balances(conn, shop_id, search)})


@routes.post("/v1/shops/{shop_id}/customers")
async def new_customer_route(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    body = await read_model(request, CustomerIn)
    async with request.app[ENGINE].begin() as conn:
        return web.json_response(await create_customer(conn, shop_id, body), status=201)


@routes.get("/v1/shops/{shop_id}/customers/{customer_id}")
async def customer_route(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    async with reading(request.app[ENGINE]) as conn:
        return web.json_response(await customer(conn, shop_id, _key(request, "customer_id")))


@routes.put("/v1/shops/{shop_id}/customers/{customer_id}")
async def put_customer_route(request: web.Request) -> web.Response:
    """Change a customer's details (updated_at moves to now: it beats older till documents); 404 if unknown."""
    shop_id = await _shop(request)
    body = await read_model(request, CustomerIn)
    async with request.app[ENGINE].begin() as conn:
        return web.json_response(await update_customer(conn, shop_id, _key(request, "customer_id"), body))


@routes.post("/v1/shops/{shop_id}/customers/{customer_id}/adjustments")
async def adjustment_route(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    body = await read_model(request, AdjustmentIn)
    async with request.app[ENGINE].begin() as conn:
        entry, created = await add_adjustment(conn, shop_id, _key(request, "customer_id"), body)
    # A retry with the same entry_id and content answers the stored entry (200): it counted once.
    return web.json_response(entry, status=201 if created else 200)


@routes.get("/v1/shops/{shop_id}/customers/{customer_id}/statement")
async def statement_route(request: web.Request) -> web.Response:
    shop_id = await _shop(request)
    first, last = _date(request.query.get("from"), "from"), _date(request.query.get("to"), "to")
    if first and last and last < first:
        raise BadRequest("to is before from")
    async with reading(request.app[ENGINE]) as conn:
        return web.json_response(await statement(conn, shop_id, _key(request, "customer_id"), first, last))


@routes.get("/v1/shops/{shop_id}/reports/khata")
async def khata_report_route(request: web.Request) -> web.Response:
    """Credit sales and collections per business day, by tablet and cashier (?from=&to=, both required)."""
    shop_id = await _shop(request)
    first, last = _date(request.query.get("from"), "from"), _date(request.query.get("to"), "to")
    if first is None or last is None:
        raise BadRequest("from and to are required (YYYY-MM-DD)")
    if last < first:
        raise BadRequest("to is before from")
    async with reading(request.app[ENGINE]) as conn:
        rows = await khata_report(conn, [shop_id], first.isoformat(), last.isoformat())
    return web.json_response({"from": first.isoformat(), "to": last.isoformat(),
                              "rows": [{k: v for k, v in row.items() if k != "shop_id"} for row in rows]})
