"""The ``callcenter`` command reads the settings file; the features' commands are handed
what they read, so no feature imports ``callcenter.config``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import callcenter.cli
from callcenter.cli import main
from callcenter.config import Settings

PACKAGE = Path(__file__).resolve().parent.parent / "callcenter"
FEATURES = ("cti", "ivr", "metrics", "recordings", "routing")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_feature_imports_the_settings_loader() -> None:
    importers = [
        str(path.relative_to(PACKAGE))
        for feature in FEATURES
        for path in sorted((PACKAGE / feature).rglob("*.py"))
        if "callcenter.config" in _imports(path)
    ]
    assert importers == []


def test_a_command_that_needs_no_settings_never_reads_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  answer_rate: 1.5\n", encoding="utf-8")
    argv = ["staffing", "calc", "--calls-per-hour", "200", "--aht", "180"]
    assert main(["--config", str(bad), *argv]) == 0
    assert main(["--config", str(tmp_path / "missing.yaml"), *argv]) == 0
    assert "answer_rate" not in capsys.readouterr().err


def test_the_settings_are_read_once_per_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reads: list[str | None] = []
    real = callcenter.cli.load_settings

    def counting(path: str | None) -> Settings:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(callcenter.cli, "load_settings", counting)
    settings = tmp_path / "callcenter.yaml"
    settings.write_text(f"database:\n  url: sqlite:///{tmp_path / 'cc.db'}\n", encoding="utf-8")
    assert main(["--config", str(settings), "recordings", "orphans"]) == 0
    assert reads == [str(settings)]
    assert "files with no call: 0" in capsys.readouterr().out


def test_bad_settings_name_file_and_line_for_a_feature_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("timezone: Asia/Shanghai\ntargets:\n  answer_rate: 1.5\n", encoding="utf-8")
    assert main(["--config", str(bad), "users", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("callcenter: invalid settings\n")
    assert f"{bad}:3: targets.answer_rate: must be between 0 and 1, got 1.5" in err
