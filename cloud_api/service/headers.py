"""Security headers on every response both services send.

Every response gets `X-Content-Type-Options: nosniff` (a JSON error or a
script must never be read as HTML). Every HTML page also gets a Content
Security Policy, no framing and a referrer policy, unless its handler chose
its own (the box's /setup and /admin pages set theirs, see gateway/pages.py):
a header the handler set is never overwritten.

Place this middleware first (outermost) in the app's list: it then also sees
the error middleware's JSON bodies and the HTTP exceptions other middlewares
raise (the box's plain-HTTP redirects never reach the error handler).
"""
from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

# The cloud serves no HTML of its own: anything that is HTML may load nothing at all.
NO_CONTENT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

# The till (web_till/): ES modules, its stylesheet and icon, a service worker and fetch, all from the
# box itself. No inline script or style exists in the till, so none is allowed.
TILL_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def security_headers(content_security_policy: str) -> Middleware:
    """A middleware adding nosniff to every response and `content_security_policy` etc. to HTML ones."""
    html_headers = {
        "Content-Security-Policy": content_security_policy,
        "X-Frame-Options": "DENY",   # frame-ancestors for browsers that predate CSP 2
        "Referrer-Policy": "same-origin",
    }

    def secure(response: web.StreamResponse) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.content_type == "text/html":
            for name, value in html_headers.items():
                response.headers.setdefault(name, value)

    @web.middleware
    async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as err:   # a raised response (a redirect, a 404 from the router)
            secure(err)
            raise
        secure(response)
        return response

    return security_headers_middleware
