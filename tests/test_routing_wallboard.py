"""The live staffing alert on the supervisors' wallboard: routing's watch sees the seats
working fall below a minimum, the wallboard's JSON and websocket carry the alert, and it
goes away when the rule is met again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cti_fixtures import add_users, client_for, serving, sqlite_engine
from routing_fixtures import at, roster

from callcenter.core.events import Event, QueueMemberChanged
from callcenter.cti.feature import CtiFeature
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.wallboard import WallboardHub, setup
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.alerts import StaffingWatch, ready_by_team
from callcenter.routing.directory import Agent, Directory, Seat
from callcenter.routing.staffing import LiveStaffingMonitor, MinimumRule

NOW = at("2026-12-01T10:00")
ROSTER = (
    "rotations:\n  - {name: h, team: hotline, anchor: 2026-11-30, pattern: [[day]],"
    " members: [kf01, kf02]}\n"
)


class Clock:
    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    async def sleep_until(self, when: float) -> None:
        self.t = when


def seat(t: float, interface: str, name: str, change: str, **kw: object) -> QueueMemberChanged:
    return QueueMemberChanged(pbx="main", call_id="", at=t, change=change,  # type: ignore[arg-type]
                              queue="support", interface=interface, member_name=name,
                              **kw)  # type: ignore[arg-type]  # fmt: skip


@dataclass
class Floor:
    """The service's wiring in small: events to the agent states, the live counters and the
    wallboard; the staffing watch publishes through the same path."""

    base: str
    states: AgentStates
    hub: WallboardHub
    watch: StaffingWatch
    clock: Clock

    def feed(self, event: Event) -> None:
        changes = self.states.apply(event)
        self.hub.live.apply(event)
        self.hub.on_event(event)
        for change in changes:  # routing publishes its agent states on the same path
            self.hub.on_event(change)


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    engine = sqlite_engine(tmp_path)
    cti = CtiFeature(engine)
    add_users(cti.accounts)
    r = roster(ROSTER)
    directory = Directory(
        {"S1": Seat("S1", "PJSIP/1001"), "S2": Seat("S2", "PJSIP/1002")},
        {
            "kf01": Agent("kf01", "王伟", "S1", "hotline"),
            "kf02": Agent("kf02", "李芳", "S2", "hotline"),
        },
    )
    states = AgentStates(wrapup_s=0)
    clock = Clock(NOW)
    names = {"PJSIP/1001": "王伟", "PJSIP/1002": "李芳"}
    hub = WallboardHub(LiveCounters(thresholds=Thresholds(line_capacity=5)), clock=clock.now,
                       push_delay_s=0.01, names=lambda: names)  # fmt: skip
    holder: list[Floor] = []
    rules = [replace(MinimumRule.parse("peak", "09:00-18:00", 2, ["hotline"]),
                     title_zh="高峰时段", title_en="Peak hours")]  # fmt: skip
    watch = StaffingWatch(
        LiveStaffingMonitor(rules, r.book.zone, r.calendar),
        lambda: ready_by_team(states, directory),
        publish=lambda event: holder[0].feed(event),
        clock=clock,
        pbx="main",
    )
    app = web.Application()
    cti.routes(app)
    setup(app, hub)
    async with serving(app) as base:
        holder.append(Floor(base, states, hub, watch, clock))
        yield holder[0]
    engine.dispose()


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=60.0)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    body: dict[str, Any] = json.loads(message.data)
    return body


def staffing(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in body["alerts"] if a["kind"] == "staffing"]


async def test_the_alert_reaches_the_wallboard_and_clears_when_staffing_recovers(
    floor: Floor,
) -> None:
    floor.feed(seat(NOW - 60, "PJSIP/1001", "kf01", "added", status=1))
    floor.feed(seat(NOW - 60, "PJSIP/1002", "kf02", "added", status=1))
    assert await floor.watch.check_now() == []  # two of two working: nothing to say
    async with (
        client_for(floor.base, "sue") as sue,
        sue.http.ws_connect(f"{floor.base}/ws/wallboard") as ws,
    ):
        assert staffing(await frame(ws)) == []
        floor.feed(seat(NOW + 5, "PJSIP/1002", "kf02", "paused", paused=True, paused_reason="午餐"))
        floor.clock.t = NOW + 30
        assert [c.below for c in await floor.watch.check_now()] == [True]
        (alert,) = staffing(await frame(ws))
        assert (alert["rule"], alert["have"], alert["need"]) == ("peak", 1, 2)
        # named as people call the rule, not by its key
        assert alert["zh"] == "人手不足：高峰时段 09:00-18:00 需要至少 2 个坐席在线，当前 1 个"
        assert alert["en"] == "Understaffed: Peak hours 09:00-18:00 needs 2 seats online, 1 now"
        # the agents by name, with state, since when and the pause reason
        rows = {r["name"]: r for r in (await frame(ws))["agent_rows"]}
        assert (rows["李芳"]["state"], rows["李芳"]["reason"], rows["李芳"]["since"]) == (
            "paused",
            "午餐",
            NOW + 5,
        )
        assert rows["王伟"]["state"] == "ready"
        # kf01 pauses too: still below, and the count on the wall follows (0, not 1)
        floor.feed(
            seat(NOW + 31, "PJSIP/1001", "kf01", "paused", paused=True, paused_reason="培训")
        )
        floor.clock.t = NOW + 35
        (again,) = await floor.watch.check_now()
        assert (again.below, again.again, again.have) == (True, True, 0)
        while (live := staffing(await frame(ws))) and live[0]["have"] != 0:
            pass
        assert live[0]["since"] == NOW + 30  # still the time it first fell short
        assert "当前 0 个" in live[0]["zh"]
        # the JSON snapshot says the same
        async with sue.http.get(f"{floor.base}/api/wallboard") as reply:
            assert [a["rule"] for a in staffing(await reply.json())] == ["peak"]
        # kf02 back from lunch: the watch notices, the alert goes
        floor.feed(seat(NOW + 40, "PJSIP/1002", "kf02", "paused", paused=False))
        floor.feed(seat(NOW + 41, "PJSIP/1001", "kf01", "paused", paused=False))
        floor.clock.t = NOW + 60
        assert [c.below for c in await floor.watch.check_now()] == [False]
        assert staffing(await frame(ws)) == []


async def test_an_alert_raised_before_anyone_watches_is_on_the_first_frame(floor: Floor) -> None:
    floor.feed(seat(NOW - 60, "PJSIP/1001", "kf01", "added", status=1))
    await floor.watch.check_now()
    async with (
        client_for(floor.base, "ada") as admin,
        admin.http.ws_connect(f"{floor.base}/ws/wallboard") as ws,
    ):
        assert [(a["have"], a["need"]) for a in staffing(await frame(ws))] == [(1, 2)]
    async with (
        client_for(floor.base, "alice") as agent,  # agents do not see the wallboard
        agent.http.get(f"{floor.base}/api/wallboard") as reply,
    ):
        assert reply.status == 403
