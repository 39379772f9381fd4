"""The demo's day, planned with the service's own staffing tools.

The simulator's traffic model (calls per hour of day, menu hang-ups, talk time, pick-up,
patience) gives the calls expected to reach an agent per interval, their AHT and the
callers' patience; ``callcenter/metrics/plan.py`` turns that into the Erlang A head-count
meeting the targets and counts hotline shifts covering it, on top of the people the roster
already has on duty for other teams (front desk and zone assistants also answer hotline
calls). The demo then runs on a roster file written from that count, staffing minimums
taken from it, and a plan file the reports page reads its predicted answer rate from.

Scenarios (``callcenter demo --scenario``) keep the plan and change the day:
``normal`` as planned; ``understaffed`` half of the planned hotline people turn up;
``peak`` half as many calls again as planned for. The prediction is always made for the
traffic and roster the day really has, so it is the plan's forecast of that day.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from callcenter.config import Settings
from callcenter.metrics.plan import (
    PlannedInterval,
    ShiftSpan,
    TrafficInterval,
    cover,
    coverage,
    day_prediction,
    needed_agents,
    plan_intervals,
)
from callcenter.metrics.staffing import roster_from_counter
from callcenter.routing.directory import Directory, load_directory
from callcenter.routing.roster import Roster
from callcenter.routing.roster_file import load_roster
from callcenter.routing.settings import StaffingMinimum
from callcenter.routing.shifts import ShiftBook, format_clock, load_shifts
from callcenter.routing.staffing import count_available
from callcenter.routing.yamlio import load_yaml
from callcenter.sim.config import TrafficParams

SCENARIOS = ("normal", "understaffed", "peak")
HOTLINE_TEAM = "hotline"
HOTLINE_SHIFTS = ("day", "mid", "night")
# Teams whose people answer hotline calls besides the hotline team (their queues include
# the general one); housekeepers only take their own owners' calls and are not counted.
HELPING_TEAMS = ("frontdesk", "zone")
UNDERSTAFFED_SHARE = 0.5
PEAK_FACTOR = 1.5


@dataclass(frozen=True)
class DayPlan:
    """One day's plan: each interval's need and forecast, and the hotline shifts counted."""

    day: date
    scenario: str
    intervals: list[PlannedInterval]
    shifts: dict[str, int]  # hotline people per shift, as rostered
    planned_shifts: dict[str, int]  # ... as the plan asks
    shortfall: int  # hotline people the plan asks for that the directory lacks
    hotline_need: list[int]  # hotline people each interval needs besides the other teams

    def prediction(self, since: float | None = None, until: float | None = None) -> float | None:
        """The predicted answer rate of the intervals inside [since, until) (all: None)."""
        chosen = [
            p
            for p in self.intervals
            if (since is None or p.traffic.end > since)
            and (until is None or p.traffic.start < until)
        ]
        return day_prediction(chosen)["answer_rate"]

    def as_dict(self) -> dict[str, Any]:
        day = day_prediction(self.intervals)
        return {
            "day": self.day.isoformat(),
            "scenario": self.scenario,
            "shifts": self.shifts,
            "planned_shifts": self.planned_shifts,
            "shortfall": self.shortfall,
            "predicted_answer_rate": _round(day["answer_rate"]),
            "predicted_service_level": _round(day["service_level"]),
            "intervals": [p.as_dict() for p in self.intervals],
        }


def traffic_curve(
    params: TrafficParams,
    day_start: float,
    zone: ZoneInfo,
    *,
    interval_s: float,
    wrapup_s: float,
    ring_timeout_s: float = 15.0,
    retry_s: float = 5.0,
) -> list[TrafficInterval]:
    """Calls reaching an agent queue per interval of the day, from the traffic model: the
    hour's share of the peak, less the callers who hang up in the menu; AHT is the mean talk
    (lognormal), wrap-up, the mean pick-up delay and the rings nobody answers."""
    peak = max(params.hourly_curve)
    reach = 1.0 - params.ivr_hangup_prob
    talk = params.handle_median_s * math.exp(params.handle_sigma**2 / 2.0)
    pick_up = sum(params.answer_delay_s) / 2.0
    missed = params.no_answer_prob * (ring_timeout_s + retry_s)
    aht = talk + wrapup_s + pick_up + missed
    curve = []
    for index in range(int(86400 // interval_s)):  # a civil day (no DST in the demo's zone)
        start = day_start + index * interval_s
        hour = datetime.fromtimestamp(start, zone).hour
        per_hour = params.peak_calls_per_hour * params.hourly_curve[hour] / peak
        calls = per_hour * reach * interval_s / 3600.0
        curve.append(TrafficInterval(start, start + interval_s, calls, aht, params.patience_mean_s))
    return curve


def shift_spans(book: ShiftBook, interval_s: float) -> list[ShiftSpan]:
    spans = []
    for name in HOTLINE_SHIFTS:
        shift = book.get(name)
        first = int(shift.start * 60 // interval_s)
        length = math.ceil((shift.end_offset - shift.start) * 60 / interval_s)
        spans.append(ShiftSpan(name, first, length))
    return spans


def others_on_duty(roster: Roster, curve: Sequence[TrafficInterval]) -> list[int]:
    """People of the helping teams available all through each interval."""
    count = roster_from_counter(lambda at: count_available(roster, at, HELPING_TEAMS))
    return [count(t.start, t.end) for t in curve]


@dataclass(frozen=True)
class PlanFiles:
    roster_file: Path
    agents_file: Path


def plan_day(
    settings: Settings, params: TrafficParams, day: date, out_dir: Path, scenario: str = "normal"
) -> tuple[DayPlan, PlanFiles]:
    """The plan of ``day``, and the files (in ``out_dir``) that put it in place: the
    settings' roster without its hotline rotations plus the planned hotline shifts, and the
    agents file, with more hotline agents when the settings' one has too few."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    routing, targets = settings.routing, settings.targets
    zone = ZoneInfo(settings.timezone)
    interval_s = settings.metrics.interval_min * 60.0
    day_start = datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
    book = load_shifts(routing.shifts_file, settings.timezone)
    curve = traffic_curve(params, day_start, zone, interval_s=interval_s, wrapup_s=routing.wrapup_s)
    need = [
        needed_agents(
            t,
            sl_seconds=targets.service_level_s,
            sl_target=targets.service_level_target,
            answer_rate_target=targets.answer_rate,
        )
        for t in curve
    ]
    # the settings' roster minus its hotline team: the other teams as they are rostered
    others = others_on_duty(load_roster(routing.roster_file, book), curve)
    spans = shift_spans(book, interval_s)
    planned = cover(need, spans, already=others)
    agents_file = str(out_dir / "agents.plan.yaml")
    known = len(_hotline_agents(routing.agents_file))
    people = _pooled_agents(routing.agents_file, agents_file, sum(planned.values()) - known)
    rostered, shortfall = _fit(planned, len(people))
    if scenario == "understaffed":
        rostered = {name: int(n * UNDERSTAFFED_SHARE) for name, n in rostered.items()}
    mapping = _with_extras(
        _without_team(_base_roster(routing.roster_file), HOTLINE_TEAM),
        _extras(rostered, people, day),
    )
    roster_path = out_dir / "roster.plan.yaml"
    write_roster(mapping, roster_path)
    on_duty = [o + h for o, h in zip(others, coverage(rostered, spans, len(curve)), strict=True)]
    if scenario == "peak":
        busier = params.peak_calls_per_hour * PEAK_FACTOR
        curve = traffic_curve(
            dataclasses.replace(params, peak_calls_per_hour=busier),
            day_start,
            zone,
            interval_s=interval_s,
            wrapup_s=routing.wrapup_s,
        )
    intervals = plan_intervals(
        curve,
        on_duty,
        sl_seconds=targets.service_level_s,
        sl_target=targets.service_level_target,
        answer_rate_target=targets.answer_rate,
    )
    hotline_need = [max(0, n - o) for n, o in zip(need, others, strict=True)]
    plan = DayPlan(day, scenario, intervals, rostered, planned, shortfall, hotline_need)
    return plan, PlanFiles(roster_path, Path(agents_file))


def minimums(plan: DayPlan) -> list[StaffingMinimum]:
    """Staffing minimums for the hotline team from the plan: its need for hotline people,
    one rule per run of intervals needing the same number, so the live staffing alerts fire
    when fewer are logged in than the plan asks for."""
    need = plan.hotline_need
    step = 24 * 60 // len(need)
    rules: list[StaffingMinimum] = []
    start = 0
    for index in range(1, len(need) + 1):
        if index < len(need) and need[index] == need[start]:
            continue
        if need[start] > 0:
            first = format_clock(start * step)
            window = f"{first}-{format_clock(index * step % (24 * 60))}"
            name = f"plan-{first.replace(':', '')}"
            rules.append(
                StaffingMinimum(
                    name, window, need[start], [HOTLINE_TEAM],
                    title_zh="热线计划人数", title_en="Hotline plan",
                )
            )  # fmt: skip
        start = index
    return rules


def write_plan(plan: DayPlan, path: Path) -> None:
    path.write_text(json.dumps(plan.as_dict(), ensure_ascii=False, indent=1), encoding="utf-8")


def write_roster(mapping: dict[str, Any], path: Path) -> None:
    header = "# Written by `callcenter demo` from its staffing plan (docs/metrics.md).\n"
    body = yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False)
    path.write_text(header + body, encoding="utf-8")


# --- pieces ---------------------------------------------------------------------------------


def _base_roster(path: str) -> dict[str, Any]:
    """A routing file read as routing reads it ("off" is a day off, not false), as plain
    dicts and lists to write back."""
    plain = _plain(load_yaml(path))
    assert isinstance(plain, dict)
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _without_team(base: dict[str, Any], team: str) -> dict[str, Any]:
    data = dict(base)
    data["rotations"] = [r for r in base.get("rotations") or [] if r.get("team") != team]
    return data


def _hotline_agents(agents_file: str) -> list[str]:
    directory = load_directory(agents_file) if Path(agents_file).exists() else Directory()
    return sorted(a.id for a in directory.agents.values() if a.team == HOTLINE_TEAM)


# Names for the hotline agents the plan adds, as the shipped directory names its people.
_EXTRA_NAMES = (
    "董岚", "袁博", "潘悦", "蒋丹", "蔡文", "余洁", "杜鹃", "叶青", "程琳", "苏航",
    "魏晨", "吕萍", "丁宁", "任静", "沈磊", "姚远", "卢佳", "姜涛", "崔颖", "钟凯",
)  # fmt: skip


def _pooled_agents(source: str, target: str, count: int) -> list[str]:
    """Copy the agents file as the plan counts the hotline team: one pool, each hotline agent
    qualified for every hotline queue (a queue they lacked at the lowest preference, so its
    own agents still take its calls first), and ``count`` more hotline agents (with seats)
    when the file has too few; returns every hotline agent of the copy."""
    data = _base_roster(source)
    seats, agents = dict(data.get("seats") or {}), dict(data.get("agents") or {})
    hotline = [a for a in agents.values() if a.get("team") == HOTLINE_TEAM]
    queues = {q for a in hotline for q in a.get("queues") or {}}
    for agent in hotline:
        own = dict(agent.get("queues") or {})
        last = 1 + max(own.values(), default=0)
        agent["queues"] = {**own, **{q: last for q in sorted(queues - set(own))}}
    model = hotline[0]
    extension = 1 + max(int(str(s["interface"]).rsplit("/", 1)[-1]) for s in seats.values())
    number = 1 + sum(1 for a in agents.values() if a.get("team") == HOTLINE_TEAM)
    taken = {str(a.get("name")) for a in agents.values()}
    names = (n for n in _EXTRA_NAMES if n not in taken)
    for _ in range(count):
        while f"kf{number:02d}" in agents:
            number += 1
        seat = f"S{extension}"
        seats[seat] = {"interface": f"PJSIP/{extension}", "label": f"{extension}号座席"}
        name = next(names, f"坐席{extension}")  # past the list: still a Chinese name
        agents[f"kf{number:02d}"] = {**model, "name": name, "seat": seat}
        extension += 1
        number += 1
    Path(target).write_text(
        yaml.safe_dump(
            {**data, "seats": seats, "agents": agents}, allow_unicode=True, sort_keys=False
        ),
        encoding="utf-8",
    )
    return _hotline_agents(target)


def _fit(planned: dict[str, int], people: int) -> tuple[dict[str, int], int]:
    """The planned count per shift, cut (night first) to the people the directory has."""
    rostered = dict(planned)
    shortfall = max(0, sum(planned.values()) - people)
    left = shortfall
    for name in reversed(HOTLINE_SHIFTS):
        take = min(left, rostered.get(name, 0))
        rostered[name] = rostered.get(name, 0) - take
        left -= take
    return rostered, shortfall


def _extras(rostered: dict[str, int], people: list[str], day: date) -> list[dict[str, str]]:
    """Each shift's people, the same ones on the day before and after (so the night before
    and the evening after are covered too)."""
    extras = []
    queue = iter(people)
    for name in HOTLINE_SHIFTS:
        for _ in range(rostered.get(name, 0)):
            agent = next(queue)
            for delta in (-1, 0, 1):
                when = (day + timedelta(days=delta)).isoformat()
                extras.append({"date": when, "agent": agent, "shift": name, "team": HOTLINE_TEAM})
    return extras


def _with_extras(mapping: dict[str, Any], extras: list[dict[str, str]]) -> dict[str, Any]:
    data = dict(mapping)
    data["extra"] = [*(mapping.get("extra") or []), *extras]
    return data


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
