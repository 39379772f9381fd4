"""queue_log and Master.csv written by the simulator agree with its ground truth."""

from __future__ import annotations

import csv
from pathlib import Path

from callcenter.sim import PbxSimulator, SimConfig, TrafficParams, agents
from callcenter.sim.config import QueueConfig
from callcenter.sim.probe import Block

START = 1795731524.0 + 4 * 3600  # 10:18 in Asia/Shanghai


def config(records: Path, **overrides: object) -> SimConfig:
    cfg = SimConfig(
        seed=5,
        speed=1000.0,
        start_epoch=START,
        records_dir=records,
        traffic=TrafficParams(peak_calls_per_hour=700.0, patience_mean_s=60.0),
    )
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


async def simulate(cfg: SimConfig, calls: int) -> tuple[PbxSimulator, list[Block]]:
    sim = PbxSimulator(cfg)
    events: list[Block] = []
    await sim.start()
    sim.add_listener(events.append)
    await sim.run(calls, timeout=60)
    await sim.stop()
    return sim, events


def queue_log(path: Path) -> list[list[str]]:
    return [line.split("|") for line in (path / "queue_log").read_text().splitlines()]


def cdrs(path: Path) -> list[list[str]]:
    with open(path / "Master.csv", newline="") as handle:
        return list(csv.reader(handle))


async def test_n_calls_give_n_outcomes_matching_queue_log_and_cdr(tmp_path: Path) -> None:
    sim, _ = await simulate(config(tmp_path), 80)
    truths = sim.finished
    assert sim.generated == len(truths) == 80
    assert len({t.call_id for t in truths}) == 80
    log = queue_log(tmp_path)
    assert log[0][1:5] == ["NONE", "NONE", "NONE", "QUEUESTART"]
    by_call: dict[str, list[list[str]]] = {}
    for row in log[1:]:
        by_call.setdefault(row[1], []).append(row)
    entered = [t for t in truths if t.joined_at is not None]
    assert sum(1 for row in log if row[4] == "ENTERQUEUE") == len(entered)
    expected_end = {
        "answered": {"COMPLETECALLER", "COMPLETEAGENT"},
        "abandoned": {"ABANDON"},
        "short_abandon": {"ABANDON"},
        "voicemail": {"EXITWITHTIMEOUT"},
    }
    outcomes = {t.outcome for t in truths}
    assert {"answered", "ivr_only"} <= outcomes and outcomes & {"abandoned", "short_abandon"}
    for t in truths:
        rows = by_call.get(t.call_id, [])
        if t.outcome in ("ivr_only", "blocked"):
            assert rows == []
            continue
        assert rows[0][4] == "ENTERQUEUE" and rows[0][2] == t.queue
        assert rows[0][5:] == ["", t.caller, rows[0][7]]
        assert rows[-1][4] in expected_end[t.outcome]
        if t.outcome == "answered":
            connect = next(r for r in rows if r[4] == "CONNECT")
            assert connect[3] == t.agent
            assert abs(int(connect[5]) - (t.wait or 0)) <= 1
        else:
            assert abs(int(rows[-1][7]) - (t.wait or 0)) <= 1

    rows = cdrs(tmp_path)
    assert all(len(r) == 19 for r in rows)
    per_call: dict[str, list[list[str]]] = {}
    for r in rows:
        assert r[18] == r[16]  # linkedid column: the trunk channel's own id
        per_call.setdefault(r[16], []).append(r)
    assert set(per_call) == {t.call_id for t in truths}
    for t in truths:
        mine = per_call[t.call_id]
        assert all(r[17] == f"dnis:{t.hotline}" and r[1] == t.caller for r in mine)
        assert all(r[2] == t.hotline and r[3] == "from-pstn" for r in mine)
        if t.outcome == "answered":
            answered = [r for r in mine if r[14] == "ANSWERED" and r[6]]
            assert [r[6] for r in answered] == [t.agent_channel]


async def test_same_seed_same_records_whatever_the_speed(tmp_path: Path) -> None:
    first, _ = await simulate(config(tmp_path / "a", speed=400.0), 40)
    second, _ = await simulate(config(tmp_path / "b", speed=2000.0), 40)
    assert (tmp_path / "a" / "queue_log").read_bytes() == (
        tmp_path / "b" / "queue_log"
    ).read_bytes()
    assert (tmp_path / "a" / "Master.csv").read_bytes() == (
        tmp_path / "b" / "Master.csv"
    ).read_bytes()
    assert [t.outcome for t in first.finished] == [t.outcome for t in second.finished]
    await simulate(config(tmp_path / "c", seed=6), 40)
    assert (tmp_path / "c" / "queue_log").read_bytes() != (
        tmp_path / "a" / "queue_log"
    ).read_bytes()


async def test_calls_beyond_the_line_limit_are_blocked(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        lines=3,
        queues=[QueueConfig("support", agents(1001, 3))],
        hotlines={"4008001000": "support"},
        menu_routes={},
        traffic=TrafficParams(peak_calls_per_hour=3000.0, handle_median_s=600.0,
                              ivr_hangup_prob=0.0, patience_mean_s=10_000.0),
    )  # fmt: skip
    sim, events = await simulate(cfg, 20)
    blocked = [t for t in sim.finished if t.outcome == "blocked"]
    assert blocked and len(sim.finished) == 20
    up, peak = 0, 0
    for e in events:
        if e["Event"] == "Newchannel" and e["Channel"].startswith("PJSIP/trunk-"):
            up += 1
        elif e["Event"] == "Hangup" and e["Channel"].startswith("PJSIP/trunk-"):
            if e["Cause"] == "34":
                assert e["Cause-txt"] == "Circuit/channel congestion"
            up -= 1
        peak = max(peak, up)
    assert peak <= 3 + 1  # a refused call exists for an instant before its Hangup
    ids = {t.call_id for t in blocked}
    assert not any(row[1] in ids for row in queue_log(tmp_path))
    rows = [r for r in cdrs(tmp_path) if r[16] in ids]
    assert len(rows) == len(blocked)
    assert all(r[14] == "FAILED" and r[10] == "" and r[7] == "Congestion" for r in rows)
    assert all(r[13] == "0" for r in rows)


async def test_run_simulator_entry_point(tmp_path: Path) -> None:
    from callcenter.sim import run_simulator

    outcomes = await run_simulator(config(tmp_path, speed=2000.0), calls=5)
    assert len(outcomes) == 5 and all(o.ended_at >= o.started_at for o in outcomes)
    assert len(cdrs(tmp_path)) >= 5
