"""The cloud's app factory."""
from __future__ import annotations

import os
from typing import AsyncIterator

from aiohttp import web

from . import gateway_api, openapi_routes, owner_api
from .contract import MAX_BATCH_BYTES
from .database import close_engine, create_engine
from .database_faults import database_faults
from .office import add_office
from .office.web import office_errors
from .gateway_api import ENGINE
from .settings import CloudSettings
from .service.headers import NO_CONTENT_POLICY, security_headers
from .service.web import error_middleware


def create_app(settings: CloudSettings) -> web.Application:
    """A stateless cloud worker: routes, error handling, and the database engine."""
    # A full batch is at most 1 MiB of documents; leave room for the envelope.
    # Security headers outermost, so error answers carry them too; passing database faults innermost,
    # so they reach the error middleware as a 503; the back office's errors become pages (not JSON)
    # before the error middleware sees them.
    app = web.Application(middlewares=[security_headers(NO_CONTENT_POLICY), error_middleware, office_errors,
                                       database_faults],
                          client_max_size=2 * MAX_BATCH_BYTES)
    app.router.add_routes(gateway_api.routes)
    app.router.add_routes(owner_api.routes)
    app.router.add_routes(openapi_routes.routes)   # GET /v1/openapi.json
    app.router.add_get("/healthz", _healthz)
    add_office(app)   # the owner's back office, /office

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.db_url)
        app[ENGINE] = engine
        yield
        await close_engine(engine)

    app.cleanup_ctx.append(database)
    return app


async def _healthz(_request: web.Request) -> web.Response:
    # The worker's pid: with --workers N, which process answered (tests/cloud/test_workers.py).
    return web.json_response({"ok": True, "worker": os.getpid()})
