"""The fuzz harness's rule for "this case got past the credentials" (tests/openapi_fuzz.py).

A fuzzed operation must show at least one answer that the token or shop did not refuse, or the fuzz is
vacuous. A verdict given after the token was accepted (the box's 403 owner_approval_needed when a khata
sale is past the customer's limit) is such an answer; CI once failed because it was counted as a refusal.
"""
from __future__ import annotations

import httpx
import pytest

from tests.openapi_fuzz import _refused_credentials


def _answer(status: int, code: str | None) -> httpx.Response:
    if code is None:
        return httpx.Response(status, text="<html>no</html>")
    return httpx.Response(status, json={"error": {"code": code, "message": "m"}})


@pytest.mark.parametrize(("status", "code", "refused"), [
    (401, "unauthorised", True),            # the bearer token is unknown
    (403, "forbidden", True),               # a revoked box, another owner's shop
    (401, None, True),                      # no error body of ours: never counted as proof
    (403, None, True),
    (403, "owner_approval_needed", False),  # the box's khata verdict, after the token was accepted
    (403, "wrong_pin", False),
    (401, "wrong_pin", False),              # a cashier's PIN, after the tablet's token
    (403, "http_error", True),              # anything else refuses: a new way of refusing never passes
    (401, "owner_approval_needed", True),
    (400, "invalid_request", False),
    (200, None, False),
])
def test_only_refusals_of_the_token_or_shop_count_as_refused(status: int, code: str | None, refused: bool):
    assert _refused_credentials(_answer(status, code)) is refused
