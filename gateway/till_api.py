"""The LAN API tills call: pair, push journal batches, learn acks, pull the catalog and stock, find a
sale to return from, status.

Any device on the shop's Wi-Fi can reach it, so (issue 6, "the box withstands
its own LAN"):
- state-changing requests must be `application/json` (`json_only_middleware`):
  a web page elsewhere can make a tablet's browser POST text/plain, urlencoded
  or multipart bodies without a CORS preflight, never JSON;
- pairing guesses are limited per client and for the whole box (pairing.PairingGuard);
- a pairing request is small, and at most BATCH_READS batch bodies are read
  at once, so stalled uploads cannot pile up memory (with the connection and
  time limits of cloud_api/service/connections.py);
- a till's "last seen" moves on any authenticated request, written at most
  once a minute per till (LastSeen) to spare the SD card.
"""
from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from aiohttp import web
from pydantic import BaseModel, Field

try:
    import orjson   # the contract's canonical encoder (pyproject); without it, batches are read by parse_json
except ImportError:   # pragma: no cover
    orjson = None

from cloud_api.service.clock import utc_now
from cloud_api.contract import BatchResponse, JournalBatch
from cloud_api.service.errors import BadRequest, TooLarge, Unauthorised, UnsupportedMediaType
from cloud_api.service.web import (MAX_JSON_DEPTH, Handler, bearer_token, json_with_etag, model_response, parse_json,
                                   parse_model, read_model)

from .catalog import catalog_for_tills
from .fiscal_jobs import fiscal_settings, receipts_since, till_receipt
from .fiscal_queue import FISCAL_QUEUE
from .print_queue import PRINT_QUEUE
from .printers import printer_for
from .errors import NotProvisioned, StorageFull
from .journal import backlog, check_batch, cloud_states, write_batches
from .keys import CLOUD, SETTINGS, SHOP_NAME, STORE, UPLINK
from .pairing import Device, PairingGuard, client_key, device_for_token, pair_device
from .returns import find_sale
from .stock import stock_for_tills
from .store import Together

routes = web.RouteTableDef()

MAX_PAIR_BODY = 4096        # a code, a name, an identity and a token fit many times over
BATCH_READS = 8             # batch bodies (up to 1 MiB each) read at once; others wait their turn
SEEN_EVERY_S = 60.0
MAX_CURSOR = 2**53 - 1      # a fiscal cursor the till's JavaScript holds exactly (and SQLite's INTEGER does)


class LastSeen:
    """When each till was last written as seen: at most once every `every_s` per till (in memory)."""

    def __init__(self, every_s: float = SEEN_EVERY_S, clock: Callable[[], float] = time.monotonic):
        self._every_s, self._clock = every_s, clock
        self._written: dict[str, float] = {}   # one entry per paired till: bounded by the devices table

    def due(self, device_id: str) -> bool:
        """True (and remembered) if this till's last_seen_at should be written now."""
        now = self._clock()
        if now - self._written.get(device_id, float("-inf")) < self._every_s:
            return False
        self._written[device_id] = now
        return True


@dataclass
class TillGuards:
    """What the LAN API keeps in memory to protect the box: pairing limits, last-seen throttle, read slots."""

    pairing: PairingGuard
    seen: LastSeen = field(default_factory=LastSeen)
    batch_reads: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(BATCH_READS))


TILL_GUARDS = web.AppKey("till_guards", TillGuards)


@web.middleware
async def json_only_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse (415) a state-changing /api/v1 request whose body is not declared application/json."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.path.startswith("/api/v1/") \
            and request.content_type != "application/json":
        raise UnsupportedMediaType("send JSON with Content-Type: application/json")
    return await handler(request)


class PairRequest(BaseModel):
    code: str = Field(pattern=r"^[0-9]{6}$")
    name: str = Field(default="till", max_length=100)
    # A till that already has an identity (its gateway was replaced, or it was revoked) asks to keep it,
    # proving it with its previous token where it still has one.
    device_id: str | None = Field(default=None, max_length=200)
    device_code: str | None = Field(default=None, max_length=8)
    previous_token: str | None = Field(default=None, max_length=200)


class AcksRequest(BaseModel):
    ids: list[str] = Field(max_length=1000)


_DIGITS_AS_ONES = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))   # b"0".."9" -> b"1"
_LONG_RUN = b"1" * 19


def _parse_batch_body(body: bytes) -> Any:
    """parse_json's reading of a till's batch body, in half its time (issue 12: the box's ack latency).

    orjson reads it (a fourth of json.loads's time) and its depth is counted on what it read (half the
    bytes scan's time). Whatever orjson refuses (bad syntax or UTF-8, NaN, a number out of its range,
    a lone surrogate, nesting past 1024) goes to parse_json, and so does a body where orjson read a
    float and a run of 19 digits could be an integer past 64 bits, which orjson reads as a float where
    json keeps it: every body gets exactly the answer it had, the same value or the same 400.
    """
    if orjson is None:
        return parse_json(body)
    try:
        value = orjson.loads(body)
    except ValueError:   # orjson.JSONDecodeError among them
        return parse_json(body)
    # The digits' scan first, as it is cheaper than looking for floats: a third of tills' batches have
    # such a run, inside some document's hash (hex), and none of those has a float.
    if _LONG_RUN in body.translate(_DIGITS_AS_ONES) and _holds_a_float(value):
        return parse_json(body)
    if _nests_deeper_than(value, MAX_JSON_DEPTH):
        raise BadRequest(f"body nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _holds_a_float(value: Any) -> bool:
    """Whether a float is anywhere in `value` (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            return True
        if type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return False


def _nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` deep, level by level (no recursion)."""
    level, depth = [value], 0
    while level:
        if type(level[0]) not in (dict, list):   # only the top level can hold a plain value
            return False
        depth += 1
        if depth > limit:
            return True
        # orjson makes plain dicts and lists: type() is the cheap test.
        level = [child for container in level for child in (container.values() if type(container) is dict else container)
                 if type(child) is dict or type(child) is list]
    return False


async def _device(request: web.Request, note_seen: bool = True) -> Device:
    """The paired till behind the request's token (Unauthorised if none), noted as seen."""
    device = await device_for_token(request.app[STORE], bearer_token(request))
    if note_seen:
        await _seen(request, device)
    return device


async def _seen(request: web.Request, device: Device) -> None:
    """Move the till's last_seen_at, at most once a minute; a full disk is no reason to refuse the request."""
    if request.app[TILL_GUARDS].seen.due(device.device_id):
        with suppress(StorageFull):
            async with request.app[STORE].transaction() as db:
                await db.execute("UPDATE devices SET last_seen_at = ? WHERE device_id = ?",
                                 (utc_now(), device.device_id))


@routes.post("/api/v1/pair")
async def pair(request: web.Request) -> web.Response:
    if request.content_length is None:
        raise BadRequest("send a Content-Length")
    if request.content_length > MAX_PAIR_BODY:
        raise TooLarge("a pairing request is a few hundred bytes")
    body = await read_model(request, PairRequest)
    guard, client = request.app[TILL_GUARDS].pairing, client_key(request.remote)
    async with request.app[STORE].transaction() as db:
        # Checked and counted under the writer's lock: parallel guesses from one client queue behind each
        # other and cannot slip past the limit. A refused client's code is not even looked at.
        guard.check(client)
        paired = await pair_device(db, body.code, body.name, body.device_id, body.device_code,
                                   body.previous_token)
        if paired is None:
            guard.failed(client)
    if paired is None:
        raise Unauthorised("pairing code is wrong, used or expired")
    guard.succeeded(client)
    return web.json_response({"device_id": paired.device.device_id, "device_code": paired.device.device_code,
                              "token": paired.token, "shop_name": request.app[SHOP_NAME],
                              "server_time": utc_now()}, status=201)


@routes.post("/api/v1/journal:batch")
async def journal_batch(request: web.Request) -> web.Response:
    # Before the body: only a paired till gets a megabyte read. Not noted as seen here: write_batch
    # writes last_seen_at inside the batch's own transaction, so a separate one would be a second fsync.
    device = await _device(request, note_seen=False)
    async with request.app[TILL_GUARDS].batch_reads:
        batch = parse_model(_parse_batch_body(await request.read()), JournalBatch)
    # Validated before waiting for the writer: parsing and hashing are the request's own CPU work,
    # and done under the lock they would hold up every other tablet's commit.
    checked = check_batch(device, batch.documents)
    zone = request.app[SETTINGS].timezone
    # Committed before we answer: "stored" means it survives a power cut of this box. Requests that
    # wait for the writer together share one transaction and one fsync (Store.grouped), each still
    # answered only after that commit; a failure in one batch's write is its own.
    # A full disk is StorageFull (507): nothing is acked, so the till keeps the documents and resends.
    results = await request.app[STORE].grouped(
        Together(("journal", zone), partial(write_batches, zone=zone), (device, checked)))
    stored = {document.kind for index, document, _ in checked.valid if results[index].status == "stored"}
    if stored:
        # What acts on these documents looks now: the cloud's uplink, FBR / PRA for sales and refunds,
        # and the printers for a drawer_open (its drawer is kicked). Only those: each look is a few
        # reads, and at 10 tablets pushing, waking the printers and FBR / PRA for every batch of
        # sales made each a pass of reads for nothing (issue 12, the box's ack).
        request.app[UPLINK].wake()
        request.app[FISCAL_QUEUE].wake_for_documents(stored)
        request.app[PRINT_QUEUE].wake_for_documents(stored)
    return model_response(BatchResponse(results=results, server_time=utc_now()))


@routes.post("/api/v1/journal:acks")
async def journal_acks(request: web.Request) -> web.Response:
    device = await _device(request)
    body = await read_model(request, AcksRequest)
    return web.json_response(await cloud_states(request.app[STORE].read(), device, body.ids))


@routes.get("/api/v1/catalog")
async def catalog(request: web.Request) -> web.Response:
    await _device(request)
    current = await catalog_for_tills(request.app[STORE].read())
    if current is None:
        raise NotProvisioned("the catalog has not yet arrived from the cloud")
    return json_with_etag(request, *current)


@routes.get("/api/v1/stock")
async def stock(request: web.Request) -> web.Response:
    """On hand per SKU, shop-wide (gateway/stock.py); {} before the cloud's first snapshot. Never blocks a sale."""
    device = await _device(request)
    return json_with_etag(request, *await stock_for_tills(request.app[STORE].read(), device.device_id))


@routes.get("/api/v1/sales/{ref}")
async def sale(request: web.Request) -> web.Response:
    """A sale to return from, by id or receipt number, with what every tablet refunded of it (gateway/returns.py)."""
    await _device(request)
    return web.json_response(await find_sale(request.app[STORE].read(), request.match_info["ref"]))


@routes.get("/api/v1/fiscal")
async def fiscal(request: web.Request) -> web.Response:
    """FBR / PRA outcomes of the asking tablet's own sales and refunds that changed after `since`.

    The till keeps `cursor` and asks again with it; a fiscalized receipt carries its number's QR code
    (an SVG data URI) for the receipt and every reprint. Another tablet's documents are never listed.
    """
    device = await _device(request)
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise BadRequest("since must be a whole number (the cursor of the last answer)") from None
    if not 0 <= since <= MAX_CURSOR:
        raise BadRequest(f"since must be from 0 to {MAX_CURSOR}")
    db = request.app[STORE].read()
    cursor, rows = await receipts_since(db, device.device_id, since)
    # The QR code is the one stored when the invoice was fiscalized (fiscal_queue): nothing is drawn here.
    return web.json_response({"cursor": cursor, "mode": (await fiscal_settings(db)).mode, "receipts": [
        {"id": row["document_id"], "receipt_number": row["usin"], **till_receipt(row)} for row in rows]})


@routes.get("/api/v1/status")
async def status(request: web.Request) -> web.Response:
    """WAN state and backlog; the till shows "Online" or "Cloud offline" from it. To a paired till, its
    printer on the box too (null: none), so a printer the owner assigns on /admin/printers is known at
    the till's next poll, and a tablet without one is told so without a 404 (GET /api/v1/printer's
    answer, which the browser logs as a failed request, every time it asked)."""
    device = None
    if request.headers.get("Authorization"):   # a paired till's poll counts as seeing it; a stale token is no error here
        with suppress(Unauthorised):
            device = await _device(request)
    wan = request.app[CLOUD].wan
    db = request.app[STORE].read()
    body: dict[str, Any] = {"wan": wan.state, "wan_since": wan.since, "shop_name": request.app[SHOP_NAME],
                            "server_time": utc_now()}
    body.update(await backlog(db))
    if device is not None:
        found = await printer_for(db, device.device_id)
        body["printer"] = None if found is None else {"printer_id": found.printer_id, "name": found.name}
    return web.json_response(body)


@routes.get("/api/v1/time")
async def time(_request: web.Request) -> web.Response:
    """The box's clock; tills record their offset from it."""
    return web.json_response({"server_time": utc_now()})

