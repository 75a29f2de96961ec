"""Errors of the gateway. The HTTP ones are the cloud's tree (one JSON shape everywhere):

    CloudError (cloud_api.errors)     500 internal
    ├── BadRequest                    400 bad_request
    ├── Unauthorised                  401 unauthorised
    ├── Forbidden                     403 forbidden
    ├── NotFound                      404 not_found
    ├── Conflict                      409 conflict
    ├── TooLarge                      413 too_large
    └── NotProvisioned                503 not_provisioned   (this box has no cloud identity yet)

    UplinkError                       talking to the cloud failed
    ├── CloudUnreachable              network down, timeout, 5xx: retry with backoff
    └── CloudRefused                  the cloud said no (401/403/4xx): retry slowly, tell the owner
"""
from __future__ import annotations

from cloud_api.errors import BadRequest, CloudError, Conflict, Forbidden, NotFound, TooLarge, Unauthorised

__all__ = ["BadRequest", "CloudError", "Conflict", "Forbidden", "NotFound", "TooLarge", "Unauthorised",
           "NotProvisioned", "UplinkError", "CloudUnreachable", "CloudRefused"]


class NotProvisioned(CloudError):
    status, code = 503, "not_provisioned"


class UplinkError(Exception):
    """A call to the cloud did not succeed."""


class CloudUnreachable(UplinkError):
    """The WAN or the cloud is down: nothing is wrong with what we sent."""


class CloudRefused(UplinkError):
    """The cloud answered and refused: credentials or the request itself."""

    def __init__(self, status: int, message: str):
        super().__init__(f"cloud refused with {status}: {message}")
        self.status = status
