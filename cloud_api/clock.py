"""Timestamps as every tier writes them: ISO 8601, UTC, millisecond precision."""
from datetime import datetime, timezone


def utc_now() -> str:
    """Now, as an ISO 8601 UTC string that sorts correctly as text."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
