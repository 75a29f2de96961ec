"""The uplink's batch body (gateway/cloud_client.py batch_body, BatchPacker): the journal's own text,
joined and gzipped once, cut to the gzipped byte bound without compressing more than it must."""
from __future__ import annotations

import gzip
import json
import math
import random
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from cloud_api.contract import canonical_json
from gateway import cloud_client
from gateway.cloud_client import BatchPacker, batch_body
from tests.conftest import make_sale


def _bodies(n: int, lines: int = 1, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for seq in range(1, n + 1):
        sale = make_sale(device_id="tab-1", seq=seq)
        sale["lines"] = sale["lines"] * rng.randint(1, lines)
        out.append(canonical_json(sale).decode())
    return out


def _received(bodies: list[str]) -> list[tuple[str, str]]:
    return [(json.loads(body)["id"], f"2026-11-29T10:00:{i % 60:02d}.000000Z") for i, body in enumerate(bodies)]


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made: list[int] = []

    def counted(bodies: Any, received_at: dict[str, str]) -> bytes:
        made.append(len(bodies))
        return batch_body(bodies, received_at)
    monkeypatch.setattr(cloud_client, "batch_body", counted)
    return made


def test_the_body_is_the_journals_text_with_when_each_arrived():
    bodies = _bodies(3)
    received = dict(_received(bodies))
    sent = json.loads(gzip.decompress(batch_body(bodies, received)))
    assert sent == {"documents": [json.loads(body) for body in bodies], "received_at": received}
    assert json.loads(gzip.decompress(batch_body([], {}))) == {"documents": [], "received_at": {}}


def test_a_batch_that_fits_is_compressed_once(monkeypatch: pytest.MonkeyPatch):
    made = _counting(monkeypatch)
    bodies = _bodies(500)
    count, body = BatchPacker(256 * 1024).pack(bodies, _received(bodies))
    assert count == 500 and made == [500]
    assert len(json.loads(gzip.decompress(body))["documents"]) == 500


def test_a_cut_batch_is_full_and_takes_few_compressions_once_the_ratio_is_learned(monkeypatch: pytest.MonkeyPatch):
    bodies = _bodies(500, lines=8, seed=3)
    received = _received(bodies)
    packer = BatchPacker(16 * 1024)
    made = _counting(monkeypatch)
    start, sizes = 0, []
    while start < len(bodies):
        before = len(made)
        count, body = packer.pack(bodies[start:], received[start:])
        assert count >= 1 and len(body) <= packer.limit
        assert json.loads(gzip.decompress(body)) == {"documents": [json.loads(b) for b in bodies[start:start + count]],
                                                     "received_at": dict(received[start:start + count])}
        if start:   # the first batch learns the ratio from a guess
            assert len(made) - before <= 3
        sizes.append(len(body))
        start += count
    assert min(sizes[:-1]) >= 0.8 * packer.limit


def test_a_document_bigger_than_the_limit_goes_alone():
    rng = random.Random(7)
    bodies = []
    for seq in (1, 2, 3):
        sale = make_sale(device_id="tab-1", seq=seq)
        sale["lines"] = [dict(line, name=f"item {rng.random()}") for line in sale["lines"] * 40]
        bodies.append(canonical_json(sale).decode())
    count, body = BatchPacker(512).pack(bodies, _received(bodies))
    assert count == 1 and len(body) > 512
    assert json.loads(gzip.decompress(body))["documents"] == [json.loads(bodies[0])]


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=80),
       share=st.floats(min_value=0.05, max_value=1.5), ratio=st.floats(min_value=0.01, max_value=5))
def test_the_bound_holds_and_nothing_that_fits_is_left_for_no_reason(sizes: list[int], share: float, ratio: float):
    """Whatever the mix of sizes and however wrong the learned ratio: the body is within the limit (or is
    one document alone), and the cut leaves out another document only when the body is already full
    or that document would not have fitted."""
    rng = random.Random(sum(sizes))
    bodies = []
    for seq, lines in enumerate(sizes, 1):
        sale = make_sale(device_id="tab-1", seq=seq)
        sale["lines"] = [dict(line, name=f"item {rng.random()}") for line in sale["lines"] * lines]
        bodies.append(canonical_json(sale).decode())
    received = _received(bodies)
    # The limit a share of what the whole run weighs gzipped: most examples must be cut.
    limit = max(1024, int(share * len(batch_body(bodies, dict(received)))))
    packer = BatchPacker(limit)
    packer.ratio = ratio
    made: list[int] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cloud_client, "batch_body", lambda b, r: made.append(len(b)) or batch_body(b, r))
        count, body = packer.pack(bodies, received)
    assert 1 <= count <= len(bodies)
    # Three guesses, then halving what is left between them: never a crawl, one document at a time.
    assert len(made) <= 3 + math.ceil(math.log2(len(bodies) + 1))
    sent = json.loads(gzip.decompress(body))
    assert sent == {"documents": [json.loads(b) for b in bodies[:count]], "received_at": dict(received[:count])}
    assert len(body) <= limit or count == 1
    if count < len(bodies) and len(body) < 0.8 * limit:
        assert len(batch_body(bodies[:count + 1], dict(received[:count + 1]))) > limit
