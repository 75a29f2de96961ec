"""Errors of both services (cloud and shop box), each mapped to one HTTP status and a stable JSON body.

    ServiceError                  500 internal
    ├── BadRequest                400 bad_request
    ├── Unauthorised              401 unauthorised
    ├── Forbidden                 403 forbidden
    ├── NotFound                  404 not_found
    ├── Conflict                  409 conflict
    ├── TooLarge                  413 too_large
    ├── UnsupportedMediaType      415 unsupported_media_type
    ├── TooManyRequests           429 too_many_requests   (with Retry-After)
    └── Unavailable               503 unavailable         (a passing fault: try again later)

The body is always {"error": {"code": ..., "message": ...}}, and an error with `details` adds them
beside the two (fields a program reads, where the message is for people).
"""
from __future__ import annotations


class ServiceError(Exception):
    """`message` may be a fixed phrase with {placeholders} and their `values`: `message` is then the
    phrase filled in (what JSON says), and `phrase` and `values` let a page translate it first."""

    status = 500
    code = "internal"
    # Facts for the caller's program, added to the JSON error beside code and message (never replacing
    # them): a till tells apart why by these, not by matching the English message.
    details: dict[str, object] = {}

    def __init__(self, message: str, **values: object):
        self.phrase, self.values = message, values
        if values:
            message = message.format(**values)
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


class UnsupportedMediaType(ServiceError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(ServiceError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after_s: int, **values: object):
        super().__init__(message, **values)
        self.retry_after_s = retry_after_s


class Unavailable(ServiceError):
    """A passing fault of ours (a busy or unreachable database): the request may simply be sent again."""

    status, code = 503, "unavailable"
