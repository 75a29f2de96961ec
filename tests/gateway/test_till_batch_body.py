"""A till's batch body is read by orjson with parse_json's verdicts (till_api._parse_batch_body):
every body gets the value parse_json gives it, or the same 400."""
from __future__ import annotations

import json
import math

import pytest

from cloud_api.service.errors import BadRequest
from cloud_api.service.web import MAX_JSON_DEPTH, parse_json
from gateway import till_api
from gateway.till_api import _parse_batch_body
from tests.conftest import make_sale

BATCH = json.dumps({"documents": [make_sale(device_id="d", device_code="T1", seq=n) for n in (1, 2, 3)]})
BODIES = [
    BATCH.encode(),
    BATCH.replace('"T1"', '"ٹی ون"').encode(),   # non-ASCII text
    b'{"documents": []}', b' {"documents": [1, 2.5, -0, 1e-400, true, null, "x"]} ', b"5", b'"text"', b"[]",
    b'{"a": 1, "a": 2}',                                          # duplicate keys: the last one
    b'{"documents": [18446744073709551616, -9223372036854775809]}',   # past 64 bits: orjson refuses, json reads
    b'{"n": ' + b"9" * 5000 + b"}",                               # too many digits
    b'{"n": [999999999999999999, 9223372036854775807, 0.1234567890123456789, 1.5e300]}',
    b'{"n": 1e400}', b'{"n": NaN}', b'{"n": -Infinity}',
    b'{"s": "\\ud800"}',                                          # a lone surrogate: json reads it
    b'\xef\xbb\xbf{"documents": []}',                            # a byte-order mark
    b'{"s": "\xff"}', b'{"documents": [', b"", b'{"s": "a\x01b"}',
    b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH,              # as deep as allowed
    b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),  # one deeper
    b'{"d": ' + b'{"a": [' * 40 + b"1" + b"]}" * 40 + b"}",      # objects and arrays, 81 deep
    b"[" * 900 + b"]" * 900, b"[" * 5000 + b"]" * 5000,         # within and past orjson's own limit
    b"[1, [2, [3]], {\"k\": [[]]}]",
    b'{"hash": "' + b"7" * 30 + b'", "n": [12345678901234567890123, 1.5]}',   # a long run in text, and a number
    b'{"hash": "' + b"7" * 30 + b'", "n": [1234567890123456789]}',             # in text, and a 64-bit integer
]


def _verdict(parse, body: bytes):
    try:
        value = parse(body)
    except BadRequest as err:
        return "400", err.message
    return "ok", json.dumps(value, sort_keys=True, default=str, allow_nan=True) if not _has_nan(value) else repr(value)


def _has_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_a_batch_body_gets_parse_jsons_verdict(body: bytes) -> None:
    assert _verdict(_parse_batch_body, body) == _verdict(parse_json, body)


def test_a_surrogate_survives_as_json_read_it() -> None:
    assert _parse_batch_body(b'{"s": "\\ud800"}') == {"s": "\ud800"}


def test_a_run_of_digits_inside_text_is_read_by_orjson_alone(monkeypatch) -> None:
    """A document's hash (hex) often holds 19 digits in a row: such a body is no reason to read it again
    with json, unless orjson read a float somewhere, which may be an integer past 64 bits."""
    read_again: list[bytes] = []
    monkeypatch.setattr(till_api, "parse_json", lambda body: read_again.append(body) or parse_json(body))
    in_text = b'{"hash": "' + b"1" * 30 + b'", "seq": 9223372036854775807}'
    assert _parse_batch_body(in_text) == {"hash": "1" * 30, "seq": 9223372036854775807}
    assert read_again == []
    past_64_bits = b'{"hash": "' + b"1" * 30 + b'", "seq": 18446744073709551616}'
    assert _parse_batch_body(past_64_bits) == {"hash": "1" * 30, "seq": 18446744073709551616}
    assert read_again == [past_64_bits]
