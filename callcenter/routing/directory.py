"""Agents, seats, zones and the queues' names: read from YAML (``config/agents.yaml``) or CSV, written back
as YAML by the API.

A seat is a phone position with its Asterisk interface (``PJSIP/1001``,
``Local/1001@agents``). An agent sits at a seat and answers queues with a penalty (lower
rings first). A zone is a group of buildings with its housekeeper (管家) and its queue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callcenter.core.yamlfile import write_atomically
from callcenter.routing.yamlio import (
    LineDict,
    RoutingConfigError,
    Where,
    load_csv,
    load_yaml,
)

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Seat:
    id: str
    interface: str
    label: str = ""

    def check(self) -> str | None:
        tech, sep, rest = self.interface.partition("/")
        if not sep or not tech or not rest:
            return f"interface {self.interface!r} must look like PJSIP/1001 or Local/1001@agents"
        return None


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    seat: str = ""
    team: str = ""
    queues: dict[str, int] = field(default_factory=dict)  # queue -> penalty
    language: str = "zh"
    skills: tuple[str, ...] = ()
    roles: tuple[str, ...] = ("agent",)
    vip_handler: bool = False


@dataclass(frozen=True)
class Zone:
    id: str
    name_zh: str
    name_en: str = ""
    buildings: tuple[str, ...] = ()
    housekeeper: str = ""  # agent id
    queue: str = ""

    def label(self, lang: str = "zh") -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_zh


@dataclass(frozen=True)
class QueueName:
    """How people call a queue (support -> 咨询 / Support); the code stays in the PBX,
    the exports and the API."""

    id: str
    name_zh: str
    name_en: str = ""

    def label(self, lang: str = "zh") -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_zh


@dataclass(frozen=True)
class Directory:
    seats: dict[str, Seat] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    queue_labels: dict[str, QueueName] = field(default_factory=dict)

    def interface_of(self, agent_id: str) -> str:
        agent = self.agents.get(agent_id)
        if agent is None or agent.seat not in self.seats:
            return ""
        return self.seats[agent.seat].interface

    def agent_by_interface(self, interface: str) -> Agent | None:
        for agent in self.agents.values():
            if self.interface_of(agent.id) == interface:
                return agent
        return None

    def zone_of_building(self, building: str) -> Zone | None:
        for zone in self.zones.values():
            if building in zone.buildings:
                return zone
        return None

    def queues(self) -> set[str]:
        names = {q for a in self.agents.values() for q in a.queues}
        names.update(z.queue for z in self.zones.values() if z.queue)
        return names

    def queue_names(self, lang: str) -> dict[str, str]:
        """Each queue's name in ``lang``: its label in ``queues:``, else its code."""
        named = {q: q for q in self.queues()}
        named.update({q: name.label(lang) for q, name in self.queue_labels.items()})
        return named

    def problems(self) -> list[str]:
        """What does not fit together (unknown seats, housekeepers, shared seats)."""
        found: list[str] = []
        for seat in self.seats.values():
            problem = seat.check()
            if problem:
                found.append(f"seat {seat.id}: {problem}")
        used: dict[str, str] = {}
        for agent in self.agents.values():
            if agent.seat and agent.seat not in self.seats:
                found.append(f"agent {agent.id}: unknown seat {agent.seat!r}")
            elif agent.seat in used:
                found.append(f"agent {agent.id}: seat {agent.seat} is already {used[agent.seat]}'s")
            elif agent.seat:
                used[agent.seat] = agent.id
            if agent.language not in LANGUAGES:
                found.append(f"agent {agent.id}: language must be zh or en")
            for queue, penalty in agent.queues.items():
                if penalty < 0:
                    found.append(f"agent {agent.id}: penalty for {queue} must not be negative")
        for zone in self.zones.values():
            if zone.housekeeper and zone.housekeeper not in self.agents:
                found.append(f"zone {zone.id}: unknown housekeeper {zone.housekeeper!r}")
        return found

    def replace(self, **changes: Any) -> Directory:
        return dataclasses.replace(self, **changes)


# --- reading --------------------------------------------------------------------------------


def _queues(where: Where, value: Any, line: int, key: str) -> dict[str, int]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):  # "support:0;repair:1" (CSV) or "support repair"
        pairs = [p for p in value.replace(",", ";").replace(" ", ";").split(";") if p]
        out: dict[str, int] = {}
        for pair in pairs:
            name, _, penalty = pair.partition(":")
            if penalty and not penalty.isdigit():
                raise where.error(line, key, f"penalty in {pair!r} must be a whole number")
            out[name] = int(penalty or 0)
        return out
    if isinstance(value, list):
        return {str(q): 0 for q in value}
    if isinstance(value, dict):
        out = {}
        for name, penalty in value.items():
            if not isinstance(penalty, int) or isinstance(penalty, bool) or penalty < 0:
                raise where.error(line, f"{key}.{name}", "penalty must be a whole number >= 0")
            out[str(name)] = penalty
        return out
    raise where.error(line, key, "must map queue names to penalties")


def _texts(value: Any, where: Where, line: int, key: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        return tuple(p for p in value.replace(",", ";").split(";") if p.strip())
    if not isinstance(value, list | tuple):  # a tuple: an Agent's own, on an update
        raise where.error(line, key, f"must be a list or 'a;b' text, got {value!r}")
    return tuple(str(v) for v in value)


def agent_from(where: Where, agent_id: str, body: dict[str, Any], line: int) -> Agent:
    known = {f.name for f in dataclasses.fields(Agent)} - {"id"}
    for key in body:
        if key not in known:
            raise where.error(
                line, f"agents.{agent_id}.{key}", f"unknown key (known: {', '.join(sorted(known))})"
            )
    if not body.get("name"):
        raise where.error(line, f"agents.{agent_id}", "missing 'name'")
    language = str(body.get("language") or "zh")
    if language not in LANGUAGES:
        raise where.error(line, f"agents.{agent_id}.language", "must be zh or en")
    return Agent(
        id=agent_id,
        name=str(body["name"]),
        seat=str(body.get("seat") or ""),
        team=str(body.get("team") or ""),
        queues=_queues(where, body.get("queues"), line, f"agents.{agent_id}.queues"),
        language=language,
        skills=_texts(body.get("skills"), where, line, f"agents.{agent_id}.skills"),
        roles=_texts(body.get("roles"), where, line, f"agents.{agent_id}.roles") or ("agent",),
        vip_handler=str(body.get("vip_handler", "")).lower() in ("true", "1", "yes"),
    )


def load_directory(path: str | Path) -> Directory:
    """``agents.yaml`` (seats, agents, zones) or ``agents.csv`` (agents with an
    ``interface`` column; a seat per agent is made from it)."""
    where = Path(path)
    if where.suffix.lower() == ".csv":
        return directory_from_csv(where)
    data = load_yaml(where)
    return directory_from_mapping(data, str(where))


def _entries(where: Where, data: LineDict, name: str) -> Iterator[tuple[str, int, LineDict]]:
    """Each entry of the mapping ``name``: its key, its line and its own mapping."""
    raw = where.mapping(data.get(name) or LineDict(), data.line_of(name), name)
    for key, spec in raw.items():
        line = raw.line_of(key)
        yield key, line, where.mapping(spec, line, f"{name}.{key}")


def directory_from_mapping(data: LineDict, origin: str) -> Directory:
    where = Where(origin)
    seats: dict[str, Seat] = {}
    for seat_id, line, body in _entries(where, data, "seats"):
        seat = Seat(
            str(seat_id),
            where.text(body.get("interface"), line, f"seats.{seat_id}.interface"),
            str(body.get("label", "")),
        )
        problem = seat.check()
        if problem:
            raise where.error(body.line_of("interface"), f"seats.{seat_id}.interface", problem)
        seats[seat.id] = seat
    agents: dict[str, Agent] = {}
    for agent_id, line, body in _entries(where, data, "agents"):
        agent = agent_from(where, str(agent_id), body, line)
        if agent.seat and agent.seat not in seats:
            raise where.error(
                body.line_of("seat"), f"agents.{agent_id}.seat", f"unknown seat {agent.seat!r}"
            )
        agents[agent.id] = agent
    zones: dict[str, Zone] = {}
    for zone_id, line, body in _entries(where, data, "zones"):
        keeper = str(body.get("housekeeper") or "")
        if keeper and keeper not in agents:
            raise where.error(
                body.line_of("housekeeper"),
                f"zones.{zone_id}.housekeeper",
                f"unknown agent {keeper!r}",
            )
        zones[str(zone_id)] = Zone(
            str(zone_id),
            str(body.get("name_zh") or zone_id),
            str(body.get("name_en") or ""),
            _texts(body.get("buildings"), where, line, f"zones.{zone_id}.buildings"),
            keeper,
            str(body.get("queue") or ""),
        )
    queue_labels = {
        str(queue_id): QueueName(
            str(queue_id), str(body.get("name_zh") or queue_id), str(body.get("name_en") or "")
        )
        for queue_id, _line, body in _entries(where, data, "queues")
    }
    directory = Directory(seats, agents, zones, queue_labels)
    problems = directory.problems()
    if problems:
        raise RoutingConfigError(f"{origin}: " + "; ".join(problems))
    return directory


def directory_from_csv(path: Path) -> Directory:
    where = Where(str(path))
    seats: dict[str, Seat] = {}
    agents: dict[str, Agent] = {}
    for line, row in load_csv(path):
        agent_id = row.get("id", "")
        if not agent_id:
            raise where.error(line, "id", "every row needs an agent id")
        if agent_id in agents:
            raise where.error(line, "id", f"agent {agent_id!r} is listed twice")
        interface = row.pop("interface", "")
        seat_id = row.get("seat") or (f"seat-{agent_id}" if interface else "")
        if interface:
            seat = Seat(seat_id, interface)
            problem = seat.check()
            if problem:
                raise where.error(line, "interface", problem)
            seats[seat_id] = seat
        body = {k: v for k, v in row.items() if k != "id" and v != ""}
        body["seat"] = seat_id
        agents[agent_id] = agent_from(where, agent_id, body, line)
    return Directory(seats, agents, {})


# --- writing --------------------------------------------------------------------------------


def directory_to_mapping(directory: Directory) -> dict[str, Any]:
    def agent(a: Agent) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": a.name,
            "seat": a.seat,
            "team": a.team,
            "queues": dict(a.queues),
        }
        body.update({"language": a.language, "skills": list(a.skills), "roles": list(a.roles)})
        if a.vip_handler:
            body["vip_handler"] = True
        return body

    return {
        "seats": {
            s.id: {"interface": s.interface, "label": s.label} for s in directory.seats.values()
        },
        "agents": {a.id: agent(a) for a in directory.agents.values()},
        "zones": {
            z.id: {
                "name_zh": z.name_zh,
                "name_en": z.name_en,
                "buildings": list(z.buildings),
                "housekeeper": z.housekeeper,
                "queue": z.queue,
            }
            for z in directory.zones.values()
        },
        "queues": {
            q.id: {"name_zh": q.name_zh, "name_en": q.name_en}
            for q in directory.queue_labels.values()
        },
    }


def save_directory(directory: Directory, path: str | Path) -> None:
    """Write atomically (a reader never sees half a file)."""
    text = yaml.safe_dump(directory_to_mapping(directory), allow_unicode=True, sort_keys=False)
    write_atomically(path, text)
