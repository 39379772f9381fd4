"""Hundreds of calls in each topology and CDR layout: the simulator's ground truth agrees with
the queue_log and Master.csv it wrote, the way a service recovering from them would read
them (grouped by the queued channel's and the Local halves' uniqueids, no linkedid needed)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from callcenter.sim import CallOutcome, PbxSimulator, SimConfig, TrafficParams, agents
from callcenter.sim.config import QueueConfig

START = 1795731524.0 + 4 * 3600
CALLS = 300
LAYOUTS = ("default", "linkedid", "newcdrcolumns")


def config(records: Path, topology: str, layout: str) -> SimConfig:
    local = agents(1001, 9, local_context="agents")
    phones = agents(2001, 3)
    return SimConfig(
        seed=7, speed=20000.0, start_epoch=START, records_dir=records, lines=14,
        topology=topology, cdr_layout=layout, recorded_fraction=0.3,
        queues=[QueueConfig("support", local[:6]),
                QueueConfig("repair", phones[:2] + local[6:]),
                QueueConfig("complaint", phones[2:] + local[8:])],
        traffic=TrafficParams(peak_calls_per_hour=260.0, patience_mean_s=60.0,
                              no_answer_prob=0.15),
    )  # fmt: skip


async def simulate(cfg: SimConfig) -> list[CallOutcome]:
    sim = PbxSimulator(cfg)
    await sim.start()
    await sim.run(CALLS, timeout=120)
    await sim.stop()
    return sim.finished


def read(records: Path) -> tuple[list[list[str]], list[list[str]]]:
    with open(records / "Master.csv", newline="") as handle:
        cdrs = list(csv.reader(handle))
    queue_log = [line.split("|") for line in (records / "queue_log").read_text().splitlines()]
    return cdrs, queue_log


def next_id(uniqueid: str) -> str:
    """The Uniqueid made right after this one (the other half of a Local pair)."""
    prefix, _, counter = uniqueid.rpartition(".")
    return f"{prefix}.{int(counter) + 1}"


def check_queue_log(truths: list[CallOutcome], queue_log: list[list[str]]) -> None:
    by_callid: dict[str, list[list[str]]] = {}
    for row in queue_log[1:]:
        by_callid.setdefault(row[1], []).append(row)
    call_ids = {t.call_id for t in truths}
    assert not (set(by_callid) - {t.channel_id for t in truths})  # no line of another id
    for t in truths:
        rows = by_callid.get(t.channel_id, [])
        kinds = [row[4] for row in rows]
        if t.joined_at is None:
            assert rows == [], t
            continue
        assert kinds[0] == "ENTERQUEUE" and rows[0][2] == t.queue and rows[0][6] == t.caller
        rang = kinds.count("RINGNOANSWER") + kinds.count("RINGCANCELED")
        if t.outcome == "answered":
            connects = [row for row in rows if row[4] == "CONNECT"]
            assert len(connects) == 1, t
            # CONNECT: holdtime | the bridged channel's uniqueid (a Local member's ;1) | ring
            assert connects[0][3] == t.agent and connects[0][6] == t.agent_channel_id
            assert kinds[kinds.index("CONNECT") + 1] == f"COMPLETE{t.hangup_by.upper()}"
            assert rang == t.ring_attempts - 1
        elif t.outcome in ("abandoned", "short_abandon"):
            assert kinds[-1] == "ABANDON" and rang == t.ring_attempts
        else:
            assert t.outcome == "voicemail" and kinds[-1] == "EXITWITHTIMEOUT"
    assert call_ids


def check_cdrs(truths: list[CallOutcome], cdrs: list[list[str]], topology: str) -> None:
    """Each row belongs to one call by its uniqueid: the queued channel's, the Local caller's
    ;1 (the Linkedid), or the ;2 of the Local member who answered."""
    owner: dict[str, tuple[str, CallOutcome]] = {}
    for t in truths:
        owner[t.channel_id] = ("queued", t)
        if topology == "local":
            assert t.call_id != t.channel_id and next_id(t.call_id) == t.channel_id
            owner[t.call_id] = ("origin", t)
        else:
            assert t.call_id == t.channel_id and t.channel.startswith("PJSIP/trunk-")
        if t.agent_interface.startswith("Local/"):
            owner[next_id(t.agent_channel_id)] = ("member", t)
    rows: dict[tuple[str, str], list[list[str]]] = {}
    for row in cdrs:
        role, t = owner[row[16]]
        rows.setdefault((role, t.call_id), []).append(row)
        if len(row) == 19:
            assert row[18] == t.call_id  # the linkedid column
        elif len(row) == 21:
            assert row[18:20] == ["", t.call_id]  # peeraccount, linkedid
    for t in truths:
        queued = rows[("queued", t.call_id)]
        assert all(r[5] == t.channel and r[1] == t.caller and r[2] == t.hotline for r in queued)
        rung = [r[6] for r in queued if r[6]]
        assert len(rung) == len(set(rung)) == t.ring_attempts, t
        if t.outcome == "answered":
            assert [r[6] for r in queued if r[14] == "ANSWERED" and r[6]] == [t.agent_channel]
        origin = rows.get(("origin", t.call_id), [])
        if topology == "local" and t.outcome != "blocked":
            assert [(r[7], r[6], r[14]) for r in origin] == [("Wait", "", "ANSWERED")]
            assert origin[0][5] == t.channel[:-1] + "1"
        else:
            assert origin == []
        member = rows.get(("member", t.call_id), [])
        if t.outcome == "answered" and t.agent_interface.startswith("Local/"):
            extension, _, context = t.agent_interface[len("Local/") :].partition("@")
            assert [(r[2], r[3], r[14], r[6]) for r in member] == [
                (extension, context, "ANSWERED", "")
            ]
            assert member[0][5] == t.agent_channel[:-1] + "2"
        else:
            assert member == []
    sequences = [int(r[20]) for r in cdrs if len(r) == 21]
    assert len(sequences) == len(set(sequences))  # one CDR object, one number


@pytest.mark.parametrize("topology", ["trunk", "local"])
async def test_truth_agrees_with_queue_log_and_cdr_in_every_layout(
    tmp_path: Path, topology: str
) -> None:
    runs = {layout: await simulate(config(tmp_path / layout, topology, layout))
            for layout in LAYOUTS}  # fmt: skip
    truths = runs["default"]
    assert len(truths) == CALLS and len({t.call_id for t in truths}) == CALLS
    outcomes = Counter(t.outcome for t in truths)
    assert {"answered", "abandoned", "blocked", "ivr_only", "voicemail"} <= set(outcomes)
    assert outcomes["answered"] > CALLS // 2
    answered_by = Counter(t.agent_interface.split("/")[0] for t in truths if t.agent_interface)
    assert answered_by["Local"] and answered_by["PJSIP"]
    for layout, finished in runs.items():
        assert [(t.call_id, t.outcome) for t in finished] == [
            (t.call_id, t.outcome) for t in truths
        ], layout
        cdrs, queue_log = read(tmp_path / layout)
        assert {len(r) for r in cdrs} == {{"default": 18, "linkedid": 19}.get(layout, 21)}
        check_queue_log(finished, queue_log)
        check_cdrs(finished, cdrs, topology)
    first = read(tmp_path / "default")
    for layout in LAYOUTS[1:]:  # the layout changes the columns, nothing else
        cdrs, queue_log = read(tmp_path / layout)
        assert [r[:18] for r in cdrs] == first[0] and queue_log == first[1]
