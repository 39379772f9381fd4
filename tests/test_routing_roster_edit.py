"""Editing a roster day: the week with its gaps, one day's leave, swaps and extra shifts
written to the roster file (comments and other days kept), the roster in use changed at
once, and an edit that would not load refused with the loader's file:line."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
from callcenter.routing.roster_edit import DayEdit, apply_day_edit, day_edit, replace_top_blocks
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
        (MinimumRule.parse("peak", "09:00-18:00", 2),),
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
    for body, words in (
        ({"leave": [{"agent": "nobody"}]}, "'nobody' is in no rotation or pool"),
        ({"extra": [{"agent": "kf01", "shift": "lunch"}]}, "unknown shift 'lunch'"),
    ):
        reply = await client.put(
            "/api/routing/roster/days/2026-12-04", json=body, headers=SUPERVISOR
        )
        assert reply.status == 400
        error = (await reply.json())["error"]
        assert (
            error["code"] == "bad_roster_edit"
            and words in error["en"]
            and "roster.yaml:" in error["en"]
        )
    assert roster_file.read_text(encoding="utf-8") == ROSTER
    reply = await client.put("/api/routing/roster/days/2026-13-01", json={}, headers=SUPERVISOR)
    assert reply.status == 400
