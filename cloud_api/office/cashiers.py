"""The back office's cashiers: list, add, permissions, PIN reset, disable and enable.

A disabled cashier's row stays (their sales name them in reports) but leaves the catalog, so every
till refuses their PIN after its next catalog sync: the box checks PINs against its copy of the
catalog, and a till offline checks against its own copy. PINs are checked with the contract's policy
(CashierIn) and kept only as salted hashes (catalog.py).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from ..catalog import put_cashier, set_cashier_disabled, set_cashier_permissions, set_cashier_pin, shop_cashiers
from ..contract import CashierIn, CashierPermissions
from ..database import reading
from ..gateway_api import ENGINE
from ..product_import import parse_percent, percent_text
from ..service.errors import NotFound
from .web import PREFIX, owner_shop, query_text, render, shop_form, signed_in

routes = web.RouteTableDef()

SHOP = PREFIX + "/shops/{shop_id}"


def _cashiers_url(shop_id: str, done: str = "") -> str:
    return f"{PREFIX}/shops/{shop_id}/cashiers" + (f"?done={done}" if done else "")


def _permissions(form: Any, errors: dict[str, str]) -> dict[str, Any]:
    """may take returns and the largest discount, from the form's checkbox and percent."""
    try:
        max_discount_bp = parse_percent(str(form.get("max_discount_percent", "")).strip() or "0")
    except ValueError as err:
        errors["max_discount_percent"] = str(err)
        max_discount_bp = 0
    return {"can_refund": form.get("can_refund") == "1", "max_discount_bp": max_discount_bp}


def _pydantic_errors(err: ValidationError, errors: dict[str, str]) -> None:
    for problem in err.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "form"
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "string_too_short":
            message = "is required"
        errors.setdefault("max_discount_percent" if name == "max_discount_bp" else name, message)


async def _page(request: web.Request, session: Any, shop: Any, status: int = 200, **context: Any) -> web.Response:
    async with reading(request.app[ENGINE]) as conn:
        cashiers = await shop_cashiers(conn, shop.shop_id)
    context.setdefault("values", {"max_discount_percent": "0", "can_refund": "1"})
    context.setdefault("errors", {})
    return render(request, session, "cashiers.html", status=status, shop=shop, section="cashiers",
                  cashiers=cashiers, percent_text=percent_text, done=request.query.get("done", ""), **context)


@routes.get(SHOP + "/cashiers")
async def cashiers_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    return await _page(request, session, owner_shop(request, session))


@routes.post(SHOP + "/cashiers/new")
async def add_cashier(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    values = {name: str(form.get(name, "")) for name in ("cashier_id", "name", "max_discount_percent", "can_refund")}
    cashier_id = values["cashier_id"].strip()
    errors: dict[str, str] = {}
    if not cashier_id:
        errors["cashier_id"] = "is required"
    elif len(cashier_id) > 200 or "\x00" in cashier_id:
        errors["cashier_id"] = "must be at most 200 characters, without NUL"
    permissions = _permissions(form, errors)
    body = None
    try:
        body = CashierIn(name=values["name"].strip(), pin=str(form.get("pin", "")).strip(), **permissions)
    except ValidationError as err:
        _pydantic_errors(err, errors)
    async with request.app[ENGINE].begin() as conn:
        if not errors and any(c.cashier_id == cashier_id for c in await shop_cashiers(conn, shop.shop_id)):
            errors["cashier_id"] = "a cashier with this ID exists already"
        if errors or body is None:
            return await _page(request, session, shop, status=400, values=values, errors=errors)
        await put_cashier(conn, shop.shop_id, cashier_id, body)
    raise web.HTTPSeeOther(_cashiers_url(shop.shop_id, "added"))


@routes.get(SHOP + "/cashiers/edit")
async def edit_cashier_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    if "id" not in request.query:   # no cashier named: the list to choose one from
        raise web.HTTPSeeOther(_cashiers_url(shop.shop_id))
    return await _edit_page(request, session, shop, query_text(request, "id", 100))


async def _edit_page(request: web.Request, session: Any, shop: Any, cashier_id: str, status: int = 200,
                     errors: dict[str, str] | None = None) -> web.Response:
    async with reading(request.app[ENGINE]) as conn:
        cashier = next((c for c in await shop_cashiers(conn, shop.shop_id) if c.cashier_id == cashier_id), None)
    if cashier is None:
        raise NotFound("this shop has no cashier with that ID")
    return render(request, session, "cashier_edit.html", status=status, shop=shop, section="cashiers",
                  cashier=cashier, percent_text=percent_text, errors=errors or {})


@routes.post(SHOP + "/cashiers/permissions")
async def change_permissions(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    cashier_id, errors = str(form.get("cashier_id", "")), {}
    permissions = _permissions(form, errors)
    if errors:
        return await _edit_page(request, session, shop, cashier_id, status=400, errors=errors)
    async with request.app[ENGINE].begin() as conn:
        if not await set_cashier_permissions(conn, shop.shop_id, cashier_id, CashierPermissions(**permissions)):
            raise NotFound("this shop has no cashier with that ID")
    raise web.HTTPSeeOther(_cashiers_url(shop.shop_id, "saved"))


@routes.post(SHOP + "/cashiers/pin")
async def reset_pin(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    cashier_id, errors = str(form.get("cashier_id", "")), {}
    pin = str(form.get("pin", "")).strip()
    try:
        CashierIn(name="x", pin=pin)   # the PIN policy, as the API holds it
    except ValidationError as err:
        _pydantic_errors(err, errors)
    if errors:
        return await _edit_page(request, session, shop, cashier_id, status=400, errors=errors)
    async with request.app[ENGINE].begin() as conn:
        if not await set_cashier_pin(conn, shop.shop_id, cashier_id, pin):
            raise NotFound("this shop has no cashier with that ID")
    raise web.HTTPSeeOther(_cashiers_url(shop.shop_id, "pin"))


@routes.post(SHOP + "/cashiers/disable")
async def disable(request: web.Request) -> web.Response:
    """Disable (disabled=1) or enable again (disabled=0) a cashier."""
    session, shop, form = await shop_form(request)
    disabled = str(form.get("disabled", "1")) != "0"
    async with request.app[ENGINE].begin() as conn:
        if not await set_cashier_disabled(conn, shop.shop_id, str(form.get("cashier_id", "")), disabled):
            raise NotFound("this shop has no cashier with that ID")
    raise web.HTTPSeeOther(_cashiers_url(shop.shop_id, "disabled" if disabled else "enabled"))
