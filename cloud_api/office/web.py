"""What every back-office page shares: the signed-in owner, the shop in the path, forms, rendering.

- `signed_in(request)` is the owner's session (from the HttpOnly cookie) or a redirect to sign in.
- `owner_shop(request, session)` is the shop in the path if the owner holds it, else 403: every page
  of a shop goes through it, so no query of one owner ever reads another's shop.
- `posted_form(request, session)` is a state-changing form's fields, only from this origin and with
  the session's CSRF token (the cookie is also SameSite=Strict), and only text a database takes: no
  NUL (PostgreSQL refuses it) and at most MAX_FIELD characters (LONG_FIELDS excepted).
- `query_text(request, name, max_len)` and `path_text(request, name, max_len)` the same for a value
  of the address; `office_errors` also refuses a NUL anywhere in an /office address, so no page can
  hand one to a query.
- `render(request, session, template, **context)` a page in the owner's language (English or Urdu).
- `office_errors` turns every error under /office (ours, aiohttp's 404/405/413, a crash) into a page.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from markupsafe import Markup
from multidict import MultiDictProxy

from ..database import reading
from ..gateway_api import ENGINE
from ..owners import Owner, OwnerShop, session_owner, shops_of
from ..service.web import csrf_token, same_origin
from ..service.errors import BadRequest, Forbidden, ServiceError, TooManyRequests
from ..service.tokens import same_secret
from .formats import local_time, rupees
from .words import LANGUAGES, translate

log = logging.getLogger(__name__)

COOKIE = "posline_owner"
LANG_COOKIE = "posline_lang"
PREFIX = "/office"
MAX_FIELD = 10_000   # characters of one form field: far above any real one (a name, a reason, a price)
# Fields that may be longer: the product import's second step posts the whole CSV back as base64
# (bounded by the app's client_max_size).
LONG_FIELDS = frozenset({"csv"})
# What the error page says for aiohttp's own errors (an unknown page, a wrong method, too large a post).
HTTP_PHRASES = {404: "there is no such page in the back office",
                405: "this page cannot be used that way: open it from the back office",
                413: "what was sent is too large"}

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
        raise web.HTTPSeeOther(f"{PREFIX}/sign-in?next={_quoted(_come_back_to(request))}")
    return session


def _come_back_to(request: web.Request) -> str:
    """Where signing in leads back to: this page for a GET; for a form posted with an expired session,
    the back-office page the form was on (its Referer, if it is one of ours), never the POST-only route."""
    if request.method in ("GET", "HEAD"):
        return request.path_qs
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc == request.host and referer.path.startswith(PREFIX + "/") \
            and not referer.path.startswith(PREFIX + "/sign-"):
        return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return PREFIX + "/"


def owner_shop(request: web.Request, session: Session) -> OwnerShop:
    """The shop named in the path ({shop_id}), if this owner holds it."""
    shop_id = request.match_info["shop_id"]
    for shop in session.shops:
        if shop.shop_id == shop_id:
            return shop
    raise Forbidden("this shop is not one of yours")


async def posted_form(request: web.Request, session: Session) -> MultiDictProxy[Any]:
    """A state-changing form's fields: refused unless from this origin and carrying the session's token,
    and (400) if a field holds a NUL or is longer than MAX_FIELD (see checked_fields)."""
    form = await request.post()
    if not same_origin(request) or not same_secret(str(form.get("csrf", "")), session.csrf):
        raise Forbidden("this form is out of date or came from another site: open the page again")
    return checked_fields(form)


def checked_fields(form: MultiDictProxy[Any]) -> MultiDictProxy[Any]:
    """The form, if every text field is text a database takes (uploaded files are left to their reader)."""
    for name, value in form.items():
        if isinstance(value, str):
            checked_text(value, None if name in LONG_FIELDS else MAX_FIELD)
    return form


def checked_text(value: str, max_len: int | None) -> str:
    """`value`, or a 400 if it holds a NUL (PostgreSQL refuses one in text) or is longer than `max_len`."""
    if "\x00" in value:
        raise BadRequest("the form or address holds a character that is not allowed: open the page again")
    if max_len is not None and len(value) > max_len:
        raise BadRequest("a value in the form or address is too long")
    return value


def query_text(request: web.Request, name: str, max_len: int = 200, default: str = "") -> str:
    """A value of the query string as given (`default` if absent), or a 400 (see checked_text)."""
    return checked_text(request.query.get(name, default), max_len)


def path_text(request: web.Request, name: str, max_len: int = 200) -> str:
    """A value of the path ({name} in the route), or a 400 (see checked_text)."""
    return checked_text(request.match_info[name], max_len)


async def shop_form(request: web.Request) -> tuple[Session, OwnerShop, MultiDictProxy[Any]]:
    """A form posted to a page of one shop: the owner's session, the shop (theirs) and the checked fields."""
    session = await signed_in(request)
    shop = owner_shop(request, session)
    return session, shop, await posted_form(request, session)


def secure_cookie(request: web.Request) -> bool:
    """Secure cookies behind HTTPS (directly or through a proxy that says so)."""
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"


def money(paisa: int | None) -> Markup:
    """Rupees on a page (the templates' `rupees`): a left-to-right isolate, so an Urdu (right-to-left) page
    shows -Rs 12.05 as written and not "Rs 12.05-" (the minus would follow the page's direction)."""
    text = rupees(paisa)
    return Markup('<bdi class="money" dir="ltr">{}</bdi>').format(text) if text else Markup("")


def page_context(request: web.Request, session: Session | None) -> dict[str, Any]:
    lang = language(request)
    return {
        "lang": lang, "dir": "rtl" if lang == "ur" else "ltr",
        "t": lambda phrase, **kw: translate(phrase, lang, **kw),
        "session": session, "csrf": session.csrf if session else "",
        "shops": session.shops if session else [], "path": request.path_qs, "rupees": money,
        # Times on the shop's clock (its zone), whatever zone the tablet or the box wrote them in.
        "local_time": local_time,
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
        _no_nul_in_address(request)
        return await handler(request)
    except ServiceError as err:
        response = await error_page(request, err.status, err.phrase, err.values)
        if isinstance(err, TooManyRequests):
            response.headers["Retry-After"] = str(err.retry_after_s)
        return response
    except web.HTTPException as err:
        if err.status < 400:
            raise   # a redirect is not an error
        response = await error_page(request, err.status,
                                    HTTP_PHRASES.get(err.status, "the back office could not do that"), {})
        if "Allow" in err.headers:
            response.headers["Allow"] = err.headers["Allow"]
        return response
    except ConnectionResetError:
        raise   # the client went away: nobody reads a page (error_middleware notes it)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await error_page(request, 500, "the back office failed to show this page: try again later", {})


def _no_nul_in_address(request: web.Request) -> None:
    """No back-office page takes a NUL in its path or query: refused here, before any handler can pass
    one to the database (PostgreSQL refuses NUL in text, which would be a 500)."""
    if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in request.query.items()):
        raise BadRequest("the form or address holds a character that is not allowed: open the page again")


async def error_page(request: web.Request, status: int, phrase: str, values: dict[str, Any]) -> web.Response:
    """error.html with `phrase` (filled in with `values`) in the owner's language."""
    try:
        session = await current_session(request)
    except Exception:   # the database is what failed (raw, outside database_faults): no menu then
        session = None
    # A page's form asked for what it cannot show (a range of more than 366 days, a date that does not
    # exist): back to that page, opened afresh with its own defaults, to choose again.
    again = request.path if (status == 400 and request.method == "GET" and request.query_string
                             and request.path.startswith(PREFIX + "/")) else None
    return render(request, session, "error.html", status=status, message=phrase, values=values, again=again)


def _quoted(path: str) -> str:
    return quote(path, safe="")


def safe_next(value: str | None) -> str:
    """Where to go after signing in or switching language: only a page of the back office."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"
