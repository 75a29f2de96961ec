"""What every back-office page shares: the signed-in owner, the shop in the path, forms, rendering.

- `signed_in(request)` is the owner's session (from the HttpOnly cookie) or a redirect to sign in.
- `owner_shop(request, session)` is the shop in the path if the owner holds it, else 403: every page
  of a shop goes through it, so no query of one owner ever reads another's shop.
- `posted_form(request, session)` is a state-changing form's fields, only from this origin and with
  the session's CSRF token (the cookie is also SameSite=Strict).
- `render(request, session, template, **context)` a page in the owner's language (English or Urdu).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from ..database import reading
from ..gateway_api import ENGINE
from ..owners import Owner, OwnerShop, csrf_token, session_owner, shops_of
from ..service.errors import Forbidden, ServiceError, TooManyRequests
from ..service.tokens import same_secret
from .words import LANGUAGES, translate

COOKIE = "posline_owner"
LANG_COOKIE = "posline_lang"
PREFIX = "/office"

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("cloud_api.office", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,   # a typo in a template fails a test, not an owner's page
)

# No inline script or style: charts are inline SVG drawn with presentation attributes (fill=, x=),
# which a CSP does not treat as style. Forms post only here; nothing frames the pages.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Session:
    owner: Owner
    token: str
    shops: list[OwnerShop]

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


def language(request: web.Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "en")
    return lang if lang in LANGUAGES else "en"


async def current_session(request: web.Request) -> Session | None:
    """The signed-in owner, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    async with reading(request.app[ENGINE]) as conn:
        owner = await session_owner(conn, token)
        if owner is None:
            return None
        return Session(owner, token, await shops_of(conn, owner.owner_id))


async def signed_in(request: web.Request) -> Session:
    """The owner's session, or a redirect to the sign-in page (coming back here afterwards)."""
    session = await current_session(request)
    if session is None:
        raise web.HTTPSeeOther(f"{PREFIX}/sign-in?next={_quoted(request.path_qs)}")
    return session


def owner_shop(request: web.Request, session: Session) -> OwnerShop:
    """The shop named in the path ({shop_id}), if this owner holds it."""
    shop_id = request.match_info["shop_id"]
    for shop in session.shops:
        if shop.shop_id == shop_id:
            return shop
    raise Forbidden("this shop is not one of yours")


def same_origin(request: web.Request) -> bool:
    """Whether a post came from a page of this site (browsers send Origin on every POST form)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True   # an old browser: the CSRF token and SameSite=Strict still decide
    return urlsplit(origin).netloc == request.host


async def posted_form(request: web.Request, session: Session) -> MultiDictProxy[Any]:
    """A state-changing form's fields: refused unless from this origin and carrying the session's token."""
    form = await request.post()
    if not same_origin(request) or not same_secret(str(form.get("csrf", "")), session.csrf):
        raise Forbidden("this form is out of date or came from another site: open the page again")
    return form


def secure_cookie(request: web.Request) -> bool:
    """Secure cookies behind HTTPS (directly or through a proxy that says so)."""
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"


def rupees(paisa: int | None) -> str:
    """Rs 1,234.50 (integer paisa in, text out; negative with a minus sign)."""
    if paisa is None:
        return ""
    sign = "-" if paisa < 0 else ""
    whole, cents = divmod(abs(int(paisa)), 100)
    return f"{sign}Rs {whole:,}.{cents:02d}"


def page_context(request: web.Request, session: Session | None) -> dict[str, Any]:
    lang = language(request)
    return {
        "lang": lang, "dir": "rtl" if lang == "ur" else "ltr",
        "t": lambda phrase, **kw: translate(phrase, lang, **kw),
        "session": session, "csrf": session.csrf if session else "",
        "shops": session.shops if session else [], "path": request.path_qs, "rupees": rupees,
    }


def render(request: web.Request, session: Session | None, template: str, status: int = 200,
           **context: Any) -> web.Response:
    """A page from office/templates in the owner's language, with the back office's headers."""
    body = ENVIRONMENT.get_template(template).render(**page_context(request, session), **context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def office_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Under /office, an error is a page in the owner's language with the same status, not JSON."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except ServiceError as err:
        try:
            session = await current_session(request)
        except Exception:   # the database is what failed (raw, outside database_faults): no menu then
            session = None
        response = render(request, session, "error.html", status=err.status, message=err.message)
        if isinstance(err, TooManyRequests):
            response.headers["Retry-After"] = str(err.retry_after_s)
        return response


def _quoted(path: str) -> str:
    return quote(path, safe="")


def safe_next(value: str | None) -> str:
    """Where to go after signing in or switching language: only a page of the back office."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"
