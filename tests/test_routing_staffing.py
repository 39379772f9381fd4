"""Staffing minimums ahead on the roster and live; the shipped sample and the commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from routing_fixtures import at, roster

from callcenter.cli import main
from callcenter.routing.staffing import (
    Gap,
    GapRange,
    LiveStaffingMonitor,
    MinimumRule,
    check_ahead,
    merged_gaps,
)

TEAM = """
rotations:
  - name: hotline
    team: hotline
    anchor: 2026-11-30
    pattern: [[day], [day], [night], [night]]
    members: [a, b, c, d]
    """


def test_gap_is_reported_days_ahead_with_its_window_and_count() -> None:
    r = roster(TEAM + "\nleave:\n  - {agent: a, from: 2026-12-03, to: 2026-12-03}\n")
    rules = [
        MinimumRule.parse("night", "21:00-08:00", 2),
        MinimumRule.parse("peak", "09:00-18:00", 2),
    ]
    gaps = check_ahead(r, rules, date(2026, 11, 30), 7)
    assert [(g.rule, g.day, g.have, g.need) for g in gaps] == [("night", date(2026, 12, 3), 1, 2)]
    (gap,) = gaps
    assert (gap.start, gap.end) == (at("2026-12-03T21:00"), at("2026-12-04T08:00"))
    assert "2026-12-03 21:00–08:00" in gap.describe(r.book.zone)
    assert "1 rostered, at least 2 needed" in gap.describe(r.book.zone, "en")
    assert "21:00-08:00 rule night: 1" in gap.describe(r.book.zone, "en", "night")  # untitled
    assert "21:00–08:00 夜班: 排班 1 人" in gap.describe(r.book.zone, "zh", "夜班")


def test_gap_inside_a_window_covers_only_the_short_part() -> None:
    # Only one day person until the mid shift starts at 09:00... here: a break at noon.
    r = roster(
        """
rotations:
  - {name: t, anchor: 2026-11-30, pattern: [[early]], members: [a]}
  - {name: u, anchor: 2026-11-30, pattern: [[day]], members: [b]}
"""
    )
    gaps = check_ahead(r, [MinimumRule.parse("two", "10:00-14:00", 2)], date(2026, 11, 30), 1)
    assert [(g.start, g.end, g.have) for g in gaps] == [
        (at("2026-11-30T12:00"), at("2026-11-30T12:30"), 1)
    ]


def test_rules_can_be_limited_to_teams_and_kinds_of_day() -> None:
    r = roster(TEAM)
    weekend_only = MinimumRule.parse("w", "10:00-11:00", 5, days="weekends")
    gaps = check_ahead(r, [weekend_only], date(2026, 11, 30), 7)
    assert sorted({g.day.weekday() for g in gaps}) == [5, 6]
    other_team = MinimumRule.parse("t", "10:00-11:00", 1, teams=["frontdesk"])
    assert len(check_ahead(r, [other_team], date(2026, 11, 30), 2)) == 2
    with pytest.raises(ValueError):
        MinimumRule.parse("bad", "10:00", 1)


def test_gaps_hour_by_hour_read_as_stretches() -> None:
    day = date(2026, 12, 2)
    hourly = [
        Gap(f"plan-{h:02}00", day, h * 3600.0, (h + 1) * 3600.0, 1, 2 + h % 2) for h in range(7, 12)
    ]
    later = Gap("evening", day, 15 * 3600.0, 16 * 3600.0, 0, 1)
    assert merged_gaps([later, *hourly]) == [
        GapRange(7 * 3600.0, 12 * 3600.0, 2, tuple(f"plan-{h:02}00" for h in range(7, 12))),
        GapRange(15 * 3600.0, 16 * 3600.0, 1, ("evening",)),
    ]


def test_live_monitor_alerts_once_and_notices_recovery() -> None:
    r = roster(TEAM)
    rules = [MinimumRule.parse("night", "21:00-08:00", 2, ["hotline"])]
    monitor = LiveStaffingMonitor(rules, r.book.zone, r.calendar)
    night = at("2026-12-01T03:00")
    assert monitor.observe(at("2026-12-01T12:00"), {"hotline": 0}) == []  # rule not active
    (alert,) = monitor.observe(night, {"hotline": 1, "frontdesk": 3})
    assert (alert.rule, alert.below, alert.have, alert.need) == ("night", True, 1, 2)
    assert monitor.observe(night + 60, {"hotline": 1}) == []  # no repeat while below
    # the count moves while below: a change marked again, so the wallboard's figure is live
    (fewer,) = monitor.observe(night + 90, {"hotline": 0})
    assert (fewer.below, fewer.again, fewer.have) == (True, True, 0)
    (back,) = monitor.observe(night + 120, {"hotline": 2})
    assert (back.below, back.have) == (False, 2)


def test_shipped_sample_meets_the_seed_minimums_every_day(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "--config",
            "config/callcenter.yaml",
            "roster",
            "check",
            "--days",
            "14",
            "--from",
            "2026-12-01",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "满足所有最低人数要求" in out
    for day in range(1, 15):
        for hour, need in (("10:00", 8), ("03:00", 2)):
            main(["--config", "config/callcenter.yaml", "roster", "show", "--team", "hotline",
                  "--at", f"2026-12-{day:02d}T{hour}", "--format", "json"])  # fmt: skip
            rows = json.loads(capsys.readouterr().out)
            assert len(rows) >= need, (day, hour)
            assert all({"agent", "shift"} <= set(row) for row in rows)


def test_roster_show_table_and_check_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["--config", "config/callcenter.yaml", "roster", "show", "--at", "2026-12-01T03:00"])
        == 0
    )
    out = capsys.readouterr().out
    assert "夜班" in out and "在岗" in out
    shifts = Path("config/shifts.yaml").resolve()
    roster_file = tmp_path / "roster.yaml"
    roster_file.write_text(TEAM, encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        f"routing:\n  shifts_file: {shifts}\n  roster_file: {roster_file}\n"
        f"  agents_file: {tmp_path / 'none.yaml'}\n"
        "  minimums:\n    - {name: peak, window: '09:00-18:00', seats: 3}\n",
        encoding="utf-8",
    )
    code = main(
        [
            "--config",
            str(settings),
            "roster",
            "check",
            "--days",
            "2",
            "--from",
            "2026-11-30",
            "--lang",
            "en",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "2 gap(s)" in out and "2026-11-30 09:00-18:00 rule peak: 2 rostered" in out
    roster_file.write_text("rotations:\n  - {name: x}\n", encoding="utf-8")
    assert main(["--config", str(settings), "roster", "check"]) == 2
    assert f"{roster_file}:2: rotations.0: missing 'anchor'" in capsys.readouterr().err
