"""Provisioning: flags or the installer's TOML on first boot, once, with the token scrubbed after."""
from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys

import pytest

from sqlalchemy import select

from cloud_api import schema
from cloud_api.database import create_engine
from cloud_api.service.errors import ServiceError
from cloud_api.service.tokens import new_token, token_digest
from gateway.errors import CloudRefused
from gateway.provisioning import provision, read_provision_file, scrub_provision_file


def gateway_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60)


def write_toml(path, cloud_url: str, token: str, shop: str = "Madina") -> None:
    path.write_text(f'# from the installer\ncloud_url = "{cloud_url}"\nenrol_token = "{token}"\n'
                    f'shop_name = "{shop}"\nhostname = "posline-madina"\n')


@pytest.mark.parametrize("text,problem", [
    ("cloud_url = 'https://c'\n", "needs enrol_token"),
    ("cloud_url = 'ftp://c'\nenrol_token = 't'\n", "https://"),
    ("cloud_url = 'https://c'\nenrol_token = 't'\nhostname = 'Bad Name'\n", "hostname"),
    ("cloud_url = 'https://c'\nenrol_token = 't'\nshop_name = 42\n", "shop_name must be text"),
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


async def gateways_of(tmp_path, shop) -> list[str]:
    """The names of the shop's gateways, read from the cloud fixture's database."""
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    async with engine.connect() as conn:
        names = (await conn.execute(select(schema.gateways.c.name)
                                    .where(schema.gateways.c.shop_id == shop.shop_id))).scalars().all()
    await engine.dispose()
    return list(names)


async def test_a_wrong_shop_name_stops_provisioning_and_keeps_the_token(tmp_path, cloud):
    server, shop = cloud
    path = tmp_path / "posline.toml"
    write_toml(path, str(server.make_url("")).rstrip("/"), shop.enrol_token, shop="Some Other Shop")
    state = tmp_path / "s"
    import asyncio
    done = await asyncio.to_thread(gateway_cli, "provision", "--state-dir", str(state), "--config", str(path),
                                   "--scrub-config")
    # Exit 2 (the unit's RestartPreventExitStatus): retrying cannot fix a wrong name.
    assert done.returncode == 2, done.stderr
    # One line says why (log lines of the HTTP call may come before it).
    [reason] = [line for line in done.stderr.splitlines() if line.startswith("posline-gateway: ")]
    assert "belongs to shop 'Madina', not 'Some Other Shop'" in reason and "was not used" in reason
    assert not (state / "provisioned").exists() and await gateways_of(tmp_path, shop) == []
    assert shop.enrol_token in path.read_text()   # not scrubbed: the installer fixes the name and goes again

    write_toml(path, str(server.make_url("")).rstrip("/"), shop.enrol_token, shop="Madina")
    fixed = await asyncio.to_thread(gateway_cli, "provision", "--state-dir", str(state), "--config", str(path),
                                    "--scrub-config")
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)["shop_name"] == "Madina" and (state / "provisioned").exists()
    assert await gateways_of(tmp_path, shop) == ["posline-madina"]   # exactly one, named after the box


async def test_the_same_token_provisions_without_a_shop_name_after_a_wrong_one(tmp_path, cloud):
    server, shop = cloud
    url = str(server.make_url("")).rstrip("/")
    with pytest.raises(CloudRefused, match="belongs to shop 'Madina'") as refused:
        await provision(tmp_path / "s", url, shop.enrol_token, "box", expected_shop="Madina General")
    assert refused.value.status == 409
    done = await provision(tmp_path / "s", url, shop.enrol_token, "box")
    assert done["shop_name"] == "Madina" and await gateways_of(tmp_path, shop) == ["box"]


async def test_a_token_that_starts_with_a_dash_is_taken_from_the_command_line(tmp_path, cloud):
    # Tokens issued before new_token() skipped leading dashes are still in installers' hands.
    server, shop = cloud
    old_token = "-" + new_token()[1:]
    engine = create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    async with engine.begin() as conn:
        await conn.execute(schema.enrol_tokens.insert().values(
            token_digest=token_digest(old_token), shop_id=shop.shop_id, created_at="2025-01-01T00:00:00Z"))
    await engine.dispose()
    url = str(server.make_url("")).rstrip("/")
    import asyncio
    unknown = await asyncio.to_thread(gateway_cli, "provision", "--state-dir", str(tmp_path / "s1"),
                                      "--cloud-url", url, "--enrol-token", "-" + new_token())
    # The cloud's answer, not argparse's "expected one argument": the token reached the cloud.
    assert unknown.returncode == 2 and "unknown or already used" in unknown.stderr, unknown.stderr
    done = await asyncio.to_thread(gateway_cli, "provision", "--state-dir", str(tmp_path / "s2"),
                                   "--cloud-url", url, "--enrol-token", old_token, "--name", "counter-box")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["shop_name"] == "Madina" and await gateways_of(tmp_path, shop) == ["counter-box"]


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
    import tarfile
    target = tmp_path / "backups" / "gateway-1.tar.gz"
    done = await asyncio.to_thread(gateway_cli, "backup", "--state-dir", str(provisioned.state_dir), "--to",
                                   str(target))
    assert done.returncode == 0, done.stderr
    with tarfile.open(target) as archive:
        (tmp_path / "db").write_bytes(archive.extractfile("gateway.db").read())
    with sqlite3.connect(tmp_path / "db") as copy:
        names = dict(copy.execute("SELECT key, value FROM box"))
    assert names["shop_name"] == "Madina" and target.stat().st_mode & 0o077 == 0
    missing = await asyncio.to_thread(gateway_cli, "backup", "--state-dir", str(tmp_path / "none"), "--to",
                                      str(target))
    assert missing.returncode == 2 and "no gateway database" in missing.stderr