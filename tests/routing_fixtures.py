"""Small shift books and rosters for the routing tests, written as the YAML a user writes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from callcenter.routing.directory import Agent, Directory, Seat, Zone
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


# One zone ("east") with its housekeeper gj01 at KEEPER, a zone assistant and a hotline
# agent: the housekeeper-first routing tests' small world.
KEEPER = "PJSIP/1030"


def east_zone_roster(anchor: str) -> str:
    return f"""
rotations:
  - {{name: keepers, team: housekeeper, anchor: {anchor}, pattern: [[early]], members: [gj01]}}
  - {{name: zone, team: zone, anchor: {anchor}, pattern: [[desk_a]], members: [zl01]}}
  - {{name: hotline, team: hotline, anchor: {anchor}, pattern: [[day]], members: [kf01]}}
"""


def east_zone(buildings: tuple[str, ...] = ("1", "2")) -> Directory:
    seats = {s: Seat(s, f"PJSIP/{s}") for s in ("1030", "1022", "1001")}
    agents = {
        "gj01": Agent("gj01", "曹琳", "1030", "housekeeper", {"zone-east": 0}),
        "zl01": Agent("zl01", "梁桂英", "1022", "zone", {"zone-east": 1}),
        "kf01": Agent("kf01", "王伟", "1001", "hotline", {"support": 0}),
    }
    zones = {"east": Zone("east", "东区", "East", buildings, "gj01", "zone-east")}
    return Directory(seats, agents, zones)
