"""Shift patterns: named clock-time spans in the hotline's time zone.

A shift that ends at or before its start crosses midnight (20:00-08:00 ends the next
morning); ``24:00`` is the end of the day. Instants are epoch seconds computed from the
local wall clock, so a night shift on a daylight-saving switch night lasts 11 or 13 hours:
people work until 08:00 on the clock. A start inside the spring-forward gap is moved to
the first instant after the gap; a time that happens twice in autumn is its first
occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from callcenter.routing.yamlio import LineDict, LineList, Where, load_yaml

DAY_MINUTES = 24 * 60
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_clock(text: str) -> int:
    """``"08:00"`` -> 480 minutes after midnight; ``"24:00"`` -> 1440."""
    match = _CLOCK.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a clock time HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a clock time between 00:00 and 24:00")
    return hours * 60 + minutes


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def local_instant(day: date, minutes: int, zone: ZoneInfo) -> float:
    """Epoch seconds of ``minutes`` after midnight (wall clock) on ``day`` in ``zone``."""
    extra_days, minutes = divmod(minutes, DAY_MINUTES)
    wall = datetime.combine(day + timedelta(days=extra_days), time(minutes // 60, minutes % 60))
    return wall.replace(tzinfo=zone).timestamp()


@dataclass(frozen=True)
class Break:
    start: int  # minutes after midnight of the shift's first day (may exceed 1440)
    end: int
    reason: str = "break"


@dataclass(frozen=True)
class Shift:
    name: str
    start: int  # minutes after midnight
    end: int  # minutes after midnight; <= start means the next day
    label_zh: str = ""
    label_en: str = ""
    breaks: tuple[Break, ...] = ()

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    @property
    def end_offset(self) -> int:
        """End in minutes after midnight of the start day (past 1440 when it crosses)."""
        return self.end + DAY_MINUTES if self.crosses_midnight else self.end

    @property
    def span(self) -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)}"

    def label(self, lang: str = "zh") -> str:
        text = self.label_zh if lang == "zh" else self.label_en
        return text or self.label_zh or self.label_en or self.name

    def interval(self, day: date, zone: ZoneInfo) -> tuple[float, float]:
        """The shift that starts on ``day`` as (start, end) epoch seconds."""
        return local_instant(day, self.start, zone), local_instant(day, self.end_offset, zone)

    def break_intervals(self, day: date, zone: ZoneInfo) -> list[tuple[float, float, str]]:
        return [
            (local_instant(day, b.start, zone), local_instant(day, b.end, zone), b.reason)
            for b in self.breaks
        ]


@dataclass(frozen=True)
class ShiftBook:
    """Every shift pattern, by name, in one time zone."""

    timezone: str
    shifts: dict[str, Shift] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def get(self, name: str) -> Shift:
        return self.shifts[name]


def load_shifts(path: str | Path, default_timezone: str = "Asia/Shanghai") -> ShiftBook:
    return shifts_from_mapping(load_yaml(path), str(path), default_timezone)


def shifts_from_mapping(data: LineDict, origin: str, default_timezone: str) -> ShiftBook:
    where = Where(origin)
    zone_name = str(data.get("timezone") or default_timezone)
    try:
        ZoneInfo(zone_name)
    except (KeyError, ValueError, OSError):  # OSError: a directory ("Asia"), a long name
        raise where.error(
            data.line_of("timezone"), "timezone", f"unknown time zone {zone_name!r}"
        ) from None
    raw = where.mapping(data.get("shifts"), data.line_of("shifts"), "shifts")
    book: dict[str, Shift] = {}
    for name, spec in raw.items():
        line = raw.line_of(name)
        body = where.mapping(spec, line, f"shifts.{name}")
        book[name] = _shift(where, name, body, line)
    if not book:
        raise where.error(raw.line, "shifts", "must define at least one shift")
    return ShiftBook(zone_name, book)


def _clock(where: Where, body: LineDict, key: str, dotted: str, line: int) -> int:
    if key not in body:
        raise where.error(line, dotted, f"missing {key!r} (HH:MM)")
    try:
        return parse_clock(str(body[key]))
    except ValueError as exc:
        raise where.error(body.line_of(key), f"{dotted}.{key}", str(exc)) from None


def _shift(where: Where, name: str, body: LineDict, line: int) -> Shift:
    dotted = f"shifts.{name}"
    if name.lower() in ("off", "-", "休"):
        raise where.error(line, dotted, f"{name!r} is reserved for a day off")
    known = {"start", "end", "label_zh", "label_en", "breaks"}
    where.check_keys(body, dotted, known)
    start = _clock(where, body, "start", dotted, line)
    end = _clock(where, body, "end", dotted, line)
    if start == DAY_MINUTES:
        raise where.error(body.line_of("start"), f"{dotted}.start", "a shift cannot start at 24:00")
    shift = Shift(name, start, end, str(body.get("label_zh", "")), str(body.get("label_en", "")))
    breaks: list[Break] = []
    raw_breaks = body.get("breaks") or LineList()
    items = where.sequence(raw_breaks, body.line_of("breaks"), f"{dotted}.breaks")
    for index, item in enumerate(items):
        bline = items.line_of(index)
        bdotted = f"{dotted}.breaks.{index}"
        bbody = where.mapping(item, bline, bdotted)
        b_start = _clock(where, bbody, "start", bdotted, bline)
        b_end = _clock(where, bbody, "end", bdotted, bline)
        # Place the break inside the shift: a 02:00 break of a 20:00 shift is the next day.
        if b_start < shift.start:
            b_start += DAY_MINUTES
            b_end += DAY_MINUTES
        if b_end <= b_start:
            b_end += DAY_MINUTES
        if b_end > shift.end_offset:
            raise where.error(
                bline, bdotted, f"the break does not fit inside the shift {shift.span}"
            )
        breaks.append(Break(b_start, b_end, str(bbody.get("reason", "break"))))
    return Shift(shift.name, start, end, shift.label_zh, shift.label_en, tuple(breaks))
