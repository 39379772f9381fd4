"""Housekeeper first in the IVR: routing decides at the dial node (on duty and free, else
the zone's queue, else the general queue), the engine follows the steps, and each step
taken is a RoutingDecision event that says why."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from routing_fixtures import KEEPER, at, east_zone, east_zone_roster, roster

from callcenter.core import events as ev
from callcenter.core.contracts import OwnerInfo
from callcenter.ivr import engine as e
from callcenter.ivr.loader import load_files
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.decisions import RoutingRules
from callcenter.routing.directory import Agent, Directory
from callcenter.routing.housekeeper import HousekeeperRouter, owner_from_info, states_by_agent

TZ = ZoneInfo("Asia/Shanghai")
FLOWS = {f.name: f for f in load_files([Path(__file__).resolve().parent.parent / "ivr_flows"])[0]}
OWNER = OwnerInfo("YZ00001", name="郭婉然", zone="east", housekeeper_interface=KEEPER,
                  housekeeper_name="曹琳")  # fmt: skip
VIP = OwnerInfo("YZ00009", vip=True, zone="东区", housekeeper_interface=KEEPER)

ROSTER = east_zone_roster("2026-11-30")


def directory() -> Directory:
    return east_zone(("1", "2"))


def states(keeper: int | None, keeper_call: bool = False) -> AgentStates:
    """The housekeeper's seat as QueueStatus shows it (device state; None: not a member)."""
    s = AgentStates(wrapup_s=0)
    if keeper is not None:
        s.apply(ev.QueueMemberChanged(pbx="sim", call_id="", at=1.0, change="snapshot",
                                      queue="zone-east", interface=KEEPER, member_name="gj01",
                                      status=keeper, in_call=keeper_call))  # fmt: skip
    return s


def router(agent_states: AgentStates) -> HousekeeperRouter:
    return HousekeeperRouter(roster(ROSTER), directory(), agent_states, RoutingRules())


def walk(
    owner: OwnerInfo, when: str, routing: HousekeeperRouter
) -> tuple[e.State, list[e.Command]]:
    """The hotline flow up to the housekeeper node, answering RouteHousekeeper as the
    FastAGI server does."""
    now = at(when)
    start = e.Start(caller="13380668968", dialled="4008001000", when=datetime.fromtimestamp(now, TZ),
                    at=now, call_id="c1", pbx="sim", route_housekeeper=True)  # fmt: skip
    state, cmds = e.step(FLOWS, e.begin("hotline"), start)
    every = list(cmds)
    state, cmds = e.step(FLOWS, state, e.LookupDone(owner=owner, at=now))
    every += cmds
    ask = cmds[-1]
    assert isinstance(ask, e.RouteHousekeeper) and ask.owner == owner
    assert state.waiting == "route"  # nothing rings before routing answered
    state, cmds = e.step(FLOWS, state, e.Routed(steps=routing(owner, now), at=now))
    return state, every + cmds


def decisions(cmds: list[e.Command]) -> list[ev.RoutingDecision]:
    return [
        c.event for c in cmds if isinstance(c, e.Emit) and isinstance(c.event, ev.RoutingDecision)
    ]


def test_a_free_housekeeper_rings_first_then_the_zone_queue_keeps_the_caller_to_the_end() -> None:
    state, cmds = walk(OWNER, "2026-12-01T10:00", router(states(keeper=1)))
    assert cmds[-1] == e.DialTarget(KEEPER, 20.0)
    assert e.Play(("to_housekeeper",), "zh") in cmds
    (first,) = decisions(cmds)
    assert (first.decision, first.target, first.owner_id) == ("housekeeper", KEEPER, "YZ00001")
    assert "gj01 on duty and ready" in first.reason and first.call_id == "c1"
    # the housekeeper lets it ring out: the zone's queue, the zone's own offered first
    state, cmds = e.step(FLOWS, state, e.Done(status="NOANSWER"))
    assert cmds[-1] == e.QueueCall("zone-east", 0, 120.0, False, max_penalty=0)
    (second,) = decisions(cmds)
    assert second.decision == "zone_queue" and second.reason.startswith(f"{KEEPER}: NOANSWER; ")
    left = [c.event for c in cmds if isinstance(c, e.Emit) and isinstance(c.event, ev.IvrLeft)]
    assert [(x.outcome, x.target) for x in left] == [("queue", "zone-east")]  # type: ignore[attr-defined]
    # nobody answers in the whole wait: no second queue, a message and a callback instead
    state, cmds = e.step(FLOWS, state, e.Done(status="TIMEOUT"))
    assert not any(isinstance(c, e.QueueCall) for c in cmds)
    assert e.SetVariable("HOTLINE_ROUTE", "voicemail") in cmds
    assert any(isinstance(c, e.Emit) and isinstance(c.event, ev.CallbackRequested) for c in cmds)
    (third,) = decisions(cmds)
    assert third.decision == "voicemail" and third.reason.startswith("zone-east: TIMEOUT; ")


def test_answered_in_the_zone_queue_leads_to_the_survey() -> None:
    state, _ = walk(OWNER, "2026-12-01T10:00", router(states(keeper=1)))
    state, _ = e.step(FLOWS, state, e.Done(status="NOANSWER"))
    state, cmds = e.step(FLOWS, state, e.Done(status="ANSWERED"))
    assert isinstance(cmds[-1], e.ReadDigits) and cmds[-1].prompts == ("survey",)


def test_an_answered_housekeeper_leads_to_the_survey() -> None:
    state, _ = walk(OWNER, "2026-12-01T10:00", router(states(keeper=1)))
    state, cmds = e.step(FLOWS, state, e.Done(status="ANSWER"))
    assert isinstance(cmds[-1], e.ReadDigits) and cmds[-1].prompts == ("survey",)
    assert not decisions(cmds)


def test_a_busy_or_unreachable_housekeeper_is_not_rung() -> None:
    for seat, in_call, why in ((2, True, "on_call"), (5, False, "logged_in")):
        _, cmds = walk(OWNER, "2026-12-01T10:00", router(states(seat, in_call)))
        assert not any(isinstance(c, e.DialTarget) for c in cmds)
        assert cmds[-1] == e.QueueCall("zone-east", 0, 120.0, False, max_penalty=0)
        (decision,) = decisions(cmds)
        assert decision.decision == "zone_queue" and f"gj01 is {why}" in decision.reason


def test_off_duty_zone_staff_leave_a_vip_in_the_zone_queue_offered_to_everyone() -> None:
    # 18:00: the housekeeper's and the zone's shifts are over, the hotline is on (day shift)
    _, cmds = walk(VIP, "2026-12-01T18:00", router(states(keeper=1)))
    (decision,) = decisions(cmds)
    assert decision.decision == "zone_queue" and decision.priority == 10
    assert "gj01 not on duty" in decision.reason and "(VIP)" in decision.reason
    assert cmds[-1] == e.QueueCall("zone-east", 10, 120.0, False, max_penalty=None)


def test_a_zone_nobody_on_duty_serves_goes_to_the_general_queue_at_vip_priority() -> None:
    east = directory()
    east.agents["kf01"] = Agent("kf01", "王伟", "1001", "hotline", {"support": 0})
    routing = HousekeeperRouter(roster(ROSTER), east, states(keeper=1), RoutingRules())
    _, cmds = walk(VIP, "2026-12-01T18:00", routing)
    (decision,) = decisions(cmds)
    assert decision.decision == "general_queue" and decision.priority == 10
    assert "nobody of zone east" in decision.reason
    assert cmds[-1] == e.QueueCall("support", 10, 120.0, False)  # the flow's VIP queue


def test_without_routing_the_housekeeper_seat_is_dialled_as_looked_up() -> None:
    when = datetime(2026, 12, 1, 10, tzinfo=TZ)
    state, _ = e.step(
        FLOWS, e.begin("hotline"), e.Start(caller="1", dialled="4008001000", when=when)
    )
    _, cmds = e.step(FLOWS, state, e.LookupDone(owner=OWNER))
    assert cmds[-1] == e.DialTarget(KEEPER, 20.0) and not decisions(cmds)


def test_no_answer_from_routing_continues_at_the_fallback() -> None:
    when = datetime(2026, 12, 1, 10, tzinfo=TZ)
    start = e.Start(caller="1", dialled="4008001000", when=when, route_housekeeper=True)
    state, _ = e.step(FLOWS, e.begin("hotline"), start)
    state, _ = e.step(FLOWS, state, e.LookupDone(owner=OWNER))
    state, cmds = e.step(FLOWS, state, e.Routed(steps=()))
    assert cmds[-1] == e.QueueCall("support", 0, 120.0, True) and not decisions(cmds)


def test_the_lookup_s_owner_is_matched_to_a_routing_zone() -> None:
    d = directory()
    assert owner_from_info(OWNER, d).zone == "east"  # by id
    assert owner_from_info(VIP, d).zone == "east" and owner_from_info(VIP, d).vip  # by name
    by_seat = OwnerInfo("o", zone="东片", housekeeper_interface=KEEPER)
    assert owner_from_info(by_seat, d).zone == "east"  # by the housekeeper's seat
    assert owner_from_info(OwnerInfo("o", zone="西区"), d).zone == ""
    assert states_by_agent(states(keeper=1), d) == {"gj01": "ready"}
    # a member whose name is not an agent id is found by its interface
    renamed = AgentStates(wrapup_s=0)
    renamed.apply(ev.QueueMemberChanged(pbx="sim", call_id="", at=1.0, change="added",
                                        queue="zone-east", interface=KEEPER,
                                        member_name="Agent 1030", status=1))  # fmt: skip
    assert states_by_agent(renamed, d) == {"gj01": "ready"}


def test_decision_events_round_trip() -> None:
    _, cmds = walk(OWNER, "2026-12-01T10:00", router(states(keeper=1)))
    (decision,) = decisions(cmds)
    assert ev.from_json(decision.to_json()) == decision
