"""Signing in and out of the back office, and the language switch."""
from __future__ import annotations

from aiohttp import web

from ..gateway_api import ENGINE
from ..owners import SESSION_DAYS, check_password, end_session, start_session
from ..service.errors import Forbidden, TooManyRequests, Unauthorised
from .web import (COOKIE, LANG_COOKIE, LANGUAGES, PREFIX, checked_fields, current_session, posted_form, render,
                  safe_next, same_origin, secure_cookie, signed_in)

routes = web.RouteTableDef()


@routes.get(PREFIX + "/sign-in")
async def sign_in_page(request: web.Request) -> web.Response:
    if await current_session(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return render(request, None, "sign_in.html", next=safe_next(request.query.get("next")), error=None,
                  error_values={}, login="")


@routes.post(PREFIX + "/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    # No session yet, so no CSRF token: the Origin check and SameSite=Strict keep other sites out.
    if not same_origin(request):
        raise Forbidden("sign in from the back office's own page")
    form = checked_fields(await request.post())
    login, password = str(form.get("login", "")), str(form.get("password", ""))
    next_page = safe_next(str(form.get("next", "")))
    try:
        # The client's own address (request.remote): tries are counted per login and address, so
        # guessing from one address cannot lock the owner out of another. Behind a reverse proxy
        # every client has the proxy's address, and the count is per login again.
        owner = await check_password(request.app[ENGINE], login, password, request.remote)
    except (Unauthorised, TooManyRequests) as err:
        response = render(request, None, "sign_in.html", status=err.status, next=next_page, error=err.phrase,
                          error_values=err.values, login=login)
        if isinstance(err, TooManyRequests):
            response.headers["Retry-After"] = str(err.retry_after_s)
        return response
    async with request.app[ENGINE].begin() as conn:
        token = await start_session(conn, owner.owner_id)
    response = web.HTTPSeeOther(next_page)
    response.set_cookie(COOKIE, token, max_age=SESSION_DAYS * 86400, path=PREFIX, httponly=True,
                        samesite="Strict", secure=secure_cookie(request))
    raise response


@routes.post(PREFIX + "/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    session = await signed_in(request)
    await posted_form(request, session)
    async with request.app[ENGINE].begin() as conn:
        await end_session(conn, session.token)
    response = web.HTTPSeeOther(PREFIX + "/sign-in")
    response.del_cookie(COOKIE, path=PREFIX)
    raise response


@routes.get(PREFIX + "/language")
async def switch_language(request: web.Request) -> web.Response:
    """?to=ur|en&next=/office/...: a preference only, so a plain link (no form) may change it."""
    lang = request.query.get("to", "en")
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=PREFIX, samesite="Lax",
                            secure=secure_cookie(request))
    raise response
