"""Errors of the cloud, each mapped to one HTTP status and a stable JSON body.

    CloudError                    500 internal
    ├── BadRequest                400 bad_request
    ├── Unauthorised              401 unauthorised
    ├── Forbidden                 403 forbidden
    ├── NotFound                  404 not_found
    ├── Conflict                  409 conflict
    └── TooLarge                  413 too_large

The body is always {"error": {"code": ..., "message": ...}}.
"""
from __future__ import annotations


class CloudError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(CloudError):
    status, code = 400, "bad_request"


class Unauthorised(CloudError):
    status, code = 401, "unauthorised"


class Forbidden(CloudError):
    status, code = 403, "forbidden"


class NotFound(CloudError):
    status, code = 404, "not_found"


class Conflict(CloudError):
    status, code = 409, "conflict"


class TooLarge(CloudError):
    status, code = 413, "too_large"
