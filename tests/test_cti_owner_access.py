"""Owners on a need-to-know basis: an agent reads the owners of the calls at their seat;
any other owner only with a reason, audited, and so many per window, past which the read
is refused and supervisors are alerted. The directory is no longer one loop away."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cti_fixtures import Client, add_users, client_for, serving, sqlite_engine

from callcenter.core.events import AgentAnswered, AgentRinging, ChannelCreated, ChannelHungUp
from callcenter.cti.feature import CtiFeature
from callcenter.cti.importer import parse_rows
from callcenter.cti.owner_access import OwnerReadLimiter, owners_in_hand
from callcenter.cti.seat_calls import SeatCall
from callcenter.cti.settings import CtiSettings
from callcenter.metrics.live import LiveCounters
from callcenter.metrics.wallboard import WallboardHub

T0 = 1_800_000_000.0
LIMIT = 3
HEADER = ["业主编号", "姓名", "电话", "楼栋", "单元", "房号", "片区", "管家", "VIP", "欠费", "备注"]
OWNER_ROWS = [
    [f"A{n:03d}", f"业主{n}", f"1381234{n:04d}", "3栋", "2单元", f"{n}01", "东区", "", "", "", ""]
    for n in range(1, 11)
]  # fmt: skip


def test_the_limiter_counts_a_sliding_window_and_alerts_once_per_crossing() -> None:
    limiter = OwnerReadLimiter(2, 600.0)
    assert limiter.take("alice", T0).allowed and limiter.take("alice", T0 + 1).allowed
    first = limiter.take("alice", T0 + 2)
    assert (first.allowed, first.alert, first.retry_after_s) == (False, True, 598.0)
    assert not limiter.take("alice", T0 + 3).alert  # told once, not at every attempt
    assert limiter.take("bob", T0 + 3).allowed  # per user
    assert limiter.take("alice", T0 + 600.5).allowed  # the first read left the window
    assert limiter.take("alice", T0 + 601.5).allowed
    assert limiter.take("alice", T0 + 602).alert  # a new crossing is a new alert


def test_owners_in_hand_are_ringing_talking_or_in_wrap_up() -> None:
    def call(owner: int, state: Any, answered: bool, last_at: float) -> SeatCall:
        return SeatCall("main", f"c{owner}", "PJSIP/1001", "", T0, (owner,), state, answered,
                        last_at)  # fmt: skip

    calls = [
        call(1, "ringing", False, T0),
        call(2, "answered", True, T0),
        call(3, "ended", True, T0 + 70),  # hung up 30 s ago: wrap-up
        call(4, "ended", True, T0),  # long over
        call(5, "missed", False, T0 + 90),  # rang, never answered here
    ]
    assert owners_in_hand(calls, T0 + 100, wrapup_s=30) == {1, 2, 3}


@dataclass
class Desk:
    base: str
    cti: CtiFeature
    alerts: list[dict[str, Any]]
    clock: list[float]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    engine = sqlite_engine(tmp_path)
    clock = [T0]
    alerts: list[dict[str, Any]] = []
    settings = CtiSettings(owner_reads_limit=LIMIT, owner_reads_window_s=600.0, wrapup_s=30.0)
    cti = CtiFeature(engine, settings, clock=lambda: clock[0], alert=alerts.append)
    add_users(cti.accounts)
    await cti.directory.import_owners(parse_rows(HEADER, OWNER_ROWS).records)
    await cti.start()
    app = web.Application()
    cti.routes(app)
    async with serving(app) as base:
        yield Desk(base, cti, alerts, clock)
    await cti.stop()
    engine.dispose()


async def _status(client: Client, path: str) -> int:
    status, _ = await client.get_json(path)
    return status


async def test_an_agent_cannot_loop_over_the_owner_directory(desk: Desk) -> None:
    async with client_for(desk.base, "alice") as alice, client_for(desk.base, "sue") as sue:
        # without a reason, an owner outside the agent's calls is refused
        assert [await _status(alice, f"/api/owners/{n}") for n in range(1, 11)] == [403] * 10
        assert await _status(alice, "/api/owners/999") == 403  # nor whether an id exists
        status, body = await alice.get_json("/api/owners/lookup?number=13812340002")
        assert status == 403 and isinstance(body, dict) and "reason" in body["error"]["en"]
        # with a reason: LIMIT reads, then 429 with Retry-After
        reads = [await _status(alice, f"/api/owners/{n}?reason=回访") for n in range(1, 6)]
        assert reads == [200] * LIMIT + [429] * (5 - LIMIT)
        async with alice.http.get(f"{desk.base}/api/owners/9?reason=x") as resp:
            assert resp.status == 429 and int(resp.headers["Retry-After"]) == 600
        # supervisors were told once: an alert and an audit row
        assert [(a["kind"], a["login"], a["count"]) for a in desk.alerts] == [
            ("owner_reads", "alice", LIMIT)
        ]
        status, trail = await sue.get_json("/api/audit?login=alice")
        assert status == 200 and isinstance(trail, dict)
        rows = [(a["action"], a["owner_id"], a["detail"]) for a in trail["audit"]]
        assert ("open", 1, "reason: 回访") in rows
        assert ("owner_reads_limit", None, f"{LIMIT} reads in 600 s") in rows
        assert ("open", 2, "refused 403") in rows
        assert ("open", 4, "refused 429; reason: 回访") in rows
        # supervisors read everything, without a reason and without a limit (audited)
        assert [await _status(sue, f"/api/owners/{n}") for n in range(1, 11)] == [200] * 10
        # the window passes: the agent may read again
        desk.clock[0] += 601
        assert await _status(alice, "/api/owners/7?reason=callback") == 200


async def test_an_agent_reads_the_owner_of_the_call_at_their_seat(desk: Desk) -> None:
    number, call_id, seat = "13812340005", "1800000000.5", "PJSIP/1001"
    for event in (
        ChannelCreated(pbx="main", call_id=call_id, channel_id=call_id, at=T0,
                       channel="PJSIP/trunk-00000001", caller_number=number, exten="4008001000"),
        AgentRinging(pbx="main", call_id=call_id, channel_id=call_id, at=T0 + 5, queue="repair",
                     interface=seat, member_name="Agent"),
    ):  # fmt: skip
        desk.cti.on_event(event)
    deadline = time.monotonic() + 30
    while not desk.cti.hub.recent.calls_at(seat):
        assert time.monotonic() < deadline, "the call never popped"
        await asyncio.sleep(0.01)
    async with client_for(desk.base, "alice") as alice, client_for(desk.base, "bob") as bob:
        # ringing at alice's seat: her caller's owner, as often as she likes, no reason
        for _ in range(LIMIT + 2):
            assert await _status(alice, "/api/owners/5") == 200
        status, found = await alice.get_json(f"/api/owners/lookup?number={number}")
        assert status == 200 and isinstance(found, dict) and found["owners"][0]["id"] == 5
        assert await _status(bob, "/api/owners/5") == 403  # not bob's call
        desk.cti.on_event(
            AgentAnswered(pbx="main", call_id=call_id, at=T0 + 8, queue="repair", interface=seat)
        )
        desk.cti.on_event(
            ChannelHungUp(pbx="main", call_id=call_id, channel_id=call_id, at=T0 + 60,
                          channel="PJSIP/trunk-00000001")
        )  # fmt: skip
        desk.clock[0] = T0 + 80  # in wrap-up
        assert await _status(alice, "/api/owners/5") == 200
        desk.clock[0] = T0 + 200  # wrap-up over
        assert await _status(alice, "/api/owners/5") == 403
    assert desk.alerts == []


def test_supervisors_see_the_alert_on_the_wallboard() -> None:
    now = [T0]
    hub = WallboardHub(LiveCounters(), clock=lambda: now[0])
    hub.notice({"kind": "owner_reads", "zh": "坐席 alice …", "en": "Agent alice …", "since": T0})
    assert [a["kind"] for a in hub.frame()["alerts"]] == ["owner_reads"]
    now[0] = T0 + hub.notice_keep_s + 1
    assert hub.frame()["alerts"] == []
