"""Agent state from queue events, and housekeeper-first routing decisions."""

from __future__ import annotations

from routing_fixtures import at, roster

from callcenter.core.events import (
    AgentAnswered,
    AgentCompleted,
    AgentRinging,
    AgentRingNoAnswer,
    QueueMemberChanged,
    RoutingDecision,
    from_json,
)
from callcenter.routing.agent_state import AgentStates, occupancy
from callcenter.routing.decisions import Owner, RoutingRules, decide
from callcenter.routing.directory import Agent, Directory, Seat, Zone
from callcenter.routing.duty import on_duty
from callcenter.routing.loading import routing_rules
from callcenter.routing.settings import RoutingSettings

IFACE = "PJSIP/1001"


def member(change: str, t: float, **kw: object) -> QueueMemberChanged:
    return QueueMemberChanged(
        pbx="p", call_id="", at=t, change=change, queue="support", interface=IFACE,  # type: ignore[arg-type]
        member_name="ann", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_agent_state_walks_a_call_with_wrap_up_and_time_in_state() -> None:
    states = AgentStates(wrapup_s=10)
    seen = []
    for event in (
        member("added", 100.0, status=1),
        AgentRinging(
            pbx="p", call_id="c1", at=110.0, queue="support", interface=IFACE, member_name="ann"
        ),
        AgentAnswered(
            pbx="p", call_id="c1", at=115.0, queue="support", interface=IFACE, member_name="ann"
        ),
        AgentCompleted(
            pbx="p", call_id="c1", at=175.0, queue="support", interface=IFACE, member_name="ann"
        ),
    ):
        seen += states.apply(event)
    seen += states.tick(200.0)
    assert [(c.state, c.previous, c.previous_s) for c in seen] == [
        ("ready", "offline", 0.0),
        ("ringing", "ready", 10.0),
        ("on_call", "ringing", 5.0),
        ("wrap_up", "on_call", 60.0),
        ("ready", "wrap_up", 10.0),  # ended at 185, when wrap-up was over
    ]
    assert states.time_in_state(IFACE, 200.0) == 15.0
    # busy 115..185 of 100..200 signed in
    assert abs(occupancy(states.intervals, 100.0, 185.0) - 70 / 85) < 1e-9
    assert from_json(seen[0].to_json()) == seen[0]


def test_pause_no_answer_unreachable_and_logout() -> None:
    states = AgentStates(wrapup_s=0)
    changes = states.apply(member("added", 1.0, status=1))
    changes += states.apply(member("paused", 2.0, paused=True, paused_reason="午餐"))
    changes += states.apply(member("paused", 3.0, paused=False))
    changes += states.apply(
        AgentRinging(pbx="p", call_id="c", at=4.0, queue="support", interface=IFACE)
    )
    changes += states.apply(
        AgentRingNoAnswer(pbx="p", call_id="c", at=9.0, queue="support", interface=IFACE)
    )
    changes += states.apply(member("status", 10.0, status=5))
    changes += states.apply(member("removed", 11.0))
    assert [(c.state, c.reason) for c in changes] == [
        ("ready", ""), ("paused", "午餐"), ("ready", ""), ("ringing", "support"),
        ("ready", ""), ("logged_in", ""), ("offline", ""),
    ]  # fmt: skip


ROSTER = """
rotations:
  - {name: keepers, team: housekeeper, anchor: 2026-11-30, pattern: [[early]], members: [gj01]}
  - {name: zone, team: zone, anchor: 2026-11-30, pattern: [[desk_a]], members: [zl01]}
  - {name: hotline, team: hotline, anchor: 2026-11-30, pattern: [[day]], members: [kf01]}
"""


def directory() -> Directory:
    seats = {s: Seat(s, f"PJSIP/{s}") for s in ("1001", "1002", "1003")}
    agents = {
        "gj01": Agent("gj01", "管家", "1001", "housekeeper", {"zone-east": 0}),
        "zl01": Agent("zl01", "助理", "1002", "zone", {"zone-east": 0}),
        "kf01": Agent("kf01", "客服", "1003", "hotline", {"support": 0}),
    }
    zones = {"east": Zone("east", "东区", "East", ("1", "2"), "gj01", "zone-east")}
    return Directory(seats, agents, zones)


def route(when: str, owner: Owner, states: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    r = roster(ROSTER)
    t = at(when)
    return decide(owner, t, on_duty(r, t), states or {"gj01": "ready"}, RoutingRules(), directory())


def test_housekeeper_first_then_the_zone_queue_for_the_whole_wait_then_voicemail() -> None:
    owner = Owner("owner-7", zone="east", building="1")
    d = route("2026-11-30T10:00", owner)
    assert [(s.kind, s.target, s.ring_s, s.max_penalty) for s in d.steps()] == [
        ("housekeeper", "PJSIP/1001", 20.0, None),
        # the caller keeps their place: the zone's own first, widened by the queue's rule
        ("zone_queue", "zone-east", 120.0, 0),
        ("voicemail", "100@default", 0.0, None),
    ]
    assert "gj01" in d.reason and d.steps()[-1].callback
    assert "2 of the zone on duty first, all 2 qualified after 10s" in d.steps()[1].reason
    event = d.event("p", "call-1", 5.0, owner.id)
    assert isinstance(from_json(event.to_json()), RoutingDecision)


def test_with_nobody_of_the_zone_on_duty_every_qualified_member_is_offered_at_once() -> None:
    r = roster(ROSTER)
    wide = directory()
    wide.agents["kf01"] = Agent("kf01", "客服", "1003", "hotline", {"support": 0, "zone-east": 5})
    t = at("2026-11-30T17:00")  # housekeeper and zone assistant gone, the hotline still on
    d = decide(Owner("o", zone="east"), t, on_duty(r, t), {}, RoutingRules(), wide)
    assert (d.kind, d.target, d.max_penalty) == ("zone_queue", "zone-east", None)
    assert "none of the zone on duty, 1 qualified at once" in d.reason
    t = at("2026-11-30T10:00")
    d = decide(Owner("o", zone="east"), t, on_duty(r, t), {}, RoutingRules(), wide)
    assert (d.kind, d.max_penalty) == ("zone_queue", 0)  # zone people on duty: they first
    assert "all 3 qualified after 10s" in d.reason


def test_busy_or_off_duty_housekeeper_goes_to_the_zone_queue_with_the_reason() -> None:
    owner = Owner("o", zone="east")
    busy = route("2026-11-30T10:00", owner, {"gj01": "on_call"})
    assert busy.kind == "zone_queue" and "is on_call" in busy.reason
    on_break = route("2026-11-30T12:10", owner)  # the housekeeper's lunch
    assert on_break.kind == "zone_queue" and "not on duty" in on_break.reason
    late = route("2026-11-30T17:00", owner)  # zone people gone, hotline still there
    assert late.kind == "general_queue" and "nobody of zone east" in late.reason


def test_vip_priority_unknown_callers_and_out_of_hours() -> None:
    vip = route("2026-11-30T10:00", Owner("o", zone="east", vip=True))
    assert all(s.priority == 10 for s in vip.steps()[:-1])
    assert vip.steps()[1].max_penalty is None  # a VIP waits for nobody in particular
    unknown = route("2026-11-30T10:00", Owner())
    assert unknown.kind == "general_queue" and unknown.reason.startswith("unknown caller")
    night = route("2026-11-30T22:00", Owner("o", zone="east"))
    assert (night.kind, night.callback) == ("voicemail", True)
    assert "out of hours" in night.reason


def test_the_routing_rules_are_the_settings_of_their_names() -> None:
    settings = RoutingSettings(
        general_queue="help", housekeeper_ring_s=12.0, preference_window_s=4.0,
        max_wait_s=60.0, vip_priority=7, voicemail_box="200@default", wrapup_s=30.0,
    )  # fmt: skip
    assert routing_rules(settings) == RoutingRules(
        general_queue="help", housekeeper_ring_s=12.0, preference_window_s=4.0,
        max_wait_s=60.0, vip_priority=7, voicemail_box="200@default",
    )  # fmt: skip
