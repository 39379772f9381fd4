"""The staffing and report commands."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import callcenter.metrics.store  # noqa: F401
from callcenter.calls.store import CallStore
from callcenter.cli import main
from callcenter.core.call_record import CallRecord
from callcenter.db import create_engine_for, upgrade

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_staffing_calc_gives_the_smallest_head_count(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "staffing", "calc", "--calls-per-hour", "200", "--aht", "180",
        "--sl-seconds", "20", "--sl-target", "0.8", "--format", "json",
    )  # fmt: skip
    body = json.loads(out)
    assert code == 0 and body["agents"] == 14 and body["model"] == "erlang_c"
    assert round(body["service_level"], 4) == 0.8884 and round(body["occupancy"], 4) == 0.7143
    assert round(body["asa_s"], 2) == 7.84
    code, out, _ = run(
        capsys, "staffing", "calc", "--calls-per-hour", "200", "--aht", "180",
        "--sl-target", "0.8", "--patience", "90", "--answer-rate-target", "0.95",
    )  # fmt: skip
    body = json.loads(out)
    assert body["model"] == "erlang_a" and body["answer_rate"] >= 0.95 and body["agents"] == 13


def test_staffing_lines_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "staffing", "lines", "--erlangs", "10", "--lines", "15")
    assert code == 0 and round(json.loads(out)["blocking"], 4) == 0.0365
    with pytest.raises(SystemExit):
        main(["staffing", "calc", "--calls-per-hour", "200", "--aht", "0"])
    assert "must be positive" in capsys.readouterr().err


def test_report_reads_the_configured_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = create_engine_for(url)
    upgrade(engine)
    CallStore(engine).upsert_calls(
        [
            CallRecord(
                pbx="p", call_id=f"c{n}", started_at=T0 + n * 60, queue="support",
                queue_joined_at=T0 + n * 60 + 5, ended_at=T0 + n * 60 + 200,
                outcome="answered" if n % 4 else "abandoned", wait_s=12.0,
                talk_s=150.0 if n % 4 else None, agent="A" if n % 4 else "",
            )
            for n in range(40)
        ]
    )  # fmt: skip
    engine.dispose()
    config = tmp_path / "settings.yaml"
    config.write_text(f"database:\n  url: {url}\n", encoding="utf-8")
    code, out, _ = run(
        capsys, "--config", str(config), "report", "--from", "2026-03-02", "--to", "2026-03-02",
        "--by", "agent", "--format", "json",
    )  # fmt: skip
    body = json.loads(out)
    assert code == 0
    assert {r["key"]: r["answered"] for r in body["rows"]} == {"(none)": 0, "A": 30}
    assert body["total"]["answer_rate"] == 0.75
    code, out, _ = run(
        capsys, "--config", str(config), "report", "--from", "2026-03-02", "--to", "2026-03-02",
        "--format", "table",
    )  # fmt: skip
    assert "接通率" in out and "2026-03-02 09:00" in out and "75.0%" in out
    code, out, _ = run(
        capsys, "--config", str(config), "staffing", "plan", "--from", "2026-03-02",
        "--to", "2026-03-02", "--format", "json", "--roster", str(_roster(tmp_path)),
    )  # fmt: skip
    plan = {i["interval"]: i for i in json.loads(out)["intervals"]}
    nine = plan["2026-03-02 09:00"]
    assert nine["calls_per_hour"] == 60.0 and nine["agents_planned"] == 3
    assert nine["agents_needed"] >= 3 and nine["predicted_service_level"] is not None


def _roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("start,agents\n2026-03-02 08:00,3\n2026-03-02 20:00,1\n", encoding="utf-8")
    return path
