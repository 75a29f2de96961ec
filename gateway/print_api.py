"""The till's printing API: ask the box to print a receipt or a Z-report, learn how it went.

Paired tablet auth like the rest of /api/v1 (bearer token). The box renders from the documents it
holds, so the till pushes its journal first and asks after (409 until the box has the document).

    GET  /api/v1/printer
         200 {"printer_id", "name", "width_dots", "status": {"reachable", "paper", "words"} | null}
         404 no_printer: this tablet has no printer on the box (the till prints through the browser)
    POST /api/v1/print
         {"document_id": uuid, "copy": "original" | "duplicate", "kick": bool?, "language": "en" | "ur"}
         {"shift_id": uuid, "what": "z_report", "language": "en" | "ur"}
         {"document_id": uuid, "what": "drawer"}: the job of a drawer_open (the box makes it from the
             journal; asked after the push, this answers that same job, never a second kick)
         202 {"job_id", "status", "printer"}: queued (an original asked for again answers its first job)
         400 bad_request, 404 no_printer, 404 not_found (another tablet's document or shift; a
             drawer_open that came too late to kick),
         409 not_at_box (push the journal, then ask again),
         503 fonts_missing (an Urdu slip, and the box lacks its fonts)
    GET  /api/v1/print/{job_id}
         200 {"job_id", "status": queued | printing | printed | failed,
              "problem": null | "offline" | "paper_out" | "expired" | "removed", "error", "attempts", "printer"}
         404 not_found: no such job of this tablet's

The drawer opens with the original receipt of a sale, a return or a khata payment paid (back, or in) in
cash, when the box
received it within print_drawer_fresh_s of its making (else the slip prints without the kick, as a
drawer_open does); `kick: false` keeps it shut. A reprint never opens it: "Open drawer" (a
drawer_open document) is the logged way; the till follows its 'drawer' job to say whether the drawer
opened (printed: the kick went; offline or failed: open it with its key). A kick never waits for
paper or queued slips (gateway/print_queue.py). A tablet prints only its own documents and shifts.
"""
from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from cloud_api.service.errors import NotFound
from cloud_api.service.web import bearer_token, read_model

from . import print_jobs, printers
from .errors import FontsMissing, NoPrinter, NotAtBox
from .keys import SETTINGS, SHOP_NAME, STORE
from .pairing import device_for_token
from .print_queue import PRINT_QUEUE
from .store import Store

routes = web.RouteTableDef()

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class PrintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    what: Literal["receipt", "z_report", "drawer"] = "receipt"
    document_id: str | None = Field(default=None, pattern=UUID)
    shift_id: str | None = Field(default=None, pattern=UUID)
    which: Literal["original", "duplicate"] = Field(default="original", alias="copy")   # "copy" is BaseModel's
    kick: StrictBool | None = None
    language: Literal["en", "ur"] = "en"

    @model_validator(mode="after")
    def _names_what(self) -> "PrintRequest":
        if self.what in ("receipt", "drawer") and self.document_id is None:
            raise ValueError("a receipt or a drawer is asked for by its document_id")
        if self.what == "z_report" and self.shift_id is None:
            raise ValueError("a Z-report is asked for by its shift_id")
        return self


# The answers' shapes (for gateway/openapi_routes.py; the handlers build them from these models).

class PrinterState(BaseModel):
    reachable: bool
    paper: Literal["ok", "out", "unknown"]
    words: str                     # "ready", "out of paper", "reachable, status unknown", "not reachable (...)"


class TabletPrinter(BaseModel):
    """This tablet's printer and what it said last (null before the box has talked to it)."""
    printer_id: int
    name: str
    width_dots: Literal[576, 384]
    status: PrinterState | None


class PrintAccepted(BaseModel):
    job_id: int
    status: Literal["queued", "printing", "printed", "failed"]
    printer: str


class PrintJobState(BaseModel):
    """How a job went: printed; or why it waits (offline, paper_out) or failed (expired, removed)."""
    job_id: int
    status: Literal["queued", "printing", "printed", "failed"]
    problem: Literal["offline", "paper_out", "expired", "removed"] | None
    error: str | None
    attempts: int
    printer: str | None            # null once the printer was removed


def _status(found: printers.Printer, request: web.Request) -> PrinterState | None:
    known = request.app[PRINT_QUEUE].status.get(found.printer_id)
    return None if known is None else PrinterState(reachable=known.reachable, paper=known.paper, words=known.words)


@routes.get("/api/v1/printer")
async def my_printer(request: web.Request) -> web.Response:
    """This tablet's printer and what it last said (no round trip to it)."""
    device = await device_for_token(request.app[STORE], bearer_token(request))
    found = await printers.printer_for(request.app[STORE].read(), device.device_id)
    if found is None:
        raise NoPrinter("this tablet has no printer on the shop box")
    return web.json_response(TabletPrinter(printer_id=found.printer_id, name=found.name, width_dots=found.width_dots,
                                           status=_status(found, request)).model_dump())


@routes.post("/api/v1/print")
async def print_slip(request: web.Request) -> web.Response:
    store, queue = request.app[STORE], request.app[PRINT_QUEUE]
    device = await device_for_token(store, bearer_token(request))
    body = await read_model(request, PrintRequest)
    db = store.read()
    printer = await printers.printer_for(db, device.device_id)
    if printer is None:
        raise NoPrinter("this tablet has no printer on the shop box")
    if body.language == "ur" and queue.fonts.missing():
        raise FontsMissing(f"the shop box cannot draw Urdu: {', '.join(queue.fonts.missing())}")
    asked = str(body.shift_id if body.what == "z_report" else body.document_id)
    if (await print_jobs.made_by(db, asked)) not in (None, device.device_id):
        raise NotFound("not this tablet's: a tablet prints only its own receipts and Z-reports")
    if body.what == "drawer":
        return await _drawer(request, asked, printer)
    if body.what == "receipt" and body.which == "original":
        held = await print_jobs.original_job(db, asked)
        if held is not None:   # asked again (a lost answer): the first job, not a second slip
            return await _accepted(store, held, printer)
    shop = request.app[SHOP_NAME]
    try:
        if body.what == "z_report":
            document_id, copy = body.shift_id, "original"
            rendered = await print_jobs.render_z_report(db, str(body.shift_id), shop_name=shop, language=body.language,
                                                        width_dots=printer.width_dots, fonts=queue.fonts)
        else:
            document_id, copy = body.document_id, body.which
            rendered = await print_jobs.render_receipt(db, str(body.document_id), shop_name=shop,
                                                       duplicate=body.which == "duplicate", language=body.language,
                                                       width_dots=printer.width_dots, fonts=queue.fonts,
                                                       fresh_s=request.app[SETTINGS].print_drawer_fresh_s)
    except print_jobs.NotHeld:
        raise NotAtBox("the shop box does not hold this document yet: send the journal, then ask again") from None
    except OSError as err:   # a font file the settings name is not there
        raise FontsMissing(f"the shop box cannot draw this slip: {err}") from None
    kick = rendered.kick and body.kick is not False
    async with store.transaction() as wdb:
        job_id, made = await print_jobs.enqueue(wdb, printer_id=printer.printer_id, device_id=device.device_id,
                                                document_id=document_id, what=body.what, copy=copy, kick=kick,
                                                payload=rendered.payload)
    if made:
        queue.wake(printer.printer_id)
    return await _accepted(store, job_id, printer)


async def _drawer(request: web.Request, document_id: str, printer: printers.Printer) -> web.Response:
    """The drawer_open's 'drawer' job: the one the box made from the journal, or made now (same rule)."""
    store = request.app[STORE]
    async with store.transaction() as wdb:
        row = await (await wdb.execute("SELECT id, kind, device_id, body, received_at FROM journal WHERE id = ?",
                                       (document_id,))).fetchone()
        if row is None:
            raise NotAtBox("the shop box does not hold this drawer_open yet: send the journal, then ask again")
        if row["kind"] != "drawer_open":
            raise NotFound("not a drawer_open document")
        job_id, wake = await request.app[PRINT_QUEUE].drawer_job(wdb, row)
    if job_id is None:
        raise NotFound("the drawer is not opened: this drawer_open reached the box too late")
    if wake is not None:
        request.app[PRINT_QUEUE].wake(wake)
    return await _accepted(store, job_id, printer)


async def _accepted(store: Store, job_id: int, printer: printers.Printer) -> web.Response:
    job = await print_jobs.job_for(store.read(), job_id)
    return web.json_response(PrintAccepted(job_id=job_id, status=job["status"] if job else "queued",
                                           printer=printer.name).model_dump(), status=202)


@routes.get("/api/v1/print/{job_id}")
async def print_job(request: web.Request) -> web.Response:
    device = await device_for_token(request.app[STORE], bearer_token(request))
    job_id = print_jobs.row_id(request.match_info["job_id"])
    job = None if job_id is None else await print_jobs.job_for(request.app[STORE].read(), job_id)
    if job is None or job["device_id"] != device.device_id:
        raise NotFound("no such print job of this tablet")
    return web.json_response(PrintJobState(job_id=job["job_id"], status=job["status"], problem=job["problem"],
                                           error=job["last_error"], attempts=job["attempts"],
                                           printer=job["printer"]).model_dump())


def setup(app: web.Application) -> None:
    """The routes. A journal push wakes the queue (till_api.journal_batch) for drawer_open documents."""
    app.router.add_routes(routes)
