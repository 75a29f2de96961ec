"""posline-gateway's command line: what `serve` takes from flags, the environment (gateway.env) and defaults."""
from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import _parser, serve_settings
from gateway.settings import GatewaySettings


def settings_for(*flags: str, state_dir: Path) -> GatewaySettings:
    return serve_settings(_parser().parse_args(["serve", "--state-dir", str(state_dir), *flags]))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "HTTP_PORT"):
        monkeypatch.delenv(f"POSLINE_GATEWAY_{name}", raising=False)


def test_serve_takes_host_and_ports_from_the_environment_without_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("POSLINE_GATEWAY_PORT", "9443")
    monkeypatch.setenv("POSLINE_GATEWAY_HOST", "0.0.0.0")
    monkeypatch.setenv("POSLINE_GATEWAY_HTTP_PORT", "9080")
    settings = settings_for(state_dir=tmp_path)
    assert (settings.host, settings.port, settings.http_port) == ("0.0.0.0", 9443, 9080)
    assert settings.state_dir == tmp_path


def test_a_flag_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("POSLINE_GATEWAY_PORT", "9443")
    monkeypatch.setenv("POSLINE_GATEWAY_HOST", "0.0.0.0")
    settings = settings_for("--port", "443", "--host", "192.168.1.5", "--http-port", "80", state_dir=tmp_path)
    assert (settings.host, settings.port, settings.http_port) == ("192.168.1.5", 443, 80)


def test_without_flags_or_environment_the_defaults_hold(tmp_path):
    settings = settings_for(state_dir=tmp_path)
    defaults = GatewaySettings.model_fields
    assert settings.host == defaults["host"].default == "127.0.0.1"
    assert settings.port == defaults["port"].default == 8080
    assert settings.http_port is None
