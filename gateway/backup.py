"""Backups of the box: its database and its CA, safe to take while the gateway serves.

A backup is one tar file (mode 0600: it holds the cloud API key and the CA key):

    gateway.db    SQLite's online backup of the live database, integrity-checked
    tls/ca.key    the box's CA: a restored box keeps its tablets' trust, so no
    tls/ca.crt    tablet has to install a certificate again

The server certificate is not carried: the restored box issues a fresh one for
its own addresses from the same CA on its first start.

The box also backs itself up every night (app.py schedules nightly_backup at
`backup_at`) to `<backup_dir>/box-<Mon..Sun>.tar.gz`: each night overwrites the
file of the same weekday, so the last seven nights are kept and nothing is deleted.

Restoring refuses a state directory that already holds a gateway, and accepts
a bare database file from versions before the CA existed (the box then makes a
new CA, and tablets must visit /setup again).
"""
from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import tarfile
import tempfile
from contextlib import closing
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cloud_api.service.clock import utc_now
from cloud_api.service.errors import ServiceError

from .certificates import tls_dir
from .settings import GatewaySettings
from .store import DB_NAME

log = logging.getLogger(__name__)

CARRIED_TLS = ("ca.key", "ca.crt")
SQLITE_MAGIC = b"SQLite format 3\x00"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")   # not %a: that follows the locale


def backup_box(state_dir: Path, target: Path) -> int:
    """Write the box's backup to `target` (temp file + rename, never half a backup); return its size."""
    source = state_dir / DB_NAME
    if not source.exists():
        raise ServiceError(f"{state_dir} holds no gateway database")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        copy_path = Path(scratch) / DB_NAME
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(copy_path)) as copy:
            live.execute("PRAGMA busy_timeout=10000")
            live.backup(copy)
            if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise ServiceError("the backup failed its integrity check; the live database was not touched")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            with tarfile.open(fileobj=out, mode="w:gz") as archive:
                archive.add(copy_path, arcname=DB_NAME)
                for name in CARRIED_TLS:
                    if (tls_dir(state_dir) / name).exists():
                        archive.add(tls_dir(state_dir) / name, arcname=f"tls/{name}")
            out.flush()
            os.fsync(out.fileno())
    os.chmod(temp, 0o600)
    os.replace(temp, target)
    with closing(sqlite3.connect(source)) as live, live:   # the owner's page shows the last backup
        live.execute("PRAGMA busy_timeout=10000")
        live.executemany("INSERT INTO box (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         [("last_backup_at", utc_now()), ("last_backup_path", str(target.resolve()))])
    return target.stat().st_size


def nightly_target(settings: GatewaySettings, now: datetime | None = None) -> Path:
    """Where the nightly backup goes: <backup_dir>/box-<weekday>.tar.gz, the weekday in the shop's zone."""
    now = now or datetime.now(ZoneInfo(settings.timezone))
    folder = settings.backup_dir or settings.state_dir / "backups"
    return folder / f"box-{WEEKDAYS[now.weekday()]}.tar.gz"


async def nightly_backup(settings: GatewaySettings, now: datetime | None = None) -> Path | None:
    """The scheduled backup, in a thread (the box keeps serving); its file, or None after logging why not.

    A failed night must not stop the box: the tills' sales do not depend on it, and the next
    night tries again. The owner's page shows when the last backup succeeded.
    """
    target = nightly_target(settings, now)
    try:
        size = await asyncio.to_thread(backup_box, settings.state_dir, target)
    except (ServiceError, OSError, sqlite3.Error, tarfile.TarError) as err:
        log.error("nightly backup to %s failed: %s", target, err)
        return None
    log.info("nightly backup written to %s (%d bytes)", target, size)
    return target


def restore_box(source: Path, state_dir: Path) -> list[str]:
    """Put a backup into an empty state directory; return what was restored."""
    if (state_dir / DB_NAME).exists():
        raise ServiceError(f"{state_dir} already holds a gateway; stop it and move that directory away first")
    try:
        head = source.read_bytes()[:len(SQLITE_MAGIC)]
    except OSError as err:
        raise ServiceError(f"cannot read {source}: {err}") from err
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    if head == SQLITE_MAGIC:   # a backup from before the box had its own CA
        _write_private(state_dir / DB_NAME, source.read_bytes())
        restored = [DB_NAME]
    else:
        restored = _extract(source, state_dir)
    with closing(sqlite3.connect(state_dir / DB_NAME)) as db:
        if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise ServiceError(f"{source} holds a damaged database; nothing was started")
    (state_dir / "provisioned").write_text("restored\n")   # first-boot provisioning must not run again
    return restored


def _extract(source: Path, state_dir: Path) -> list[str]:
    """Only the members a backup has, by name: nothing else from the file reaches the disk."""
    wanted = {DB_NAME: state_dir / DB_NAME, **{f"tls/{n}": tls_dir(state_dir) / n for n in CARRIED_TLS}}
    restored = []
    try:
        with tarfile.open(source, mode="r:*") as archive:
            for member in archive.getmembers():
                if member.name not in wanted or not member.isfile():
                    continue
                data = archive.extractfile(member)
                assert data is not None
                _write_private(wanted[member.name], data.read())
                restored.append(member.name)
    except (tarfile.TarError, OSError, EOFError) as err:
        # tarfile lists every compression it tried, one per line: the CLI rule is one line.
        raise ServiceError(f"{source} is not a POS Line box backup (not a readable archive)") from err
    if DB_NAME not in restored:
        raise ServiceError(f"{source} is not a POS Line box backup: it holds no {DB_NAME}")
    return sorted(restored)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(path, 0o600 if not path.name.endswith(".crt") else 0o644)

