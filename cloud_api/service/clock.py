"""Timestamps as every tier writes them: ISO 8601, UTC, millisecond precision."""
from datetime import datetime, timedelta, timezone


def utc_now() -> str:
    """Now, as an ISO 8601 UTC string that sorts correctly as text."""
    return utc_after(0)


def utc_after(seconds: float) -> str:
    """That many seconds from now, in the same form as utc_now()."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
