"""Who is on duty at an instant, and when that next changes (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from callcenter.routing.directory import Directory
from callcenter.routing.roster import Assignment, Roster


@dataclass(frozen=True)
class OnDuty:
    """An agent working at an instant; ``on_break`` is the break's reason, or ''."""

    assignment: Assignment
    on_break: str = ""

    @property
    def agent(self) -> str:
        return self.assignment.agent

    @property
    def shift(self) -> str:
        return self.assignment.shift.name

    @property
    def team(self) -> str:
        return self.assignment.team

    @property
    def available(self) -> bool:
        return not self.on_break


def local_date(roster: Roster, at: float) -> date:
    return datetime.fromtimestamp(at, roster.book.zone).date()


def assignments_around(
    roster: Roster, at: float, before: int = 1, after: int = 0
) -> Iterable[Assignment]:
    """Shifts starting from ``before`` days before to ``after`` days after ``at``'s date."""
    today = local_date(roster, at)
    for delta in range(-before, after + 1):
        yield from roster.assignments(today + timedelta(days=delta))


def on_duty(roster: Roster, at: float, teams: Iterable[str] = ()) -> list[OnDuty]:
    """Everyone whose shift covers ``at`` (shifts are at most 24 h, so yesterday's suffice).

    One person can appear once only: with overlapping shifts (a swap into a handover) the
    one that started first wins.
    """
    wanted = set(teams)
    found: dict[str, OnDuty] = {}
    for a in sorted(assignments_around(roster, at), key=lambda a: (a.start, a.agent)):
        if not a.covers(at) or (wanted and a.team not in wanted) or a.agent in found:
            continue
        found[a.agent] = OnDuty(a, a.break_at(at) or "")
    return sorted(found.values(), key=lambda d: (d.assignment.start, d.team, d.agent))


def duty_row(
    d: OnDuty, directory: Directory, zone: tzinfo, shift_label: Any, timespec: str = "auto"
) -> dict[str, Any]:
    """One agent on duty as the duty listings show it; times in ``zone``, ISO 8601 to
    ``timespec``."""
    a = d.assignment
    agent = directory.agents.get(d.agent)
    return {
        "agent": d.agent,
        "name": agent.name if agent else "",
        "shift": d.shift,
        "shift_label": shift_label,
        "team": d.team,
        "start": datetime.fromtimestamp(a.start, zone).isoformat(timespec=timespec),
        "end": datetime.fromtimestamp(a.end, zone).isoformat(timespec=timespec),
        "on_break": d.on_break,
        "interface": directory.interface_of(d.agent),
    }


def edges(roster: Roster, start: float, end: float) -> list[float]:
    """Every instant in [start, end) at which the set on duty (or on a break) may change."""
    points: set[float] = set()
    day = local_date(roster, start) - timedelta(days=1)
    last = local_date(roster, end)
    while day <= last:
        for a in roster.assignments(day):
            points.update((a.start, a.end))
            for b_start, b_end, _ in a.breaks:
                points.update((b_start, b_end))
        day += timedelta(days=1)
    return sorted(p for p in points if start <= p < end)


def next_edge(roster: Roster, after: float, horizon_days: int = 14) -> float | None:
    """The first shift or break edge strictly after ``after`` (None: nothing within the horizon)."""
    later = edges(roster, after, after + horizon_days * 86400.0)
    for point in later:
        if point > after:
            return point
    return None
