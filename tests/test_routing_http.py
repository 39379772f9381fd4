"""The routing API: reads for every signed-in role, writes for supervisors and admins,
changes written back to the agents file and handed to the membership sync."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from routing_fixtures import at, roster

from callcenter.routing.directory import load_directory
from callcenter.routing.http import RoutingState, setup
from callcenter.routing.staffing import MinimumRule
from callcenter.web.security import USER_KEY, User

ROSTER = "rotations:\n  - {name: h, team: hotline, anchor: 2026-11-30, pattern: [[day]], members: [kf01]}\n"
AGENTS = """
seats:
  S1: {interface: PJSIP/1001}
agents:
  kf01: {name: 张伟, seat: S1, team: hotline, queues: {support: 0}}
zones:
  east: {name_zh: 东区, buildings: ["1"], housekeeper: kf01, queue: zone-east}
"""


@web.middleware
async def fake_sign_in(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    role = request.headers.get("X-Test-Role")
    if role:
        request[USER_KEY] = User(id=1, login=role, role=role)  # type: ignore[arg-type]
    return await handler(request)


@pytest.fixture
async def api(
    tmp_path: Path,
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Path]]:
    agents_file = tmp_path / "agents.yaml"
    agents_file.write_text(AGENTS, encoding="utf-8")
    state = RoutingState(
        load_directory(agents_file),
        roster(ROSTER),
        (MinimumRule.parse("peak", "09:00-18:00", 2),),
        str(agents_file),
        clock=lambda: at("2026-12-01T10:00"),
    )
    app = web.Application(middlewares=[fake_sign_in])
    setup(app, state)
    async with TestClient(TestServer(app)) as client:
        yield client, agents_file


AGENT = {"X-Test-Role": "agent"}
SUPERVISOR = {"X-Test-Role": "supervisor"}


async def test_reads_need_a_sign_in_and_duty_lists_the_roster(api) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    assert (await client.get("/api/routing/agents")).status == 401
    agents = await (await client.get("/api/routing/agents", headers=AGENT)).json()
    assert agents[0]["id"] == "kf01" and agents[0]["interface"] == "PJSIP/1001"
    duty = await (await client.get("/api/routing/duty", headers=AGENT)).json()
    assert [(r["agent"], r["shift"]) for r in duty["on_duty"]] == [("kf01", "day")]
    night = await (await client.get("/api/routing/duty?at=2026-12-01T23:00", headers=AGENT)).json()
    assert night["on_duty"] == []


async def test_gaps_are_for_supervisors(api) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    assert (await client.get("/api/routing/gaps", headers=AGENT)).status == 403
    reply = await client.get("/api/routing/gaps?days=2&from=2026-12-01", headers=SUPERVISOR)
    gaps = await reply.json()
    assert [(g["rule"], g["have"], g["need"]) for g in gaps] == [("peak", 1, 2), ("peak", 1, 2)]
    assert "至少需要 2 人" in gaps[0]["message"]["zh"]
    assert (await client.get("/api/routing/gaps?days=0", headers=SUPERVISOR)).status == 400


async def test_supervisor_creates_and_updates_and_the_file_follows(api) -> None:  # type: ignore[no-untyped-def]
    client, agents_file = api
    new_seat = {"id": "S2", "interface": "PJSIP/1002", "label": "2号"}
    assert (await client.post("/api/routing/seats", json=new_seat, headers=AGENT)).status == 403
    assert (
        await client.post("/api/routing/seats", json=new_seat, headers=SUPERVISOR)
    ).status == 201
    body = {"id": "kf02", "name": "李娜", "seat": "S2", "team": "hotline", "queues": {"support": 1}}
    reply = await client.post("/api/routing/agents", json=body, headers=SUPERVISOR)
    assert reply.status == 201 and (await reply.json())["interface"] == "PJSIP/1002"
    assert (await client.post("/api/routing/agents", json=body, headers=SUPERVISOR)).status == 409
    reply = await client.put(
        "/api/routing/agents/kf02", json={"queues": {"support": 3}}, headers=SUPERVISOR
    )
    assert (await reply.json())["queues"] == {"support": 3}
    zone = await client.put(
        "/api/routing/zones/east", json={"housekeeper": "kf02"}, headers=SUPERVISOR
    )
    assert (await zone.json())["housekeeper"] == "kf02"
    saved = load_directory(agents_file)
    assert (
        saved.agents["kf02"].queues == {"support": 3} and saved.zones["east"].housekeeper == "kf02"
    )


async def test_bad_writes_say_what_is_wrong_in_both_languages(api) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    reply = await client.post(
        "/api/routing/agents", json={"id": "x", "name": "X", "seat": "S9"}, headers=SUPERVISOR
    )
    error = (await reply.json())["error"]
    assert (
        reply.status == 400 and "unknown seat 'S9'" in error["en"] and "目录不一致" in error["zh"]
    )
    reply = await client.post(
        "/api/routing/seats", json={"id": "S3", "interface": "1003"}, headers=SUPERVISOR
    )
    assert reply.status == 400 and "PJSIP/1001" in (await reply.json())["error"]["en"]
    reply = await client.put("/api/routing/agents/nobody", json={}, headers=SUPERVISOR)
    assert reply.status == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/api/routing/zones", {"id": "z9", "buildings": "A1"}, "buildings: must be a list"),
        ("POST", "/api/routing/zones", {"id": 9}, "id: must be a string"),
        ("PUT", "/api/routing/zones/east", {"buildings": ["A1", 2]}, "buildings[1]: must be a"),
        ("POST", "/api/routing/agents", {"id": "x", "name": "X", "vip_handler": "yes"},
         "vip_handler: must be true or false"),
        ("PUT", "/api/routing/agents/kf02", {"queues": {"support": -1}},
         "queues.support: must be at least 0"),
        ("PUT", "/api/routing/agents/kf02", {"skills": "billing"}, "skills: must be a list"),
        ("PUT", "/api/routing/agents/kf02", {"shoe_size": 42}, "shoe_size: is not a known field"),
        ("PUT", "/api/routing/seats/S1", {"label": 7}, "label: must be a string"),
    ],
)  # fmt: skip
async def test_fields_of_the_wrong_type_are_refused_not_converted(  # type: ignore[no-untyped-def]
    api, method: str, path: str, body: object, message: str
) -> None:
    client, _ = api
    reply = await client.request(method, path, json=body, headers=SUPERVISOR)
    error = (await reply.json())["error"]
    assert reply.status == 400 and error["en"].startswith(message), error
    assert error["zh"].startswith(message.split(":")[0] + ":")
