"""Housekeeper first, end to end: simulated owners call the hotline, our FastAGI server asks
routing before ringing their housekeeper (on duty at the PBX clock, free by the agent
states that the PBX's own AMI events keep), and the simulator rings the phone as Asterisk's
Dial would. A free housekeeper gets the call; a busy one is not rung, the zone's queue is
used instead; every record agrees with queue_log + CDR and the simulator's account."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from agi_fixtures import ivr_fastagi_server, ivr_of
from routing_fixtures import (
    KEEPER,
    agent_state_follower,
    east_zone,
    east_zone_roster,
    members_ready,
    roster,
)

from callcenter.calls.reconcile import compare, expected_records
from callcenter.core import events as ev
from callcenter.core.contracts import OwnerInfo
from callcenter.demo_check import compare_with_truth
from callcenter.ivr.registry import FlowRegistry
from callcenter.routing.agent_state import AgentStates
from callcenter.routing.decisions import RoutingRules
from callcenter.routing.directory import Directory
from callcenter.routing.housekeeper import HousekeeperRouter
from callcenter.routing.queuerules import queuerules_text
from callcenter.sim import AgiTarget, Member, TrafficParams, daytime_start
from callcenter.sim.config import QueueConfig
from callcenter.sim.penalty_rules import parse_queuerules
from callcenter.testing import running_simulator, track

ROOT = Path(__file__).resolve().parent.parent
ROSTER = east_zone_roster("2026-01-05")


def directory() -> Directory:
    return east_zone(("1",))


def direct_dials(ami: list[dict[str, str]]) -> dict[str, str]:
    """Call id -> DialStatus of the IVR's own Dial of the housekeeper (not a queue's ring)."""
    running: set[str] = set()
    found: dict[str, str] = {}
    for m in ami:
        call = m.get("Linkedid", "")
        if m.get("Event") == "Newexten" and m.get("Application") == "Dial":
            running.add(call)
        elif m.get("Event") == "DialEnd" and call in running:
            assert m["DestChannel"].startswith(KEEPER)
            found[call] = m["DialStatus"]
            running.discard(call)
    return found


async def test_owners_reach_their_free_housekeeper_and_the_zone_queue_when_busy(
    tmp_path: Path,
) -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    assert registry.reload() == []
    events: list[ev.Event] = []
    states = AgentStates(wrapup_s=0)
    router = HousekeeperRouter(roster(ROSTER), directory(), states, RoutingRules())

    async def lookup(number: str) -> OwnerInfo:  # every caller is an owner of the east zone
        return OwnerInfo(f"owner-{number[-4:]}", zone="east", housekeeper_interface=KEEPER)

    server = ivr_fastagi_server("127.0.0.1", 0, flows=registry, lookup=lookup,
                                on_event=events.append, pbx="sim", queue_mode="exec",
                                route_housekeeper=router)  # fmt: skip
    await server.start()
    ami, follow = agent_state_follower(states)

    queues = [
        QueueConfig("support", [Member("PJSIP/1001", "kf01")]),
        # the zone's assistant first; the housekeeper helps out when the assistant is busy
        QueueConfig(
            "zone-east",
            [Member("PJSIP/1022", "zl01"), Member(KEEPER, "gj01", 2)],
            defaultrule="prefer-zone",
        ),
    ]
    traffic = TrafficParams(ivr_hangup_prob=0.0, peak_calls_per_hour=150.0, handle_median_s=60.0,
                            patience_mean_s=600.0, no_answer_prob=0.15,
                            agent_hangup_prob=0.0)  # fmt: skip
    try:
        async with running_simulator(
            tmp_path / "pbx", seed=11, speed=100.0, start_epoch=daytime_start(hour=10),
            agi_target=AgiTarget("127.0.0.1", server.port), traffic=traffic, queues=queues,
            hotlines={"4008001000": "support"},
            queue_rules=parse_queuerules(queuerules_text("prefer-zone", 10.0)),
        ) as sim:  # fmt: skip
            sim.add_listener(follow)
            ivr_of(server).clock = lambda: sim.now
            members_ready(states, queues, sim.now)
            outcomes = await sim.run(16, timeout=120)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if not server.sessions:
                    break
                await asyncio.sleep(0.01)
            expected = expected_records(queue_log=sim.queue_log_path, cdr_csv=sim.cdr_path,
                                        pbx="sim", zone=ZoneInfo(sim.config.timezone),
                                        short_abandon_s=5.0)  # fmt: skip
    finally:
        await server.close()
    assert server.stats["failed"] == 0 and len(outcomes) == 16
    decisions: dict[str, list[ev.RoutingDecision]] = {}
    for e in events:
        if isinstance(e, ev.RoutingDecision):
            decisions.setdefault(e.call_id, []).append(e)
    first = Counter(d[0].decision for d in decisions.values())
    assert first["housekeeper"] >= 3 and first["zone_queue"] >= 3, first
    dialled = direct_dials(ami)
    by_call = {c.call_id: c for c in outcomes}
    for call_id, steps in decisions.items():
        call = by_call[call_id]
        if steps[0].decision == "housekeeper":
            assert call_id in dialled
            if dialled[call_id] == "ANSWER":
                assert (call.outcome, call.agent, call.queue) == ("answered", KEEPER, "")
            else:  # rang out, or taken by another call since the decision: the zone's queue
                assert steps[1].decision == "zone_queue"
                assert f"{KEEPER}: {dialled[call_id]}" in steps[1].reason
                assert call.queue == "zone-east"  # the one queue of the whole wait
        else:
            assert steps[0].decision == "zone_queue" and "gj01 is" in steps[0].reason
            assert call_id not in dialled and call.queue == "zone-east"
    assert Counter(c.outcome for c in outcomes)["answered"] >= 10
    tracked = [r for r in track(ami, pbx="sim") if r.ended_at is not None]
    result = compare(tracked, expected)
    assert len(expected) == 16 and result.clean, result.describe()
    assert compare_with_truth(tracked, outcomes, 5.0) == []  # outcome, wait, agent
