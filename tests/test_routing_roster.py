"""Shifts, rosters and who is on duty: midnight, overlaps, daylight saving, holidays,
leave, swaps and rotations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from routing_fixtures import at, book, roster

from callcenter.routing.duty import next_edge, on_duty
from callcenter.routing.roster_file import roster_from_mapping
from callcenter.routing.shifts import parse_clock
from callcenter.routing.yamlio import RoutingConfigError, parse_yaml

FIXED = """
rotations:
  - name: hotline
    team: hotline
    anchor: 2026-11-30
    pattern: [[day], [night], [mid]]
    members: [ann, bob, cat]
"""

DESK = """
rotations:
  - name: desk
    anchor: 2026-11-30
    pattern: [[desk_a], [desk_b], [desk_c]]
    members: [a, b, c]
"""


def duty(r, when: str, tz: str = "Asia/Shanghai") -> list[tuple[str, str]]:
    return [(d.agent, d.shift) for d in on_duty(r, at(when, tz))]


def test_night_shift_crosses_midnight_and_belongs_to_the_day_it_starts() -> None:
    # Rows of one day: every day each member moves on a row (ann: day, night, mid, ...).
    r = roster(FIXED)
    assert duty(r, "2026-11-30T03:00") == []  # before the anchor nobody works
    assert ("bob", "night") in duty(r, "2026-11-30T23:59")
    assert ("bob", "night") in duty(r, "2026-12-01T07:59")  # still Monday's night shift
    assert ("bob", "night") not in duty(r, "2026-12-01T08:00")
    assert duty(r, "2026-12-01T08:00") == [("cat", "day")]  # cat's turn on day
    assert sorted(duty(r, "2026-12-01T20:30")) == [("ann", "night"), ("bob", "mid")]


def test_front_desk_overlaps_give_two_people_at_each_handover() -> None:
    r = roster(DESK)
    assert duty(r, "2026-11-30T10:00") == [("a", "desk_a")]
    assert sorted(duty(r, "2026-11-30T16:00")) == [("a", "desk_a"), ("b", "desk_b")]
    assert duty(r, "2026-11-30T16:30") == [("b", "desk_b")]
    assert sorted(duty(r, "2026-11-30T23:45")) == [("b", "desk_b"), ("c", "desk_c")]
    # 24:00 is the end of the day; the 23:30 shift runs to 08:00 next morning.
    assert duty(r, "2026-12-01T00:00") == [("c", "desk_c")]
    # Next day everyone moved a row: c on desk_a overlaps with its own night shift? No:
    # the night shift that started on Monday ends at 08:00 when Tuesday's early one starts.
    assert duty(r, "2026-12-01T07:59") == [("c", "desk_c")]
    assert duty(r, "2026-12-01T08:00") == [("c", "desk_a")]


def test_next_edge_walks_the_handover_times() -> None:
    r = roster(DESK)
    edge = next_edge(r, at("2026-11-30T09:00"))
    assert edge == at("2026-11-30T15:30")
    assert next_edge(r, edge) == at("2026-11-30T16:30")


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_night_shift_on_daylight_saving_switch_nights_ends_at_08_on_the_clock(tz: str) -> None:
    r = roster(
        """
rotations:
  - name: nights
    anchor: 2026-01-01
    pattern: [[night]]
    members: [nina]
""",
        tz,
    )
    spring = date(2026, 3, 28) if tz == "Europe/Berlin" else date(2026, 3, 7)
    autumn = date(2026, 10, 24) if tz == "Europe/Berlin" else date(2026, 10, 31)
    for night, hours in ((spring, 11), (autumn, 13), (date(2026, 6, 1), 12)):
        (a,) = r.assignments(night)
        assert (a.end - a.start) / 3600 == hours
        assert duty(r, f"{night.isoformat()}T20:00", tz) == [("nina", "night")]
    # During the extra autumn hour she is still on duty, and at 08:00 local she is off.
    end_autumn = at(f"{autumn + timedelta(days=1)}T08:00", tz)
    assert [d.agent for d in on_duty(r, end_autumn - 1)] == ["nina"]
    (a,) = r.assignments(autumn)
    assert a.end == end_autumn


def test_public_holidays_stop_rotations_marked_off_only() -> None:
    r = roster(
        """
holidays: CN
rotations:
  - name: housekeepers
    anchor: 2026-09-28
    holidays: off
    pattern: [[early]]
    members: [gj01]
  - name: hotline
    anchor: 2026-09-28
    pattern: [[day]]
    members: [kf01]
"""
    )
    assert r.calendar.name(date(2026, 10, 1)) == "国庆节"
    assert duty(r, "2026-10-01T10:00") == [("kf01", "day")]
    assert sorted(duty(r, "2026-09-30T10:00")) == [("gj01", "early"), ("kf01", "day")]
    # A lunch break keeps her rostered but not available.
    (keeper,) = [d for d in on_duty(r, at("2026-09-30T12:10")) if d.agent == "gj01"]
    assert keeper.on_break == "lunch" and not keeper.available


def test_company_holidays_come_on_top_of_the_public_ones() -> None:
    r = roster(
        """
extra_holidays: {2026-12-02: 公司活动}
rotations:
  - {name: h, anchor: 2026-11-30, holidays: off, pattern: [[day]], members: [a]}
"""
    )
    assert duty(r, "2026-12-02T10:00") == []
    assert duty(r, "2026-12-03T10:00") == [("a", "day")]


def test_leave_and_swaps() -> None:
    r = roster(
        (
            FIXED
            + """
leave:
  - {agent: ann, from: 2026-12-02, to: 2026-12-03, reason: 年假}
swaps:
  - {date: 2026-11-30, agent: ann, with: bob}
  - {date: 2026-12-01, agent: cat, with: dan}
extra:
  - {date: 2026-12-02, agent: dan, shift: day}
"""
        )
        .replace("members: [ann, bob, cat]", "members: [ann, bob, cat, dan]")
        .replace("pattern: [[day], [night], [mid]]", "pattern: [[day], [night], [mid], [off]]")
    )
    # Monday: ann and bob exchanged day and night.
    assert sorted(duty(r, "2026-11-30T10:00")) == [("bob", "day"), ("cat", "mid")]
    assert ("ann", "night") in duty(r, "2026-11-30T22:00")
    # Tuesday dan had the day shift and cat was off: cat takes it over, dan is off.
    assert ("cat", "day") in duty(r, "2026-12-01T10:00")
    assert all(agent != "dan" for agent, _ in duty(r, "2026-12-01T10:00"))
    assert [a.origin for a in r.assignments(date(2026, 12, 1)) if a.agent == "cat"] == ["swap"]
    # Wednesday and Thursday ann is on leave; dan works an extra day shift on Wednesday.
    assert all(a.agent != "ann" for d in (2, 3) for a in r.assignments(date(2026, 12, d)))
    assert ("dan", "day") in duty(r, "2026-12-02T10:00")


def test_weekly_rotation_moves_everyone_a_row_each_week() -> None:
    r = roster(
        """
rotations:
  - name: weekly
    anchor: 2026-11-30
    pattern:
      - "day day day day day off off"
      - "night night night night off off off"
    members: [a, b]
"""
    )
    assert duty(r, "2026-11-30T10:00") == [("a", "day")]
    assert duty(r, "2026-12-07T10:00") == [("b", "day")]
    assert duty(r, "2026-12-07T22:00") == [("a", "night")]
    assert duty(r, "2026-12-05T10:00") == []  # Saturday off


def test_pool_turns_posts_every_quarter() -> None:
    r = roster(
        """
pools:
  posts: {anchor: 2026-01-01, every: quarter, agents: [p1, p2, p3]}
rotations:
  - {name: desk, team: frontdesk, anchor: 2026-01-05, pattern: [[desk_a]], members: {pool: posts, slots: [0]}}
  - {name: zone, team: zone, anchor: 2026-01-05, pattern: [[early]], members: {pool: posts, slots: [1, 2]}}
"""
    )
    q1 = dict((d.agent, d.team) for d in on_duty(r, at("2026-03-31T10:00")))
    q2 = dict((d.agent, d.team) for d in on_duty(r, at("2026-04-01T10:00")))
    assert q1 == {"p1": "frontdesk", "p2": "zone", "p3": "zone"}
    assert q2 == {"p2": "frontdesk", "p3": "zone", "p1": "zone"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rotations:\n  - {name: x, anchor: 2026-01-01, pattern: [[lunch]], members: [a]}\n",
         "roster.yaml:2: rotations.0.pattern.0: unknown shift 'lunch'"),
        ("rotations:\n  - name: x\n    anchor: 2026-13-01\n    pattern: [[day]]\n    members: [a]\n",
         "roster.yaml:3: rotations.0.anchor: must be a date"),
        ("rotations:\n  - {name: x, anchor: 2026-01-01, pattern: [[day]], members: [a]}\n"
         "leave:\n  - {agent: zed, from: 2026-01-02}\n",
         "roster.yaml:4: leave.0.agent: 'zed' is in no rotation, pool or extra shift"),
        ("rotations: []\nsurprise: 1\n", "roster.yaml:2: roster.surprise: unknown key"),
    ],
)  # fmt: skip
def test_bad_roster_names_file_line_and_problem(text: str, expected: str) -> None:
    with pytest.raises(RoutingConfigError) as err:
        roster_from_mapping(parse_yaml(text, "roster.yaml"), "roster.yaml", book())
    assert str(err.value).startswith(expected)


def test_bad_clock_times_are_refused() -> None:
    for text in ("25:00", "8", "08:60", "24:30"):
        with pytest.raises(ValueError):
            parse_clock(text)
    assert parse_clock("24:00") == 1440
