"""The till's document ids (web_till/ids.js): UUID version 7, time first, in the contract's spelling.

Why version 7: the box's and the cloud's journals file documents by id, and random ids made every
sale write to a random page of the id index (a box wrote twice as slowly after 60,000 sales; see the
README's Speed section). The id must still be one the contract accepts and never repeat.
"""
from __future__ import annotations

import re
import uuid

from cloud_api.contract import UUID_PATTERN, parse_document
from tests.conftest import document_id, make_sale

from .test_urdu import run_node


def test_ids_are_version_7_unique_and_in_the_contracts_spelling() -> None:
    ids = run_node("""
      const { newId } = await import(till + "ids.js");
      process.stdout.write(JSON.stringify(Array.from({ length: 20000 }, () => newId())));""")
    assert len(set(ids)) == len(ids) == 20000
    pattern = re.compile(UUID_PATTERN)
    bad = [i for i in ids if not pattern.match(i)]
    assert not bad, bad[:3]
    parsed = [uuid.UUID(i) for i in ids]
    assert {(u.version, u.variant) for u in parsed} == {(7, uuid.RFC_4122)}
    # The random part really is random: every hex digit shows up in every random position.
    for position in [*range(15, 18), *range(20, 36)]:
        if ids[0][position] != "-":
            assert len({i[position] for i in ids}) == 16, position
    parse_document(make_sale(doc_id=ids[0]))   # the box and the cloud accept it as a sale's id


def test_an_id_begins_with_the_milliseconds_it_was_made_at_so_later_ids_sort_later() -> None:
    times = [0, 1, 255, 256, 1_764_410_000_000, 1_764_410_000_001, 1_764_410_060_000, 2**48 - 1]
    got = run_node(f"""
      const {{ newId }} = await import(till + "ids.js");
      process.stdout.write(JSON.stringify({times}.map((ms) => newId(ms))));""")
    assert [int(i.replace("-", "")[:12], 16) for i in got] == times
    assert got == sorted(got)
    # The tests' own documents are made the same way (tests/conftest.py document_id).
    assert [int(document_id(ms).replace("-", "")[:12], 16) for ms in times] == times
    assert uuid.UUID(document_id()).version == 7
