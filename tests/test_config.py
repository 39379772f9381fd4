from pathlib import Path

import pytest

from callcenter.config import Settings, load_settings
from callcenter.core.redact import redact_url
from callcenter.core.settings_error import ConfigError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "callcenter.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_settings_load_with_the_hotline_targets() -> None:
    settings = load_settings(REPO / "config" / "callcenter.yaml", environ={})
    assert settings.targets.line_capacity == 90
    assert settings.targets.answer_rate == 0.90
    assert settings.targets.service_level_s == 20
    assert settings.targets.short_abandon_s == 5
    assert settings.timezone == "Asia/Shanghai"
    assert len(settings.hotlines) == 3


def test_demo_settings_load() -> None:
    settings = load_settings(REPO / "config" / "demo.yaml", environ={})
    assert settings.simulator.enabled
    assert settings.database.url.startswith("sqlite:///")


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings == Settings()


def test_wrong_value_names_file_line_key_and_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "timezone: Asia/Shanghai\ntargets:\n  answer_rate: 1.5\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    message = str(err.value)
    assert f"{path}:3" in message
    assert "targets.answer_rate" in message
    assert "between 0 and 1" in message


def test_unknown_key_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "targets:\n  line_capasity: 90\n")
    with pytest.raises(ConfigError, match=r"targets.line_capasity: unknown setting.*line_capacity"):
        load_settings(path, environ={})


def test_wrong_type_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "web:\n  port: eighty\n")
    with pytest.raises(ConfigError, match=r":2: web.port: must be a whole number"):
        load_settings(path, environ={})


def test_bad_time_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        load_settings(path, environ={})


def test_invalid_yaml_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "targets:\n  answer_rate: [0.9\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+:\d+: invalid YAML"):
        load_settings(path, environ={})


def test_a_section_given_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    # Plain YAML keeps the last of two equal keys: the first section's values would vanish.
    path = write(tmp_path, "web:\n  port: 8081\nfastagi:\n  port: 4573\nweb:\n  host: 0.0.0.0\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    message = str(err.value)
    assert f"{path}:5:" in message
    assert "duplicate key 'web'" in message
    assert "first on line 1" in message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "web:\n  port: 99999\nfastagi:\n  port: -1\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert "web.port" in str(err.value)
    assert "fastagi.port" in str(err.value)


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "targets:\n  answer_rate: 0.9\n")
    settings = load_settings(
        path,
        environ={
            "CALLCENTER_TARGETS__ANSWER_RATE": "0.85",
            "CALLCENTER_DATABASE__URL": "postgresql://cc@127.0.0.1/test",
            "CALLCENTER_PBXES__0__AMI__SECRET": "s3cret",
            "CALLCENTER_REQUIRE_SERVICES": "1",
        },
    )
    assert settings.targets.answer_rate == 0.85
    assert settings.database.url == "postgresql://cc@127.0.0.1/test"
    assert settings.pbxes[0].ami.secret == "s3cret"
    assert settings.pbxes[0].name == "main"


def test_text_settings_from_the_environment_are_taken_as_written(tmp_path: Path) -> None:
    """Secrets come from an EnvironmentFile or compose's env: YAML must not reinterpret them."""
    path = write(tmp_path, "")
    settings = load_settings(
        path,
        environ={
            "CALLCENTER_PBXES__0__AMI__SECRET": "0123",  # YAML 1.1: octal 83
            "CALLCENTER_RECORDINGS__LINK_SECRET": "12:30:45:00:00:00:00",  # sexagesimal
            "CALLCENTER_CTI__WEBHOOK_SECRET": "yes",  # a boolean
            "CALLCENTER_ROUTING__ALERT_WEBHOOK_SECRET": "!secret #1",  # a tag, a comment
            "CALLCENTER_IVR__DEFAULT_FLOW": "null",
            "CALLCENTER_WEB": "{host: 0.0.0.0}",  # a mapping, then one of its keys
            "CALLCENTER_WEB__PORT": "9090",
            "CALLCENTER_CTI__ALLOWED_ORIGINS": "[https://cc.example.com]",
        },
    )
    assert settings.pbxes[0].ami.secret == "0123"
    assert settings.recordings.link_secret == "12:30:45:00:00:00:00"
    assert settings.cti.webhook_secret == "yes"
    assert settings.routing.alert_webhook_secret == "!secret #1"
    assert settings.ivr.default_flow == "null"
    assert (settings.web.host, settings.web.port) == ("0.0.0.0", 9090)
    assert settings.cti.allowed_origins == ["https://cc.example.com"]


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(ConfigError, match="environment CALLCENTER_TARGETS__LINE_CAPACITY"):
        load_settings(path, environ={"CALLCENTER_TARGETS__LINE_CAPACITY": "0"})


def test_missing_named_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_secrets_stay_out_of_reprs() -> None:
    settings = load_settings(
        None,
        environ={
            "CALLCENTER_CONFIG": str(REPO / "config" / "callcenter.yaml"),
            "CALLCENTER_PBXES__0__AMI__SECRET": "hunter2-secret",
            "CALLCENTER_DATABASE__URL": "postgresql://cc:dbpass@db/test",
        },
    )
    text = repr(settings)
    assert "hunter2-secret" not in text
    assert "dbpass" not in text
    assert redact_url("postgresql://cc:dbpass@db/test") == "postgresql://cc:***@db/test"


def test_duplicate_pbx_names(tmp_path: Path) -> None:
    path = write(tmp_path, "pbxes:\n  - name: a\n  - name: a\n")
    with pytest.raises(ConfigError, match="PBX names must be unique"):
        load_settings(path, environ={})


def test_config_check_says_which_cdr_layout_it_found_and_what_it_costs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from durable_fixtures import cdr_lines

    from callcenter.cli import main

    master = tmp_path / "Master.csv"
    settings = tmp_path / "callcenter.yaml"
    settings.write_text(
        f"pbxes:\n  - name: main\n    queue_log: {tmp_path / 'queue_log'}\n    cdr_csv: {master}\n"
    )
    for layout, said in (
        ("default", "default layout (18 columns)"),
        ("newcdrcolumns", "newcdrcolumns layout (21 columns): cdr_csv with newcdrcolumns=yes"),
        ("linkedid", "linkedid layout (19 columns)"),
    ):
        master.write_text("\n".join(cdr_lines(layout)) + "\n")
        assert main(["--config", str(settings), "config", "check"]) == 0
        out = capsys.readouterr().out
        assert said in out
        assert ("newcdrcolumns=yes in cdr.conf" in out) is (layout == "default")
        assert "queue_log" in out and "not there yet" in out
    master.write_text(",".join(['""'] * 16) + "\n")  # loguniqueid off
    assert main(["--config", str(settings), "config", "check"]) == 0
    assert "set loguniqueid=yes" in capsys.readouterr().out
