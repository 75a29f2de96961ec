"""systemd/install.sh, run into a scratch root: user, virtual environment, units, enabled."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "systemd" / "install.sh"
pytestmark = pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemctl") is None,
                                reason="systemd-sysusers and systemctl are needed to lay out a root")


def run_install(root: Path, *extra: str) -> subprocess.CompletedProcess:
    # --no-deps: the package's dependencies are not what this test is about, and keep it fast.
    return subprocess.run(["bash", str(INSTALL), "--root", str(root), "--pip-args", "--no-deps --quiet", *extra],
                          capture_output=True, text=True, timeout=600)


def test_install_lays_out_a_gateway(tmp_path):
    root = tmp_path / "root"
    done = run_install(root)
    assert done.returncode == 0, done.stderr
    passwd = (root / "etc" / "passwd").read_text()
    assert "posline:x:" in passwd and "/usr/sbin/nologin" in passwd and "posline-cloud" not in passwd
    venv = root / "opt" / "posline" / "venv"
    assert (venv / "bin" / "posline-gateway").exists()
    version = subprocess.run([venv / "bin" / "python", "-c", "import importlib.metadata as m; print(m.version('posline'))"],
                             capture_output=True, text=True)
    assert version.stdout.strip() == "0.1.0"
    units = root / "etc" / "systemd" / "system"
    assert (units / "posline-gateway.service").read_text() == (REPO / "systemd" / "posline-gateway.service").read_text()
    wants = units / "multi-user.target.wants"
    assert {p.name for p in wants.iterdir()} == {"posline-gateway.service", "posline-gateway-provision.service"}
    sample = root / "etc" / "posline" / "posline.toml.sample"
    assert sample.stat().st_mode & 0o077 == 0   # secrets-to-be: root only

    env = root / "etc" / "posline" / "gateway.env"   # the unit's EnvironmentFile, all commented out
    assert env.read_text() == (REPO / "systemd" / "gateway.env").read_text()
    env.write_text("POSLINE_GATEWAY_CLOUD_TIMEOUT_S=45\n")   # the installer's own tuning

    again = run_install(root)   # upgrading in place works too
    assert again.returncode == 0, again.stderr
    assert env.read_text() == "POSLINE_GATEWAY_CLOUD_TIMEOUT_S=45\n"   # and keeps what the installer set


def test_install_lays_out_a_cloud(tmp_path):
    root = tmp_path / "root"
    done = run_install(root, "--cloud")
    assert done.returncode == 0, done.stderr
    assert "posline-cloud:x:" in (root / "etc" / "passwd").read_text()
    wants = root / "etc" / "systemd" / "system" / "multi-user.target.wants"
    assert {p.name for p in wants.iterdir()} == {"posline-cloud.service"}
    assert (root / "etc" / "posline" / "cloud.env").stat().st_mode & 0o077 == 0


def test_install_refuses_unknown_options(tmp_path):
    done = subprocess.run(["bash", str(INSTALL), "--root", str(tmp_path), "--frobnicate"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and "unknown option --frobnicate" in done.stderr
