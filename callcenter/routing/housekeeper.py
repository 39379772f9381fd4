"""Housekeeper-first routing for the IVR: routing's decision in the IVR's terms.

``HousekeeperRouter(roster, directory, states, rules)`` is the FastAGI server's
``route_housekeeper(owner, now)``: who is on duty at the PBX's ``now`` (the roster), who
is free (``AgentStates``), and ``decide`` makes the steps. The owner the caller lookup
found is matched to a routing zone by the zone's id or name, else by the housekeeper's
seat. The functions below are pure; the router only reads the current states.
"""

from __future__ import annotations

from callcenter.core.contracts import OwnerInfo, RouteStep
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.decisions import Decision, Owner, RoutingRules, decide
from callcenter.routing.directory import Directory
from callcenter.routing.duty import on_duty
from callcenter.routing.roster import Roster


def owner_from_info(info: OwnerInfo, directory: Directory) -> Owner:
    """Routing's owner for what the caller lookup knows: the zone by id or name, else the
    zone whose housekeeper sits at the owner's housekeeper seat ("" when none fits)."""
    zone = ""
    wanted = info.zone.strip()
    for z in directory.zones.values():
        if wanted and wanted in (z.id, z.name_zh, z.name_en):
            zone = z.id
            break
    if not zone and info.housekeeper_interface:
        for z in directory.zones.values():
            if z.housekeeper and directory.interface_of(z.housekeeper) == (
                info.housekeeper_interface
            ):
                zone = z.id
                break
    return Owner(id=info.owner_id, zone=zone, vip=info.vip)


def states_by_agent(states: AgentStates, directory: Directory) -> dict[str, str]:
    """Agent id -> state name, matching members to agents by name, else by interface."""
    out: dict[str, str] = {}
    for status in states.agents.values():
        agent = directory.agents.get(status.agent) or directory.agent_by_interface(status.interface)
        out[agent.id if agent is not None else status.agent or status.interface] = status.state
    return out


def route_steps(decision: Decision) -> tuple[RouteStep, ...]:
    return tuple(
        RouteStep(step.kind, step.target, step.priority, step.ring_s, step.reason, step.max_penalty)
        for step in decision.steps()
    )


class HousekeeperRouter:
    def __init__(
        self, roster: Roster, directory: Directory, states: AgentStates, rules: RoutingRules
    ) -> None:
        self.roster = roster
        self.directory = directory
        self.states = states
        self.rules = rules

    def update_directory(self, directory: Directory) -> None:
        """Agents, seats or zones changed through the API."""
        self.directory = directory

    def decide(self, owner: OwnerInfo, now: float) -> Decision:
        return decide(
            owner_from_info(owner, self.directory),
            now,
            on_duty(self.roster, now),
            states_by_agent(self.states, self.directory),
            self.rules,
            self.directory,
        )

    def __call__(self, owner: OwnerInfo, now: float) -> tuple[RouteStep, ...]:
        return route_steps(self.decide(owner, now))
