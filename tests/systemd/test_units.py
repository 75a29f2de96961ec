"""The systemd units: clean under `systemd-analyze verify`, hardened to an exposure of 2.0 or less;
and the gateway.env sample the gateway's unit reads."""
from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from gateway.settings import GatewaySettings

UNITS = Path(__file__).resolve().parents[2] / "systemd"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed on this machine")


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str   # systemd keys are case-sensitive
    parser.read(UNITS / name)
    return parser


@needs_analyze
@pytest.mark.parametrize("name,limit", [("posline-gateway.service", 2.0), ("posline-cloud.service", 2.0)])
def test_exposure_is_at_most_two(name, limit):
    out = subprocess.run([ANALYZE, "security", "--offline=true", str(UNITS / name)], capture_output=True, text=True)
    level = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout).group(1))
    assert level <= limit, out.stdout[-2000:]


@needs_analyze
def test_units_verify_clean(tmp_path):
    # verify checks that ExecStart exists: point it at a real executable laid out like /opt/posline.
    venv_bin = tmp_path / "opt" / "posline" / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    for command in ("posline-gateway", "posline-cloud"):
        (venv_bin / command).write_text("#!/bin/sh\n")
        (venv_bin / command).chmod(0o755)
    names = ["posline-gateway.service", "posline-gateway-provision.service", "posline-cloud.service"]
    for name in names:
        (tmp_path / name).write_text((UNITS / name).read_text().replace("/opt/posline/", f"{tmp_path}/opt/posline/"))
    out = subprocess.run([ANALYZE, "verify", "--man=no", *names], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout + out.stderr == "", out.stdout + out.stderr


def test_gateway_unit_does_what_an_installer_expects():
    service = unit("posline-gateway.service")
    s, u = service["Service"], service["Unit"]
    assert s["Type"] == "notify" and int(s["WatchdogSec"]) > 0 and s["Restart"] == "always"
    assert s["User"] == "posline" and s["StateDirectory"] == "posline"
    assert "CAP_NET_BIND_SERVICE" in s["AmbientCapabilities"]
    # After the LAN, never waiting for the internet: the WAN may be down at boot.
    assert "network.target" in u["After"] and "network-online" not in u.get("After", "") + u.get("Wants", "")
    assert "--state-dir /var/lib/posline" in s["ExecStart"]
    assert service["Install"]["WantedBy"] == "multi-user.target"


def test_cloud_unit_migrates_before_serving_with_time_for_it():
    s = unit("posline-cloud.service")["Service"]
    assert s["Type"] == "notify" and int(s["WatchdogSec"]) > 0 and s["Restart"] == "always"
    # The migration is its own step, and the start timeout it shares with serve fits a long one.
    assert s["ExecStartPre"].split()[-1] == "migrate" and s["ExecStartPre"].split()[0].endswith("/posline-cloud")
    assert " serve " in s["ExecStart"] and s["TimeoutStartSec"] == "1h"


def test_first_boot_unit_runs_once_only_with_the_file():
    service = unit("posline-gateway-provision.service")
    conditions = (UNITS / "posline-gateway-provision.service").read_text()
    assert "ConditionPathExists=!/var/lib/posline/provisioned" in conditions
    assert "ConditionPathExists=/boot/firmware/posline.toml" in conditions
    assert service["Service"]["Type"] == "oneshot"
    assert "--scrub-config" in service["Service"]["ExecStart"]
    assert "posline-gateway.service" in service["Unit"]["Before"]


def test_first_boot_unit_retries_an_outage_but_not_a_refusal():
    # posline-gateway provision exits 2 for bad input or a refused token/shop name (retrying cannot
    # fix it) and 3 for an unreachable cloud (retrying will); see cloud_api/service/cli.py.
    s = unit("posline-gateway-provision.service")["Service"]
    assert s["Restart"] == "on-failure" and int(s["RestartSec"]) > 0
    assert s["RestartPreventExitStatus"].split() == ["2"]


def test_gateway_env_sample_lists_every_setting_with_its_default(tmp_path, monkeypatch):
    sample = (UNITS / "gateway.env").read_text()
    shown = {name[len("POSLINE_GATEWAY_"):].lower(): value
             for name, value in re.findall(r"^# (POSLINE_GATEWAY_[A-Z0-9_]+)=(.*)$", sample, re.M)}
    fields = GatewaySettings.model_fields
    assert set(shown) == set(fields), "gateway/settings.py and systemd/gateway.env list different settings"
    assert not re.search(r"^\s*[A-Z]", sample, re.M)   # all commented out: the sample changes nothing
    for name, field in fields.items():
        if field.default is None:   # no value to show: the comment must say it is unset by default
            assert re.search(rf"unset by default[^\n]*\n(#[^\n]*\n)*# POSLINE_GATEWAY_{name.upper()}=",
                             sample, re.I), name
        elif field.default is not PydanticUndefined:   # what is shown, read as the box would, is the default
            monkeypatch.setenv(f"POSLINE_GATEWAY_{name.upper()}", shown[name])
    settings = GatewaySettings(state_dir=tmp_path)
    for name, field in fields.items():
        if field.default not in (None, PydanticUndefined):
            assert getattr(settings, name) == field.default, f"{name}: the sample shows {shown[name]!r}"
