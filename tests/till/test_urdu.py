"""The till in Urdu (issue 7, item 9), checked without a browser: every phrase the till shows
through t() has an Urdu entry in web_till/i18n.js, with the same placeholders as its English key.
This is what keeps a phrase added later from showing in English on an Urdu till."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

TILL = Path(__file__).resolve().parents[2] / "web_till"
SOURCES = sorted(p for p in TILL.glob("*.js") if p.name not in ("i18n.js", "sw.js"))

# A JS string literal: "...", '...' or `...` (a template is a phrase only without ${...}).
LITERAL = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)"""
T_CALL = re.compile(r"\bt\(\s*(" + LITERAL + r"(?:\s*\+\s*" + LITERAL + r")*)")
PART = re.compile(LITERAL)
PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Words that reach t() through a name rather than a literal: the link states, tender and wallet
# names, sync states, units, box-full and offline-wallet warnings, the split problems, sayWhy's
# reasons. Each is (file, a block of code, the phrases in that block).
VALUE = r":\s*(" + LITERAL + ")"
JOINED = r"(" + LITERAL + r"(?:\s*\+\s*" + LITERAL + r")*)"
INDIRECT = [
    ("views.js", r"const LINK_TEXT = \{.*?\};", VALUE),
    ("views.js", r"export const BOX_FULL_WARNING = .*?;\n", JOINED),
    ("payment.js", r"export const OFFLINE_WALLET = .*?;", JOINED),
    ("tenders.js", r"export const WALLETS = \{.*?\};", VALUE),
    ("tenders.js", r"problem: " + LITERAL, JOINED),
    ("tenders.js", r"export function tenderName.*?\n\}", r"[|?:] (" + LITERAL + ")"),
    ("api.js", r"export function sayWhy.*?\n\}", r"return " + JOINED),
    ("sync.js", r"const REMOVED_NOTICE = .*?;\n", JOINED),
    ("sync.js", r"const DISABLED_NOTICE = .*?;\n", JOINED),
    ("sales.js", r"const SYNC_WORDS = \{.*?\};", VALUE),
    ("receipt.js", r"const TENDER_WORDS = \{.*?\};", VALUE),
    ("loose.js", r"const UNIT_WORDS = \{.*?\};", JOINED),
    ("returns.js", r"const TENDERS = \[.*?\];", r", (" + LITERAL + r")\]"),
    ("returns.js", r"const NOT_A_SALE = \{.*?\};", VALUE),
]


def unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|.)",
                  lambda m: chr(int(m.group(1)[1:].strip("{}"), 16)) if m.group(1).startswith("u") and
                  len(m.group(1)) > 1 else {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def phrases() -> dict[str, list[str]]:
    """English phrase -> where it is used ("file:line"), from every t("...") literal."""
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for match in T_CALL.finditer(text):
            parts = PART.findall(match.group(1))
            if any(p.startswith("`") and "${" in p for p in parts):
                continue   # reported by test_no_phrase_is_built_from_pieces
            phrase = "".join(unquote(p) for p in parts)
            line = text.count("\n", 0, match.start()) + 1
            found.setdefault(phrase, []).append(f"{path.name}:{line}")
    return found


def indirect_phrases() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, block_pattern, phrase_pattern in INDIRECT:
        text = (TILL / name).read_text(encoding="utf-8")
        blocks = re.findall(block_pattern, text, re.S)
        assert blocks, f"{name}: {block_pattern} no longer matches; update INDIRECT in this test"
        for block in blocks:
            for joined in re.findall(phrase_pattern, block, re.S):
                phrase = "".join(unquote(p) for p in PART.findall(joined))
                found.setdefault(phrase, []).append(name)
    return found


@pytest.fixture(scope="module")
def urdu() -> dict[str, str]:
    """URDU from i18n.js, read by node (the module is plain ES; no browser needed)."""
    script = ("import(process.argv[1]).then((m) => process.stdout.write(JSON.stringify(m.URDU)))")
    out = subprocess.run(["node", "--input-type=module", "-e", script, (TILL / "i18n.js").as_uri()],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_the_parser_finds_the_tills_phrases() -> None:
    # Guards the guard: a broken regex would find nothing and every test below would pass.
    found = phrases()
    assert len(found) > 150
    for phrase in ("Pay", "Complete sale", "Total {amount}", "Sign in", "Sales", "Close shift"):
        assert phrase in found, phrase
    # Concatenated literals are one phrase.
    assert any(p.startswith("Ask the owner for a pairing code. The owner makes one") for p in found)


def test_every_phrase_has_urdu(urdu: dict[str, str]) -> None:
    missing = {p: where for p, where in {**indirect_phrases(), **phrases()}.items() if not urdu.get(p)}
    assert not missing, "no Urdu for:\n" + "\n".join(f"  {p!r}  ({', '.join(w)})" for p, w in missing.items())


def test_urdu_keeps_each_phrases_placeholders(urdu: dict[str, str]) -> None:
    # "{amount}" renamed or dropped in Urdu would print a blank where the money goes.
    wrong = {k: v for k, v in urdu.items() if sorted(PLACEHOLDER.findall(k)) != sorted(PLACEHOLDER.findall(v))}
    assert not wrong, "placeholders differ:\n" + "\n".join(f"  {k!r} -> {v!r}" for k, v in wrong.items())


def test_urdu_is_urdu(urdu: dict[str, str]) -> None:
    # An entry left equal to its key, or with no Urdu letter at all, is an untranslated phrase.
    arabic = re.compile(r"[\u0600-\u06ff]")
    wrong = [k for k, v in urdu.items() if v == k or not arabic.search(v)]
    assert not wrong, f"not translated: {wrong}"


def test_no_unused_urdu(urdu: dict[str, str]) -> None:
    # Every entry weighs in the till's 60 KB budget: one no phrase uses is dead weight (or a key
    # that drifted from the code's English, so the Urdu never shows).
    used = {**phrases(), **indirect_phrases()}
    extra = sorted(set(urdu) - set(used))
    assert not extra, f"Urdu entries no code uses (the English key changed?): {extra}"


def test_no_phrase_is_built_from_pieces() -> None:
    # t(`... ${x} ...`) makes a key no dictionary can hold; pass {placeholders} instead.
    bad = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\bt\(\s*`(?:[^`\\]|\\.)*\$\{", text):
            bad.append(f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}")
    assert not bad, f"t() with an interpolated template: {bad}"


def test_notices_are_phrases() -> None:
    # A notice set as a bare English string skips the dictionary check above: wrap it in t().
    bad = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\bnotice: (?:\"|'|`)(?!\")", text):
            bad.append(f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}")
    assert not bad, f"notice not wrapped in t(): {bad}"


def run_node(body: str) -> object:
    """Run an ES module snippet against web_till (pure modules only) and return its JSON result."""
    script = ("const till = process.argv[1];\n" + body)
    out = subprocess.run(["node", "--input-type=module", "-e", script, TILL.as_uri() + "/"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_urdu_and_arabic_digits_are_read_as_numbers() -> None:
    # A cashier on an Urdu keyboard types ۵۰۰ for Rs 500: the same paisa as 500, never "not an amount".
    got = run_node("""
      const money = await import(till + "money.js");
      const loose = await import(till + "loose.js");
      process.stdout.write(JSON.stringify({
        digits: money.westernDigits("۰۱۲۳۴۵۶۷۸۹ ٠١٢٣٤٥٦٧٨٩"),
        urdu: money.parseRupees("۲٬۵۰۰٫۵۰"), arabic: money.parseRupees("٢٥٠٠"), latin: money.parseRupees("2,500.50"),
        suffix: money.parseRupees("۵۰ روپے"), mixed: money.parseRupees("Rs ۱,۰۰۰"), junk: money.parseRupees("۵x"),
        percent: money.parsePercent("۱۰٪"), percent2: money.parsePercent("۱۲٫۵ %"),
        grams: loose.parseLoose("۲۵۰ گرام", "kg"), kilos: loose.parseLoose("۱٫۵ کلو", "kg"),
        rupees: loose.parseLoose("۵۰ روپے", "kg"), ml: loose.parseLoose("۵۰۰ ملی لیٹر", "l"),
        wrongUnit: loose.parseLoose("۲ کلو", "l"),
      }));""")
    assert got == {
        "digits": "0123456789 0123456789",
        "urdu": 250050, "arabic": 250000, "latin": 250050, "suffix": 5000, "mixed": 100000, "junk": None,
        "percent": 1000, "percent2": 1250,
        "grams": {"qty": 250}, "kilos": {"qty": 1500}, "rupees": {"amount": 5000}, "ml": {"qty": 500},
        "wrongUnit": None,
    }


def test_every_numeric_reader_goes_through_western_digits() -> None:
    # PINs, pairing codes, typed quantities, amounts: each reader normalises before it parses.
    app = (TILL / "app.js").read_text(encoding="utf-8")
    assert "code = westernDigits(code)" in app and "pin = westernDigits(pin)" in app
    # Quantities (the cart's, a return's) through quantity.js, never a number field, which drops Urdu digits.
    assert "westernDigits(input.value)" in (TILL / "quantity.js").read_text(encoding="utf-8")
    for name in ("selling.js", "returns.js"):
        text = (TILL / name).read_text(encoding="utf-8")
        assert "readQuantity(" in text and 'type: "number"' not in text and "Number(spin" not in text, name
    for name in ("payment.js", "shift.js"):
        text = (TILL / name).read_text(encoding="utf-8")
        # Amounts there are read only through parseRupees (which normalises), never Number(field).
        assert "parseRupees(" in text and not re.search(r"Number\((received|amount|counted|card|wallet)\b", text)


def test_the_dictionary_keeps_the_till_within_its_size_budget() -> None:
    # Issue 7: JS + CSS of the whole till <= 60 KB compressed, the Urdu dictionary included: what a tablet
    # downloads, i.e. each file as the box serves it (gateway/shell.py: minified by esbuild, brotli as
    # Chromium accepts it, the service worker with its precache list), counted by the same function
    # as `make bench`. The source's comments are for people and never sent.
    from gateway.shell import served_size
    size = served_size(TILL)
    # The whole till is counted, khata included: the page's one bundle (esbuild), or every module.
    if "khata.js" not in size.names:
        from gateway.shell import served_files
        assert size.names == ("app.js", "day.css", "print.css", "style.css", "sw.js")
        assert "this tablet may put at most {allowance} on one customer" in served_files(TILL)[0]["app.js"].body.decode()
    else:
        assert len(size.names) > 30
    assert size.sent < size.gzipped < size.minified   # brotli sent, not a figure the tablet never receives
    assert size.sent <= 60 * 1024, (
        f"{size.sent:,} B sent (brotli, file by file; gzip -9 would be {size.gzipped:,} B), "
        f"JavaScript minified by {size.minifier}" + ("" if size.minifier == "esbuild" else ": is esbuild installed?"))
