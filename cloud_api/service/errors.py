"""Errors of both services (cloud and shop box), each mapped to one HTTP status and a stable JSON body.

    ServiceError                  500 internal
    ├── BadRequest                400 bad_request
    ├── Unauthorised              401 unauthorised
    ├── Forbidden                 403 forbidden
    ├── NotFound                  404 not_found
    ├── Conflict                  409 conflict
    └── TooLarge                  413 too_large

The body is always {"error": {"code": ..., "message": ...}}.
"""
from __future__ import annotations


class ServiceError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(ServiceError):
    status, code = 400, "bad_request"


class Unauthorised(ServiceError):
    status, code = 401, "unauthorised"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class TooLarge(ServiceError):
    status, code = 413, "too_large"
