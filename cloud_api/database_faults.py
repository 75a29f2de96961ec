"""A database that is busy, locked, full or unreachable answers 503, not 500.

The box's uplink treats a 500 that keeps coming back for the same batch as a sign
that a document in it cannot be stored, and sets that document aside (parks it).
A passing database fault says nothing about the documents, so it must not look like
one: 503 means "send it again later", which is all that is needed.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from .service.errors import Unavailable

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def database_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Inside the error middleware: passing database faults become Unavailable (503)."""
    try:
        return await handler(request)
    except (OperationalError, InterfaceError) as err:
        log.warning("database unavailable on %s %s: %s", request.method, request.path, err.orig or err)
        raise Unavailable("the cloud's database is busy or unreachable; send it again later") from err
    except DBAPIError as err:
        if not err.connection_invalidated:
            raise
        log.warning("database connection lost on %s %s", request.method, request.path)
        raise Unavailable("the cloud lost its database connection; send it again later") from err
