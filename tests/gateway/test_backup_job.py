"""The nightly backup (gateway/backup.py nightly_backup, scheduled in gateway/app.py)."""
from __future__ import annotations

import logging
import sqlite3
import tarfile
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.app import create_app
from gateway.backup import WEEKDAYS, nightly_backup, nightly_target
from gateway.keys import SCHEDULER
from gateway.settings import GatewaySettings
from gateway.store import DB_NAME

KARACHI = ZoneInfo("Asia/Karachi")


def box_values(settings: GatewaySettings) -> dict[str, str]:
    with sqlite3.connect(settings.state_dir / DB_NAME) as db:
        return dict(db.execute("SELECT key, value FROM box").fetchall())


async def test_the_job_writes_this_weekdays_file_and_records_it(provisioned: GatewaySettings) -> None:
    friday = datetime(2026, 11, 27, 3, 15, tzinfo=KARACHI)
    target = await nightly_backup(provisioned, friday)
    assert target == provisioned.state_dir / "backups" / "box-Fri.tar.gz"
    assert target.stat().st_mode & 0o777 == 0o600
    with tarfile.open(target) as archive:
        assert DB_NAME in archive.getnames()
    recorded = box_values(provisioned)
    assert recorded["last_backup_path"] == str(target.resolve()) and recorded["last_backup_at"]

    # A week on, the same file is overwritten; the other days' files are left alone.
    (target.parent / "box-Thu.tar.gz").write_bytes(b"last Thursday")
    before = recorded["last_backup_at"]
    assert await nightly_backup(provisioned, friday + timedelta(days=7)) == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["box-Fri.tar.gz", "box-Thu.tar.gz"]
    assert (target.parent / "box-Thu.tar.gz").read_bytes() == b"last Thursday"
    assert box_values(provisioned)["last_backup_at"] >= before


def test_the_weekday_is_the_shops_and_the_folder_can_be_set(tmp_path: Any) -> None:
    settings = GatewaySettings(state_dir=tmp_path / "box", backup_dir=tmp_path / "elsewhere")
    # 23:30 on a Sunday in London is already Monday in Karachi.
    late_sunday = datetime(2026, 11, 29, 23, 30, tzinfo=ZoneInfo("Europe/London")).astimezone(KARACHI)
    assert nightly_target(settings, late_sunday) == tmp_path / "elsewhere" / "box-Mon.tar.gz"
    assert WEEKDAYS[late_sunday.weekday()] == "Mon"


async def test_a_failed_night_is_logged_and_never_raised(provisioned: GatewaySettings, tmp_path: Any,
                                                        caplog: Any) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    settings = provisioned.model_copy(update={"backup_dir": blocker})
    with caplog.at_level(logging.ERROR, logger="gateway.backup"):
        assert await nightly_backup(settings) is None
    assert "nightly backup to" in caplog.text and "failed" in caplog.text
    assert "last_backup_at" not in box_values(provisioned)


async def test_the_box_schedules_it_at_the_configured_local_time(provisioned: GatewaySettings,
                                                                aiohttp_client: Any) -> None:
    settings = provisioned.model_copy(update={"backup_at": "22:40", "timezone": "Asia/Karachi"})
    client = await aiohttp_client(create_app(settings))
    job = client.app[SCHEDULER].get_job("backup")
    assert job is not None and job.args == (settings,)
    fields = {field.name: str(field) for field in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("22", "40")
    assert str(job.trigger.timezone) == "Asia/Karachi"
    assert job.next_run_time.astimezone(KARACHI).strftime("%H:%M") == "22:40"
