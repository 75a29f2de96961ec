"""Backups of the gateway's database: SQLite's online backup, safe while the gateway serves."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from cloud_api.service.errors import ServiceError

from .store import DB_NAME


def backup_database(state_dir: Path, target: Path) -> int:
    """Copy the live database to `target` (temp file + rename, never a half-written backup); return its size."""
    source = state_dir / DB_NAME
    if not source.exists():
        raise ServiceError(f"{state_dir} holds no gateway database")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".partial")
    with sqlite3.connect(source) as live, sqlite3.connect(temp) as copy:
        live.execute("PRAGMA busy_timeout=10000")
        live.backup(copy)
        if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise ServiceError("the backup failed its integrity check; the live database was not touched")
    os.chmod(temp, 0o600)   # it holds the box's cloud API key
    os.replace(temp, target)
    return target.stat().st_size
