"""Endpoints gateways call: enrol, journal batches, catalog, stock and khata snapshots, heartbeat."""
from __future__ import annotations

import hashlib
import json

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from . import schema
from .catalog import catalog_etag, catalog_version, load_catalog
from .contract import BatchResponse, EnrolRequest, Heartbeat, JournalBatch, KhataSnapshot, canonical_json
from .database import reading, writing
from .ingest import receive_batch
from .khata import khata_snapshot
from .service.clock import utc_now
from .service.web import bearer_token, json_with_etag, model_response, read_model
from .shops import GatewayIdentity, enrol_gateway, gateway_for_key
from .stock import stock_snapshot

ENGINE = web.AppKey("engine", AsyncEngine)
routes = web.RouteTableDef()


async def _gateway(request: web.Request) -> GatewayIdentity:
    async with reading(request.app[ENGINE]) as conn:
        return await gateway_for_key(conn, bearer_token(request))


@routes.post("/v1/gateways:enrol")
async def enrol(request: web.Request) -> web.Response:
    body = await read_model(request, EnrolRequest)
    # One transaction: the shop-name check, the token spent and the gateway created stand or fall together.
    async with request.app[ENGINE].begin() as conn:
        enrolled = await enrol_gateway(conn, body.enrol_token, body.name, body.expected_shop_name)
    return web.json_response(enrolled.model_dump(), status=201)


@routes.post("/v1/journal:batch")
async def journal_batch(request: web.Request) -> web.Response:
    gateway = await _gateway(request)
    batch = await read_model(request, JournalBatch)
    # One transaction for the whole batch: its results are only sent after it commits.
    results = await receive_batch(request.app[ENGINE], gateway, batch)
    return model_response(BatchResponse(results=results, server_time=utc_now()))


@routes.get("/v1/catalog")
async def catalog(request: web.Request) -> web.Response:
    gateway = await _gateway(request)
    async with reading(request.app[ENGINE]) as conn:
        etag = catalog_etag(gateway.shop_id, await catalog_version(conn, gateway.shop_id))
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        # The one answer that carries the fiscal token: the box keeps it encrypted, tablets never see it.
        body = await load_catalog(conn, gateway.shop_id, for_gateway=True)
    # The version read with the body wins, in case the catalog moved in between.
    return web.json_response(body.model_dump(), headers={"ETag": catalog_etag(gateway.shop_id, body.version)})


@routes.get("/v1/stock")
async def stock(request: web.Request) -> web.Response:
    """The shop's stock and the ingest watermark it counts up to (cloud_api/stock.py), with an ETag."""
    gateway = await _gateway(request)
    async with reading(request.app[ENGINE]) as conn:
        snapshot = await stock_snapshot(conn, gateway.shop_id)
    # Of the content itself: an owner's stock movement changes the figures but not the watermark.
    body = canonical_json(snapshot)
    return json_with_etag(request, f'"{hashlib.sha256(body).hexdigest()[:32]}"', body.decode())


@routes.get("/v1/khata")
async def khata(request: web.Request) -> web.Response:
    """Every customer with details and balance, and the ingest watermark the balances count up to
    (cloud_api/khata.py, the same rule as /v1/stock), with an ETag of the content."""
    gateway = await _gateway(request)
    async with reading(request.app[ENGINE]) as conn:
        snapshot = KhataSnapshot.model_validate(await khata_snapshot(conn, gateway.shop_id))
    # Of the content: an owner's edit or adjustment changes the answer but not the watermark.
    body = canonical_json(snapshot.model_dump())
    return json_with_etag(request, f'"{hashlib.sha256(body).hexdigest()[:32]}"', body.decode())


@routes.post("/v1/heartbeat")
async def heartbeat(request: web.Request) -> web.Response:
    gateway = await _gateway(request)
    beat = await read_model(request, Heartbeat)
    async with writing(request.app[ENGINE]) as conn:
        await conn.execute(update(schema.gateways).where(schema.gateways.c.id == gateway.gateway_id)
                           .values(last_heard_at=utc_now(), last_heartbeat=json.dumps(beat.model_dump())))
    return web.json_response({"server_time": utc_now()})
