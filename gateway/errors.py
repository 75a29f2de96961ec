"""Errors of the gateway.

HTTP errors are the shared tree of cloud_api/service/errors.py (one JSON shape
everywhere: ServiceError and its 4xx subclasses); the box adds its own:

    ServiceError (cloud_api.service.errors)
    ├── WrongPin                      401 wrong_pin         (a cashier's PIN; not the till's token)
    ├── UnknownSale                   404 unknown_sale      (a return asked for a sale the box does not hold)
    │   └── NotASale                  404 unknown_sale      (... or for a receipt that is not a sale's: + kind, receipt)
    ├── UnknownCustomer               404 unknown_customer  (a khata asked for a customer the box does not know)
    ├── NoPrinter                     404 no_printer        (the tablet has no printer on the box: browser print)
    ├── NotAtBox                      409 not_at_box        (print: the box does not hold the document yet)
    ├── NotProvisioned                503 not_provisioned   (this box has no cloud identity yet)
    ├── FontsMissing                  503 fonts_missing     (an Urdu slip, and the box cannot shape it)
    └── StorageFull                   507 storage_full      (the SD card is full: the till keeps its documents)

Talking to the cloud has its own tree, never shown to a till as an HTTP error:

    UplinkError                       talking to the cloud failed
    ├── CloudUnreachable              network down, timeout, 5xx: retry with backoff
    └── CloudRefused                  the cloud said no (401/403/4xx): retry slowly, tell the owner
"""
from __future__ import annotations

from cloud_api.service.errors import ServiceError


class WrongPin(ServiceError):
    status, code = 401, "wrong_pin"

    def __init__(self, message: str = "wrong PIN"):
        super().__init__(message)


class UnknownSale(ServiceError):
    status, code = 404, "unknown_sale"


class NotASale(UnknownSale):
    """The receipt number is another kind of document's (a return, a shift's opening, ...). Still
    unknown_sale, as tills before it expect; `kind` and `receipt` say which, so a till words it in its
    own language without reading the English message."""

    def __init__(self, receipt: str, kind: str, words: str):
        super().__init__(f"{receipt} is {words}, not a sale")
        self.details = {"kind": kind, "receipt": receipt}


class UnknownCustomer(ServiceError):
    status, code = 404, "unknown_customer"


class NoPrinter(ServiceError):
    status, code = 404, "no_printer"


class NotAtBox(ServiceError):
    status, code = 409, "not_at_box"


class NotProvisioned(ServiceError):
    status, code = 503, "not_provisioned"


class FontsMissing(ServiceError):
    status, code = 503, "fonts_missing"


class StorageFull(ServiceError):
    status, code = 507, "storage_full"

    def __init__(self, message: str = "the shop box's storage is full"):
        super().__init__(message)


class UplinkError(Exception):
    """A call to the cloud did not succeed."""


class CloudUnreachable(UplinkError):
    """The WAN or the cloud is down: nothing is wrong with what we sent (as far as we know).

    `status` is the cloud's 5xx/429, or None when no answer came back at all.
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class CloudRefused(UplinkError):
    """The cloud answered and refused: credentials or the request itself."""

    def __init__(self, status: int, message: str):
        super().__init__(f"cloud refused with {status}: {message}")
        self.status = status
