"""Routing decisions (pure), as the IVR's queue and dial nodes ask for them.

For an identified owner: their zone's housekeeper first when on duty and ready (ring a few
seconds), else the zone's queue when someone of it is on duty, else the general queue.
VIPs wait at a higher priority. Every step says how long it may take and what follows it
(``fallback``), ending in voicemail with a callback; out of hours it is voicemail at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from callcenter.core.events import RoutingDecision
from callcenter.routing.directory import Directory
from callcenter.routing.duty import OnDuty

Kind = Literal["housekeeper", "zone_queue", "general_queue", "voicemail"]


@dataclass(frozen=True)
class Owner:
    id: str = ""
    zone: str = ""  # zone id, or "" for an unknown caller
    building: str = ""
    vip: bool = False


@dataclass(frozen=True)
class RoutingRules:
    general_queue: str = "support"
    housekeeper_ring_s: float = 20.0
    zone_max_wait_s: float = 60.0
    max_wait_s: float = 120.0
    normal_priority: int = 0
    vip_priority: int = 10
    voicemail_box: str = "100@default"
    teams_for_hotline: tuple[str, ...] = ()  # empty: anyone on duty keeps the hotline open


@dataclass(frozen=True)
class Decision:
    kind: Kind
    target: str  # interface, queue name or mailbox
    priority: int = 0
    ring_s: float = 0.0  # how long to ring / wait before ``fallback``
    reason: str = ""
    callback: bool = False  # voicemail: open a callback work order
    fallback: Decision | None = field(default=None)

    def steps(self) -> list[Decision]:
        out: list[Decision] = []
        step: Decision | None = self
        while step is not None:
            out.append(step)
            step = step.fallback
        return out

    def event(self, pbx: str, call_id: str, at: float, owner_id: str = "") -> RoutingDecision:
        return RoutingDecision(
            pbx=pbx, call_id=call_id, at=at, decision=self.kind, target=self.target,
            priority=self.priority, ring_s=self.ring_s, reason=self.reason, owner_id=owner_id,
        )  # fmt: skip


def decide(
    owner: Owner,
    at: float,
    duty: Iterable[OnDuty],
    agent_states: Mapping[str, str],
    rules: RoutingRules,
    directory: Directory,
) -> Decision:
    """``agent_states`` maps agent id to its state name (``agent_state``: ready, on_call...)."""
    working = [d for d in duty if d.available]
    voicemail = Decision(
        "voicemail", rules.voicemail_box, reason="nobody answered in time: voicemail and a callback",
        callback=True,
    )  # fmt: skip
    hotline = [
        d for d in working if not rules.teams_for_hotline or d.team in rules.teams_for_hotline
    ]
    if not hotline:
        return Decision(
            "voicemail", rules.voicemail_box, reason="out of hours: nobody on duty", callback=True
        )
    priority = rules.vip_priority if owner.vip else rules.normal_priority
    vip = " (VIP)" if owner.vip else ""
    general = Decision(
        "general_queue", rules.general_queue, priority, rules.max_wait_s,
        reason=f"general queue{vip}", fallback=voicemail,
    )  # fmt: skip
    zone = directory.zones.get(owner.zone) if owner.zone else None
    if zone is None:
        why = "unknown caller" if not owner.id else "owner has no zone"
        return _with_reason(general, f"{why}: general queue{vip}")
    on_duty_ids = {d.agent for d in working}
    step = general
    if zone.queue:
        members = [a for a in on_duty_ids if zone.queue in directory.agents.get(a, _NONE).queues]
        if members:
            step = Decision(
                "zone_queue", zone.queue, priority, rules.zone_max_wait_s,
                reason=f"zone {zone.id} queue: {len(members)} on duty{vip}", fallback=general,
            )  # fmt: skip
        else:
            step = _with_reason(general, f"nobody of zone {zone.id} on duty: general queue{vip}")
    keeper = zone.housekeeper
    if not keeper:
        return step
    if keeper not in on_duty_ids:
        return _with_reason(step, f"housekeeper {keeper} not on duty; {step.reason}")
    state = agent_states.get(keeper, "offline")
    if state != "ready":
        return _with_reason(step, f"housekeeper {keeper} is {state}; {step.reason}")
    interface = directory.interface_of(keeper)
    if not interface:
        return _with_reason(step, f"housekeeper {keeper} has no seat; {step.reason}")
    return Decision(
        "housekeeper", interface, priority, rules.housekeeper_ring_s,
        reason=f"owner's housekeeper {keeper} on duty and ready{vip}", fallback=step,
    )  # fmt: skip


class _NoAgent:
    queues: dict[str, int] = {}  # noqa: RUF012 - read only


_NONE = _NoAgent()


def _with_reason(d: Decision, reason: str) -> Decision:
    return Decision(d.kind, d.target, d.priority, d.ring_s, reason, d.callback, d.fallback)
