"""HTTP plumbing both services share: the error middleware and request parsing.

One handler turns every error into {"error": {"code": ..., "message": ...}}
with a stable status, so clients (the till, the gateway) can rely on the shape.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..contract import first_error
from .errors import BadRequest, ServiceError, Unauthorised

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_body(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain errors and aiohttp's own HTTP errors to one JSON shape."""
    try:
        return await handler(request)
    except ServiceError as err:
        return error_body(err.code, err.message, err.status)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(err.status, "http_error")
        return error_body(code, err.reason, err.status)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_body("internal", "internal error", 500)


async def read_model(request: web.Request, model: type[Model]) -> Model:
    """Parse a JSON body into a pydantic model, or BadRequest with the first problem."""
    try:
        payload = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadRequest("body is not valid JSON") from err
    return parse_model(payload, model)


def parse_model(payload: Any, model: type[Model]) -> Model:
    try:
        return model.model_validate(payload)
    except ValidationError as err:
        raise BadRequest(first_error(err)) from err


def bearer_token(request: web.Request) -> str:
    """The bearer token of a request, or Unauthorised."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorised("missing bearer token")
    return token.strip()
