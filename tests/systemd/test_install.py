"""systemd/install.sh, run into a scratch root: user, virtual environment, units, enabled."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "systemd" / "install.sh"
pytestmark = [
    pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemctl") is None,
                       reason="systemd-sysusers and systemctl are needed to lay out a root"),
    pytest.mark.skipif(not (REPO / ".git").exists(),
                       reason="installs from the files git tracks: a git checkout is needed (CI runs one)"),
]


def tracked(*paths: str) -> list[str]:
    """The files git tracks (all, or under `paths`), relative to the repository."""
    out = subprocess.run(["git", "ls-files", "-z", "--", *paths], cwd=REPO, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def run_install(root: Path, *extra: str) -> subprocess.CompletedProcess:
    # --no-deps: the package's dependencies are not what this test is about, and keep it fast.
    return subprocess.run(["bash", str(INSTALL), "--root", str(root), "--source", str(clean_source(root.parent)),
                           "--pip-args", "--no-deps --quiet", *extra], capture_output=True, text=True, timeout=600)


def clean_source(where: Path) -> Path:
    """The repository's files as a fresh clone has them (those git tracks, as they are now): the
    checkout's own posline.egg-info, left by `make`'s editable install, lists files setuptools would
    then package even where pyproject.toml forgets them, so a package built here could hide a gap."""
    source = where / "source"
    if not source.exists():
        for name in tracked():
            if (REPO / name).is_file():   # a file deleted and not yet committed is not there
                (source / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, source / name)
    return source


def test_install_lays_out_a_gateway(tmp_path):
    root = tmp_path / "root"
    done = run_install(root)
    assert done.returncode == 0, done.stderr
    passwd = (root / "etc" / "passwd").read_text()
    assert "posline:x:" in passwd and "/usr/sbin/nologin" in passwd and "posline-cloud" not in passwd
    venv = root / "opt" / "posline" / "venv"
    assert (venv / "bin" / "posline-gateway").exists()
    assert_serves_every_file(venv)
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


# The folders of files the services serve or render, beside their Python: each must be in the package.
SERVED_FILES = ("web_till", "gateway/templates", "cloud_api/office/templates", "cloud_api/office/static")


def assert_serves_every_file(venv: Path) -> None:
    """The installed package holds every page, script and style of the source tree: one left out of
    pyproject.toml's package data works in a checkout and is a 404 (or a 500) on an installed box or cloud."""
    # -I: not the checkout's own gateway/ from the current directory.
    site = Path(subprocess.run([venv / "bin" / "python", "-I", "-c", "import gateway, pathlib; "
                                "print(pathlib.Path(gateway.__file__).parents[1])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for folder in SERVED_FILES:
        wanted = {Path(name).name for name in tracked(folder)
                  if Path(name).parent == Path(folder) and not name.endswith(".py")}
        installed = {p.name for p in (site / folder).iterdir()} if (site / folder).is_dir() else set()
        assert wanted and wanted <= installed, f"{folder}: not installed: {sorted(wanted - installed)}"


def test_install_lays_out_a_cloud(tmp_path):
    root = tmp_path / "root"
    done = run_install(root, "--cloud")
    assert done.returncode == 0, done.stderr
    assert_serves_every_file(root / "opt" / "posline" / "venv")
    assert "posline-cloud:x:" in (root / "etc" / "passwd").read_text()
    wants = root / "etc" / "systemd" / "system" / "multi-user.target.wants"
    assert {p.name for p in wants.iterdir()} == {"posline-cloud.service"}
    assert (root / "etc" / "posline" / "cloud.env").stat().st_mode & 0o077 == 0


def test_install_refuses_unknown_options(tmp_path):
    done = subprocess.run(["bash", str(INSTALL), "--root", str(tmp_path), "--frobnicate"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and "unknown option --frobnicate" in done.stderr
