"""The back office's FBR / PRA page (issue 9): fiscal settings, a POSID per tablet, and what the box
reports of its fiscal queue (per day fiscalized / pending / failed, the failures with the authority's
message) with a Retry button.

Every change goes through cloud_api/fiscal.py, which moves the catalog version: the box pulls the new
settings at its next catalog sync. The token is write-only here as in the API: the page says whether
one is set, never shows it, and an empty token field keeps the one stored ("Forget" removes it).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from ..contract import MAX_POS_ID, FiscalSettingsIn
from ..database import reading
from ..fiscal import FiscalState, clean_token, fiscal_state, known_tablets, put_fiscal, request_retry, set_pos_id
from ..gateway_api import ENGINE
from ..owners import OwnerShop
from ..product_import import parse_percent, percent_text, say
from ..service.errors import BadRequest, Conflict
from .formats import local_time
from .web import PREFIX, Session, owner_shop, render, shop_form, signed_in

routes = web.RouteTableDef()

PAGE = PREFIX + "/shops/{shop_id}/fiscal"
TENDER_RATES = ("cash", "card", "wallet")
# A POSID typed on an Urdu keyboard (۱۲۳۴۵۶) or with Arabic-Indic digits is the same number.
EASTERN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# What cloud_api/fiscal.py and these pages say (ServiceError phrases, shown through t()): each has Urdu
# in words_fiscal.py; listed here, where the words test looks for the phrases pages use.
MESSAGES = (
    "the token must be printable ASCII without spaces, as FBR or PRA issued it",
    "POSID {pos_id} is already {code}'s", "this shop has no tablet with that device id",
    "must be off, FBR or PRA", "must be sandbox or production", "must be a whole number from 1 to 1000000000000",
    "must be a percent with up to 2 decimals, e.g. 18 or 17.5", "must be from 0 to 100",
)


def _url(shop_id: str, done: str = "") -> str:
    return PAGE.replace("{shop_id}", shop_id) + (f"?done={done}" if done else "")


def _form_values(state: FiscalState) -> dict[str, str]:
    """The stored settings as the form shows them (rates as percents; never the token)."""
    s = state.settings
    return {"mode": s.mode, "environment": s.environment, "service_fee": "1" if s.service_fee else "",
            **{f"rate_{tender}": percent_text(s.tender_tax_bp[tender]) if tender in s.tender_tax_bp else ""
               for tender in TENDER_RATES}}


async def _page(request: web.Request, session: Session, shop: OwnerShop, *, status: int = 200, done: str = "",
                values: dict[str, str] | None = None, errors: dict[str, Any] | None = None,
                pos_errors: dict[str, Any] | None = None, typed_pos: dict[str, str] | None = None) -> web.Response:
    async with reading(request.app[ENGINE]) as conn:
        state = await fiscal_state(conn, shop.shop_id)
        tablets = await known_tablets(conn, shop.shop_id)
    summary = state.summary
    tz = shop.timezone
    days = sorted(summary.days, key=lambda day: day.date, reverse=True) if summary else []
    failures = [{**failure.model_dump(), "at": local_time(failure.at, tz) if failure.at else ""}
                for failure in (summary.failures if summary else [])]
    rows = [{"device_id": device_id, **tablet, "pos_id": state.settings.pos_ids.get(device_id)}
            for device_id, tablet in tablets.items()]
    # POSIDs of tablets the shop no longer knows stay visible, so the owner can clear them.
    rows += [{"device_id": device_id, "device_code": "", "name": "", "revoked": False, "pos_id": pos_id}
             for device_id, pos_id in state.settings.pos_ids.items() if device_id not in tablets]
    reporting = state.settings.mode != "off"
    return render(request, session, "fiscal.html", status=status, shop=shop, section="fiscal", state=state,
                  values=values or _form_values(state), errors=errors or {}, pos_errors=pos_errors or {},
                  typed_pos=typed_pos or {}, tablets=rows, days=days, failures=failures, done=done,
                  heard_at=local_time(state.summary_at, tz) if state.summary_at else "",
                  no_token=reporting and not state.token_set,
                  without_pos_id=[r["device_code"] or r["device_id"] for r in rows
                                  if reporting and not r["revoked"] and r["pos_id"] is None],
                  rates=TENDER_RATES, say=say)


@routes.get(PAGE)
async def fiscal_page(request: web.Request) -> web.Response:
    session = await signed_in(request)
    shop = owner_shop(request, session)
    return await _page(request, session, shop, done=request.query.get("done", "")[:20])


@routes.post(PAGE)
async def save_settings(request: web.Request) -> web.Response:
    """Mode, environment, service fee, PRA's tender rates, and the token (empty keeps it)."""
    session, shop, form = await shop_form(request)
    values = {name: str(form.get(name, "")).strip() for name in
              ("mode", "environment", "service_fee", *(f"rate_{tender}" for tender in TENDER_RATES))}
    errors: dict[str, Any] = {}
    if values["mode"] not in ("off", "fbr", "pra"):
        errors["mode"] = "must be off, FBR or PRA"
    if values["environment"] not in ("sandbox", "production"):
        errors["environment"] = "must be sandbox or production"
    rates: dict[str, int] = {}
    for tender in TENDER_RATES:
        typed = values[f"rate_{tender}"]
        try:
            if typed:   # empty: a sale paid so keeps each product's own GST rate
                rates[tender] = parse_percent(typed)
        except ValueError as err:
            errors[f"rate_{tender}"] = err.args[0]
    token: str | None = None   # kept
    if form.get("forget_token") == "1":
        token = ""
    elif str(form.get("token", "")).strip():
        try:
            token = clean_token(str(form.get("token", "")))
        except BadRequest as err:
            errors["token"] = err.phrase
    body = None
    if not errors:
        try:
            body = FiscalSettingsIn(mode=values["mode"], environment=values["environment"],
                                    service_fee=values["service_fee"] == "1", tender_tax_bp=rates, token=token)
        except ValidationError as err:   # the contract's bounds (a token past 500 characters)
            problem = err.errors()[0]
            errors[str(problem["loc"][0]) if problem["loc"] else "mode"] = str(problem["msg"])
    if errors or body is None:
        # What was typed stays, except the token: a secret is never written back into a page.
        return await _page(request, session, shop, status=400, values=values, errors=errors)
    async with request.app[ENGINE].begin() as conn:
        await put_fiscal(conn, shop.shop_id, body)
    raise web.HTTPSeeOther(_url(shop.shop_id, "saved"))


@routes.post(PAGE + "/pos-id")
async def save_pos_id(request: web.Request) -> web.Response:
    """One tablet's POSID; an empty field takes it away."""
    session, shop, form = await shop_form(request)
    device_id = str(form.get("device_id", ""))
    typed = "".join(str(form.get("pos_id", "")).split()).translate(EASTERN_DIGITS)
    if typed and not (typed.isascii() and typed.isdigit() and len(typed) <= 13 and 1 <= int(typed) <= MAX_POS_ID):
        return await _page(request, session, shop, status=400, typed_pos={device_id: typed},
                           pos_errors={device_id: ("must be a whole number from 1 to 1000000000000", {})})
    try:
        async with request.app[ENGINE].begin() as conn:
            await set_pos_id(conn, shop.shop_id, device_id, int(typed) if typed else None)
    except Conflict as err:   # another tablet has it: nothing was written (the transaction rolled back)
        return await _page(request, session, shop, status=400, typed_pos={device_id: typed},
                           pos_errors={device_id: (err.phrase, err.values)})
    raise web.HTTPSeeOther(_url(shop.shop_id, "pos-id-saved"))


@routes.post(PAGE + "/retry")
async def retry(request: web.Request) -> web.Response:
    """Ask the box to offer its parked invoices to FBR / PRA again (at its next catalog pull)."""
    _session, shop, _form = await shop_form(request)
    async with request.app[ENGINE].begin() as conn:
        await request_retry(conn, shop.shop_id)
    raise web.HTTPSeeOther(_url(shop.shop_id, "retry"))
