"""The box's own HTML pages (/setup, /admin): Jinja2 templates, rendered on the box.

Pages are plain server-rendered HTML with little script, so they work on any
tablet or phone browser, trusted or not yet. Every page goes out with the same
security headers (no framing, no sniffing, scripts only from the box).
"""
from __future__ import annotations

import io
from typing import Any

import jinja2
import segno
from aiohttp import web

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("gateway", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,   # a typo in a template fails a test, not a shop
)

# Inline styles and scripts in our own templates only; nothing from elsewhere, never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self' 'unsafe-inline'; connect-src 'self' https:; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> web.Response:
    """A page from gateway/templates, with the box's security headers."""
    body = ENVIRONMENT.get_template(template).render(**context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8",
                        headers={**SECURITY_HEADERS, **(headers or {})})


def qr_svg(text: str, title: str) -> str:
    """A QR code as inline SVG that scales with its box (no fixed size): phones scan it off a screen."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", border=2, xmldecl=False, svgns=True, omitsize=True,
                                     title=title, nl=False)
    return out.getvalue().decode()
