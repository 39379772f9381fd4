"""Routing that keeps the caller's place, against the simulator over real TCP: the IVR
(FastAGI) queues an owner in their zone's queue with QUEUE_MAX_PENALTY=0, the zone's own
agents are preferred within the preference window, the queue's penalty rule then offers
the caller to every qualified member without moving them; the roster sync's penalties
reach the service as QueueMemberPenalty."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agi_fixtures import ivr_fastagi_server, ivr_of
from routing_fixtures import (
    KEEPER,
    agent_state_follower,
    ami_client,
    east_zone,
    members_ready,
    roster,
)

from callcenter.core import events as ev
from callcenter.core.contracts import OwnerInfo
from callcenter.ivr.registry import FlowRegistry
from callcenter.metrics.idle_wait import max_wait_while_idle
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.decisions import RoutingRules
from callcenter.routing.housekeeper import HousekeeperRouter
from callcenter.routing.queuerules import queuerules_text
from callcenter.routing.sync import MembershipSync, ScaledClock
from callcenter.sim import AgiTarget, Member, TrafficParams, daytime_start
from callcenter.sim.config import QueueConfig
from callcenter.sim.penalty_rules import parse_queuerules
from callcenter.telephony.ami_events import translate
from callcenter.testing import running_simulator

ROOT = Path(__file__).resolve().parent.parent
ZONE, HOTLINE = "PJSIP/1022", "PJSIP/1001"
WINDOW = 10.0
# The zone's assistant and a hotline agent on duty; the housekeeper only where a test says.
STAFF = """
rotations:
  - {{name: zone, team: zone, anchor: 2026-01-05, pattern: [[desk_a]], members: [zl01]}}
  - {{name: hotline, team: hotline, anchor: 2026-01-05, pattern: [[day]], members: [kf01]}}
{keeper}"""
KEEPER_ON = (
    "  - {name: keepers, team: housekeeper, anchor: 2026-01-05, pattern: [[early]],"
    " members: [gj01]}\n"
)


async def one_owner_call(
    tmp_path: Path, *, zone_paused: bool, keeper_on_duty: bool = False
) -> tuple[list[dict[str, str]], list[ev.Event], Any]:
    """One east-zone owner calls the hotline; the zone queue holds the zone's assistant
    (penalty 0) after the hotline agent (penalty 5), so without penalties the hotline
    agent would be rung first."""
    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    assert registry.reload() == []
    events: list[ev.Event] = []
    states = AgentStates(wrapup_s=0)
    staff = roster(STAFF.format(keeper=KEEPER_ON if keeper_on_duty else ""))
    router = HousekeeperRouter(staff, east_zone(("1",)), states, RoutingRules())

    async def lookup(number: str) -> OwnerInfo:
        return OwnerInfo(f"owner-{number[-4:]}", zone="east", housekeeper_interface=KEEPER)

    server = ivr_fastagi_server("127.0.0.1", 0, flows=registry, lookup=lookup,
                                on_event=events.append, pbx="sim", route_housekeeper=router)  # fmt: skip
    await server.start()
    ami, follow = agent_state_follower(states)

    zone_queue = [Member(HOTLINE, "kf01", 5), Member(ZONE, "zl01", 0), Member(KEEPER, "gj01", 0)]
    queues = [
        QueueConfig("support", [Member(HOTLINE, "kf01")], retry=1.0),
        QueueConfig("zone-east", zone_queue, retry=1.0, defaultrule="prefer-zone"),
    ]
    traffic = TrafficParams(ivr_hangup_prob=0.0, handle_median_s=30.0, patience_mean_s=10_000.0,
                            no_answer_prob=0.0, agent_hangup_prob=1.0)  # fmt: skip
    try:
        async with running_simulator(
            tmp_path / "pbx", seed=5, speed=50.0, start_epoch=daytime_start(hour=10),
            agi_target=AgiTarget("127.0.0.1", server.port), traffic=traffic, queues=queues,
            hotlines={"4008001000": "support"},
            queue_rules=parse_queuerules(queuerules_text("prefer-zone", WINDOW)),
        ) as sim:  # fmt: skip
            sim.add_listener(follow)
            ivr_of(server).clock = lambda: sim.now
            members_ready(states, queues, sim.now)
            pbx_ami = await ami_client(sim)
            try:
                if zone_paused:  # the zone's assistant took a break of their own
                    await pbx_ami.send_action({"Action": "QueuePause", "Queue": "zone-east",
                        "Interface": ZONE, "Paused": "true", "Reason": "toilet"})  # fmt: skip
                if not keeper_on_duty:  # off duty: the roster sync has paused the seat
                    await pbx_ami.send_action({"Action": "QueuePause", "Queue": "zone-east",
                        "Interface": KEEPER, "Paused": "true", "Reason": "roster:off-duty"})  # fmt: skip
            finally:
                await pbx_ami.close()
            outcomes = await sim.run(1, timeout=120)
            deadline = time.monotonic() + 30
            while server.sessions and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            idle = sim.pbx.idle
    finally:
        await server.close()
    return ami, events, (outcomes, idle)


def of_call(ami: list[dict[str, str]], call_id: str, event: str) -> list[dict[str, str]]:
    return [m for m in ami if m.get("Event") == event and m.get("Linkedid") == call_id]


async def test_a_caller_is_taken_by_a_free_hotline_agent_once_the_window_passes(
    tmp_path: Path,
) -> None:
    ami, events, (outcomes, idle) = await one_owner_call(tmp_path, zone_paused=True)
    (call,) = outcomes
    assert (call.outcome, call.agent, call.queue) == ("answered", "kf01", "zone-east")
    (decision,) = [e for e in events if isinstance(e, ev.RoutingDecision)]
    assert decision.decision == "zone_queue" and "gj01 not on duty" in decision.reason
    # one queue for the whole wait: the caller never lost their place
    (join,) = of_call(ami, call.call_id, "QueueCallerJoin")
    assert join["Queue"] == "zone-east"
    limits = [
        (m["Variable"], m["Value"])
        for m in of_call(ami, call.call_id, "VarSet")
        if m["Variable"] == "QUEUE_MAX_PENALTY"
    ]
    assert limits == [("QUEUE_MAX_PENALTY", "0"), ("QUEUE_MAX_PENALTY", "99")]
    (called,) = of_call(ami, call.call_id, "AgentCalled")
    assert (called["Interface"], called["Queue"]) == (HOTLINE, "zone-east")
    waited = float(called["Timestamp"]) - float(join["Timestamp"])
    assert WINDOW <= waited < WINDOW + 1.0, waited
    # the hotline agent sat free only during the window: nothing beyond it
    assert max_wait_while_idle(idle.stays, idle.idle, WINDOW) < 0.01
    assert max_wait_while_idle(idle.stays, idle.idle, 0.0) >= WINDOW


async def test_a_free_zone_agent_is_preferred_within_the_window(tmp_path: Path) -> None:
    ami, _, (outcomes, _) = await one_owner_call(tmp_path, zone_paused=False)
    (call,) = outcomes
    assert (call.outcome, call.agent) == ("answered", "zl01")
    (join,) = of_call(ami, call.call_id, "QueueCallerJoin")
    (called,) = of_call(ami, call.call_id, "AgentCalled")
    assert called["Interface"] == ZONE  # though the hotline agent is first and free
    assert float(called["Timestamp"]) - float(join["Timestamp"]) < 1.0


async def test_the_housekeeper_on_duty_and_free_is_still_rung_first(tmp_path: Path) -> None:
    ami, events, (outcomes, _) = await one_owner_call(
        tmp_path, zone_paused=False, keeper_on_duty=True
    )
    (call,) = outcomes
    steps = [e for e in events if isinstance(e, ev.RoutingDecision)]
    assert steps[0].decision == "housekeeper" and steps[0].target == KEEPER
    dials = [m for m in ami if m.get("Event") == "Newexten" and m.get("Application") == "Dial"]
    assert dials and dials[0]["AppData"].startswith(f"{KEEPER},20")
    if call.agent != KEEPER:  # rang out: the zone's queue next, still one queue
        assert steps[1].decision == "zone_queue"
        assert len(of_call(ami, call.call_id, "QueueCallerJoin")) == 1


async def test_penalties_set_by_the_roster_sync_arrive_as_queue_member_penalty(
    tmp_path: Path,
) -> None:
    staff = roster(STAFF.format(keeper=KEEPER_ON))
    directory = east_zone(("1",))
    queues = [QueueConfig("support", []), QueueConfig("zone-east", [])]
    start = daytime_start(hour=10)
    async with running_simulator(tmp_path, queues=queues, start_epoch=start, speed=20.0) as sim:
        seen: list[dict[str, str]] = []
        sim.add_listener(seen.append)
        ami = await ami_client(sim)
        try:
            clock = ScaledClock(lambda: sim.now, sim.config.speed)
            sync = MembershipSync(ami, directory, staff, clock, pbx="sim")
            assert (await sync.sync_now()).complete
            added = {
                (m["Queue"], m["Interface"]): m["Penalty"]
                for m in seen
                if m.get("Event") == "QueueMemberAdded"
            }
            assert added == {
                ("zone-east", KEEPER): "0", ("zone-east", ZONE): "0",
                ("zone-east", HOTLINE): "5", ("support", HOTLINE): "0",
            }  # fmt: skip
            # the supervisor moves the hotline agent nearer the zone: one QueuePenalty
            kf01 = directory.agents["kf01"]
            closer = {**kf01.queues, "zone-east": 1}
            agents = {**directory.agents, "kf01": type(kf01)(**{**kf01.__dict__, "queues": closer})}
            sync.update(directory=directory.replace(agents=agents))
            report = await sync.sync_now()
            assert [(a.kind, a.queue, a.penalty) for a in report.applied] == [
                ("penalty", "zone-east", 1)
            ]
            status = await ami.send_list_action({"Action": "QueueStatus", "Queue": "zone-east"})
        finally:
            await ami.close()
        log = Path(sim.queue_log_path).read_text()
    (penalty,) = [m for m in seen if m.get("Event") == "QueueMemberPenalty"]
    assert (penalty["Queue"], penalty["Interface"], penalty["Penalty"]) == (
        "zone-east", HOTLINE, "1",
    )  # fmt: skip
    event = translate(penalty, "sim", tz=ZoneInfo("Asia/Shanghai"))
    assert isinstance(event, ev.QueueMemberChanged)
    assert (event.change, event.interface, event.penalty) == ("penalty", HOTLINE, 1)
    rows = {m["Location"]: m["Penalty"] for m in status if m.get("Event") == "QueueMember"}
    assert rows == {KEEPER: "0", ZONE: "0", HOTLINE: "1"}
    assert f"|NONE|zone-east|{HOTLINE}|PENALTY|1\n" in log
