"""Events of simulated calls against the real Asterisk 22 captures: names, order, headers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from callcenter.sim import PbxSimulator, SimConfig, TrafficParams, agents
from callcenter.sim.config import QueueConfig
from callcenter.sim.probe import Block, parse_block
from callcenter.sim.traffic import CallPlan, TrafficModel

DATA = Path(__file__).parent / "data"
START = 1795731524.0 + 4 * 3600
MILESTONES = {
    "QueueCallerJoin", "MusicOnHoldStart", "AgentCalled", "DialBegin", "DialState",
    "DialEnd", "MusicOnHoldStop", "QueueCallerLeave", "AgentConnect", "BridgeCreate",
    "BridgeEnter", "BridgeLeave", "AgentComplete", "BridgeDestroy", "AgentRingNoAnswer",
    "QueueCallerAbandon",
}  # fmt: skip


def capture(name: str) -> list[Block]:
    text = (DATA / name).read_text()
    return [parse_block(chunk) for chunk in text.split("\n\n") if chunk.strip()]


def call_events(events: list[Block], linkedid: str) -> list[Block]:
    bridges = {e["BridgeUniqueid"] for e in events
               if e.get("Linkedid") == linkedid and "BridgeUniqueid" in e}  # fmt: skip
    return [
        e
        for e in events
        if e.get("Linkedid") == linkedid
        or (e.get("BridgeUniqueid") in bridges and "Channel" not in e)
    ]


def milestones(events: list[Block]) -> list[str]:
    # dial events without a calling channel belong to the capture's Originate, not to the queue
    names = [e["Event"] for e in events if (e["Event"] in MILESTONES and "Channel" in e)
             or e["Event"] in ("BridgeCreate", "BridgeDestroy")]  # fmt: skip
    return names


def one_agent_config(tmp_path: Path, **traffic: object) -> SimConfig:
    params = TrafficParams(ivr_hangup_prob=0.0, patience_mean_s=10_000.0, no_answer_prob=0.0)
    for key, value in traffic.items():
        setattr(params, key, value)
    return SimConfig(
        seed=11,
        speed=1000.0,
        start_epoch=START,
        records_dir=tmp_path,
        queues=[QueueConfig("support", agents(1001, 1))],
        hotlines={"4008001000": "support"},
        menu_routes={},
        traffic=params,
    )


async def run_calls(cfg: SimConfig, calls: int) -> tuple[PbxSimulator, list[Block]]:
    sim = PbxSimulator(cfg)
    events: list[Block] = []
    await sim.start()
    sim.add_listener(events.append)
    await sim.run(calls, timeout=60)
    await sim.stop()
    return sim, events


async def test_answered_call_follows_the_capture(tmp_path: Path) -> None:
    real = capture("ami_events_queue_calls.txt")
    for reason, real_call in (("agent", "1795731526.4"), ("caller", "1795731525.2")):
        hangup_prob = 1.0 if reason == "agent" else 0.0
        cfg = one_agent_config(tmp_path / reason, agent_hangup_prob=hangup_prob)
        sim, events = await run_calls(cfg, 1)
        truth = sim.finished[0]
        assert truth.outcome == "answered" and truth.hangup_by == reason
        ours = call_events(events, truth.call_id)
        theirs = call_events(real, real_call)
        assert milestones(ours) == milestones(theirs), reason
        complete = next(e for e in ours if e["Event"] == "AgentComplete")
        assert complete["Reason"] == reason
        hangups = [e for e in ours if e["Event"] == "Hangup"]
        assert [(h["Cause"], h["Cause-txt"]) for h in hangups] == [("16", "Normal Clearing")] * 2
        assert events[-1]["Event"] == "Cdr" and events[-1]["UniqueID"] == truth.call_id
        assert events[-1]["Disposition"] == "ANSWERED"


async def test_every_event_has_the_capture_header_set(tmp_path: Path) -> None:
    real = capture("ami_events_queue_calls.txt") + capture("ami_events_abandon.txt")
    shapes: dict[str, set[tuple[str, ...]]] = {}
    for e in real:
        shapes.setdefault(e["Event"], set()).add(tuple(e))
    cfg = one_agent_config(tmp_path, no_answer_prob=0.3, patience_mean_s=40.0,
                           peak_calls_per_hour=600.0)  # fmt: skip
    cfg.recorded_fraction = 0.5
    _, events = await run_calls(cfg, 12)
    seen = set()
    for e in events:
        name = e["Event"]
        if name in shapes:
            assert tuple(e) in shapes[name], name
            seen.add(name)
        assert e["Privilege"].endswith(",all")
        whole, _, micros = e["Timestamp"].partition(".")
        assert whole.isdigit() and len(micros) == 6
    assert {"Newchannel", "Newstate", "Hangup", "AgentCalled", "AgentConnect", "Cdr",
            "QueueCallerJoin", "MixMonitorStart", "DTMFEnd", "Newexten", "VarSet",
            "QueueMemberStatus", "BridgeEnter"} <= seen  # fmt: skip


async def test_abandon_after_ring_no_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = one_agent_config(tmp_path, no_answer_prob=1.0)
    cfg.queues[0].ring_timeout = 10.0
    plan_of = TrafficModel.plan

    def patient(self: TrafficModel, index: int, arrival: float) -> CallPlan:
        # nobody answers and the caller hangs up 22 s in, during the second ring
        return dataclasses.replace(plan_of(self, index, arrival), patience=22.0)

    monkeypatch.setattr(TrafficModel, "plan", patient)
    sim, events = await run_calls(cfg, 1)
    truth = sim.finished[0]
    assert truth.outcome == "abandoned" and round(truth.wait or 0) == 22
    names = milestones(call_events(events, truth.call_id))
    real = milestones(call_events(capture("ami_events_abandon.txt"), "1795731574.22"))
    assert names[:2] == real[:2] == ["QueueCallerJoin", "MusicOnHoldStart"]
    assert names.count("AgentRingNoAnswer") == 1
    assert names[-2:] == ["QueueCallerAbandon", "QueueCallerLeave"] == real[-2:]
    abandon = next(e for e in events if e["Event"] == "QueueCallerAbandon")
    assert abandon["HoldTime"] == "22"
    log = [line.split("|") for line in (tmp_path / "queue_log").read_text().splitlines()]
    kinds = [row[4] for row in log if row[1] == truth.call_id]
    assert kinds == ["ENTERQUEUE", "RINGNOANSWER", "RINGCANCELED", "ABANDON"]
    assert log[-1][5:] == ["1", "1", "22"]
