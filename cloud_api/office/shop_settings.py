"""The back office's shop settings: name, time zone, what receipts print (address, phone, NTN, STRN, footer)
and the khata's two credit settings in rupees (issue 10).

The name, receipt and credit settings reach tills in the catalog (the version moves, so boxes pull it);
the time zone decides each sale's business date in the cloud's reports. The credit settings: the limit
a customer created at a till starts with, and how much a tablet cut off from the box may put on one
customer's khata by itself.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from pydantic import ValidationError

from ..catalog import put_shop_details, shop_details
from ..contract import ShopSettings
from ..product_import import parse_rupees, rupees_text
from ..database import reading
from ..gateway_api import ENGINE
from .web import PREFIX, owner_shop, render, shop_form, signed_in

routes = web.RouteTableDef()

PAGE = PREFIX + "/shops/{shop_id}/settings"
FIELDS = ("name", "timezone", "address", "phone", "ntn", "strn", "receipt_footer")
# The settings held in paisa, typed in rupees (the form's field is the name + "_rs").
MONEY_FIELDS = ("default_credit_limit", "offline_credit_allowance")
# The zones a Pakistani owner's shops are likely in; any other IANA name may be typed.
COMMON_ZONES = ("Asia/Karachi", "Asia/Dubai", "Asia/Riyadh", "Asia/Qatar", "Europe/London", "UTC")


def valid_timezone(name: str) -> bool:
    """An IANA time zone name the server knows (Asia/Karachi), not a path or an offset."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name or "\x00" in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@routes.get(PAGE)
async def settings_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    async with reading(request.app[ENGINE]) as conn:
        row = await shop_details(conn, shop.shop_id)
    values = {name: getattr(row, name) or "" for name in FIELDS}
    values.update({f"{name}_rs": rupees_text(getattr(row, name)) for name in MONEY_FIELDS})
    return render(request, session, "shop_settings.html", shop=shop, section="settings", values=values, errors={},
                  zones=COMMON_ZONES, saved=request.query.get("done") == "saved")


@routes.post(PAGE)
async def save_settings(request: web.Request) -> web.Response:
    session, shop, form = await shop_form(request)
    values = {name: str(form.get(name, "")).strip() for name in FIELDS + tuple(f"{m}_rs" for m in MONEY_FIELDS)}
    if values["timezone"] == "other":
        values["timezone"] = str(form.get("timezone_other", "")).strip()
    errors: dict[str, str] = {}
    money: dict[str, int] = {}
    async with reading(request.app[ENGINE]) as conn:
        held = await shop_details(conn, shop.shop_id)
    for name in MONEY_FIELDS:
        if not values[f"{name}_rs"]:   # left empty (or a form from before these fields): kept as it is
            money[name] = getattr(held, name)
            values[f"{name}_rs"] = rupees_text(money[name])
            continue
        try:
            money[name] = parse_rupees(values[f"{name}_rs"])
        except ValueError as err:
            errors[f"{name}_rs"] = str(err)
    if not values["name"]:
        errors["name"] = "is required"
    elif len(values["name"]) > 200 or "\x00" in values["name"]:
        errors["name"] = "must be at most 200 characters, without NUL"
    if not valid_timezone(values["timezone"]):
        errors["timezone"] = "is not a time zone this server knows (e.g. Asia/Karachi)"
    settings = None
    try:
        settings = ShopSettings(**{name: money[name] if name in MONEY_FIELDS else values[name]
                                   for name in ShopSettings.model_fields if name not in MONEY_FIELDS or name in money})
    except ValidationError as err:
        for problem in err.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            if problem["type"] == "string_too_long":
                message = f"must be at most {problem['ctx']['max_length']} characters"
            field = str(problem["loc"][0])
            if field in MONEY_FIELDS:
                field, message = f"{field}_rs", "must be at most Rs 100,000,000"
            errors.setdefault(field, message)
    if errors or settings is None:
        return render(request, session, "shop_settings.html", status=400, shop=shop, section="settings",
                      values=values, errors=errors, zones=COMMON_ZONES, saved=False)
    async with request.app[ENGINE].begin() as conn:
        await put_shop_details(conn, shop.shop_id, values["name"], values["timezone"], settings)
    raise web.HTTPSeeOther(PAGE.replace("{shop_id}", shop.shop_id) + "?done=saved")
