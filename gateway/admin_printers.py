"""The owner's printers page, /admin/printers: add and remove printers, give each tablet one, print a
test page, and see whether each printer is there and has paper.

Signed in and protected like every /admin form (gateway/admin.py: session cookie, same origin,
CSRF token). Routes: GET /admin/printers; POST /admin/printers/add, /admin/printers/assign,
/admin/printers/{printer_id}/remove, /admin/printers/{printer_id}/test.
"""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from cloud_api.service.clock import utc_now
from cloud_api.service.web import csrf_token

from . import dashboard, print_jobs, printers, tablets
from .admin import message_page, owner_form, owner_session
from .keys import SHOP_NAME, STORE
from .pages import render
from .print_queue import PRINT_QUEUE

routes = web.RouteTableDef()

RECENT_JOBS = 10
WHAT_WORDS = {"receipt": "Receipt", "z_report": "Z-report", "test_page": "Test page", "drawer": "Drawer"}


def _back() -> web.Response:
    return web.Response(status=303, headers={"Location": "/admin/printers"})


@routes.get("/admin/printers")
async def printers_page(request: web.Request) -> web.Response:
    token = await owner_session(request)
    if token is None:   # the sign-in form lives on /admin
        return web.Response(status=303, headers={"Location": "/admin"})
    db, queue = request.app[STORE].read(), request.app[PRINT_QUEUE]
    found = await printers.list_printers(db)
    # Asked now, all at once: a printer that is off costs its connect timeout, not one each.
    statuses = await asyncio.gather(*(queue.probe(p) for p in found))
    recent = await db.execute_fetchall(
        "SELECT j.job_id, j.what, j.copy, j.status, j.problem, j.last_error, j.created_at, j.printed_at, "
        "p.name AS printer, d.device_code FROM print_jobs j LEFT JOIN printers p USING (printer_id) "
        "LEFT JOIN devices d ON d.device_id = j.device_id ORDER BY j.job_id DESC LIMIT ?", (RECENT_JOBS,))
    return render(
        "admin_printers.html", shop_name=request.app[SHOP_NAME], csrf=csrf_token(token),
        printers=list(zip(found, statuses)), waiting=await print_jobs.waiting(db),
        tablets=[t for t in await tablets.list_tablets(db) if t["revoked_at"] is None],
        assigned=await printers.assignments(db), widths=printers.WIDTHS, recent=[dict(r) for r in recent],
        what_words=WHAT_WORDS, fonts_missing=[str(p) for p in queue.fonts.missing()], when=dashboard.local_time)


@routes.post("/admin/printers/add")
@owner_form
async def add(request: web.Request, _token: str, form: dict[str, Any]) -> web.StreamResponse:
    try:
        async with request.app[STORE].transaction() as db:
            await printers.add_printer(db, str(form.get("name", "")), str(form.get("connection", "")),
                                       str(form.get("host", "")), str(form.get("port", "") or 9100),
                                       str(form.get("usb_path", "")), str(form.get("width_dots", "")))
    except printers.BadPrinter as err:
        return message_page(request, "Printer not added", str(err), status=400,
                            back="/admin/printers")
    request.app[PRINT_QUEUE].wake()
    return _back()


@routes.post("/admin/printers/assign")
@owner_form
async def assign(request: web.Request, _token: str, form: dict[str, Any]) -> web.StreamResponse:
    chosen = str(form.get("printer_id", ""))
    printer_id = print_jobs.row_id(chosen)
    if chosen and printer_id is None:
        return message_page(request, "Not changed", "That printer is no longer on the box.", status=400,
                            back="/admin/printers")
    async with request.app[STORE].transaction() as db:
        done = await printers.assign(db, str(form.get("device_id", "")), printer_id)
    if not done:
        return message_page(request, "Not changed", "That tablet or printer is no longer on the box.", status=400,
                            back="/admin/printers")
    return _back()


def _printer_id(request: web.Request) -> int:
    found = print_jobs.row_id(request.match_info["printer_id"])
    if found is None:
        raise web.HTTPNotFound()
    return found


@routes.post("/admin/printers/{printer_id}/remove")
@owner_form
async def remove(request: web.Request, _token: str, _form: dict[str, Any]) -> web.StreamResponse:
    async with request.app[STORE].transaction() as db:
        await printers.remove_printer(db, _printer_id(request))
    request.app[PRINT_QUEUE].wake()
    return _back()


@routes.post("/admin/printers/{printer_id}/test")
@owner_form
async def test_page(request: web.Request, _token: str, _form: dict[str, Any]) -> web.StreamResponse:
    """A page with the shop, the printer and a line of Urdu (so it also shows the Urdu fonts work)."""
    store, queue = request.app[STORE], request.app[PRINT_QUEUE]
    printer = await printers.get_printer(store.read(), _printer_id(request))
    if printer is None:
        return message_page(request, "No such printer", "It was removed. Go back to the printers page.", status=404,
                            back="/admin/printers")
    if queue.fonts.missing():
        lacks = ", ".join(queue.fonts.missing())
        return message_page(request, "Fonts missing", f"The box cannot draw Urdu: it lacks {lacks}. Install "
                            "fonts-noto-core and libfribidi0 on it (systemd/install.sh does).", status=503,
                            back="/admin/printers")
    payload = await print_jobs.render_test_page(shop_name=request.app[SHOP_NAME], printer_name=printer.name,
                                                width_dots=printer.width_dots,
                                                when=dashboard.local_time(utc_now()), fonts=queue.fonts)
    async with store.transaction() as db:
        await print_jobs.enqueue(db, printer_id=printer.printer_id, device_id=None, document_id=None,
                                 what="test_page", copy="original", kick=False, payload=payload)
    queue.wake(printer.printer_id)
    return _back()
