"""The back office's one set of formats (cloud_api/office/formats.py): money, quantities, how long
ago, local time, and CSV cells a spreadsheet cannot run as formulas."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cloud_api.office import formats
from cloud_api.office.formats import csv_safe, duration, heard, local_time, quantity, rupees, rupees_csv
from cloud_api.office.reports import Column, cell


def test_money_reads_the_same_on_pages_and_in_csv():
    assert rupees(123450) == "Rs 1,234.50" and rupees(-1205) == "-Rs 12.05" and rupees(None) == ""
    assert rupees_csv(123450) == "1234.50" and rupees_csv(-1205) == "-12.05" and rupees_csv(0) == "0.00"
    from cloud_api.office import web
    assert web.rupees is formats.rupees   # the templates' rupees is this one


def test_quantities_on_a_page_and_in_a_csv():
    assert quantity(1234500, "kg") == "1,234.500 kg" and quantity(1200, "each") == "1,200"
    assert quantity(1234500, "kg", for_csv=True) == "1234.500" and quantity(1200, "each", for_csv=True) == "1200"
    assert quantity(-200, "l", for_csv=True) == "-0.200" and quantity(-200, "l") == "-0.200 l"


def test_a_cell_that_starts_like_a_formula_is_text():
    for risky in ("=HYPERLINK(\"x\")", "+92300", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1"):
        assert csv_safe(risky) == "'" + risky
    for plain in ("Tapal 190g", "", "'quoted", "1-2"):
        assert csv_safe(plain) == plain
    name = Column("name", "Item")
    assert cell(name, {"name": "\t=cmd|' /C calc'!A0"}, csv_text=True) == "'\t=cmd|' /C calc'!A0"
    assert cell(name, {"name": "\t=cmd"}, csv_text=False) == "\t=cmd"   # the page shows it as typed
    assert cell(Column("qty", "Quantity", "qty"), {"qty": 1250, "unit": "kg"}, csv_text=False) == "1.250"


def test_how_long_ago():
    t = lambda phrase, **values: phrase.format(**values)  # noqa: E731
    assert [duration(s, t) for s in (40, 720, 3 * 3600, 2 * 86400, -5)] == ["40 s", "12 min", "3 h", "2 days", "0 s"]
    now = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    assert heard((now - timedelta(minutes=2)).isoformat(), now) == {"phrase": "{n} min ago", "n": 2, "quiet": False}
    assert heard("2026-11-28T11:00:00Z", now) == {"phrase": "{n} h ago", "n": 1, "quiet": True}
    assert heard(None, now)["phrase"] == heard("nonsense", now)["phrase"] == "never"
    assert formats.seconds_since("2026-11-28T11:59:00", now) == 60.0
    assert local_time("2026-11-28T14:05:00Z", "Asia/Karachi") == "2026-11-28 19:05"
    assert local_time("not a time", "Asia/Karachi") == "not a time"
