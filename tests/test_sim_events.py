"""Events of simulated calls against the real Asterisk 22 captures: names, order, headers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from callcenter.sim import PbxSimulator, SimConfig, TrafficParams, agents
from callcenter.sim.config import Member, QueueConfig
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


# -- Local channels: callers (topology "local") and members on Local/ interfaces ----------
LIFECYCLE = MILESTONES | {
    "Newchannel", "LocalBridge", "Newstate", "HangupRequest", "SoftHangupRequest", "Hangup",
}  # fmt: skip


def local_call_events(events: list[Block], linkedid: str) -> list[Block]:
    """The call's events, with the dial and LocalBridge events that carry no Linkedid of
    their own (an Originate's dial of ;1 names only its Dest channel)."""
    bridges = {e["BridgeUniqueid"] for e in events
               if e.get("Linkedid") == linkedid and "BridgeUniqueid" in e}  # fmt: skip
    return [
        e
        for e in events
        if linkedid in (e.get("Linkedid"), e.get("DestLinkedid"), e.get("LocalOneLinkedid"))
        or (e.get("BridgeUniqueid") in bridges and "Channel" not in e)
    ]


def lifecycle(events: list[Block], linkedid: str) -> list[tuple[str, str, str, str]]:
    """(event, channel role, dest role, cause/status/state): roles are caller;1, caller;2,
    member;1, member;2, so two runs with different ids and names compare."""
    mine = local_call_events(events, linkedid)
    first = next(e["Channel"] for e in mine if e["Event"] == "Newchannel")
    caller = first.rpartition(";")[0]

    def role(name: str) -> str:
        if not name:
            return ""
        base, _, half = name.rpartition(";")
        return ("caller;" if base == caller else "member;") + half

    rows = []
    for e in mine:
        if e["Event"] not in LIFECYCLE:
            continue
        detail = e.get("Cause") or e.get("DialStatus") or e.get("BridgeNumChannels", "")
        if e["Event"] == "Newstate":
            detail = e["ChannelState"]
        name = e.get("Channel") or e.get("LocalOneChannel", "")
        rows.append((e["Event"], role(name), role(e.get("DestChannel", "")), detail))
    # a Local pair's Newstates (;2 answers, so does ;1) reach AMI in either order
    settled: list[tuple[str, str, str, str]] = []
    for row in rows:
        if settled and row[0] == settled[-1][0] == "Newstate" and row[1] < settled[-1][1]:
            settled.insert(len(settled) - 1, row)
        else:
            settled.append(row)
    return settled


def cdr_order(events: list[Block], linkedid: str) -> list[str]:
    """The Channel of each Cdr event of the call: the order the CDR rows were posted."""
    ids = {e["Uniqueid"] for e in local_call_events(events, linkedid) if "Uniqueid" in e}
    return [e["Channel"].rpartition("-")[2] for e in events
            if e["Event"] == "Cdr" and e["UniqueID"] in ids]  # fmt: skip


def member_statuses(events: list[Block], interface: str) -> list[str]:
    return [e["Status"] for e in events
            if e["Event"] == "QueueMemberStatus" and e["Interface"] == interface]  # fmt: skip


def counter(uniqueid: str) -> int:
    return int(uniqueid.rpartition(".")[2])


def local_config(tmp_path: Path, queue: QueueConfig, **traffic: object) -> SimConfig:
    cfg = one_agent_config(tmp_path, **traffic)
    cfg.topology = "local"
    cfg.queues = [queue]
    cfg.hotlines = {"4008001000": queue.name}
    cfg.default_queue = queue.name
    return cfg


async def test_local_caller_and_member_answered_call_follows_the_capture(tmp_path: Path) -> None:
    real = capture("ami_events_queue_calls.txt")
    # 1795731526.4: the agent hangs up; 1795731525.2: the caller does
    for reason, real_call, rows in (("agent", "1795731526.4", ["00000001;2", "00000000;1",
                                                                 "00000000;2"]),
                                    ("caller", "1795731525.2", ["00000000;1", "00000000;2",
                                                                  "00000001;2"])):  # fmt: skip
        queue = QueueConfig("support", agents(1001, 1, local_context="agents"))
        cfg = local_config(tmp_path / reason, queue,
                           agent_hangup_prob=1.0 if reason == "agent" else 0.0)  # fmt: skip
        sim, events = await run_calls(cfg, 1)
        truth = sim.finished[0]
        assert truth.outcome == "answered" and truth.hangup_by == reason
        assert lifecycle(events, truth.call_id) == lifecycle(real, real_call), reason
        assert milestones(call_events(events, truth.call_id)) == milestones(
            call_events(real, real_call)
        )
        # the rows are posted as each channel hangs up: member ;2, caller ;1, caller ;2
        assert cdr_order(events, truth.call_id) == rows, reason
        assert member_statuses(events, "Local/1001@agents") == ["2", "1"]

        ours = local_call_events(events, truth.call_id)
        new = [e for e in ours if e["Event"] == "Newchannel"]
        one, two, m_one, m_two = new
        assert one["Channel"].startswith("Local/4008001000@from-pstn-")
        assert one["Channel"].endswith(";1") and two["Channel"] == one["Channel"][:-1] + "2"
        assert one["Uniqueid"] == one["Linkedid"] == truth.call_id
        assert counter(two["Uniqueid"]) == counter(one["Uniqueid"]) + 1
        assert m_one["Channel"].startswith("Local/1001@agents-")
        assert counter(m_two["Uniqueid"]) == counter(m_one["Uniqueid"]) + 1
        assert {e["Linkedid"] for e in ours if "Linkedid" in e} == {truth.call_id}
        join = next(e for e in ours if e["Event"] == "QueueCallerJoin")
        connect = next(e for e in ours if e["Event"] == "AgentConnect")
        assert join["Channel"] == two["Channel"] == truth.channel
        assert join["Uniqueid"] == truth.channel_id != truth.call_id
        assert connect["DestChannel"] == m_one["Channel"] == truth.agent_channel
        assert connect["DestUniqueid"] == m_one["Uniqueid"] == truth.agent_channel_id
        bridge = next(e for e in real if e["Event"] == "LocalBridge")
        ours_bridge = next(e for e in ours if e["Event"] == "LocalBridge")
        assert list(ours_bridge) == list(bridge) and ours_bridge["LocalOptimization"] == "Yes"
        log = [row.split("|") for row in (tmp_path / reason / "queue_log").read_text().splitlines()]
        mine = [row for row in log if row[1] == truth.channel_id]
        assert [row[4] for row in mine][:2] == ["ENTERQUEUE", "CONNECT"]
        assert mine[1][6] == m_one["Uniqueid"]  # CONNECT names the bridged ;1


async def test_local_abandon_after_ring_no_answers_follows_the_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capture's caller waits 22.6 s in queue 'empty' while its one member rings out
    twice (10 s rings, 2 s apart), then hangs up between rings."""
    queue = QueueConfig("empty", [Member("Local/1999@agents-noanswer", "Never Answers")],
                        ring_timeout=10.0, retry=2.0)  # fmt: skip
    cfg = local_config(tmp_path, queue, no_answer_prob=1.0)
    plan_of = TrafficModel.plan

    def impatient(self: TrafficModel, index: int, arrival: float) -> CallPlan:
        return dataclasses.replace(plan_of(self, index, arrival), patience=22.6)

    monkeypatch.setattr(TrafficModel, "plan", impatient)
    sim, events = await run_calls(cfg, 1)
    truth = sim.finished[0]
    assert truth.outcome == "abandoned" and truth.ring_attempts == 2
    real = capture("ami_events_abandon.txt")
    assert lifecycle(events, truth.call_id) == lifecycle(real, "1795731574.22")
    assert cdr_order(events, truth.call_id) == ["00000000;1", "00000000;2", "00000000;2"]
    assert cdr_order(real, "1795731574.22") == ["0000000b;1", "0000000b;2", "0000000b;2"]
    statuses = ["2", "1", "2", "1"]
    assert member_statuses(events, "Local/1999@agents-noanswer") == statuses
    assert member_statuses(real, "Local/1999@agents-noanswer") == statuses
    ring_ends = [e["DialStatus"] for e in events if e["Event"] == "DialEnd" and "Channel" in e]
    assert ring_ends == ["NOANSWER", "CANCEL"] * 2


async def test_local_topology_events_have_the_capture_header_sets(tmp_path: Path) -> None:
    real = capture("ami_events_queue_calls.txt") + capture("ami_events_abandon.txt")
    shapes: dict[str, set[tuple[str, ...]]] = {}
    for e in real:
        shapes.setdefault(e["Event"], set()).add(tuple(e))
    queue = QueueConfig("support", agents(1001, 2, local_context="agents"))
    cfg = local_config(tmp_path, queue, no_answer_prob=0.3, patience_mean_s=40.0,
                       peak_calls_per_hour=600.0)  # fmt: skip
    cfg.recorded_fraction = 0.5
    _, events = await run_calls(cfg, 12)
    seen = set()
    for e in events:
        name = e["Event"]
        if name in shapes:
            assert tuple(e) in shapes[name], name
            seen.add(name)
    assert {"Newchannel", "LocalBridge", "NewCallerid", "NewConnectedLine", "DialBegin",
            "DialEnd", "Hangup", "AgentCalled", "AgentConnect", "Cdr",
            "QueueMemberStatus"} <= seen  # fmt: skip
    # the Originate-style dial of a caller's ;1 has no calling channel, as in the capture
    assert any(e["Event"] == "DialBegin" and "Channel" not in e for e in events)
