"""Agent-state time in the database (SQLite and PostgreSQL): intervals written as they
close, off the event path, read back as occupancy through the store, the API and the CLI."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from routing_fixtures import at, roster
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from callcenter.cli import main
from callcenter.core.events import (
    AgentAnswered,
    AgentCompleted,
    AgentRinging,
    Event,
    QueueMemberChanged,
)
from callcenter.db import create_engine_for, upgrade
from callcenter.routing.agent_state import AgentStates, Interval, occupancy
from callcenter.routing.directory import Agent, Directory, Seat
from callcenter.routing.http import RoutingState, setup
from callcenter.routing.state_time import StateTimeRecorder
from callcenter.routing.store import AgentTimeStore, StoredInterval
from callcenter.web.security import USER_KEY, User

T0 = at("2026-12-01T08:00")
KF01, KF02 = "PJSIP/1001", "PJSIP/1002"


def member(t: float, change: str, interface: str, name: str, **kw: object) -> QueueMemberChanged:
    return QueueMemberChanged(
        pbx="main", call_id="", at=t, change=change, queue="support",  # type: ignore[arg-type]
        interface=interface, member_name=name, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def call(t: float, kind: type[Event], interface: str, name: str) -> Event:
    return kind(pbx="main", call_id=f"c{t}", at=t, queue="support", interface=interface,  # type: ignore[call-arg]
                member_name=name)  # fmt: skip


def a_shift() -> list[Event]:
    """kf01: signed in at 08:00, a call 08:10-08:20 with 60 s wrap-up (tick ends it), a
    15-minute pause; kf02: signed in at 08:00, paused all along."""
    return [
        member(T0, "added", KF01, "kf01", status=1),
        member(T0, "added", KF02, "kf02", status=1, paused=True, paused_reason="培训"),
        call(T0 + 600, AgentRinging, KF01, "kf01"),
        call(T0 + 610, AgentAnswered, KF01, "kf01"),
        call(T0 + 1200, AgentCompleted, KF01, "kf01"),
        member(T0 + 1800, "paused", KF01, "kf01", paused=True, paused_reason="lunch"),
        member(T0 + 2700, "paused", KF01, "kf01", paused=False),
    ]


# --- the store ----------------------------------------------------------------------------


def test_the_store_clips_intervals_to_the_range_and_keeps_one_row_per_interval(
    engine: Engine,
) -> None:
    store = AgentTimeStore(engine)
    rows = [
        StoredInterval("main", "kf01", KF01, "ready", "", T0, T0 + 600),
        StoredInterval("main", "kf01", KF01, "on_call", "support", T0 + 600, T0 + 1200),
        StoredInterval("main", "kf02", KF02, "paused", "培训", T0, T0 + 3600),
    ]
    assert store.insert(rows) == 3
    store.insert(rows[:1])  # written again (a retried batch): still one row
    assert len(store.intervals(T0, T0 + 3600)) == 3
    got = {(r.agent, r.state): r.seconds for r in store.time_by_state(T0 + 300, T0 + 900)}
    assert got == {("kf01", "ready"): 300.0, ("kf01", "on_call"): 300.0,
                   ("kf02", "paused"): 600.0}  # fmt: skip
    only = store.time_by_state(T0, T0 + 3600, ["kf02"])
    assert [(r.agent, r.state, r.seconds) for r in only] == [("kf02", "paused", 3600.0)]
    assert store.time_by_state(T0 + 3600, T0 + 7200) == []


def test_a_weekend_offline_is_stored_in_day_long_pieces_and_read_whole(engine: Engine) -> None:
    store = AgentTimeStore(engine)
    weekend = StoredInterval("main", "kf01", KF01, "offline", "", T0, T0 + 2.5 * 86400)
    store.insert([weekend])
    assert len(store.intervals(T0, T0 + 3 * 86400)) == 3
    (row,) = store.time_by_state(T0 + 86400 * 2, T0 + 86400 * 3)
    assert row.seconds == 0.5 * 86400


# --- the recorder: written as intervals close, never on the event path --------------------


async def test_intervals_reach_the_database_as_they_close_and_give_occupancy(
    engine: Engine,
) -> None:
    states = AgentStates(wrapup_s=60)
    now = {"t": T0 + 3600}
    recorder = StateTimeRecorder(AgentTimeStore(engine), states, clock=lambda: now["t"],
                                 flush_interval_s=0.05)  # fmt: skip
    recorder.start()
    try:
        for event in a_shift():
            states.apply(event)
        states.tick(T0 + 1300)
        assert states.intervals == []  # they went to the recorder, not to memory
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            if recorder.pending == 0 and recorder.written:
                break
        stored = AgentTimeStore(engine).intervals(T0, T0 + 3600)
        assert [(i.agent, i.state) for i in stored if i.agent == "kf01"] == [
            ("kf01", "ready"), ("kf01", "ringing"), ("kf01", "on_call"), ("kf01", "wrap_up"),
            ("kf01", "ready"), ("kf01", "paused"),
        ]  # fmt: skip
        # kf01 08:00-09:00: ready 600 + 540 + 900 (the last still open), ringing 10,
        # on call 590, wrap-up 60, paused 900 -> busy 650 of 2700 available
        rows = {r.agent: r for r in await recorder.occupancy(T0, T0 + 3600)}
        kf01 = rows["kf01"]
        assert kf01.seconds["on_call"] == 590 and kf01.seconds["wrap_up"] == 60
        assert kf01.seconds["paused"] == 900 and kf01.available_s == 2700
        assert kf01.occupancy == pytest.approx(650 / 2700)
        assert rows["kf02"].occupancy is None  # paused all along: no available time
        assert rows["kf02"].seconds == {"paused": 3600}
        # the pure fold over the same intervals agrees
        kept = [Interval(i.agent, i.interface, i.state, i.reason, i.started, i.ended)
                for i in stored if i.agent == "kf01"]  # fmt: skip
        kept += [i for i in states.open_intervals(T0 + 3600) if i.agent == "kf01"]
        assert occupancy(kept, T0, T0 + 3600) == pytest.approx(650 / 2700)
        # one seat's time for the agent's own day: its closed intervals and the open one
        closed, current = await recorder.seat_intervals(KF01, T0 + 1000, T0 + 3600)
        assert [(i.interface, i.state) for i in closed] == [
            (KF01, "on_call"), (KF01, "wrap_up"), (KF01, "ready"), (KF01, "paused"),
        ]  # fmt: skip
        assert current is not None
        assert (current.state, current.start, current.end) == ("ready", T0 + 2700, T0 + 3600)
    finally:
        await recorder.close()
    # closing cut the open intervals at the clock: the last 15 minutes are stored too
    tail = {(i.agent, i.state): i for i in AgentTimeStore(engine).intervals(T0 + 2700, T0 + 3600)}
    assert tail[("kf01", "ready")].ended == T0 + 3600
    assert tail[("kf02", "paused")].ended == T0 + 3600


class FlakyStore(AgentTimeStore):
    """The real store behind a database that is away for the first ``outages`` writes."""

    def __init__(self, engine: Engine, outages: int) -> None:
        super().__init__(engine)
        self.outages = outages
        self.calls = 0

    def insert(self, intervals: list[StoredInterval]) -> int:  # type: ignore[override]
        self.calls += 1
        if self.calls <= self.outages:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database away"))
        return super().insert(intervals)


async def test_a_database_outage_keeps_the_intervals_and_the_event_path_does_not_wait(
    engine: Engine,
) -> None:
    states = AgentStates(wrapup_s=0)
    store = FlakyStore(engine, outages=2)
    recorder = StateTimeRecorder(store, states, clock=lambda: T0 + 100, flush_interval_s=0.01,
                                 max_batch=2, retry_initial_s=0.01)  # fmt: skip
    recorder.start()
    try:
        writes_before = store.calls
        for i in range(20):  # 20 pause/unpause flips: 20 closed intervals
            states.apply(member(T0 + i, "added" if i == 0 else "paused", KF01, "kf01",
                                status=1, paused=bool(i % 2)))  # fmt: skip
        assert store.calls == writes_before  # applying never waited for the database
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            if recorder.pending == 0 and recorder.written == 19:
                break
        assert store.calls > 2 and recorder.written == 19
        assert len(AgentTimeStore(engine).intervals(T0, T0 + 100)) == 19
    finally:
        await recorder.close()


async def test_only_the_instance_speaking_for_a_pbx_writes_its_time(engine: Engine) -> None:
    states = AgentStates(wrapup_s=0)
    recorder = StateTimeRecorder(AgentTimeStore(engine), states, clock=lambda: T0 + 50,
                                 holds=lambda pbx: pbx == "other")  # fmt: skip
    states.apply(member(T0, "added", KF01, "kf01", status=1))
    states.apply(member(T0 + 10, "paused", KF01, "kf01", paused=True))
    assert recorder.pending == 0  # "main" is spoken for elsewhere


# --- the API --------------------------------------------------------------------------------


@web.middleware
async def fake_sign_in(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    role = request.headers.get("X-Test-Role")
    if role:
        request[USER_KEY] = User(id=1, login=role, role=role)  # type: ignore[arg-type]
    return await handler(request)


ROSTER = "rotations:\n  - {name: h, team: hotline, anchor: 2026-11-30, pattern: [[day]], members: [kf01]}\n"


@pytest.fixture
async def api(engine: Engine) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    states = AgentStates(wrapup_s=60)
    recorder = StateTimeRecorder(AgentTimeStore(engine), states, clock=lambda: T0 + 3600)
    for event in a_shift():
        states.apply(event)
    await recorder.flush()
    directory = Directory(
        {"S1": Seat("S1", KF01), "S2": Seat("S2", KF02)},
        {"kf01": Agent("kf01", "王伟", "S1", "hotline"), "kf02": Agent("kf02", "李芳", "S2")},
    )
    state = RoutingState(directory, roster(ROSTER), (), clock=lambda: T0 + 3600,
                         occupancy=recorder.occupancy)  # fmt: skip
    app = web.Application(middlewares=[fake_sign_in])
    setup(app, state)
    async with TestClient(TestServer(app)) as client:
        yield client


SUPERVISOR = {"X-Test-Role": "supervisor"}


async def test_occupancy_api_is_for_supervisors_and_admins(api) -> None:  # type: ignore[no-untyped-def]
    url = "/api/routing/occupancy?from=2026-12-01T08:00&to=2026-12-01T09:00"
    assert (await api.get(url)).status == 401
    assert (await api.get(url, headers={"X-Test-Role": "agent"})).status == 403
    reply = await api.get(url, headers={"X-Test-Role": "admin"})
    assert reply.status == 200
    body = await reply.json()
    assert body["from"] == "2026-12-01T08:00:00+08:00" and body["to"] == "2026-12-01T09:00:00+08:00"
    kf01 = next(a for a in body["agents"] if a["agent"] == "kf01")
    assert kf01["name"] == "王伟" and kf01["team"] == "hotline"
    assert kf01["occupancy"] == round(650 / 2700, 4)
    assert (kf01["on_call_s"], kf01["wrap_up_s"], kf01["paused_s"]) == (590, 60, 900)
    assert body["total"]["occupancy"] == round(650 / 2700, 4)  # kf02 adds no available time
    assert "wrap-up" in body["definition"]["en"]
    one = await (await api.get(url + "&agent=kf02", headers=SUPERVISOR)).json()
    assert [a["agent"] for a in one["agents"]] == ["kf02"] and one["agents"][0]["occupancy"] is None


@pytest.mark.parametrize(
    "query, word",
    [
        ("from=yesterday", "from"),
        ("from=2026-12-01T08:00&to=2026-13-01", "to"),
        ("from=2026-12-01T09:00&to=2026-12-01T08:00", "later"),
        ("from=2025-01-01&to=2026-12-01", "366"),
    ],
)
async def test_bad_ranges_get_a_400_that_names_the_problem(api, query: str, word: str) -> None:  # type: ignore[no-untyped-def]
    reply = await api.get(f"/api/routing/occupancy?{query}", headers=SUPERVISOR)
    assert reply.status == 400
    assert word in (await reply.json())["error"]["en"]


async def test_without_a_range_it_is_today_so_far(api) -> None:  # type: ignore[no-untyped-def]
    body = await (await api.get("/api/routing/occupancy", headers=SUPERVISOR)).json()
    assert body["from"] == "2026-12-01T00:00:00+08:00" and body["to"] == "2026-12-01T09:00:00+08:00"
    assert {a["agent"] for a in body["agents"]} == {"kf01", "kf02"}


# --- the command line ---------------------------------------------------------------------


def test_roster_occupancy_prints_a_table_or_json(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    try:
        states = AgentStates(wrapup_s=60, on_closed=lambda i: AgentTimeStore(engine).insert(
            [StoredInterval(i.pbx, i.agent, i.interface, i.state, i.reason, i.start, i.end)]))  # fmt: skip
        for event in a_shift():
            states.apply(event)
        states.cut(T0 + 3600)
    finally:
        engine.dispose()
    config = tmp_path / "cc.yaml"
    config.write_text(
        f"database:\n  url: {db_url}\nrouting:\n  agents_file: {tmp_path / 'none.yaml'}\n",
        encoding="utf-8",
    )
    args = ["--config", str(config), "roster", "occupancy", "--from", "2026-12-01T08:00",
            "--to", "2026-12-01T09:00"]  # fmt: skip
    assert main([*args, "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [(a["agent"], a["occupancy"]) for a in body["agents"]] == [
        ("kf01", round(650 / 2700, 4)), ("kf02", None),
    ]  # fmt: skip
    assert main([*args, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Occupancy" in out and "24.1%" in out and "total" in out
    assert main(["--config", str(config), "roster", "occupancy", "--from", "2026-12-01",
                 "--to", "then"]) == 2  # fmt: skip
    assert "--to is not a date" in capsys.readouterr().err
