"""Provisioning: flags or the installer's TOML on first boot, once, with the token scrubbed after."""
from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys

import pytest

from cloud_api.service.errors import ServiceError
from gateway.provisioning import read_provision_file, scrub_provision_file


def gateway_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60)


def write_toml(path, cloud_url: str, token: str, shop: str = "Madina") -> None:
    path.write_text(f'# from the installer\ncloud_url = "{cloud_url}"\nenrol_token = "{token}"\n'
                    f'shop_name = "{shop}"\nhostname = "posline-madina"\n')


@pytest.mark.parametrize("text,problem", [
    ("cloud_url = 'https://c'\n", "needs enrol_token"),
    ("cloud_url = 'ftp://c'\nenrol_token = 't'\n", "https://"),
    ("cloud_url = 'https://c'\nenrol_token = 't'\nhostname = 'Bad Name'\n", "hostname"),
    ("this is not toml", "not valid TOML"),
])
def test_a_bad_file_says_what_is_wrong(tmp_path, text, problem):
    path = tmp_path / "posline.toml"
    path.write_text(text)
    with pytest.raises(ServiceError, match=problem):
        read_provision_file(path)


def test_scrubbing_removes_only_the_token_and_locks_the_file(tmp_path):
    path = tmp_path / "posline.toml"
    write_toml(path, "https://cloud.example", "s3cret")
    scrub_provision_file(path)
    text = path.read_text()
    assert "s3cret" not in text and 'hostname = "posline-madina"' in text and "was used on" in text
    assert path.stat().st_mode & 0o077 == 0


async def test_first_boot_provisions_once_from_the_file(tmp_path, cloud):
    server, shop = cloud
    path = tmp_path / "posline.toml"
    write_toml(path, str(server.make_url("")).rstrip("/"), shop.enrol_token)
    state = tmp_path / "state"
    as_root = ["--owner", "nobody"] if os.geteuid() == 0 else []
    # The CLI is a blocking subprocess; the in-process cloud must keep serving meanwhile.
    import asyncio
    done = await asyncio.to_thread(gateway_cli, "provision", "--state-dir", str(state), "--config", str(path),
                                   "--scrub-config", *as_root)
    assert done.returncode == 0, done.stderr
    if as_root:   # the hand-over to the service's user (chown) needs root, as on the box
        assert {p.stat().st_uid for p in [state, *state.iterdir()]} == {pwd.getpwnam("nobody").pw_uid}
    assert json.loads(done.stdout)["shop_name"] == "Madina"
    assert (state / "provisioned").exists() and shop.enrol_token not in path.read_text()
    again = await asyncio.to_thread(gateway_cli, "provision", "--state-dir", str(state), "--config", str(path))
    assert again.returncode == 0 and json.loads(again.stdout) == {"already_provisioned": True}
    status = await asyncio.to_thread(gateway_cli, "status", "--state-dir", str(state), "--json")
    assert json.loads(status.stdout)["shop_name"] == "Madina"


async def test_a_token_for_another_shop_stops_provisioning(tmp_path, cloud):
    server, shop = cloud
    path = tmp_path / "posline.toml"
    write_toml(path, str(server.make_url("")).rstrip("/"), shop.enrol_token, shop="Some Other Shop")
    import asyncio
    done = await asyncio.to_thread(gateway_cli, "provision", "--state-dir", str(tmp_path / "s"), "--config", str(path))
    assert done.returncode == 2 and "belongs to shop 'Madina'" in done.stderr
    assert not (tmp_path / "s" / "provisioned").exists()


def test_cli_errors_are_one_line_and_non_zero(tmp_path):
    missing = gateway_cli("provision", "--state-dir", str(tmp_path / "s"))
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0
    assert "--cloud-url" in missing.stderr
    unprovisioned = gateway_cli("pair-code", "--state-dir", str(tmp_path / "nothing"))
    assert unprovisioned.returncode == 2 and "provision" in unprovisioned.stderr
    unreachable = gateway_cli("provision", "--state-dir", str(tmp_path / "s2"), "--cloud-url", "http://127.0.0.1:9",
                              "--enrol-token", "x")
    assert unreachable.returncode == 3 and "cannot reach the cloud" in unreachable.stderr


async def test_backup_copies_the_live_database(provisioned, tmp_path):
    import asyncio
    import sqlite3
    target = tmp_path / "backups" / "gateway-1.db"
    done = await asyncio.to_thread(gateway_cli, "backup", "--state-dir", str(provisioned.state_dir), "--to",
                                   str(target))
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(target) as copy:
        names = dict(copy.execute("SELECT key, value FROM box"))
    assert names["shop_name"] == "Madina" and target.stat().st_mode & 0o077 == 0
    missing = await asyncio.to_thread(gateway_cli, "backup", "--state-dir", str(tmp_path / "none"), "--to",
                                      str(target))
    assert missing.returncode == 2 and "no gateway database" in missing.stderr
