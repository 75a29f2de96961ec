"""The canonical check's fast path agrees with the full walk it stands in front of (issue 12).

contract.canonical_json and parse_document used to walk every value with _check_canonical (building
a path string at each step) and then encode the JSON twice, once without the hash and once for the
stored body. Now an exact-type walk without paths (_surely_canonical) says "certainly fine" or
"unsure", the full walk runs only when unsure (for its verdict and its message), a lone surrogate is
found by the UTF-8 encoding, and one encoding serves the hash and the body (_hash_and_body). These
properties pin the two to each other on random values: same bytes, or the same refusal word for word.
"""
from __future__ import annotations

import enum
import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_api import contract
from cloud_api.contract import (MAX_DEPTH, MAX_SAFE_INTEGER, InvalidDocument, NotCanonical, _check_canonical,
                                _hash_and_body, _surely_canonical, canonical_json, document_hash, parse_document,
                                parse_document_and_body)
from tests.conftest import make_sale


def old_canonical_json(value: Any) -> bytes:
    """canonical_json as it was before the fast path: the full walk, then one encoding."""
    _check_canonical(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def old_document_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(old_canonical_json({k: v for k, v in document.items() if k != "hash"})).hexdigest()


def old_parse_document(raw: Any) -> Any:
    """parse_document as it was: validate, then hash with the full walk, then compare."""
    if not isinstance(raw, dict):
        raise InvalidDocument("a document must be a JSON object")
    doc_id = contract._id_of(raw)
    try:
        document = contract._document_adapter.validate_python(raw)
    except contract.ValidationError as err:
        raise InvalidDocument(contract.first_error(err), doc_id) from err
    try:
        expected = old_document_hash(raw)
    except NotCanonical as err:
        raise InvalidDocument(str(err), doc_id) from err
    if expected != raw["hash"]:
        raise InvalidDocument("hash does not match the document's content", doc_id)
    return document


class Small(enum.IntEnum):
    ONE = 1


class Text(str):
    pass


HASH = "ab" * 32

# Strings that stress the encoding and the hash member's text: quotes, backslashes, a lone
# surrogate, non-ASCII, and the very text of the hash member.
odd_text = st.sampled_from(["", "hash", '"hash":"' + HASH + '"', 'x"', "\\", "\ud800", "\udfff", "اردو",
                            "\x00", "a\nb", HASH, "\u2028"])
text = st.one_of(st.text(max_size=8), odd_text)
scalars = st.one_of(
    st.none(), st.booleans(), text,
    st.integers(-MAX_SAFE_INTEGER - 2, MAX_SAFE_INTEGER + 2),
    st.sampled_from([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, 2**64, -(2**60)]),
    st.floats(allow_nan=True), st.just(Small.ONE), st.builds(Text, st.text(max_size=3)),
    st.sampled_from([b"bytes", object(), 1.0, 0.0])
)


def values(max_leaves: int = 25) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.tuples(children),
            st.dictionaries(text, children, max_size=4),
            st.dictionaries(st.one_of(st.integers(0, 3), st.none()), children, max_size=2),
        ),
        max_leaves=max_leaves)


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


def outcome(f: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", f(*args)
    except NotCanonical as err:
        return "refused", str(err)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values())
def test_canonical_json_is_the_old_walk(value: Any) -> None:
    assert outcome(canonical_json, value) == outcome(old_canonical_json, value)


@given(st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3), st.sampled_from([1, "x", {}, [], 1.5, None]))
def test_nesting_at_the_limit(depth: int, leaf: Any) -> None:
    value = nested(depth, leaf)
    assert outcome(canonical_json, value) == outcome(old_canonical_json, value)


@settings(max_examples=400, deadline=None)
@given(values())
def test_surely_canonical_never_vouches_for_what_the_walk_refuses(value: Any) -> None:
    if _surely_canonical(value):
        text_ = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        try:
            text_.encode()
        except UnicodeEncodeError:
            with pytest.raises(NotCanonical):
                _check_canonical(value)
            return
        _check_canonical(value)   # must not raise


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(text, values(10), max_size=6), st.sampled_from(["first", "middle", "last", "alone"]),
       st.booleans())
def test_hash_and_body_is_document_hash_and_canonical_json(extra: dict[str, Any], where: str, echo: bool) -> None:
    # The hash member anywhere among the top-level keys, and sometimes its very text again inside
    # an extra field (where taking it out of the body must not take the wrong one).
    raw = {"hash": HASH} if where == "alone" else {
        "first": {"aaa": 1, "hash": HASH}, "middle": {"g": 1, "i": 2}, "last": {"zzz": 1}}[where]
    raw = {**extra, **raw}
    raw["hash"] = HASH
    if echo:
        raw["a-echo"] = {"hash": HASH}
        raw["zz-echo"] = ['"hash":"' + HASH + '"', {"hash": HASH}]
    expected = outcome(lambda r: (old_document_hash(r), old_canonical_json(r).decode()), raw)
    assert outcome(_hash_and_body, raw, HASH, _surely_canonical(raw)) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda k: k not in make_sale()), values(10),
                       max_size=3),
       st.lists(st.tuples(st.sampled_from(["lines", "payments"]), st.text(min_size=1, max_size=4), values(6)),
                max_size=2),
       st.booleans())
def test_parse_document_agrees_with_the_old_parse(extra: dict[str, Any], nested_extra: list[Any],
                                                  rehash: bool) -> None:
    # Sales carry extra fields on the sale, its lines and its payments: the canonical check's ground.
    sale = make_sale()
    sale.update(extra)
    for where, key, value in nested_extra:
        if key not in sale[where][0]:
            sale[where][0][key] = value
    if rehash:
        try:
            sale["hash"] = old_document_hash(sale)
        except NotCanonical:
            pass

    def run(parse: Any) -> tuple[str, Any]:
        try:
            return "ok", parse(sale).model_dump()
        except InvalidDocument as err:
            return "invalid", (err.reason, err.document_id)
    assert run(parse_document) == run(old_parse_document)
    if run(parse_document)[0] == "ok":
        assert parse_document_and_body(sale)[1] == old_canonical_json(sale).decode()


def test_a_document_still_refused_for_each_reason() -> None:
    # A few refusals spelled out, so a regression names itself.
    cases = {
        "a float": (1.5, "$.note is a float"),
        "a big integer": (2**53, "$.note is beyond JavaScript's safe integer range"),
        "a lone surrogate": ("\ud800", "$.note is not valid Unicode"),
        "a tuple": ((1,), "$.note has an unsupported type tuple"),
        "too deep": (nested(MAX_DEPTH, 1), "nested deeper than"),
    }
    for name, (note, reason) in cases.items():
        sale = {**make_sale(), "note": note}   # refused before its hash is compared
        with pytest.raises(InvalidDocument) as err:
            parse_document(sale)
        assert reason in err.value.reason, name
    tampered = make_sale()
    tampered["total"] += 0   # untouched: fine
    parse_document(tampered)
    tampered["lines"][0]["note"] = "changed after hashing"
    with pytest.raises(InvalidDocument, match="hash does not match"):
        parse_document(tampered)


def test_document_hash_unchanged() -> None:
    sale = make_sale(extra={"hash": "0" * 64})
    assert document_hash(sale) == old_document_hash(sale)
    assert canonical_json(sale) == old_canonical_json(sale)


# Every code point but the surrogates, control characters and the planes' edges weighted in: the
# escapes (\u001f, \b, \n, \u2028 kept) and the key order (code point order, astral keys last) are
# where a second encoder could differ from json.dumps by a byte, and so by a whole hash.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
edge_text = st.text(st.sampled_from([chr(c) for c in (*range(0x20), 0x22, 0x5C, 0x7F, 0x80, 0xFF, 0x2028,
                                                        0xFEFF, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF)]), max_size=6)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.one_of(st.none(), st.booleans(), any_text, edge_text,
                              st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)),
                    lambda children: st.one_of(st.lists(children, max_size=4),
                                               st.dictionaries(st.one_of(any_text, edge_text), children, max_size=5)),
                    max_leaves=30))
def test_the_fast_encoder_writes_json_dumps_bytes(value: Any) -> None:
    assert contract._encode(value) == json.dumps(value, sort_keys=True, separators=(",", ":"),
                                                 ensure_ascii=False).encode()


def _loose_spots(schema: dict[str, Any], where: str) -> list[str]:
    """Places in a field's JSON Schema where a value pydantic accepts might not be canonical: a number
    that may be a float, or anything at all (Any: no type)."""
    if "$ref" in schema or "enum" in schema or "const" in schema:
        return []
    if "anyOf" in schema or "oneOf" in schema:
        return [spot for i, branch in enumerate(schema.get("anyOf") or schema["oneOf"])
                for spot in _loose_spots(branch, f"{where}|{i}")]
    kind = schema.get("type")
    if kind in ("string", "boolean", "null"):
        return []
    if kind == "integer":
        # Bounded inside JavaScript's safe range, or the encoder's STRICT_INTEGER stands guard.
        return []
    if kind == "array":
        return _loose_spots(schema.get("items", {}), f"{where}[]")
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return _loose_spots(schema["additionalProperties"], f"{where}{{}}")
    return [f"{where}: {schema}"]


def test_only_the_extras_can_hold_what_the_types_do_not_vouch_for() -> None:
    # _extras_surely_canonical walks only the fields a model lets through unnamed (extra="allow"): every
    # named field of every document model (and the models inside them) must be strictly typed, so
    # that whatever pydantic accepts there is canonical. A float or Any field would slip past it.
    assert set(contract._NESTED) >= set(contract.get_args(contract.AnyDocument))
    loose, open_models = [], set()
    for model in contract._NESTED:
        if model.model_config.get("extra") == "allow":
            open_models.add(model.__name__)
        schema = model.model_json_schema()
        for name, field in schema.get("properties", {}).items():
            loose += _loose_spots(field, f"{model.__name__}.{name}")
    assert loose == []
    # The ones _extras_surely_canonical looks inside, as the walk's docstring says.
    assert open_models == {"Sale", "SaleLine", "Payment"}


def test_a_float_in_an_extra_of_a_line_is_still_refused_by_name() -> None:
    sale = make_sale()
    sale["lines"][0]["weight_kg"] = 1.5
    sale["payments"][0]["terminal"] = {"deep": nested(MAX_DEPTH - 3, 1)}
    with pytest.raises(InvalidDocument, match=r"\$\.lines\[0\]\.weight_kg is a float"):
        parse_document(sale)
    del sale["lines"][0]["weight_kg"]
    with pytest.raises(InvalidDocument, match="nested deeper than"):
        parse_document(sale)
