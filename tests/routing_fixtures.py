"""Small shift books and rosters for the routing tests, written as the YAML a user writes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from callcenter.routing.roster import Roster
from callcenter.routing.roster_file import roster_from_mapping
from callcenter.routing.shifts import ShiftBook, shifts_from_mapping
from callcenter.routing.yamlio import parse_yaml

SHIFTS = """
timezone: {tz}
shifts:
  day:    {{start: "08:00", end: "20:00"}}
  mid:    {{start: "09:00", end: "21:00"}}
  night:  {{start: "20:00", end: "08:00"}}
  desk_a: {{start: "08:00", end: "16:30"}}
  desk_b: {{start: "15:30", end: "24:00"}}
  desk_c: {{start: "23:30", end: "08:00"}}
  early:
    start: "08:00"
    end: "16:30"
    breaks: [{{start: "12:00", end: "12:30", reason: lunch}}]
"""


def book(tz: str = "Asia/Shanghai") -> ShiftBook:
    return shifts_from_mapping(parse_yaml(SHIFTS.format(tz=tz), "shifts.yaml"), "shifts.yaml", tz)


def roster(text: str, tz: str = "Asia/Shanghai") -> Roster:
    return roster_from_mapping(parse_yaml(text, "roster.yaml"), "roster.yaml", book(tz))


def at(text: str, tz: str = "Asia/Shanghai") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()
