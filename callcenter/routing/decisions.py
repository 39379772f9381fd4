"""Routing decisions (pure), as the IVR's queue and dial nodes ask for them.

For an identified owner: their zone's housekeeper first when on duty and ready (ring a few
seconds), then the zone's queue for the whole wait. The caller keeps their place there
while the offer widens: ``QUEUE_MAX_PENALTY`` starts at ``ZONE_PENALTY`` (the zone's own
agents) and the queue's penalty rule (``queuerules.py``) raises it to every qualified
member after ``preference_window_s``. With nobody of the zone on duty, or for a VIP, the
caller is offered to every member at once. Without a zone, the general queue. VIPs wait
at a higher priority. Every step says how long it may take and what follows it
(``fallback``), ending in voicemail with a callback; out of hours it is voicemail at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
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


# A zone queue's members at this penalty are the zone's own (housekeeper, zone assistants):
# a caller is offered to them alone during the preference window.
ZONE_PENALTY = 0


@dataclass(frozen=True)
class RoutingRules:
    general_queue: str = "support"
    housekeeper_ring_s: float = 20.0
    preference_window_s: float = 10.0
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
    max_penalty: int | None = None  # zone_queue: QUEUE_MAX_PENALTY to start from

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
        step = _zone_queue(zone.id, zone.queue, on_duty_ids, owner.vip, priority, rules,
                           directory, voicemail) or _with_reason(
            general, f"nobody of zone {zone.id} on duty: general queue{vip}")  # fmt: skip
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


def _zone_queue(
    zone: str, queue: str, on_duty_ids: set[str], vip: bool, priority: int,
    rules: RoutingRules, directory: Directory, voicemail: Decision,
) -> Decision | None:  # fmt: skip
    """The zone's queue for the whole wait, offered first to the zone's own agents on duty
    (their penalty ``ZONE_PENALTY``), or to every member when none of them is, or to a
    VIP; None when nobody on duty is a member."""
    penalties = [directory.agents.get(a, _NONE).queues.get(queue) for a in sorted(on_duty_ids)]
    members = [p for p in penalties if p is not None]
    if not members:
        return None
    own = sum(1 for p in members if p <= ZONE_PENALTY)
    if vip:
        limit, why = None, f"{len(members)} qualified on duty, any of them at once (VIP)"
    elif own:
        window = f"{rules.preference_window_s:g}"
        limit = ZONE_PENALTY
        why = f"{own} of the zone on duty first, all {len(members)} qualified after {window}s"
    else:
        limit, why = None, f"none of the zone on duty, {len(members)} qualified at once"
    return Decision(
        "zone_queue", queue, priority, rules.max_wait_s, reason=f"zone {zone} queue: {why}",
        fallback=voicemail, max_penalty=limit,
    )  # fmt: skip


class _NoAgent:
    queues: dict[str, int] = {}  # noqa: RUF012 - read only


_NONE = _NoAgent()


def _with_reason(d: Decision, reason: str) -> Decision:
    return replace(d, reason=reason)
