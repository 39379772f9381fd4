"""HTTP API of the routing feature (``setup(app, state)``).

Read: agents, seats, zones, who is on duty, staffing gaps and occupancy (the last two:
supervisors and admins).
Write (supervisors and admins): create and update agents, seats and zones; every change is
checked, written back to the agents file and handed to the membership syncs.
Errors are ``callcenter.core.errors.ApiError``: ``{"error": {"code", "zh", "en"}}``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from aiohttp import web

from callcenter.core.errors import ApiError
from callcenter.routing import api_doc as routing_doc
from callcenter.routing.directory import Agent, Directory, Seat, Zone, save_directory
from callcenter.routing.duty import duty_row, on_duty
from callcenter.routing.occupancy import (
    MAX_OCCUPANCY_DAYS,
    OCCUPANCY_DEFINITION,
    AgentOccupancy,
    occupancy_range,
    total,
)
from callcenter.routing.roster import Roster
from callcenter.routing.staffing import Gap, MinimumRule, check_ahead
from callcenter.routing.sync import MembershipSync
from callcenter.routing.yamlio import RoutingConfigError, Where
from callcenter.web.openapi import describe
from callcenter.web.security import require_roles
from callcenter.web.validation import InvalidInput, read_object


@dataclass
class RoutingState:
    directory: Directory
    roster: Roster
    rules: tuple[MinimumRule, ...]
    agents_file: str = ""  # "" keeps changes in memory only
    syncs: list[MembershipSync] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    # (start, end) -> per-agent time (``StateTimeRecorder.occupancy``); None: not kept
    occupancy: Callable[[float, float], Awaitable[list[AgentOccupancy]]] | None = None
    # told of every directory change (e.g. ``HousekeeperRouter.update_directory``)
    directory_listeners: list[Callable[[Directory], None]] = field(default_factory=list)
    roster_file: str = ""  # where an edited roster is written; "" keeps it in memory only
    # told of every roster change (the housekeeper decision, the feature's data)
    roster_listeners: list[Callable[[Roster], None]] = field(default_factory=list)

    def rule_label(self, name: str, lang: str) -> str:
        """A staffing rule as people call it ("" for a rule no longer configured)."""
        rule = next((r for r in self.rules if r.name == name), None)
        return rule.label(lang) if rule else ""

    def gap_message(self, gap: Gap) -> dict[str, str]:
        zone = self.roster.book.zone
        return {
            lang: gap.describe(zone, lang, self.rule_label(gap.rule, lang)) for lang in ("zh", "en")
        }

    def replace_roster(self, roster: Roster) -> None:
        """Use an edited roster (already checked and written): membership follows it at once."""
        self.roster = roster
        for sync in self.syncs:
            sync.update(roster=roster)
        for listener in self.roster_listeners:
            listener(roster)

    def replace_directory(self, directory: Directory) -> None:
        problems = directory.problems()
        if problems:
            raise ApiError(
                400,
                "directory_inconsistent",
                "目录不一致: " + "; ".join(problems),
                "; ".join(problems),
            )
        if self.agents_file:
            save_directory(directory, self.agents_file)
        self.directory = directory
        for sync in self.syncs:
            sync.update(directory=directory)
        for listener in self.directory_listeners:
            listener(directory)


STATE_KEY: web.AppKey[RoutingState] = web.AppKey("routing")
# Times a roster is asked about; far outside them the days around overflow a datetime.
YEARS = "1971-8999"
FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(8999, 12, 31)
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def _agent_json(d: Directory, a: Agent) -> dict[str, Any]:
    data = dataclasses.asdict(a)
    data["interface"] = d.interface_of(a.id)
    return data


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON body, which ``@require_roles`` has checked against the OpenAPI description
    (a copy: handlers change it)."""
    try:
        return dict(await read_object(request))
    except InvalidInput as exc:
        raise exc.error() from None


def _parse_agent(agent_id: str, body: dict[str, Any]) -> Agent:
    from callcenter.routing.directory import agent_from

    try:
        return agent_from(Where("request"), agent_id, body, 0)
    except RoutingConfigError as exc:
        raise ApiError(400, "bad_agent", f"坐席资料有误: {exc}", str(exc)) from None


@require_roles("agent", "supervisor", "admin")
async def list_agents(request: web.Request) -> web.Response:
    d = request.app[STATE_KEY].directory
    return web.json_response([_agent_json(d, a) for a in d.agents.values()])


@require_roles("agent", "supervisor", "admin")
async def list_seats(request: web.Request) -> web.Response:
    return _listing(request.app[STATE_KEY].directory.seats)


@require_roles("agent", "supervisor", "admin")
async def list_zones(request: web.Request) -> web.Response:
    return _listing(request.app[STATE_KEY].directory.zones)


@require_roles("supervisor", "admin")
async def create_agent(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await _body(request)
    agent_id = str(body.pop("id", ""))
    if not agent_id:
        raise ApiError(400, "bad_request", "缺少坐席编号 id", "missing the agent id")
    if agent_id in state.directory.agents:
        raise ApiError(
            409, "already_exists", f"坐席 {agent_id} 已存在", f"agent {agent_id} already exists"
        )
    agent = _parse_agent(agent_id, body)
    state.replace_directory(
        state.directory.replace(agents={**state.directory.agents, agent_id: agent})
    )
    return web.json_response(_agent_json(state.directory, agent), status=201)


@require_roles("supervisor", "admin")
async def update_agent(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    agent_id = request.match_info["id"]
    old = state.directory.agents.get(agent_id)
    if old is None:
        raise ApiError(404, "not_found", f"没有坐席 {agent_id}", f"no agent {agent_id}")
    current = {k: v for k, v in dataclasses.asdict(old).items() if k != "id"}
    current.update(await _body(request))
    agent = _parse_agent(agent_id, current)
    state.replace_directory(
        state.directory.replace(agents={**state.directory.agents, agent_id: agent})
    )
    return web.json_response(_agent_json(state.directory, agent))


T = TypeVar("T")


def _listing(items: Mapping[str, Any]) -> web.Response:
    return web.json_response([dataclasses.asdict(item) for item in items.values()])


def _stored(item: Any, old: object | None) -> web.Response:
    """A POST's answer (201: created) or a PUT's (200: replaced)."""
    return web.json_response(dataclasses.asdict(item), status=201 if old is None else 200)


def _target(
    request: web.Request, body: dict[str, Any], items: Mapping[str, T], zh: str, en: str
) -> tuple[str, T | None]:
    """The id a POST creates or a PUT replaces, and what it holds now (None: new)."""
    item_id = request.match_info.get("id") or str(body.get("id", ""))
    if not item_id:
        raise ApiError(400, "bad_request", f"缺少{zh}编号 id", f"missing the {en} id")
    old = items.get(item_id)
    if request.method == "POST" and old is not None:
        raise ApiError(
            409, "already_exists", f"{zh} {item_id} 已存在", f"{en} {item_id} already exists"
        )
    if request.method == "PUT" and old is None:
        raise ApiError(404, "not_found", f"没有{zh} {item_id}", f"no {en} {item_id}")
    return item_id, old


@require_roles("supervisor", "admin")
async def put_seat(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await _body(request)
    seat_id, old = _target(request, body, state.directory.seats, "座席", "seat")
    seat = Seat(
        seat_id,
        str(body.get("interface", old.interface if old else "")),
        str(body.get("label", old.label if old else "")),
    )
    problem = seat.check()
    if problem:
        raise ApiError(400, "bad_seat", f"座席接口有误: {problem}", problem)
    state.replace_directory(state.directory.replace(seats={**state.directory.seats, seat_id: seat}))
    return _stored(seat, old)


@require_roles("supervisor", "admin")
async def put_zone(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await _body(request)
    zone_id, old = _target(request, body, state.directory.zones, "片区", "zone")
    base = dataclasses.asdict(old) if old else {"name_zh": zone_id}
    base.update({k: v for k, v in body.items() if k != "id"})  # types checked already
    zone = Zone(
        zone_id,
        str(base.get("name_zh") or zone_id),
        str(base.get("name_en") or ""),
        tuple(str(b) for b in base.get("buildings") or ()),
        str(base.get("housekeeper") or ""),
        str(base.get("queue") or ""),
    )
    state.replace_directory(state.directory.replace(zones={**state.directory.zones, zone_id: zone}))
    return _stored(zone, old)


@require_roles("agent", "supervisor", "admin")
async def duty_now(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    zone = state.roster.book.zone
    at = state.clock()
    if "at" in request.query:
        try:
            moment = datetime.fromisoformat(request.query["at"])
        except ValueError:
            raise ApiError(
                400, "bad_request", "at 不是有效的时间", "at is not a valid time"
            ) from None
        at = (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).timestamp()
        if not EARLIEST <= at <= LATEST:
            raise ApiError(
                400, "bad_request", f"at 须在 {YEARS} 年之间", f"at must lie in the years {YEARS}"
            )
    rows = []
    for d in on_duty(state.roster, at, request.query.getall("team", [])):
        label = {"zh": d.assignment.shift.label("zh"), "en": d.assignment.shift.label("en")}
        rows.append(duty_row(d, state.directory, zone, label))
    return web.json_response({"at": datetime.fromtimestamp(at, zone).isoformat(), "on_duty": rows})


@require_roles("supervisor", "admin")
async def staffing_gaps(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    zone = state.roster.book.zone
    try:
        days = int(request.query.get("days", "14"))
        first = (
            date.fromisoformat(request.query["from"])
            if "from" in request.query
            else datetime.fromtimestamp(state.clock(), zone).date()
        )
    except ValueError:
        raise ApiError(
            400, "bad_request", "days 或 from 参数有误", "days or from is not valid"
        ) from None
    if not 1 <= days <= 366:
        raise ApiError(
            400, "bad_request", "days 必须在 1 到 366 之间", "days must be between 1 and 366"
        )
    if not FIRST_DAY <= first <= LAST_DAY:
        raise ApiError(
            400, "bad_request", f"from 须在 {YEARS} 年之间", f"from must lie in the years {YEARS}"
        )
    gaps = check_ahead(state.roster, state.rules, first, days)
    return web.json_response(
        [
            {
                "rule": g.rule,
                "day": g.day.isoformat(),
                "start": datetime.fromtimestamp(g.start, zone).isoformat(),
                "end": datetime.fromtimestamp(g.end, zone).isoformat(),
                "have": g.have,
                "need": g.need,
                "message": state.gap_message(g),
            }
            for g in gaps
        ]
    )


@require_roles("supervisor", "admin")
async def agent_occupancy(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    zone = state.roster.book.zone
    problems = {
        "from": ("from 不是有效的日期或时间", "from is not a date or time like 2026-12-01T08:00"),
        "to": ("to 不是有效的日期或时间", "to is not a date or time like 2026-12-01T20:00"),
        "order": ("to 必须晚于 from", "to must be later than from"),
        "span": (f"时间范围不能超过 {MAX_OCCUPANCY_DAYS} 天",
                 f"the range must not exceed {MAX_OCCUPANCY_DAYS} days"),
    }  # fmt: skip
    try:
        start, end = occupancy_range(
            request.query.get("from"), request.query.get("to"), state.clock(), zone
        )
    except ValueError as exc:
        raise ApiError(400, "bad_range", *problems[str(exc)]) from None
    if not EARLIEST <= start < end <= LATEST:
        raise ApiError(
            400,
            "bad_request",
            f"时间须在 {YEARS} 年之间",
            f"from and to must lie in the years {YEARS}",
        )
    if state.occupancy is None:
        raise ApiError(
            503, "state_time_not_kept", "未记录坐席状态时间", "agent state time is not kept"
        )
    rows = await state.occupancy(start, end)
    wanted = set(request.query.getall("agent", []))
    if wanted:
        rows = [r for r in rows if r.agent in wanted]
    agents = []
    for row in rows:
        item = row.as_dict()
        agent = state.directory.agents.get(row.agent)
        item["name"] = agent.name if agent else ""
        item["team"] = agent.team if agent else ""
        agents.append(item)
    overall = total(rows).as_dict()
    del overall["agent"]
    return web.json_response(
        {
            "from": datetime.fromtimestamp(start, zone).isoformat(),
            "to": datetime.fromtimestamp(end, zone).isoformat(),
            "definition": OCCUPANCY_DEFINITION,
            "agents": agents,
            "total": overall,
        },
        dumps=_json_text,
    )


def setup(app: web.Application, state: RoutingState) -> None:
    describe(app, routing_doc.PART)
    app[STATE_KEY] = state
    r = app.router
    # each part of the directory is listed, added to and changed by id alike
    for part, listing, add, change in (
        ("agents", list_agents, create_agent, update_agent),
        ("seats", list_seats, put_seat, put_seat),
        ("zones", list_zones, put_zone, put_zone),
    ):
        r.add_get(f"/api/routing/{part}", listing)
        r.add_post(f"/api/routing/{part}", add)
        r.add_put(f"/api/routing/{part}/{{id}}", change)
    r.add_get("/api/routing/duty", duty_now)
    r.add_get("/api/routing/gaps", staffing_gaps)
    r.add_get("/api/routing/occupancy", agent_occupancy)
