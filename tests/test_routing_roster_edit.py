"""Editing a roster day: the week with its gaps, one day's leave, swaps and extra shifts
written to the roster file (comments and other days kept), the roster in use changed at
once; people on planned (extra) shifts take leave and swap like everyone else, and an
edit that makes no sense is refused with reasons in both languages, never a file path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from routing_fixtures import at, book, roster
from test_routing_http import SUPERVISOR, fake_sign_in

from callcenter.routing import roster_http
from callcenter.routing.directory import Directory
from callcenter.routing.duty import on_duty
from callcenter.routing.http import RoutingState, setup
from callcenter.routing.roster import Roster
from callcenter.routing.roster_edit import (
    DayEdit,
    apply_day_edit,
    day_edit,
    day_edit_problems,
    exception_blocks,
    replace_top_blocks,
)
from callcenter.routing.roster_file import load_roster
from callcenter.routing.staffing import MinimumRule

ROSTER = """# the hotline (热线)
rotations:
  - {name: h, team: hotline, anchor: 2026-11-30, pattern: [[day]], members: [kf01, kf02]}
leave:
  - {agent: kf02, from: 2026-12-01, to: 2026-12-03, reason: 年假}
  # - {agent: kf03, from: 2026-12-03}
swaps: []
extra: []
# a comment at the end
"""


def test_replacing_blocks_keeps_comments_and_other_keys() -> None:
    text = replace_top_blocks(
        ROSTER, {"swaps": "swaps:\n  - {date: 2026-12-02, agent: kf01, with: kf02}\n"}
    )
    assert "# the hotline (热线)\n" in text and "# a comment at the end\n" in text
    assert "  # - {agent: kf03, from: 2026-12-03}\n" in text
    assert "swaps:\n  - {date: 2026-12-02, agent: kf01, with: kf02}\nextra: []\n" in text
    assert replace_top_blocks("rotations: []\n", {"extra": "extra: []\n"}) == (
        "rotations: []\nextra: []\n"
    )


def test_a_day_edit_replaces_only_that_days_own_exceptions() -> None:
    r = roster(ROSTER)
    day = date(2026, 12, 2)
    assert day_edit(r, day) == DayEdit()  # the three-day leave is not the day's own
    edited = apply_day_edit(
        r, day, DayEdit(leave=(("kf01", "病假"),), extras=(("kf09", "night", "extra"),))
    )
    assert day_edit(edited, day) == DayEdit(
        leave=(("kf01", "病假"),), extras=(("kf09", "night", "extra"),)
    )
    assert [a.agent for a in edited.assignments(day)] == ["kf09"]  # kf01 sick, kf02 on leave
    assert [a.agent for a in edited.assignments(date(2026, 12, 4))] == ["kf01", "kf02"]


# a planned day as ``callcenter demo`` writes it: the hotline is all extra shifts
PLANNED = ROSTER.replace(
    "extra: []",
    "extra:\n  - {date: 2026-12-04, agent: kf05, shift: day, team: hotline}\n"
    "  - {date: 2026-12-04, agent: kf06, shift: mid, team: hotline}",
)


def test_people_on_planned_shifts_take_leave_and_swap() -> None:
    r = roster(PLANNED)
    day = date(2026, 12, 4)
    shifts = {(a.agent, a.shift.name) for a in r.assignments(day)}
    assert {("kf05", "day"), ("kf06", "mid")} <= shifts
    planned = day_edit(r, day).extras  # the editor sends the day's extra shifts back as they are
    edit = DayEdit(leave=(("kf05", "病假"),), swaps=(("kf06", "kf01"),), extras=planned)
    assert day_edit_problems(r, day, edit) == []
    edited = roster(
        replace_top_blocks(PLANNED, exception_blocks(apply_day_edit(r, day, edit)))
    )  # the file as written loads back
    after = {(a.agent, a.shift.name, a.origin) for a in edited.assignments(day)}
    assert after == {("kf01", "mid", "swap"), ("kf06", "day", "swap"), ("kf02", "day", "rotation")}


def test_an_edit_that_makes_no_sense_says_why_in_both_languages() -> None:
    r = roster(PLANNED)
    day = date(2026, 12, 4)
    planned = day_edit(r, day).extras
    overlap = day_edit_problems(r, day, DayEdit(extras=(*planned, ("kf06", "day", "extra"))))
    assert overlap == [(
        "kf06 当天已有班次 day 08:00–20:00，与 mid 09:00–21:00 时间重叠",
        "kf06 already works day 08:00–20:00 that day, which overlaps mid 09:00–21:00",
    )]  # fmt: skip
    night_before = DayEdit(extras=(("kf05", "night", "extra"),))  # ends as the 4th's day starts
    assert day_edit_problems(r, date(2026, 12, 3), night_before) == []
    assert day_edit_problems(r, day, DayEdit(extras=(("kf09", "night", "extra"),))) == []
    assert day_edit_problems(r, day, DayEdit(leave=(("nobody", ""),), extras=planned)) == [
        (
            "nobody 不在排班中（没有轮班，也没有加班）",
            "nobody is not on the roster (no rotation, pool or extra shift)",
        )
    ]
    assert day_edit_problems(r, date(2026, 12, 5), DayEdit(swaps=(("kf05", "kf06"),))) == [
        (
            "kf05 和 kf06 当天都没有班次，无班可调",
            "neither kf05 nor kf06 works that day: there is nothing to swap",
        )
    ]
    assert day_edit_problems(r, day, DayEdit(extras=(("kf01", "lunch", "x"),))) == [
        ("没有名为 lunch 的班次", "there is no shift called lunch")
    ]


@pytest.fixture
async def api(
    tmp_path: Path,
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Path, RoutingState]]:
    roster_file = tmp_path / "roster.yaml"
    roster_file.write_text(ROSTER, encoding="utf-8")
    seen: list[Roster] = []
    state = RoutingState(
        Directory(),
        roster(ROSTER),
        (replace(MinimumRule.parse("peak", "09:00-18:00", 2), title_zh="高峰", title_en="Peak"),),
        clock=lambda: at("2026-12-02T10:00"),
        roster_file=str(roster_file),
        roster_listeners=[seen.append],
    )
    app = web.Application(middlewares=[fake_sign_in])
    setup(app, state)
    roster_http.setup(app)
    async with TestClient(TestServer(app)) as client:
        yield client, roster_file, state


async def test_the_week_shows_shifts_leave_and_gaps(api: Any) -> None:
    client, _file, _state = api
    assert (
        await client.get("/api/routing/roster/week", headers={"X-Test-Role": "agent"})
    ).status == 403
    week = await (
        await client.get("/api/routing/roster/week?from=2026-12-03", headers=SUPERVISOR)
    ).json()
    assert week["from"] == "2026-11-30" and len(week["days"]) == 7  # Monday first
    tuesday = week["days"][1]
    assert [s["agent"] for s in tuesday["shifts"]] == ["kf01"]
    assert [(lv["agent"], lv["reason"]) for lv in tuesday["leave"]] == [("kf02", "年假")]
    assert [(g["rule"], g["have"], g["need"]) for g in tuesday["gaps"]] == [("peak", 1, 2)]
    assert tuesday["gap_ranges"] == [
        {"start": "09:00", "end": "18:00", "short": 1, "rules": {"zh": ["高峰"], "en": ["Peak"]}}
    ]
    assert "高峰" in tuesday["gaps"][0]["message"]["zh"] and week["today"] == "2026-12-02"
    assert week["days"][0]["gaps"] == [] and {a["agent"] for a in week["agents"]} == {
        "kf01",
        "kf02",
    }


async def test_editing_a_day_reaches_the_file_and_the_roster_in_use(api: Any) -> None:
    client, roster_file, state = api
    body = {
        "leave": [{"agent": "kf01", "reason": "病假"}],
        "extra": [{"agent": "kf09", "shift": "mid"}],
    }
    reply = await client.put("/api/routing/roster/days/2026-12-04", json=body, headers=SUPERVISOR)
    assert reply.status == 200, await reply.text()
    day = await reply.json()
    assert [(s["agent"], s["shift"], s["origin"]) for s in day["shifts"]] == [
        ("kf02", "day", "rotation"), ("kf09", "mid", "extra")
    ]  # fmt: skip
    assert day["edit"]["leave"] == [{"agent": "kf01", "reason": "病假"}]
    text = roster_file.read_text(encoding="utf-8")
    assert "# the hotline (热线)" in text and "# a comment at the end" in text
    reloaded = load_roster(roster_file, book())
    assert [a.agent for a in reloaded.assignments(date(2026, 12, 4))] == ["kf02", "kf09"]
    assert [d.agent for d in on_duty(state.roster, at("2026-12-04T10:00"))] == ["kf02", "kf09"]
    # emptying the day again leaves the rotation as it was
    reply = await client.put("/api/routing/roster/days/2026-12-04", json={}, headers=SUPERVISOR)
    assert [s["agent"] for s in (await reply.json())["shifts"]] == ["kf01", "kf02"]


async def test_an_edit_that_would_not_load_is_refused_and_nothing_is_written(api: Any) -> None:
    client, roster_file, _state = api
    for body, zh, en in (
        ({"leave": [{"agent": "nobody"}]}, "nobody 不在排班中", "nobody is not on the roster"),
        ({"extra": [{"agent": "kf01", "shift": "lunch"}]}, "没有名为 lunch 的班次", "no shift"),
        ({"extra": [{"agent": "kf01", "shift": "mid"}]}, "时间重叠", "overlaps"),
    ):
        reply = await client.put(
            "/api/routing/roster/days/2026-12-04", json=body, headers=SUPERVISOR
        )
        assert reply.status == 400
        error = (await reply.json())["error"]
        assert error["code"] == "bad_roster_edit" and zh in error["zh"] and en in error["en"]
        assert not any(
            w in error["zh"] + error["en"] for w in ("roster.yaml", "leave.0", "extra.0")
        )
    # a file broken by hand: a short message for the admin, the file:line in the log
    roster_file.write_text(ROSTER.replace("members: [kf01, kf02]", "members: 3"), "utf-8")
    reply = await client.put("/api/routing/roster/days/2026-12-04", json={}, headers=SUPERVISOR)
    error = (await reply.json())["error"]
    assert reply.status == 400 and "服务日志" in error["zh"] and "roster.yaml" not in error["en"]
    roster_file.write_text(ROSTER, "utf-8")
    assert roster_file.read_text(encoding="utf-8") == ROSTER
    reply = await client.put("/api/routing/roster/days/2026-13-01", json={}, headers=SUPERVISOR)
    assert reply.status == 400
