"""The simulator's callers walk the hotline flow through our FastAGI server, end to end."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from agi_fixtures import ivr_fastagi_server, ivr_of

from callcenter.calls.reconcile import compare, expected_records
from callcenter.core import events as ev
from callcenter.core.contracts import OwnerInfo
from callcenter.ivr.registry import FlowRegistry
from callcenter.sim import AgiTarget, TrafficParams, daytime_start
from callcenter.telephony.fastagi import FastAgiServer
from callcenter.testing import running_simulator, track

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_QUEUE = {"1": "repair", "2": "complaint", "3": "support", "": "support"}


async def test_simulated_callers_walk_the_hotline_into_the_queues_it_chose(tmp_path: Path) -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    assert registry.reload() == []
    events: list[ev.Event] = []

    async def lookup(number: str) -> OwnerInfo | None:
        return None  # nobody known: the menu decides

    server = ivr_fastagi_server("127.0.0.1", 0, flows=registry, lookup=lookup,
                                on_event=events.append, pbx="sim")  # fmt: skip
    await server.start()
    try:
        traffic = TrafficParams(ivr_hangup_prob=0.1, peak_calls_per_hour=3000.0)
        async with running_simulator(
            tmp_path / "pbx", seed=5, speed=100.0, start_epoch=daytime_start(hour=10),
            agi_target=AgiTarget("127.0.0.1", server.port), traffic=traffic,
        ) as sim:  # fmt: skip
            ivr_of(server).clock = lambda: sim.now
            outcomes = await sim.run(30, timeout=90)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the last sessions may still be closing
                if not server.sessions:
                    break
                await asyncio.sleep(0.01)
    finally:
        await server.close()
    assert len(outcomes) == 30
    assert server.stats["failed"] == 0 and server.stats["sessions"] == 30
    left = {x.call_id: x for x in events if isinstance(x, ev.IvrLeft)}
    missing = {c.call_id for c in outcomes} - set(left)
    assert not missing, f"sessions without a recorded exit: {missing}"
    assert len(left) == 30  # every session ended with its path recorded
    for call in outcomes:
        exit_ = left[call.call_id]
        if exit_.outcome == "queue" and call.outcome == "ivr_only":
            assert call.queue == ""  # hung up during the hand-off, before joining the queue
        elif exit_.outcome == "queue":
            assert call.queue == exit_.target
            assert call.outcome in ("answered", "abandoned", "short_abandon", "voicemail")
            assert call.queue == EXPECTED_QUEUE[call.dtmf[:1]]
        else:
            assert exit_.outcome == "caller_hangup" and call.outcome == "ivr_only"
    assert Counter(x.outcome for x in left.values())["queue"] >= 20


async def test_exec_mode_runs_the_queue_inside_the_agi_and_the_survey_after_it(
    tmp_path: Path,
) -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    assert registry.reload() == []
    events: list[ev.Event] = []
    server = ivr_fastagi_server("127.0.0.1", 0, flows=registry, lookup=None, on_event=events.append,
                                pbx="sim", queue_mode="exec")  # fmt: skip
    await server.start()
    ami: list[dict[str, str]] = []
    traffic = TrafficParams(ivr_hangup_prob=0.05, peak_calls_per_hour=3000.0,
                            handle_median_s=40.0, agent_hangup_prob=0.8,
                            patience_mean_s=400.0)  # fmt: skip
    try:
        async with running_simulator(
            tmp_path / "pbx", seed=7, speed=100.0, start_epoch=daytime_start(hour=10),
            agi_target=AgiTarget("127.0.0.1", server.port), traffic=traffic,
        ) as sim:  # fmt: skip
            sim.add_listener(ami.append)
            ivr_of(server).clock = lambda: sim.now
            outcomes = await sim.run(40, timeout=120)
            await _settle(server)
            expected = expected_records(queue_log=sim.queue_log_path, cdr_csv=sim.cdr_path,
                                        pbx="sim", zone=ZoneInfo(sim.config.timezone),
                                        short_abandon_s=5.0)  # fmt: skip
    finally:
        await server.close()
    assert server.stats["failed"] == 0 and server.stats["sessions"] == 40
    by_agent = {c.call_id for c in outcomes if c.outcome == "answered" and c.hangup_by == "agent"}
    surveyed = {x.call_id: x.score for x in events if isinstance(x, ev.SurveyAnswered)}
    assert by_agent and surveyed, "no talk ended by an agent, or no survey answered"
    assert set(surveyed) <= by_agent  # only callers whose agent hung up are asked
    assert len(surveyed) >= len(by_agent) // 2
    scores_set = {m["Linkedid"]: m["Value"] for m in ami
                  if m.get("Event") == "VarSet" and m.get("Variable") == "SURVEY_SCORE"}  # fmt: skip
    assert scores_set == {k: str(v) for k, v in surveyed.items()}  # Asterisk saw each score
    left = {x.call_id: x for x in events if isinstance(x, ev.IvrLeft)}
    assert set(left) == {c.call_id for c in outcomes}  # one exit per call, not one per app
    for call in outcomes:
        if left[call.call_id].outcome == "queue" and call.outcome != "ivr_only":
            assert call.queue == left[call.call_id].target
    # the live tracker (fed from AMI) agrees with queue_log + CDR
    tracked = [r for r in track(ami, pbx="sim", short_abandon_s=5.0) if r.ended_at is not None]
    result = compare(tracked, expected, short_abandon_s=5.0)
    assert len(expected) == 40 and result.clean, result.describe()
    assert "voicemail" in {c.outcome for c in outcomes}  # a queue timeout, then VoiceMail
    assert {r.call_id: r.outcome for r in tracked} == {c.call_id: c.outcome for c in outcomes}


async def test_out_of_hours_voicemail_is_left_inside_the_agi(tmp_path: Path) -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", queues={"support", "repair", "complaint"})
    assert registry.reload() == []
    events: list[ev.Event] = []
    server = ivr_fastagi_server("127.0.0.1", 0, flows=registry, lookup=None, on_event=events.append,
                                pbx="sim", queue_mode="exec")  # fmt: skip
    await server.start()
    ami: list[dict[str, str]] = []
    try:
        async with running_simulator(
            tmp_path / "pbx", seed=3, speed=100.0, start_epoch=daytime_start(hour=23),
            agi_target=AgiTarget("127.0.0.1", server.port),
            traffic=TrafficParams(ivr_hangup_prob=0.0, peak_calls_per_hour=3000.0),
        ) as sim:  # fmt: skip
            sim.add_listener(ami.append)
            ivr_of(server).clock = lambda: sim.now
            outcomes = await sim.run(5, timeout=60)
            await _settle(server)
    finally:
        await server.close()
    assert {c.outcome for c in outcomes} == {"voicemail"}
    callbacks = {x.call_id for x in events if isinstance(x, ev.CallbackRequested)}
    assert callbacks == {c.call_id for c in outcomes}
    apps = {m["Linkedid"] for m in ami
            if m.get("Event") == "Newexten" and m.get("Application") == "VoiceMail"}  # fmt: skip
    assert apps == callbacks
    cdr_apps = {m["UniqueID"]: m["LastApplication"] for m in ami if m.get("Event") == "Cdr"}
    assert set(cdr_apps.values()) == {"VoiceMail"}
    assert {r.outcome for r in track(ami, pbx="sim")} == {"voicemail"}


async def _settle(server: FastAgiServer) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the last sessions may still be closing their sockets
        if not server.sessions:
            return
        await asyncio.sleep(0.01)
