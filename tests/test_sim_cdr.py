"""The simulator's CDR rows against Asterisk's own (tests/data/durable_records_default_layout.txt):
which channel gets which row, in which order, in cdr_csv's layouts byte for byte."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callcenter.sim import PbxSimulator, SimConfig, TrafficParams
from callcenter.sim.config import Member, QueueConfig
from callcenter.sim.records import CdrRow, Records
from callcenter.sim.traffic import CallPlan, TrafficModel

DATA = Path(__file__).parent / "data"
START = 1795731524.0 + 4 * 3600

Row = list[str]
# cdr_csv's 18 columns (loguniqueid and loguserfield on, as the stock cdr.conf has them)
(ACCOUNTCODE, SRC, DST, DCONTEXT, CLID, CHANNEL, DSTCHANNEL, LASTAPP, LASTDATA, START_T,
 ANSWER_T, END_T, DURATION, BILLSEC, DISPOSITION, AMAFLAGS, UNIQUEID, USERFIELD) = range(18)  # fmt: skip


def durable() -> tuple[list[str], list[Row]]:
    """The capture's Master.csv lines and queue_log rows."""
    text = (DATA / "durable_records_default_layout.txt").read_text()
    master = text.split("### Master.csv rows\n")[1].split("\n### queue_log lines\n")[0]
    lines = [line for line in master.splitlines() if line]
    queue_log = [line.split("|") for line in text.split("### queue_log lines\n")[1].splitlines()]
    return lines, [row for row in queue_log if row != [""]]


def parse(lines: list[str]) -> list[Row]:
    return list(csv.reader(io.StringIO("\n".join(lines) + "\n")))


def roles(rows: list[Row], queue_log: list[Row], callid: str) -> list[tuple[str, ...]]:
    """Each row as the facts that must match, names and ids replaced by roles: the queued
    channel, the Local caller's ;1 ("origin"), a member's ;1 or ;2."""
    queued = next(r[CHANNEL] for r in rows if r[UNIQUEID] == callid)
    caller_base = queued.rpartition(";")[0] if queued.endswith(";2") else queued
    connects = {r[6] for r in queue_log if r[1] == callid and r[4] == "CONNECT"}
    dnis = next(r[DST] for r in rows if r[UNIQUEID] == callid)
    src = next(r[SRC] for r in rows if r[UNIQUEID] == callid)

    def channel_role(name: str) -> str:
        if not name:
            return ""
        if name == queued:
            return "queued"
        if name == caller_base + ";1":
            return "origin"
        return "member" + name[name.rindex(";") :]

    def uniqueid_role(row: Row) -> str:
        uid, seq = row[UNIQUEID], int(row[UNIQUEID].rpartition(".")[2])
        if uid == callid:
            return "queued"
        if int(callid.rpartition(".")[2]) == seq + 1:
            return "origin"  # ;1 was made just before ;2
        if any(int(c.rpartition(".")[2]) == seq - 1 for c in connects):
            return "member;2 of the bridged member;1"
        return "?"

    def clid_kind(row: Row) -> str:
        if row[CLID] == f'"PSTN {src}" <{src}>':
            return "PSTN caller"
        return "own name" if row[CLID].endswith(f'" <{src}>') else row[CLID]

    return [
        (
            channel_role(r[CHANNEL]),
            channel_role(r[DSTCHANNEL]),
            r[LASTAPP],
            r[DCONTEXT],
            "dnis" if r[DST] == dnis else "member extension",
            "src is the caller" if r[SRC] == src else r[SRC],
            clid_kind(r),
            uniqueid_role(r),
            r[DISPOSITION],
            r[AMAFLAGS],
            "dnis userfield" if r[USERFIELD] == f"dnis:{dnis}" else r[USERFIELD],
            "seconds" if r[LASTAPP] == "Wait" and float(r[LASTDATA]) > 0 else r[LASTDATA],
        )
        for r in rows
    ]


def config(records: Path, queue: QueueConfig, **changes: object) -> SimConfig:
    traffic = TrafficParams(ivr_hangup_prob=0.0, ivr_seconds=(0.0, 0.0), no_answer_prob=0.0,
                            patience_mean_s=10_000.0, agent_hangup_prob=0.0)  # fmt: skip
    cfg = SimConfig(seed=11, speed=1000.0, start_epoch=START, records_dir=records,
                    queues=[queue], hotlines={"5551234": queue.name}, menu_routes={},
                    default_queue=queue.name, traffic=traffic, cdr_layout="default")  # fmt: skip
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


async def simulate(cfg: SimConfig, calls: int = 1) -> PbxSimulator:
    sim = PbxSimulator(cfg)
    await sim.start()
    await sim.run(calls, timeout=60)
    await sim.stop()
    return sim


def written(records: Path) -> tuple[list[str], list[Row]]:
    lines = (records / "Master.csv").read_text().splitlines()
    queue_log = [line.split("|") for line in (records / "queue_log").read_text().splitlines()]
    return lines, queue_log


async def test_local_caller_answered_by_local_member_rows(tmp_path: Path) -> None:
    """Capture call 1: the ;2 half's Queue row (dstchannel the member's ;1), ;1's own Wait
    row, and the member's ;2 row in its own context, all ANSWERED."""
    lines, queue_log = durable()
    theirs = roles(parse(lines[0:3]), queue_log, "1796450971.1")
    queue = QueueConfig("support", [Member("Local/1003@agents", "Agent 1003")])
    sim = await simulate(config(tmp_path, queue, topology="local"))
    truth = sim.finished[0]
    ours_lines, our_log = written(tmp_path)
    ours = roles(parse(ours_lines), our_log, truth.channel_id)
    assert len(ours) == 3 and all(len(r) == 18 for r in parse(ours_lines))
    # the two caller halves' rows race in Asterisk (this capture has ;2 first; the AMI
    # capture's Cdr events of a caller hang-up have ;1 first): the simulator writes each
    # half's rows as it hangs up, ;1 then ;2, then the member's ;2
    assert sorted(ours, key=str) == sorted(theirs, key=str)
    assert [r[0] for r in ours] == ["origin", "queued", "member;2"]
    assert [r[0] for r in theirs] == ["queued", "origin", "member;2"]
    assert parse(ours_lines)[2][DST] == "1003" and parse(lines)[2][DST] == "1003"
    kinds = [r[4] for r in our_log if r[1] == truth.channel_id]
    assert kinds == [r[4] for r in queue_log if r[1] == "1796450971.1"]
    assert kinds == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]


async def test_trunk_caller_answered_by_local_member_rows(tmp_path: Path) -> None:
    """Capture call 2: a PJSIP caller's queued channel is its first channel; the member's
    ;2 row comes first (it hung up before the caller's channel finished), then the caller's."""
    lines, queue_log = durable()
    theirs = roles(parse(lines[3:5]), queue_log, "1796451021.4")
    queue = QueueConfig("support", [Member("Local/1002@agents", "Agent 1002")])
    sim = await simulate(config(tmp_path, queue, trunk="sipp"))
    truth = sim.finished[0]
    assert truth.call_id == truth.channel_id
    ours_lines, our_log = written(tmp_path)
    assert roles(parse(ours_lines), our_log, truth.call_id) == theirs
    assert [r[CHANNEL].rpartition("-")[0] for r in parse(ours_lines)] == [
        r[CHANNEL].rpartition("-")[0] for r in parse(lines[3:5])
    ]  # "Local/1002@agents", "PJSIP/sipp"
    connect = next(r for r in our_log if r[4] == "CONNECT")
    assert connect[6] == truth.agent_channel_id  # the member's ;1, bridged with the caller


def impatient_after(seconds: float, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_of = TrafficModel.plan

    def plan(self: TrafficModel, index: int, arrival: float) -> CallPlan:
        return dataclasses.replace(plan_of(self, index, arrival), patience=seconds)

    monkeypatch.setattr(TrafficModel, "plan", plan)


async def abandon_run(records: Path, layout: str) -> PbxSimulator:
    """Capture call 3: queue 'empty', 10 s rings 2 s apart, the caller gives up 31.5 s in,
    during the third ring."""
    queue = QueueConfig("empty", [Member("Local/1999@agents-noanswer", "Never Answers")],
                        ring_timeout=10.0, retry=2.0)  # fmt: skip
    cfg = config(records, queue, topology="local", cdr_layout=layout)
    cfg.traffic.no_answer_prob = 1.0
    return await simulate(cfg)


async def test_abandon_has_one_no_answer_row_per_ring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, queue_log = durable()
    theirs = parse(lines[5:9])
    impatient_after(31.5, monkeypatch)
    sim = await abandon_run(tmp_path, "default")
    truth = sim.finished[0]
    assert truth.outcome == "abandoned" and truth.ring_attempts == 3
    ours_lines, our_log = written(tmp_path)
    ours = parse(ours_lines)
    assert roles(ours, our_log, truth.channel_id) == roles(theirs, queue_log, "1796451912.111")
    assert [r[DURATION] for r in ours] == [r[DURATION] for r in theirs] == ["31", "10", "10", "7"]
    assert [r[BILLSEC] for r in ours] == [r[BILLSEC] for r in theirs]
    rung = [r[DSTCHANNEL] for r in ours[1:]]
    assert len(set(rung)) == 3 and all(d.endswith(";1") for d in rung)
    assert [d.rpartition("-")[0] for d in rung] == ["Local/1999@agents-noanswer"] * 3
    kinds = [r[3:6] for r in our_log if r[1] == truth.channel_id]
    real_kinds = [r[3:6] for r in queue_log if r[1] == "1796451912.111"]
    assert [k[:2] for k in kinds] == [k[:2] for k in real_kinds] == [
        ["NONE", "ENTERQUEUE"], ["Never Answers", "RINGNOANSWER"],
        ["Never Answers", "RINGNOANSWER"], ["Never Answers", "RINGCANCELED"],
        ["NONE", "ABANDON"],
    ]  # fmt: skip
    assert kinds[1][2] == kinds[2][2] == real_kinds[1][2] == "10000"
    assert abs(int(kinds[3][2]) - int(real_kinds[3][2])) < 100  # ms into the third ring


async def test_layouts_add_cdr_csv_columns_to_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impatient_after(31.5, monkeypatch)
    runs = {layout: await abandon_run(tmp_path / layout, layout)
            for layout in ("default", "linkedid", "newcdrcolumns")}  # fmt: skip
    rows = {layout: parse(written(tmp_path / layout)[0]) for layout in runs}
    call_id = runs["default"].finished[0].call_id
    assert [len(r) for r in rows["default"]] == [18] * 4
    assert all(r[:18] == d for r, d in zip(rows["linkedid"], rows["default"], strict=True))
    assert all(r[:18] == d for r, d in zip(rows["newcdrcolumns"], rows["default"], strict=True))
    assert [r[18:] for r in rows["linkedid"]] == [[call_id]] * 4
    # peeraccount, linkedid, sequence: main/cdr.c numbers each CDR object as it is made:
    # ;1 0, ;2 1 (its first ring's row), each ring's ;1 and ;2 next, and the row of a
    # later ring when that ring's dial begins (after its channels)
    assert [r[18:] for r in rows["newcdrcolumns"]] == [
        ["", call_id, "0"], ["", call_id, "1"], ["", call_id, "6"], ["", call_id, "9"],
    ]  # fmt: skip
    raw = (tmp_path / "newcdrcolumns" / "Master.csv").read_text().splitlines()
    assert raw[3].endswith(f',"dnis:5551234","","{call_id}",9')  # quoted, quoted, bare


def fractions(row: Row) -> tuple[float, float | None, float]:
    """Epoch times that give the row's whole-second dates and its duration and billsec."""

    def epoch(text: str) -> float:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()

    start, end = epoch(row[START_T]), epoch(row[END_T])
    answer = epoch(row[ANSWER_T]) if row[ANSWER_T] else None
    steps = (0.0, 0.1, 0.5, 0.9)
    for fs in steps:
        for fe in steps:
            for fa in steps:
                cdr = CdrRow("", "", "", "", "", "", "", "", "", start + fs,
                             None if answer is None else answer + fa, end + fe, "", "", "", "", "")  # fmt: skip
                if str(cdr.duration) == row[DURATION] and str(cdr.billsec) == row[BILLSEC]:
                    return cdr.start, cdr.answer, cdr.end
    raise AssertionError(f"no times fit {row}")


def test_rows_are_written_byte_for_byte_as_cdr_csv(tmp_path: Path) -> None:
    """Each capture row, rebuilt as a CdrRow, renders to the very same line."""
    lines, _ = durable()
    records = Records(tmp_path, "UTC", "default")
    try:
        for line, row in zip(lines, parse(lines), strict=True):
            start, answer, end = fractions(row)
            cdr = CdrRow(*row[:9], start, answer, end, row[DISPOSITION], row[AMAFLAGS],
                         row[UNIQUEID], row[USERFIELD], linkedid="")  # fmt: skip
            assert records.cdr_line(cdr) == line + "\n"
        unanswered = CdrRow("", "13800138000", "4008001000", "from-pstn", "13800138000",
                            "PJSIP/trunk-00000003", "", "Congestion", "", 1795731524.5, None,
                            1795731524.5, "FAILED", "DOCUMENTATION", "1795731524.3",
                            "dnis:4008001000", "1795731524.3", sequence=7)  # fmt: skip
        assert records.cdr_line(unanswered) == (
            '"","13800138000","4008001000","from-pstn","13800138000","PJSIP/trunk-00000003","",'
            '"Congestion","","2026-11-26 22:18:44",,"2026-11-26 22:18:44",0,0,"FAILED",'
            '"DOCUMENTATION","1795731524.3","dnis:4008001000"\n'
        )
    finally:
        records.close()


async def test_usegmtime_writes_master_csv_dates_in_gmt(tmp_path: Path) -> None:
    """cdr.conf's [csv] usegmtime=yes (as the sample cdr.conf has it): Master.csv in GMT,
    the AMI Cdr event still in local time (cdr_manager.c uses ast_localtime)."""
    queue = QueueConfig("support", [Member("Local/1003@agents", "Agent 1003")])
    cfg = config(tmp_path, queue, topology="local", cdr_usegmtime=True)
    sim = PbxSimulator(cfg)
    events: list[dict[str, str]] = []
    await sim.start()
    sim.add_listener(events.append)
    await sim.run(1, timeout=60)
    await sim.stop()
    rows = parse(written(tmp_path)[0])
    cdr_events = [e for e in events if e["Event"] == "Cdr"]
    assert len(rows) == len(cdr_events) == 3
    for row, event in zip(rows, cdr_events, strict=True):
        local = datetime.strptime(event["StartTime"], "%Y-%m-%d %H:%M:%S")
        gmt = datetime.strptime(row[START_T], "%Y-%m-%d %H:%M:%S")
        assert local - gmt == timedelta(hours=8)  # Asia/Shanghai
