"""The till's JavaScript agrees with the Python contract: canonical bytes, hash, tax, schema."""
from __future__ import annotations

import hashlib
import json
import random

import jsonschema
import pytest

from cloud_api.contract import Sale, canonical_json, line_tax

pytestmark = pytest.mark.e2e

TRICKY = {"z": 1, "a": "چائے اور بسکٹ", "m": ["tab\there", "quote\"and\\slash", "\u0001", "emoji 🍵", "\u2028"],
          "nested": {"b": None, "a": True, "c": -0, "d": 9007199254740991}, "": "empty key"}


def test_canonical_json_and_hash_match_python_byte_for_byte(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    got = page.evaluate("""async (value) => {
        const m = await import("/canonical.js");
        const text = m.canonicalJson(value);
        return { text, hash: await m.sha256Hex(text) };
    }""", TRICKY)
    expected = canonical_json(TRICKY)
    assert got["text"].encode() == expected
    assert got["hash"] == hashlib.sha256(expected).hexdigest()


def test_line_tax_matches_python_on_many_amounts(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    rng = random.Random(1)
    cases = [(rng.randrange(0, 10**9), rng.choice([0, 500, 1600, 1700, 1800, 2500])) for _ in range(2000)]
    cases += [(118, 1800), (5, 10000), (-110000, 1800)]
    got = page.evaluate("""async (cases) => {
        const { lineTax } = await import("/tax.js");
        return cases.map(([amount, bp]) => lineTax(amount, bp));
    }""", cases)
    assert got == [line_tax(amount, bp) for amount, bp in cases]


def test_money_is_shown_in_rupees(rig, tablets):
    page = tablets().page
    page.goto(rig.till_url)
    got = page.evaluate("""async () => {
        const m = await import("/money.js");
        return [m.formatRs(123400), m.formatRs(55050), m.formatRs(0), m.parseRupees("2,000"), m.parseRupees("19.5"),
                m.parseRupees("abc"), m.parseRupees("1.234")];
    }""")
    assert got == ["Rs 1,234", "Rs 550.50", "Rs 0", 200000, 1950, None, None]


def test_what_the_till_sends_fits_the_contract_schema(rig, tablets):
    tablet = tablets().open_and_pair()
    tablet.sell(["Nestle Nido 390g", "Lay's French Cheese 50g"], tender="Card")
    tablet.wait_status(r"^Online · 0 unsynced$")
    [row] = tablet.journal()
    sent = tablet.page.evaluate("""async (doc) => (await import("/canonical.js")).withHash(doc)""", row["document"])
    jsonschema.validate(sent, Sale.model_json_schema())
    Sale.model_validate(sent)
    assert sent["payments"] == [{"tender": "card", "amount": sent["total"]}] and sent["change"] == 0
    [stored] = rig.cloud_documents()
    assert stored["hash"] == sent["hash"]
    assert json.loads(canonical_json({k: v for k, v in stored.items()
                                      if k not in ("receipt_number", "received_at", "ingested_at", "business_date")})) == sent
