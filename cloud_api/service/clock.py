"""Timestamps as every tier writes them: ISO 8601, UTC, millisecond precision; and a shop's day."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo


def utc_now() -> str:
    """Now, as an ISO 8601 UTC string that sorts correctly as text."""
    return utc_after(0)


def utc_after(seconds: float) -> str:
    """That many seconds from now, in the same form as utc_now()."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shop_today(zone: str, now: datetime | None = None) -> date:
    """Today's date on the shop's clock (`zone`, an IANA name such as Asia/Karachi): its business day
    now (or at `now`, an aware moment). Not the machine's: from 19:00 UTC it is tomorrow in Pakistan."""
    return (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).date()
