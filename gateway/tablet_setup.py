"""Setting up a tablet: the /setup page, the CA download, and what plain HTTP may see.

A new tablet knows only the box's address. It opens http://posline.local/ (or
the box's LAN address), which plain HTTP answers with /setup: what the box is,
its CA certificate to install once, the certificate's fingerprint to compare, a
QR code of the till's HTTPS address, and a live check of whether this browser
already trusts the box. Everything else on plain HTTP redirects to HTTPS.

HSTS is deliberately never sent: it would lock a tablet that has not yet
installed the CA out of the box, /setup included.
"""
from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import web

from .certificates import ca_der, ca_fingerprint
from .keys import CERTIFICATES, HOSTNAME, SETTINGS, SHOP_NAME
from .pages import qr_svg, render

# What plain HTTP answers itself; anything else is sent to the HTTPS origin.
PLAIN_HTTP_PATHS = frozenset({"/setup", "/ca.crt"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def https_origin(request: web.Request) -> str:
    """The box's HTTPS origin, on the host the visitor used if the certificate names it.

    A tablet that typed the box's address keeps using that address; any other Host
    (a router's own DNS name, a missing header) gets <hostname>.local, because a
    redirect or link to a name the certificate lacks would only show a certificate error.
    """
    named = f"{request.app[HOSTNAME]}.local"
    host = request.url.host or named
    keeper = request.app[CERTIFICATES]
    if keeper is not None and host != named and host not in {str(a) for a in keeper.identity.addresses}:
        host = named
    if ":" in host:   # an IPv6 literal
        host = f"[{host}]"
    port = request.app[SETTINGS].port
    return f"https://{host}" + ("" if port == 443 else f":{port}")


@web.middleware
async def plain_http_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Plain HTTP answers /setup and /ca.crt only; the rest goes to HTTPS (307 keeps a POST a POST).

    Only when the box serves HTTPS at all: a test client without TLS sees the whole app.
    """
    if request.app[CERTIFICATES] is None or request.secure or request.path in PLAIN_HTTP_PATHS:
        return await handler(request)
    raise web.HTTPTemporaryRedirect(https_origin(request) + request.path_qs)


async def setup_page(request: web.Request) -> web.Response:
    """What a new tablet needs: the certificate, how to install it, and whether it already works."""
    state_dir = request.app[SETTINGS].state_dir
    till = https_origin(request) + "/"
    named = f"https://{request.app[HOSTNAME]}.local" + (
        "" if request.app[SETTINGS].port == 443 else f":{request.app[SETTINGS].port}") + "/"
    return render("setup.html", shop_name=request.app[SHOP_NAME], till_url=till, named_url=named,
                  fingerprint=ca_fingerprint(state_dir), qr_svg=qr_svg(till, "The till's address"),
                  secure=request.secure, trust_probe=https_origin(request) + "/setup/trusted.svg")


async def ca_certificate(request: web.Request) -> web.Response:
    """The box's CA in DER, the form Android, iPadOS and Windows each install from a download."""
    return web.Response(body=ca_der(request.app[SETTINGS].state_dir),
                        content_type="application/x-x509-ca-cert",
                        headers={"Content-Disposition": 'attachment; filename="posline-box-ca.crt"',
                                 "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


TRUSTED_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
               '<rect width="1" height="1" fill="#0b6e4f"/></svg>')


async def trusted_probe(_request: web.Request) -> web.Response:
    """A 1-pixel image the setup page loads over HTTPS: it loads only if this browser trusts the box."""
    return web.Response(text=TRUSTED_SVG, content_type="image/svg+xml",
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def setup_routes() -> list[web.RouteDef]:
    return [web.get("/setup", setup_page), web.get("/ca.crt", ca_certificate),
            web.get("/setup/trusted.svg", trusted_probe)]
