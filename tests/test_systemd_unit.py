"""The systemd unit in deploy/systemd: its commands are ones the CLI runs, its environment
names settings the service understands, and systemd itself accepts the file."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from callcenter.cli import build_parser, cmd_db_upgrade, cmd_run
from callcenter.config import load_settings
from callcenter.core.settings_error import ConfigError

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "systemd" / "callcenter.service"
ENV_EXAMPLE = ROOT / "deploy" / "systemd" / "callcenter.env.example"
REFERENCE = ROOT / "config" / "callcenter.yaml"
INSTALLED = "/opt/callcenter/bin/callcenter"


def _unit() -> configparser.RawConfigParser:
    # systemd repeats keys and has no interpolation; the last value of a key is enough here
    # except for Environment=, read separately below.
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT, encoding="utf-8")
    return parser


def _all_values(key: str) -> list[str]:
    prefix = f"{key}="
    return [
        line.strip()[len(prefix) :]
        for line in UNIT.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(prefix)
    ]


def _environment_lines(text: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments and blanks out)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=VALUE: {line!r}"
        values[key.strip()] = value.strip()
    return values


def _cli_args(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == INSTALLED, words
    return words[1:]


def test_exec_start_and_the_upgrade_before_it_are_commands_the_cli_runs() -> None:
    service = _unit()["Service"]
    parser = build_parser()
    assert parser.parse_args(_cli_args(service["ExecStart"])).func is cmd_run
    assert parser.parse_args(_cli_args(service["ExecStartPre"])).func is cmd_db_upgrade


def test_the_unit_runs_as_its_own_user_restarts_and_is_hardened() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["User"] == "callcenter" and service["Group"] == "callcenter"
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/callcenter/callcenter.env"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert service["StateDirectory"] == "callcenter"
    assert service["WorkingDirectory"] == "/var/lib/callcenter"
    # Retention deletes old recordings, so their folder stays writable.
    assert "-/var/spool/asterisk/monitor" in " ".join(_all_values("ReadWritePaths")).split()
    assert service["StandardError"] == "journal"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_environment_names_settings_the_service_understands() -> None:
    """Every variable of the example file and of the unit is a setting (or the settings
    file's path); with them the reference settings load, JSON logs and secrets included."""
    environ = _environment_lines(ENV_EXAMPLE.read_text(encoding="utf-8"))
    for assignment in _all_values("Environment"):
        environ.update(_environment_lines(assignment))
    assert environ.pop("CALLCENTER_CONFIG") == "/etc/callcenter/callcenter.yaml"
    assert all(key.startswith("CALLCENTER_") for key in environ)
    for key, value in environ.items():  # each alone, so an unknown one is named
        try:
            load_settings(REFERENCE, environ={key: value})
        except ConfigError as exc:
            pytest.fail(f"{key}: {exc}")
    settings = load_settings(REFERENCE, environ=environ)
    assert settings.logging.format == "json"
    assert settings.pbxes[0].ami.secret == environ["CALLCENTER_PBXES__0__AMI__SECRET"]
    assert settings.database.url.startswith("postgresql://")
    assert len(settings.recordings.link_secret) >= 16


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    executable = shutil.which("callcenter") or str(ROOT / ".venv" / "bin" / "callcenter")
    if not Path(executable).exists():
        pytest.skip("the callcenter command is not installed")
    # The same unit with the command where this checkout has it (verify wants it to exist).
    unit = tmp_path / "callcenter.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, executable))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
