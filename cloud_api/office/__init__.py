"""The owner's back office: server-rendered pages under /office (Jinja2, English and Urdu).

web.py holds what every page shares (session, shop scoping, forms, rendering); each section of the
site is one module with its own routes. `add_office(app)` mounts them all.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


def add_office(app: web.Application) -> None:
    # The pages are imported here, not when the package is: so a module outside the back office
    # (cloud_api/product_import.py) may import office.formats without importing every page.
    from . import (cashiers, customers, devices, fiscal, products, reports, sales, shop_settings, sign_in, stock,
                   today)

    for module in (sign_in, today, sales, reports, products, cashiers, stock, customers, devices, fiscal,
                   shop_settings):
        app.router.add_routes(module.routes)
    app.router.add_static("/office/static", STATIC, append_version=False)
