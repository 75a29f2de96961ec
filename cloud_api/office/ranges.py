"""What the Today, Sales and Reports pages share: a shop's business day, dates and ranges from the
query string (a bad one is a 400 page that says why), and each box's and tablet's sync state in a line
(how long ago is formats.heard)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

from ..service.clock import shop_today
from ..service.errors import BadRequest
from .formats import heard
from .formats import utc as _utc

FIRST_YEAR, LAST_YEAR = 2000, 2999
MAX_DAYS = 366   # a year and a leap day: longer ranges are refused rather than left to time out
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def t(phrase: str) -> str:
    """Marks an English phrase that a page shows (its template translates it; words_today.py has the Urdu)."""
    return phrase


# The names the tills use for tenders, as the pages say them.
# on_account is credit written to a customer's khata (issue 10): how a sale was paid, not money taken.
TENDERS = {"cash": t("Cash"), "card": t("Card"), "wallet": t("Wallet"), "on_account": t("On account")}


def parse_day(value: str) -> date:
    """A YYYY-MM-DD date from a form, or a 400 saying how to write one."""
    if not _DAY.match(value.strip()):
        raise BadRequest(t("write dates as YYYY-MM-DD, for example 2026-11-27"))
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as err:
        raise BadRequest(t("that date does not exist")) from err
    if not FIRST_YEAR <= day.year <= LAST_YEAR:   # and a range's arithmetic never leaves date's years 1-9999
        raise BadRequest(t("choose a date between the years 2000 and 2999"))
    return day


def chosen_day(query: Mapping[str, str], tz: str) -> date:
    """?date= if given, else today in the shop's time zone."""
    value = query.get("date", "").strip()
    return parse_day(value) if value else shop_today(tz)


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def query(self) -> str:
        return f"from={self.first.isoformat()}&to={self.last.isoformat()}"


def chosen_range(query: Mapping[str, str], tz: str, default_days: int = 1) -> DateRange:
    """?from=&to= (both included); without to, up to today; without from, the `default_days` up to to."""
    first_text, last_text = query.get("from", "").strip(), query.get("to", "").strip()
    last = parse_day(last_text) if last_text else shop_today(tz)
    try:
        first = parse_day(first_text) if first_text else last - timedelta(days=default_days - 1)
    except (OverflowError, ValueError) as err:   # parse_day's bounds keep this far away; never a 500 though
        raise BadRequest(t("that date does not exist")) from err
    if last < first:
        raise BadRequest(t("the end of the range is before its start"))
    chosen = DateRange(first, last)
    if chosen.days > MAX_DAYS:
        raise BadRequest(t("a report covers at most 366 days: choose a shorter range"))
    return chosen


def sync_glance(health: dict[str, Any]) -> list[dict[str, Any]]:
    """Each box and tablet of a shop (reports.sync_health) in a line: name, when heard, and its state.

    Revoked ones are left out (the Devices page lists them); a tablet was heard when it last sent a
    document or, if later, when its box last said it saw it.
    """
    rows = []
    now = datetime.now(timezone.utc)
    for box in health["gateways"]:
        if box.get("revoked_at"):
            continue
        backlog, parked = box["backlog"], box["parked"] or 0
        notes: list[tuple[str, int]] = []
        if backlog is None:
            state, bad = (t("No heartbeat yet"), 0), True
        elif backlog == 0:
            state, bad = (t("Up to date"), 0), False
        else:
            state, bad = (t("{n} waiting"), backlog), False
            oldest = _utc(box["oldest_unsynced_at"])
            if oldest is not None:
                notes.append((t("the oldest has waited {n} min"), max(0, int((now - oldest).total_seconds()) // 60)))
        if parked:
            notes.append((t("{n} held back: see Devices"), parked))
            bad = True
        last = heard(box["last_heard_at"], now)
        rows.append({"what": t("Box"), "name": box["name"], "heard": last, "state": state,
                     "bad": bad or last["quiet"], "notes": notes, "gaps": []})
    for device in health["devices"]:
        if device.get("revoked_at"):
            continue
        notes = []
        gaps = device["gaps"]
        skew = device["clock_skew_ms"]
        if device["clock_warning"] and skew is not None:
            minutes = abs(int(skew)) // 60000
            notes.append((t("clock is off by {n} min"), minutes) if minutes else (t("clock is off"), 0))
        state = (t("{n} receipt numbers missing"), len(gaps)) if gaps else (t("Up to date"), 0)
        times = [when for when in (device["last_heard_at"], device.get("seen_by_box_at")) if _utc(when)]
        latest = max(times, key=lambda when: _utc(when)) if times else None
        name = device["device_code"] + (f" · {device['name']}" if device.get("name") else "")
        rows.append({"what": t("Tablet"), "name": name,
                     "heard": heard(latest, now), "state": state, "bad": bool(gaps or notes), "notes": notes,
                     "gaps": gaps})
    return rows
