"""The staffing plan: a traffic curve gives, by Erlang A, head-counts that meet the targets;
the shifts counted cover them; the demo's day is planned from its own traffic model."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.cli import build_parser
from callcenter.config import Settings
from callcenter.demo_plan import DayPlan, PlanFiles, minimums, plan_day, traffic_curve, write_plan
from callcenter.metrics.plan import (
    ShiftSpan,
    TrafficInterval,
    cover,
    coverage,
    needed_agents,
    plan_intervals,
    predicted,
    predicted_by_interval,
    predictions_from_plan,
)
from callcenter.routing.directory import load_directory
from callcenter.routing.loading import load_routing, minimum_rules
from callcenter.routing.roster_edit import apply_day_edit, day_edit, day_edit_problems
from callcenter.routing.staffing import Gap, check_ahead
from callcenter.sim.config import TrafficParams

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 7)
DAY0 = datetime(2026, 12, 7, tzinfo=TZ).timestamp()
TARGETS = {"sl_seconds": 20.0, "sl_target": 0.8, "answer_rate_target": 0.9}


def curve() -> list[TrafficInterval]:
    calls = [2, 2, 5, 40, 90, 180, 200, 160, 120, 60, 20, 5]  # per two-hour interval
    return [
        TrafficInterval(DAY0 + i * 7200, DAY0 + (i + 1) * 7200, n, 200.0, 90.0)
        for i, n in enumerate(calls)
    ]


def test_the_head_count_needed_meets_both_targets_by_erlang_a_and_one_less_does_not() -> None:
    for traffic in curve():
        need = needed_agents(traffic, **TARGETS)
        figures = predicted(traffic, need, 20.0)
        assert figures.answer_rate >= 0.9 and figures.service_level >= 0.8
        if need > 0:
            fewer = predicted(traffic, need - 1, 20.0)
            assert fewer.answer_rate < 0.9 or fewer.service_level < 0.8


def test_the_shifts_counted_cover_every_interval_besides_the_people_already_there() -> None:
    need = [3, 3, 3, 8, 12, 20, 22, 18, 14, 9, 5, 3]
    already = [0, 0, 0, 1, 2, 2, 2, 2, 1, 0, 0, 0]
    # two-hour intervals: day 08-20, mid 10-22, night 20-08 (across midnight)
    shifts = [ShiftSpan("day", 4, 6), ShiftSpan("mid", 5, 6), ShiftSpan("night", 10, 6)]
    counts = cover(need, shifts, already=already)
    have = coverage(counts, shifts, len(need))
    assert all(h + a >= n for h, a, n in zip(have, already, need, strict=True))
    # no shift could lose a person without an interval falling short
    for name, count in counts.items():
        if count:
            fewer = coverage({**counts, name: count - 1}, shifts, len(need))
            assert any(h + a < n for h, a, n in zip(fewer, already, need, strict=True))


def test_the_plan_predicts_the_rostered_head_count_and_a_short_roster_predicts_less() -> None:
    traffic = curve()
    need = [needed_agents(t, **TARGETS) for t in traffic]
    full = plan_intervals(traffic, need, sl_seconds=20.0, sl_target=0.8, answer_rate_target=0.9)
    half = plan_intervals(
        traffic, [n // 2 for n in need], sl_seconds=20.0, sl_target=0.8, answer_rate_target=0.9
    )
    assert all(p.answer_rate >= 0.9 for p in full)
    assert [p.needed for p in half] == need
    busy = [i for i, n in enumerate(need) if n > 1]
    assert all(half[i].answer_rate < full[i].answer_rate for i in busy)


def test_the_demo_traffic_model_gives_the_calls_reaching_agents_per_interval() -> None:
    params = TrafficParams(peak_calls_per_hour=400.0)
    intervals = traffic_curve(params, DAY0, TZ, interval_s=1800, wrapup_s=15.0)
    assert len(intervals) == 48
    ten = intervals[20]  # 10:00, the peak hour: 400 an hour, 5 % hang up in the menu
    assert ten.calls == pytest.approx(400 * 0.95 / 2)
    assert 190 < ten.aht_s < 210 and ten.patience_s == params.patience_mean_s


def shipped_seats() -> set[str]:
    return set(load_directory("config/agents.yaml").seats)


def demo_settings() -> Settings:
    settings = Settings()
    # the shipped roster, shifts and agents; the plan's interval of 30 minutes
    return dataclasses.replace(settings, timezone="Asia/Shanghai")


def gaps_of(settings: Settings, plan: DayPlan, files: PlanFiles) -> list[Gap]:
    """Where the roster file the demo runs on falls short of the plan's minimums."""
    routing = dataclasses.replace(
        settings.routing,
        roster_file=str(files.roster_file),
        agents_file=str(files.agents_file),
        minimums=minimums(plan),
    )
    data = load_routing(routing, settings.timezone)
    return check_ahead(data.roster, minimum_rules(routing), DAY, 1)


def test_the_demo_day_is_rostered_to_the_plan_and_meets_its_targets(tmp_path: Path) -> None:
    settings = demo_settings()
    plan, files = plan_day(settings, TrafficParams(peak_calls_per_hour=400.0), DAY, tmp_path)
    assert plan.shortfall == 0
    assert all(p.rostered >= p.needed for p in plan.intervals)
    assert all(p.answer_rate >= 0.9 and p.service_level >= 0.8 for p in plan.intervals)
    assert plan.prediction() is not None and plan.prediction() >= 0.9  # type: ignore[operator]
    # the roster file the demo runs on has those people on duty, and meets the minimums
    assert gaps_of(settings, plan, files) == []
    # the agents the plan adds have seats and Chinese names, each their own
    directory = load_directory(files.agents_file)
    added = [a for a in directory.agents.values() if a.seat not in shipped_seats()]
    assert added and all("\u4e00" <= a.name[0] <= "\u9fff" for a in added), added
    assert len({a.name for a in directory.agents.values()}) == len(directory.agents)
    assert all(directory.seats[a.seat].label.endswith("号座席") for a in added)
    assert directory.queue_names("zh")["repair"] == "报修"  # the copy keeps the queues' names
    assert {(r.title_zh, r.title_en) for r in minimums(plan)} == {("热线计划人数", "Hotline plan")}


def test_the_demo_days_planned_people_take_leave_and_swap(tmp_path: Path) -> None:
    settings = demo_settings()
    _plan, files = plan_day(settings, TrafficParams(peak_calls_per_hour=400.0), DAY, tmp_path)
    data = load_routing(
        dataclasses.replace(
            settings.routing,
            roster_file=str(files.roster_file),
            agents_file=str(files.agents_file),
        ),
        settings.timezone,
    )
    planned = day_edit(data.roster, DAY)
    (sick, _s, _t), (first, shift, _t2), (second, _other, _t3) = [
        e for e in planned.extras if e[2] == "hotline"
    ][:3]
    edit = dataclasses.replace(planned, leave=((sick, ""),), swaps=((first, second),))
    assert day_edit_problems(data.roster, DAY, edit) == []
    edited = apply_day_edit(data.roster, DAY, edit)
    worked = {(a.agent, a.shift.name, a.origin) for a in edited.assignments(DAY)}
    assert sick not in {agent for agent, _s, _o in worked} and (second, shift, "swap") in worked
    again = dataclasses.replace(planned, extras=(*planned.extras, (first, shift, "hotline")))
    assert "时间重叠" in day_edit_problems(data.roster, DAY, again)[0][0]


def test_an_understaffed_day_falls_short_of_the_plan_and_its_minimums(tmp_path: Path) -> None:
    settings = demo_settings()
    params = TrafficParams(peak_calls_per_hour=400.0)
    plan, files = plan_day(settings, params, DAY, tmp_path, "understaffed")
    assert plan.prediction() < 0.8  # type: ignore[operator]
    gaps = gaps_of(settings, plan, files)
    assert gaps and all(g.have < g.need for g in gaps)  # the staffing alerts' rules fire
    peak, _ = plan_day(settings, params, DAY, tmp_path, "peak")
    assert peak.shifts == plan.planned_shifts  # rostered as planned, for fewer calls
    assert peak.prediction() < 0.9  # type: ignore[operator]


def test_the_plan_file_gives_the_predicted_answer_rate_per_report_interval(
    tmp_path: Path,
) -> None:
    settings = demo_settings()
    plan, _ = plan_day(settings, TrafficParams(), DAY, tmp_path)
    write_plan(plan, tmp_path / "plan.json")
    predictions = predictions_from_plan(tmp_path / "plan.json")
    assert len(predictions) == 48
    hourly = predicted_by_interval(predictions, "Asia/Shanghai", 60)
    assert len(hourly) == 24
    ten = [p for p in plan.intervals if datetime.fromtimestamp(p.traffic.start, TZ).hour == 10]
    assert hourly["2026-12-07 10:00"] == pytest.approx(
        sum(p.answer_rate * p.traffic.calls for p in ten) / sum(p.traffic.calls for p in ten),
        abs=1e-4,  # the file keeps four decimals
    )


@pytest.mark.parametrize("scenario", ["normal", "understaffed", "peak"])
def test_the_demo_command_takes_a_named_scenario(scenario: str) -> None:
    args = build_parser().parse_args(["demo", "--headless", "--scenario", scenario])
    assert args.scenario == scenario
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--scenario", "holiday"])
