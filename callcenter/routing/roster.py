"""Rosters: who works which shift on which date.

A rotation is a list of rows (each a run of days, e.g. a week Mon..Sun) and a list of
members. On block ``k`` after the anchor (a block is one row long), member ``i`` works row
``(i + k) % rows``: with week-long rows everyone moves to the next row every week, so the
staffing of each weekday stays the same while the people change (weekly rotation). Members
can come from a pool whose order turns every quarter (the seed rotates posts each quarter).

Exceptions, applied in this order: extra shifts, swaps (two people exchange every shift
of a day, rotation or extra; if only one had a shift, the other takes it over), then leave
(whole days by the date a shift starts, whatever produced the shift). Rotations marked ``holidays: off`` do not work on public holidays
(the ``holidays`` package's calendar, China by default, plus ``extra_holidays``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays as holidays_lib

from callcenter.routing.shifts import Shift, ShiftBook

OFF_CELLS = frozenset({"off", "-", "休", ""})
PERIODS = ("week", "month", "quarter", "year")


@dataclass(frozen=True)
class Assignment:
    """One shift one person works: the shift starting on ``day``."""

    agent: str
    shift: Shift
    day: date
    team: str
    rotation: str
    start: float
    end: float
    breaks: tuple[tuple[float, float, str], ...] = ()
    origin: str = "rotation"  # rotation | swap | extra

    def covers(self, at: float) -> bool:
        return self.start <= at < self.end

    def break_at(self, at: float) -> str | None:
        for start, end, reason in self.breaks:
            if start <= at < end:
                return reason
        return None


@dataclass(frozen=True)
class Pool:
    """People whose posts turn every ``every`` period: slot s holds agents[(s + k*step) % n]."""

    name: str
    agents: tuple[str, ...]
    anchor: date
    every: str = "quarter"
    step: int = 1

    def periods_since_anchor(self, day: date) -> int:
        if self.every == "week":
            return (day - self.anchor).days // 7
        months = (day.year - self.anchor.year) * 12 + day.month - self.anchor.month
        size = {"month": 1, "quarter": 3, "year": 12}[self.every]
        if size == 1:
            return months
        return (day.year * 12 + day.month - 1) // size - (
            self.anchor.year * 12 + self.anchor.month - 1
        ) // size

    def holder(self, slot: int, day: date) -> str:
        k = self.periods_since_anchor(day)
        return self.agents[(slot + k * self.step) % len(self.agents)]


@dataclass(frozen=True)
class Rotation:
    name: str
    team: str
    anchor: date
    rows: tuple[tuple[str, ...], ...]  # shift name or "off" per day
    members: tuple[str, ...] = ()  # fixed agents, member i starts on row i
    pool: str = ""  # or: slots of a pool
    slots: tuple[int, ...] = ()
    work_holidays: bool = True
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def row_days(self) -> int:
        return len(self.rows[0])

    def member_count(self) -> int:
        return len(self.slots) if self.pool else len(self.members)


@dataclass(frozen=True)
class Leave:
    agent: str
    first: date
    last: date
    reason: str = "leave"


@dataclass(frozen=True)
class Swap:
    day: date
    agent: str
    other: str


@dataclass(frozen=True)
class Extra:
    day: date
    agent: str
    shift: str
    team: str = "extra"


class HolidayCalendar:
    """Public holidays of a country (``holidays`` package) plus the company's own days."""

    def __init__(self, country: str = "CN", extra: dict[date, str] | None = None) -> None:
        self.country = country
        self.extra = dict(extra or {})
        self._years: dict[int, dict[date, str]] = {}

    def name(self, day: date) -> str | None:
        if day in self.extra:
            return self.extra[day]
        if not self.country:
            return None
        table = self._years.get(day.year)
        if table is None:
            found = holidays_lib.country_holidays(self.country, years=day.year, language="zh_CN")
            table = {d: str(n) for d, n in found.items()}
            self._years[day.year] = table
        return table.get(day)

    def is_holiday(self, day: date) -> bool:
        return self.name(day) is not None


@dataclass
class Roster:
    book: ShiftBook
    rotations: tuple[Rotation, ...]
    pools: dict[str, Pool] = field(default_factory=dict)
    leave: tuple[Leave, ...] = ()
    swaps: tuple[Swap, ...] = ()
    extras: tuple[Extra, ...] = ()
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)
    _cache: dict[date, tuple[Assignment, ...]] = field(default_factory=dict, repr=False)

    def agents(self) -> set[str]:
        names: set[str] = set()
        for rotation in self.rotations:
            names.update(rotation.members)
            if rotation.pool:
                names.update(self.pools[rotation.pool].agents)
        names.update(e.agent for e in self.extras)
        return names

    def assignments(self, day: date) -> tuple[Assignment, ...]:
        """Every shift that starts on ``day`` (local date), after all exceptions."""
        cached = self._cache.get(day)
        if cached is None:
            cached = tuple(self._compute(day))
            if len(self._cache) > 400:
                self._cache.clear()
            self._cache[day] = cached
        return cached

    def _make(
        self, agent: str, shift: Shift, day: date, team: str, rot: str, origin: str
    ) -> Assignment:
        zone = self.book.zone
        start, end = shift.interval(day, zone)
        return Assignment(
            agent,
            shift,
            day,
            team,
            rot,
            start,
            end,
            tuple(shift.break_intervals(day, zone)),
            origin,
        )

    def _compute(self, day: date) -> list[Assignment]:
        holiday = self.calendar.is_holiday(day)
        out: list[Assignment] = []
        for rot in self.rotations:
            if day < rot.anchor or (rot.valid_from and day < rot.valid_from):
                continue
            if rot.valid_until and day > rot.valid_until:
                continue
            if holiday and not rot.work_holidays:
                continue
            offset = (day - rot.anchor).days
            block, position = divmod(offset, rot.row_days)
            for index in range(rot.member_count()):
                row = rot.rows[(index + block) % len(rot.rows)]
                cell = row[position]
                if cell.lower() in OFF_CELLS:
                    continue
                if rot.pool:
                    agent = self.pools[rot.pool].holder(rot.slots[index], day)
                else:
                    agent = rot.members[index]
                out.append(
                    self._make(agent, self.book.get(cell), day, rot.team, rot.name, "rotation")
                )
        for extra in self.extras:
            if extra.day == day:
                out.append(
                    self._make(
                        extra.agent, self.book.get(extra.shift), day, extra.team, "extra", "extra"
                    )
                )
        for swap in self.swaps:  # after the extras: people on planned shifts swap too
            if swap.day == day:
                out = _apply_swap(out, swap)
        on_leave = {lv.agent for lv in self.leave if lv.first <= day <= lv.last}
        return [a for a in out if a.agent not in on_leave]

    def leave_on(self, day: date) -> list[Leave]:
        return [lv for lv in self.leave if lv.first <= day <= lv.last]


def _apply_swap(assignments: list[Assignment], swap: Swap) -> list[Assignment]:
    out: list[Assignment] = []
    for a in assignments:
        if a.agent == swap.agent:
            out.append(_renamed(a, swap.other))
        elif a.agent == swap.other:
            out.append(_renamed(a, swap.agent))
        else:
            out.append(a)
    return out


def _renamed(a: Assignment, agent: str) -> Assignment:
    return Assignment(agent, a.shift, a.day, a.team, a.rotation, a.start, a.end, a.breaks, "swap")


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]
