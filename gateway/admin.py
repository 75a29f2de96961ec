"""The owner's page on the box, /admin: sign in with the owner PIN, see the shop's day, manage tablets.

Sessions: the right PIN gives a random token in a cookie (HttpOnly, Secure,
SameSite=Strict, Path=/admin), kept on the box only as a digest, for
SESSION_S. Every form that changes something carries a CSRF token derived from
the session token (so a page elsewhere cannot forge one) and is refused
without it, or when its Origin/Referer names another site.

Known devices: the right PIN also sets DEVICE_COOKIE (same attributes, a year),
which exempts that browser from the box-wide ceiling on wrong PINs (owner_pin.py).

Everything shown comes from the box's own database, so the page works with
the WAN down. Routes: GET /admin, POST /admin/sign-in, /admin/sign-out,
/admin/pair, /admin/tablets/{device_id}/rename, /admin/tablets/{device_id}/revoke,
/admin/tablets/{device_id}/allow-repair (pairing.allow_repair), /admin/fiscal/retry (FBR / PRA invoices
refused or unanswered are offered again, and a queue stopped by a refused token resumes).
"""
from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

from aiohttp import web

from cloud_api.service.clock import shop_today, utc_after, utc_now
from cloud_api.service.tokens import new_token, same_secret, token_digest
from cloud_api.service.web import csrf_token, same_origin

from . import dashboard, fiscal_jobs, khata, owner_pin, returns, tablets
from .box import get_value
from .certificates import ca_fingerprint
from .fiscal_queue import FISCAL_QUEUE
from .journal import backlog
from .keys import CLOUD, SETTINGS, SHOP_NAME, STORE
from .pages import qr_svg, render
from .pairing import allow_repair, new_pairing_code
from .tablet_setup import https_origin

routes = web.RouteTableDef()

COOKIE = "posline_admin"
SESSION_S = 12 * 3600
DEVICE_COOKIE = "posline_owner_device"   # outlives sessions and sign-out: see owner_pin.py
# A Host header we are willing to put in a QR code: a name or an address, and a port.


# --- sessions --------------------------------------------------------------------------


async def owner_session(request: web.Request) -> str | None:
    """The request's live session token, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = await (await request.app[STORE].read().execute(
        "SELECT 1 FROM admin_sessions WHERE token_digest = ? AND expires_at > ?",
        (token_digest(token), utc_now()))).fetchone()
    return token if row else None


OwnerHandler = Callable[[web.Request, str, dict[str, Any]], Awaitable[web.StreamResponse]]


def owner_form(handler: OwnerHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A state-changing post: only with a live session, from this page (same origin and CSRF token).

    The handler gets the session token and the form; anything else gets the page that refuses it.
    """
    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        token = await owner_session(request)
        if token is None:
            return await _sign_in_page(request, "Your session has ended. Sign in again.", status=401)
        form = dict(await request.post())
        if not same_origin(request) or not same_secret(str(form.get("csrf", "")), csrf_token(token)):
            return message_page(request, "This form has expired",
                                "Nothing was changed. Go back to the admin page and try again.", status=403)
        return await handler(request, token, form)
    return checked


def message_page(request: web.Request, title: str, text: str, status: int, back: str = "/admin") -> web.Response:
    """A page saying what went wrong, with a way back to the page the owner came from."""
    return render("admin_message.html", status=status, shop_name=request.app[SHOP_NAME], title=title, text=text,
                  back=back)


def _back_to_admin() -> web.Response:
    """After a form: back to the page (303, so a reload does not post again)."""
    return web.Response(status=303, headers={"Location": "/admin"})


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


# --- signing in and out ----------------------------------------------------------------


async def _sign_in_page(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    has_pin = await owner_pin.has_owner_pin(request.app[STORE].read())
    return render("admin_sign_in.html", status=status, shop_name=request.app[SHOP_NAME], message=message,
                  has_pin=has_pin)


@routes.post("/admin/sign-in")
async def sign_in(request: web.Request) -> web.StreamResponse:
    """Check the owner PIN, within the limits of owner_pin; start a session on success."""
    if not same_origin(request):
        return message_page(request, "Sign-in refused", "Open the admin page on the box and sign in there.", 403)
    pin = str((await request.post()).get("pin", "")).strip()
    address = _address(request)
    store = request.app[STORE]
    # Check, verify and record in one write transaction: parallel guesses queue behind each other and
    # cannot slip past the limit between check and record. It holds the writer for one argon2 check
    # (~0.1 s, in a thread), and the limits bound how often that can happen.
    device = request.cookies.get(DEVICE_COOKIE)
    async with store.transaction() as db:
        if not await owner_pin.has_owner_pin(db):
            locked, right = None, False
        else:
            locked = await owner_pin.lockout(db, address, await owner_pin.is_known_device(db, device))
            right = locked is None and await owner_pin.verify_pin(db, pin)
            if locked is None and not right:
                await owner_pin.record_failure(db, address)
        if right:
            await owner_pin.record_success(db, address)
            device_token = await owner_pin.remember_device(db, device)
            token = new_token()
            await db.execute("DELETE FROM admin_sessions WHERE expires_at <= ?", (utc_now(),))
            await db.execute("INSERT INTO admin_sessions (token_digest, created_at, expires_at, address) "
                             "VALUES (?, ?, ?, ?)", (token_digest(token), utc_now(), utc_after(SESSION_S), address))
    if locked is not None:
        return await _sign_in_page(request, locked.message(), status=429)
    if not right:
        return await _sign_in_page(request, "That PIN is not right.", status=401)
    response = _back_to_admin()
    response.set_cookie(COOKIE, token, max_age=SESSION_S, path="/admin", secure=True, httponly=True,
                        samesite="Strict")
    response.set_cookie(DEVICE_COOKIE, device_token, max_age=owner_pin.DEVICE_S, path="/admin", secure=True,
                        httponly=True, samesite="Strict")
    return response


@routes.post("/admin/sign-out")
@owner_form
async def sign_out(request: web.Request, token: str, _form: dict[str, Any]) -> web.StreamResponse:
    async with request.app[STORE].transaction() as db:
        await db.execute("DELETE FROM admin_sessions WHERE token_digest = ?", (token_digest(token),))
    response = _back_to_admin()
    response.del_cookie(COOKIE, path="/admin", secure=True, httponly=True, samesite="Strict")
    return response


# --- the page ----------------------------------------------------------------------------


@routes.get("/admin")
async def admin_page(request: web.Request) -> web.Response:
    """The dashboard for a signed-in owner, or the sign-in form."""
    token = await owner_session(request)
    if token is None:
        return await _sign_in_page(request)
    db = request.app[STORE].read()
    wan = request.app[CLOUD].wan
    pending = await backlog(db)
    return render(
        "admin_dashboard.html", shop_name=request.app[SHOP_NAME], csrf=csrf_token(token),
        today=await dashboard.today_sales(db, shop_today(request.app[SETTINGS].timezone),
                                       request.app[SETTINGS].timezone),
        wan={"state": wan.state, "since": wan.since, "error": wan.error},
        last_sync_at=await get_value(db, "last_sync_at"),
        backlog=pending["backlog"], oldest_unsynced_at=pending["oldest_unsynced_at"],
        tablets=await tablets.list_tablets(db), refused=await dashboard.refused_documents(db),
        over_refunds=await returns.over_refunds(db), khata=await khata.owner_view(db), fiscal=await fiscal_jobs.owner_view(db, request.app[SETTINGS].timezone),
        backup=await dashboard.last_backup(db), fingerprint=ca_fingerprint(request.app[SETTINGS].state_dir),
        rs=dashboard.format_rs, when=dashboard.local_time, age=dashboard.age, now=utc_now())


@routes.post("/admin/pair")
@owner_form
async def pair_tablet(request: web.Request, _token: str, _form: dict[str, Any]) -> web.StreamResponse:
    """A one-time pairing code, and a QR code that opens the till with it filled in."""
    settings = request.app[SETTINGS]
    async with request.app[STORE].transaction() as db:
        code = await new_pairing_code(db, settings.pairing_code_ttl_s)
    till_url = f"{https_origin(request)}/#pair={code}"   # the till, on a host its certificate names
    return render("admin_pair.html", shop_name=request.app[SHOP_NAME], code=code, till_url=till_url,
                  qr_svg=qr_svg(till_url, "The till's address with this pairing code"),
                  minutes=max(1, settings.pairing_code_ttl_s // 60))


@routes.post("/admin/fiscal/retry")
@owner_form
async def fiscal_retry(request: web.Request, _token: str, _form: dict[str, Any]) -> web.StreamResponse:
    """Offer refused and unanswered invoices to FBR / PRA again (same receipt numbers), resume a stopped queue."""
    async with request.app[STORE].transaction() as db:
        await fiscal_jobs.retry(db)
    request.app[FISCAL_QUEUE].wake()
    return _back_to_admin()


@routes.post("/admin/tablets/{device_id}/rename")
@owner_form
async def rename(request: web.Request, _token: str, form: dict[str, Any]) -> web.StreamResponse:
    async with request.app[STORE].transaction() as db:
        done = await tablets.rename_tablet(db, request.match_info["device_id"], str(form.get("name", "")))
    if not done:
        return message_page(request, "Not renamed", "Give the tablet a name, then press Rename.", status=400)
    return _back_to_admin()


@routes.post("/admin/tablets/{device_id}/revoke")
@owner_form
async def revoke(request: web.Request, _token: str, _form: dict[str, Any]) -> web.StreamResponse:
    async with request.app[STORE].transaction() as db:
        await tablets.revoke_tablet(db, request.match_info["device_id"])
    return _back_to_admin()


@routes.post("/admin/tablets/{device_id}/allow-repair")
@owner_form
async def allow_repairing(request: web.Request, _token: str, _form: dict[str, Any]) -> web.StreamResponse:
    """Let a tablet that lost its pairing pair again under its own number (pairing.pair_device)."""
    async with request.app[STORE].transaction() as db:
        await allow_repair(db, request.match_info["device_id"])
    return _back_to_admin()
