"""How the back office writes figures and times, in one place: money, quantities, how long ago, the
shop's local time, and a CSV cell a spreadsheet will not run as a formula.

- `rupees(paisa)` for a page (Rs 1,234.50) and `rupees_csv(paisa)` for a CSV (1234.50).
- `quantity(qty, unit)` for a page (1,200 or 1,234.500 kg) and `quantity(qty, unit, for_csv=True)`
  for a CSV and the report tables (1200, 1234.500: the unit is in a column of its own).
- `duration(seconds, t)` (40 s, 12 min, 3 h, 2 days; the Devices page) and `heard(when)` (just now,
  12 min ago, with whether that is too long; the Today page's sync glance).
- `csv_safe(cell)` guards text that starts like a formula (= + - @ tab CR) with an apostrophe.

Only the standard library here, so any module (cloud_api/product_import.py too) may import it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

QUIET_AFTER = timedelta(minutes=15)   # a box beats every minute or so; a quarter hour of silence is news
# What a spreadsheet (Excel, LibreOffice, Google Sheets) reads as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def t(phrase: str) -> str:
    """Marks an English phrase a page shows (its template translates it; words_*.py have the Urdu)."""
    return phrase


def rupees(paisa: int | None) -> str:
    """Rs 1,234.50 (integer paisa in, text out; negative with a minus sign)."""
    if paisa is None:
        return ""
    sign = "-" if paisa < 0 else ""
    whole, cents = divmod(abs(int(paisa)), 100)
    return f"{sign}Rs {whole:,}.{cents:02d}"


def rupees_csv(paisa: int) -> str:
    """Rupees with two decimals, no separators: 1234.50, -12.05."""
    sign = "-" if paisa < 0 else ""
    whole, cents = divmod(abs(int(paisa)), 100)
    return f"{sign}{whole}.{cents:02d}"


def quantity(qty: int, unit: str, for_csv: bool = False) -> str:
    """A quantity in its product's unit (loose goods are kept in grams / millilitres).

    On a page: 1,200 pieces as 1,200, 1234500 g as 1,234.500 kg. For a CSV (for_csv): no thousands
    separators and no unit, 1200 and 1234.500.
    """
    qty = int(qty)
    if unit == "each":
        return str(qty) if for_csv else f"{qty:,}"
    sign = "-" if qty < 0 else ""
    whole, milli = divmod(abs(qty), 1000)
    return f"{sign}{whole}.{milli:03d}" if for_csv else f"{sign}{whole:,}.{milli:03d} {unit}"


def csv_safe(cell: str) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets an apostrophe first."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def utc(when: str | None) -> datetime | None:
    """An ISO 8601 time (UTC when it names no offset), or None for none or nonsense."""
    if not when:
        return None
    try:
        then = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return None
    return then if then.tzinfo else then.replace(tzinfo=timezone.utc)


def seconds_since(when: str | None, now: datetime | None = None) -> float | None:
    """Seconds from `when` (ISO) to now, or None when there is no readable time."""
    then = utc(when)
    if then is None:
        return None
    return ((now or datetime.now(timezone.utc)) - then).total_seconds()


def duration(seconds: float, t: Callable[..., str]) -> str:
    """A length of time in words (t translates): 40 s, 12 min, 3 h, 2 days."""
    s = max(0, int(seconds))
    if s < 60:
        return t("{n} s", n=s)
    if s < 3600:
        return t("{n} min", n=s // 60)
    if s < 86400:
        return t("{n} h", n=s // 3600)
    return t("{n} days", n=s // 86400)


def heard(when: str | None, now: datetime | None = None) -> dict[str, Any]:
    """How long ago `when` (ISO UTC) was, as a phrase and its number, and whether that is too long."""
    then = utc(when)
    if then is None:
        return {"phrase": t("never"), "n": 0, "quiet": True}
    now = now or datetime.now(timezone.utc)
    seconds = max(0, int((now - then).total_seconds()))
    quiet = now - then > QUIET_AFTER
    if seconds < 60:
        return {"phrase": t("just now"), "n": 0, "quiet": quiet}
    if seconds < 3600:
        return {"phrase": t("{n} min ago"), "n": seconds // 60, "quiet": quiet}
    if seconds < 86400 * 2:
        return {"phrase": t("{n} h ago"), "n": seconds // 3600, "quiet": quiet}
    return {"phrase": t("{n} days ago"), "n": seconds // 86400, "quiet": quiet}


def local_time(moment: str, tz: str) -> str:
    """2026-11-28 19:05 in the shop's time zone, from a stored UTC time (unreadable text as it came)."""
    at = utc(moment)
    if at is None:
        return moment   # a box's clock text we cannot read: shown as it came
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
