"""The shared request parsing (cloud_api/service/web.py): hostile envelopes are a 400, never a 500.

Every JSON body of the cloud is sent each hostile envelope, authenticated, so the
parser (not the credentials check) is what answers; the box's bodies are tested
the same way in tests/gateway/test_web.py.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from cloud_api.openapi_routes import DOCUMENT
from cloud_api.service.errors import BadRequest
from cloud_api.service.web import MAX_JSON_DEPTH, json_depth, parse_json
from tests.cloud.test_ingest import new_shop

# Each is a whole body; none may reach json.loads' recursion or int() unguarded.
HOSTILE_BODIES = {
    "10,000 open arrays": b"[" * 10_000,
    "10,000 nested arrays": b"[" * 10_000 + b"]" * 10_000,
    "10,000 nested objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "65 levels in a field": b'{"documents": ' + b"[" * 64 + b"]" * 64 + b"}",
    "a 5,000-digit integer": b'{"documents": [], "name": ' + b"9" * 5_000 + b"}",
    "a 5,000-digit integer, deep in a document": b'{"documents": [{"lines": [{"qty": ' + b"1" * 5_000 + b"}]}]}",
    "a number past a double": b'{"price": 1e999}',
    "NaN": b'{"price": NaN}',
    "-Infinity": b'{"price": -Infinity}',
    "not UTF-8": b'{"name": "\xff"}',
    "truncated": b'{"documents": [',
    "empty": b"",
}


def test_depth_is_counted_outside_strings_only():
    assert json_depth(b'[{"a": "[[[[{{{{"}, [1, {"b": []}]]') == 4
    assert json_depth(b'"[[["') == 0 and json_depth(b"7") == 0
    assert json_depth(b'["\\"[[[", []]') == 2   # an escaped quote does not end the string


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_a_hostile_body_is_a_bad_request(name: str):
    with pytest.raises(BadRequest):
        parse_json(HOSTILE_BODIES[name])


def test_what_our_own_bodies_look_like_still_parses():
    nested: Any = 1
    for _ in range(MAX_JSON_DEPTH):
        nested = [nested]
    assert parse_json(json.dumps(nested).encode()) == nested
    assert parse_json('{"name": "Tapal چائے", "price": 55000, "x": -0.5}'.encode()) == {
        "name": "Tapal چائے", "price": 55000, "x": -0.5}


def _json_operations(document: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(method, path, bearer scheme) of every operation that takes a JSON body."""
    return [(method.upper(), path, next(iter(op["security"][0])) if op["security"] else None)
            for path, item in document["paths"].items() for method, op in item.items() if "requestBody" in op]


async def test_every_cloud_body_answers_a_hostile_envelope_with_400(cloud_client: Any, cloud_db_url: str):
    shop = await new_shop(cloud_client, cloud_db_url)
    operations = _json_operations(DOCUMENT)
    assert len(operations) >= 6   # enrol, batch, heartbeat, product, cashier, stock movement
    for method, path, scheme in operations:
        url = path.format(shop_id=shop["shop_id"], sku="TAPAL-190", cashier_id="c1", device_id="dev-1",
                          customer_id="c-unknown")
        headers = {"Content-Type": "application/json", **(shop[scheme] if scheme else {})}
        for name, body in HOSTILE_BODIES.items():
            response = await cloud_client.request(method, url, data=body, headers=headers)
            assert response.status == 400, (method, path, name, await response.text())
            assert (await response.json())["error"]["code"] == "bad_request"


async def test_a_client_gone_mid_body_is_not_an_internal_error(caplog):
    """A Wi-Fi drop mid-upload is logged as weather, not as an unhandled error with a traceback."""
    import logging
    from aiohttp.test_utils import make_mocked_request
    from cloud_api.service.web import error_middleware

    async def reading(_request):
        raise ConnectionResetError("Connection lost")

    with caplog.at_level(logging.INFO, logger="cloud_api.service.web"):
        answer = await error_middleware(make_mocked_request("POST", "/v1/journal:batch"), reading)
    assert answer.status == 400 and b"client_gone" in answer.body
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("client went away" in r.message for r in caplog.records)


def test_the_depth_scan_stays_linear_on_a_string_of_escaped_quotes():
    """An unclosed string of \\" made the old scan quadratic: 64 KB took 10 s, 2 MiB would take hours.

    Not a benchmark: a bound a hundred times what linear takes, which quadratic cannot meet.
    """
    import time
    from cloud_api.service.web import json_depth, parse_json
    body = b"[" * 65 + b'"' + b'\\"' * (1 << 20)   # 2 MiB, the box's largest body
    started = time.perf_counter()
    with pytest.raises(BadRequest):
        parse_json(body)
    assert time.perf_counter() - started < 10
    assert json_depth(b'[["a]]]\\"[", {"k": [1, "\\\\"]}]]') == 4   # escapes and brackets inside strings
