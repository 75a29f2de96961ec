"""The LAN API tills call: pair, push journal batches, learn acks, pull the catalog, status."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from cloud_api.service.clock import utc_now
from cloud_api.contract import BatchResponse, JournalBatch
from cloud_api.service.web import bearer_token, read_model

from .catalog import current_catalog
from cloud_api.service.errors import Unauthorised

from .errors import NotProvisioned
from .journal import backlog, cloud_states, receive_batch
from .keys import CLOUD, SHOP_NAME, STORE, UPLINK
from .pairing import Device, device_for_token, pair_device

routes = web.RouteTableDef()


class PairRequest(BaseModel):
    code: str = Field(pattern=r"^[0-9]{6}$")
    name: str = Field(default="till", max_length=100)
    # A till that already has an identity (its gateway was replaced) asks to keep it.
    device_id: str | None = Field(default=None, max_length=200)
    device_code: str | None = Field(default=None, max_length=8)


class AcksRequest(BaseModel):
    ids: list[str] = Field(max_length=1000)


async def _device(request: web.Request) -> Device:
    return await device_for_token(request.app[STORE].read(), bearer_token(request))


@routes.post("/api/v1/pair")
async def pair(request: web.Request) -> web.Response:
    body = await read_model(request, PairRequest)
    async with request.app[STORE].transaction() as db:
        paired = await pair_device(db, body.code, body.name, body.device_id, body.device_code)
    if paired is None:
        raise Unauthorised("pairing code is wrong, used or expired")
    return web.json_response({"device_id": paired.device.device_id, "device_code": paired.device.device_code,
                              "token": paired.token, "shop_name": request.app[SHOP_NAME],
                              "server_time": utc_now()}, status=201)


@routes.post("/api/v1/journal:batch")
async def journal_batch(request: web.Request) -> web.Response:
    device = await _device(request)
    batch = await read_model(request, JournalBatch)
    # Committed before we answer: "stored" means it survives a power cut of this box.
    async with request.app[STORE].transaction() as db:
        results = await receive_batch(db, device, batch.documents)
    if any(r.status == "stored" for r in results):
        request.app[UPLINK].wake()
    return web.json_response(BatchResponse(results=results, server_time=utc_now()).model_dump())


@routes.post("/api/v1/journal:acks")
async def journal_acks(request: web.Request) -> web.Response:
    device = await _device(request)
    body = await read_model(request, AcksRequest)
    return web.json_response(await cloud_states(request.app[STORE].read(), device, body.ids))


@routes.get("/api/v1/catalog")
async def catalog(request: web.Request) -> web.Response:
    await _device(request)
    current = await current_catalog(request.app[STORE].read())
    if current is None:
        raise NotProvisioned("the catalog has not yet arrived from the cloud")
    etag, body = current
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(text=body, content_type="application/json", headers={"ETag": etag})


@routes.get("/api/v1/status")
async def status(request: web.Request) -> web.Response:
    """WAN state and backlog; the till shows "Online" or "Cloud offline" from it."""
    wan = request.app[CLOUD].wan
    body: dict[str, Any] = {"wan": wan.state, "wan_since": wan.since, "shop_name": request.app[SHOP_NAME],
                            "server_time": utc_now()}
    body.update(await backlog(request.app[STORE].read()))
    return web.json_response(body)


@routes.get("/api/v1/time")
async def time(_request: web.Request) -> web.Response:
    """The box's clock; tills record their offset from it."""
    return web.json_response({"server_time": utc_now()})

