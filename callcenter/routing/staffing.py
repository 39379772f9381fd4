"""Staffing minimums: rules (a daily window and a number of seats), checked ahead on the
roster (a gap shows days before it happens) and live against the seats logged in (pure).

A window that ends at or before its start crosses midnight and belongs to the day it
starts on. ``days`` picks the days a rule applies: all, weekdays, weekends, holidays
(public holidays), workdays (weekdays that are not public holidays).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from callcenter.routing.duty import edges, on_duty
from callcenter.routing.roster import HolidayCalendar, Roster
from callcenter.routing.shifts import DAY_MINUTES, format_clock, local_instant, parse_clock

DAY_KINDS = ("all", "weekdays", "weekends", "holidays", "workdays")


@dataclass(frozen=True)
class MinimumRule:
    name: str
    start: int  # minutes after midnight
    end: int
    seats: int
    teams: tuple[str, ...] = ()  # empty: every team counts
    days: str = "all"
    title_zh: str = ""  # what people read ("高峰时段"); empty: the name and window
    title_en: str = ""

    @classmethod
    def parse(
        cls, name: str, window: str, seats: int, teams: Iterable[str] = (), days: str = "all"
    ) -> MinimumRule:
        """``MinimumRule.parse("night", "21:00-08:00", 2)``; raises ValueError on bad input."""
        first, sep, second = window.partition("-")
        if not sep:
            raise ValueError(f"window {window!r} must look like 09:00-18:00")
        if seats < 0:
            raise ValueError(f"seats must not be negative, got {seats}")
        if days not in DAY_KINDS:
            raise ValueError(f"days must be one of {', '.join(DAY_KINDS)}, got {days!r}")
        start = parse_clock(first)
        if start == DAY_MINUTES:
            raise ValueError("a window cannot start at 24:00")
        return cls(name, start, parse_clock(second), seats, tuple(teams), days)

    @property
    def window(self) -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)}"

    def label(self, lang: str) -> str:
        """The rule as people call it ("高峰时段"), else its name."""
        return (self.title_en if lang == "en" else self.title_zh) or self.name

    def title(self, lang: str) -> str:
        """The rule as people call it, with its window: "高峰时段 09:00-18:00"."""
        return f"{self.label(lang)} {self.window}"

    def end_offset(self) -> int:
        return self.end + DAY_MINUTES if self.end <= self.start else self.end

    def applies_on(self, day: date, calendar: HolidayCalendar) -> bool:
        weekend = day.weekday() >= 5
        if self.days == "weekdays":
            return not weekend
        if self.days == "weekends":
            return weekend
        if self.days == "holidays":
            return calendar.is_holiday(day)
        if self.days == "workdays":
            return not weekend and not calendar.is_holiday(day)
        return True

    def interval(self, day: date, zone: ZoneInfo) -> tuple[float, float]:
        return local_instant(day, self.start, zone), local_instant(day, self.end_offset(), zone)

    def active_at(self, at: float, zone: ZoneInfo, calendar: HolidayCalendar) -> bool:
        today = datetime.fromtimestamp(at, zone).date()
        for day in (today - timedelta(days=1), today):
            start, end = self.interval(day, zone)
            if start <= at < end and self.applies_on(day, calendar):
                return True
        return False


@dataclass(frozen=True)
class Gap:
    """Between ``start`` and ``end`` fewer than ``need`` seats are rostered (``have`` at worst)."""

    rule: str
    day: date
    start: float
    end: float
    have: int
    need: int

    def describe(self, zone: ZoneInfo, lang: str = "zh", title: str = "") -> str:
        """The gap in words; ``title``: the rule as people call it (a rule without one
        is "rule <name>")."""
        start = datetime.fromtimestamp(self.start, zone).strftime("%Y-%m-%d %H:%M")
        end = datetime.fromtimestamp(self.end, zone).strftime("%H:%M")
        titled = title and title != self.rule
        if lang == "zh":
            rule = title if titled else f"规则 {self.rule}"
            return f"{start}–{end} {rule}: 排班 {self.have} 人，至少需要 {self.need} 人"
        rule = title if titled else f"rule {self.rule}"
        return f"{start}-{end} {rule}: {self.have} rostered, at least {self.need} needed"


@dataclass(frozen=True)
class GapRange:
    """Gaps that follow each other without a break, as one stretch: at worst ``short``
    people missing, under ``rules`` (names, in order of first appearance)."""

    start: float
    end: float
    short: int
    rules: tuple[str, ...]


def merged_gaps(gaps: Iterable[Gap]) -> list[GapRange]:
    """``gaps`` (any rules) joined where one starts before or as the previous ends: a day
    planned hour by hour reads as a few stretches, not one line per hour."""
    out: list[GapRange] = []
    for gap in sorted(gaps, key=lambda g: (g.start, g.end)):
        short = gap.need - gap.have
        last = out[-1] if out else None
        if last is not None and gap.start <= last.end:
            rules = last.rules if gap.rule in last.rules else (*last.rules, gap.rule)
            out[-1] = GapRange(last.start, max(last.end, gap.end), max(last.short, short), rules)
        else:
            out.append(GapRange(gap.start, gap.end, short, (gap.rule,)))
    return out


def count_available(roster: Roster, at: float, teams: Iterable[str] = ()) -> int:
    """Rostered people at ``at`` who are not on a break."""
    return sum(1 for d in on_duty(roster, at, teams) if d.available)


def check_ahead(roster: Roster, rules: Iterable[MinimumRule], first: date, days: int) -> list[Gap]:
    """Every gap against ``rules`` in windows that start on ``first`` .. ``first + days - 1``."""
    zone = roster.book.zone
    gaps: list[Gap] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        for rule in rules:
            if not rule.applies_on(day, roster.calendar):
                continue
            start, end = rule.interval(day, zone)
            points = [start, *(p for p in edges(roster, start, end) if p > start), end]
            current: Gap | None = None
            for begin, finish in itertools.pairwise(points):
                have = count_available(roster, begin, rule.teams)
                if have >= rule.seats:
                    if current is not None:
                        gaps.append(current)
                        current = None
                    continue
                if current is None:
                    current = Gap(rule.name, day, begin, finish, have, rule.seats)
                else:
                    current = Gap(
                        rule.name, day, current.start, finish, min(have, current.have), rule.seats
                    )
            if current is not None:
                gaps.append(current)
    return sorted(gaps, key=lambda g: (g.start, g.rule))


@dataclass(frozen=True)
class Shortfall:
    rule: str
    have: int
    need: int


def live_shortfalls(
    rules: Iterable[MinimumRule],
    at: float,
    zone: ZoneInfo,
    calendar: HolidayCalendar,
    ready_by_team: Mapping[str, int],
) -> list[Shortfall]:
    """Rules active at ``at`` that the seats logged in and ready (per team) do not meet."""
    out: list[Shortfall] = []
    for rule in rules:
        if not rule.active_at(at, zone, calendar):
            continue
        have = sum(n for team, n in ready_by_team.items() if not rule.teams or team in rule.teams)
        if have < rule.seats:
            out.append(Shortfall(rule.name, have, rule.seats))
    return out


@dataclass(frozen=True)
class StaffingChange:
    """A rule fell below its minimum (``below`` True) or is met again; ``again``: still
    below, with another count of seats (the wallboard shows it; no new alert is sent)."""

    rule: str
    below: bool
    have: int
    need: int
    at: float
    again: bool = False


class LiveStaffingMonitor:
    """Turns a stream of observations into changes: one alert when a rule falls below its
    minimum, one notice when it is met again, and while it stays below a change marked
    ``again`` whenever the count moves (so the wallboard's figure is live)."""

    def __init__(
        self, rules: Iterable[MinimumRule], zone: ZoneInfo, calendar: HolidayCalendar
    ) -> None:
        self.rules = tuple(rules)
        self.zone = zone
        self.calendar = calendar
        self._below: dict[str, Shortfall] = {}

    @property
    def below(self) -> dict[str, Shortfall]:
        return dict(self._below)

    def observe(self, at: float, ready_by_team: Mapping[str, int]) -> list[StaffingChange]:
        now = {
            s.rule: s
            for s in live_shortfalls(self.rules, at, self.zone, self.calendar, ready_by_team)
        }
        changes: list[StaffingChange] = []
        for name, short in now.items():
            before = self._below.get(name)
            if before is None:
                changes.append(StaffingChange(name, True, short.have, short.need, at))
            elif (before.have, before.need) != (short.have, short.need):
                changes.append(StaffingChange(name, True, short.have, short.need, at, again=True))
        for name, old in self._below.items():
            if name not in now:
                rule = next(r for r in self.rules if r.name == name)
                have = sum(n for t, n in ready_by_team.items() if not rule.teams or t in rule.teams)
                changes.append(StaffingChange(name, False, have, old.need, at))
        self._below = now
        return changes
