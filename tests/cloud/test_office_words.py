"""The back office in Urdu, checked without a browser: every phrase a page shows through t() has an
Urdu entry with the same {placeholders}, and every Urdu entry is still used somewhere.

Phrases reach t() as literals in the templates and pages (t("Sales")), or as values: the section
names of base.html's menu and the messages of errors (rendered with t(message)). A value counts as
used when it appears as a quoted string in the back office's code or the owner module.
"""
from __future__ import annotations

import re
from pathlib import Path

from cloud_api.office.words import URDU, translate

ROOT = Path(__file__).resolve().parents[2] / "cloud_api"
OFFICE = ROOT / "office"
SOURCES = sorted(OFFICE.glob("templates/*.html")) + sorted(p for p in OFFICE.glob("*.py")
                                                              if not p.name.startswith("words"))
LITERAL = r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
T_CALL = re.compile(r"\bt\(\s*" + LITERAL)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def literal_phrases() -> dict[str, str]:
    """English phrase -> where it is first used (file:line)."""
    found: dict[str, str] = {}
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for match in T_CALL.finditer(text):
            phrase = match.group(1)[1:-1].replace("\\'", "'").replace('\\"', '"')
            found.setdefault(phrase, f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}")
    return found


def test_every_phrase_on_a_page_has_urdu():
    missing = {phrase: where for phrase, where in literal_phrases().items() if phrase not in URDU}
    assert missing == {}


def test_urdu_keeps_the_placeholders_and_is_really_urdu():
    for english, urdu in URDU.items():
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(urdu)), english
        assert re.search(r"[\u0600-\u06FF]", urdu), f"{english!r} has no Urdu letters: {urdu!r}"


def test_no_urdu_entry_is_unused():
    code = "\n".join(path.read_text(encoding="utf-8") for path in SOURCES + [ROOT / "owners.py"])
    unused = sorted(english for english in URDU if f'"{english}"' not in code and f"'{english}'" not in code)
    assert unused == []


def test_translate_fills_in_values_in_either_language():
    assert translate("Sales", "en") == "Sales"
    assert translate("Sales", "ur") == URDU["Sales"]
