"""The simulator's ``EXEC Dial`` as app_dial.c runs it, against a tiny FastAGI server: a
free phone rings and answers or rings out, a busy one is BUSY, an unknown one CHANUNAVAIL;
AMI events, DIALSTATUS, the AGI's result and the CDR row agree, and the call tracker (live
and from queue_log + CDR) counts an answered Dial as answered by the dialled phone."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from zoneinfo import ZoneInfo

from callcenter.calls.reconcile import compare, expected_records
from callcenter.sim import AgiTarget, PbxSimulator, SimConfig, TrafficParams, agents
from callcenter.sim.config import QueueConfig
from callcenter.testing import track

START = 1795731524.0 + 4 * 3600
PHONE = "PJSIP/1001"


class ScriptedAgi:
    """A FastAGI server that sends each session the same commands and keeps the replies."""

    def __init__(self, commands: list[str]) -> None:
        self.commands = commands
        self.transcripts: list[list[tuple[str, str]]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\n", b""):
            pass
        lines: list[tuple[str, str]] = []
        for command in self.commands:
            writer.write(f"{command}\n".encode())
            await writer.drain()
            reply = (await reader.readline()).decode().rstrip("\n")
            lines.append((command, reply))
            if reply == "HANGUP":  # the notice comes before the next reply
                lines[-1] = (command, (await reader.readline()).decode().rstrip("\n"))
                lines.append(("notice", "HANGUP"))
            if "result=-1" in lines[-1][1] or reply == "HANGUP":
                break
        self.transcripts.append(lines)
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def run(
    tmp_path: Path,
    commands: list[str],
    calls: int = 1,
    topology: str = "trunk",
    members: str = "",
    **traffic: object,
) -> tuple[PbxSimulator, ScriptedAgi, list[dict[str, str]]]:
    agi = ScriptedAgi(commands)
    port = await agi.start()
    params = TrafficParams(ivr_hangup_prob=0.0, menu_choices={"": 1.0}, no_answer_prob=0.0,
                           patience_mean_s=10_000.0, peak_calls_per_hour=3000.0)  # fmt: skip
    for key, value in traffic.items():
        setattr(params, key, value)
    sim = PbxSimulator(
        SimConfig(
            seed=4, speed=100.0, start_epoch=START, records_dir=tmp_path, topology=topology,
            queues=[QueueConfig("support", agents(1001, 1, local_context=members))],
            hotlines={"4008001000": "support"}, agi_target=AgiTarget("127.0.0.1", port),
            traffic=params,
        )
    )  # fmt: skip
    events: list[dict[str, str]] = []
    await sim.start()
    sim.add_listener(events.append)
    try:
        await sim.run(calls, timeout=60)
    finally:
        await sim.stop()
        await agi.stop()
    return sim, agi, events


def of(events: list[dict[str, str]], name: str, call_id: str) -> list[dict[str, str]]:
    return [e for e in events if e["Event"] == name and e.get("Linkedid") == call_id]


def cdr_rows(sim: PbxSimulator) -> list[list[str]]:
    with open(sim.cdr_path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def durable_check(sim: PbxSimulator, events: list[dict[str, str]]) -> None:
    """The live tracker and the one folding queue_log + CDR agree, and with the simulator."""
    expected = expected_records(queue_log=sim.queue_log_path, cdr_csv=sim.cdr_path, pbx="sim",
                                zone=ZoneInfo(sim.config.timezone), short_abandon_s=5.0)  # fmt: skip
    tracked = [r for r in track(events, pbx="sim") if r.ended_at is not None]
    result = compare(tracked, expected)
    assert result.clean, result.describe()
    truth = {t.call_id: t for t in sim.finished}
    for record in tracked:
        want = truth[record.call_id]
        assert (record.outcome, record.agent) == (want.outcome, want.agent)
        assert record.queue == want.queue


async def test_a_free_phone_rings_and_answers_and_the_call_is_answered_by_it(
    tmp_path: Path,
) -> None:
    sim, agi, events = await run(tmp_path, ["ANSWER", f'EXEC Dial "{PHONE},20"'],
                                 agent_hangup_prob=0.0)  # fmt: skip
    (truth,) = sim.finished
    call = truth.call_id
    assert agi.transcripts[0][1] == (f'EXEC Dial "{PHONE},20"', "200 result=-1")  # caller hung up
    begin = of(events, "DialBegin", call)
    dialled = [(e["DestChannel"].rsplit("-", 1)[0], e["DialString"]) for e in begin]
    assert dialled == [(PHONE, "1001")]
    callee = begin[0]["DestChannel"]
    states = [(e["Channel"], e["ChannelStateDesc"]) for e in of(events, "Newstate", call)]
    assert (callee, "Ringing") in states and (callee, "Up") in states
    assert [e["DialStatus"] for e in of(events, "DialState", call)] == ["RINGING"]
    assert [e["DialStatus"] for e in of(events, "DialEnd", call)] == ["ANSWER"]
    dialstatus = [e["Value"] for e in of(events, "VarSet", call) if e["Variable"] == "DIALSTATUS"]
    assert dialstatus == ["", "ANSWER"]
    assert len(of(events, "BridgeEnter", call)) == 2
    assert truth.outcome == "answered" and truth.agent == PHONE and truth.queue == ""
    assert truth.talk and truth.hangup_by == "caller" and truth.wait is None
    # the phone was ringing, then in use, then free: as QueueMemberStatus shows it
    statuses = [e["Status"] for e in events if e["Event"] == "QueueMemberStatus"]
    assert statuses == ["6", "2", "1"]
    # no queue_log line for a direct dial; one CDR row for the attempt
    assert "ENTERQUEUE" not in sim.queue_log_path.read_text()
    (row,) = [r for r in cdr_rows(sim) if r[5] == truth.channel]
    assert (row[6], row[7], row[8], row[14]) == (callee, "Dial", f"{PHONE},20", "ANSWERED")
    durable_check(sim, events)
    (record,) = [r for r in track(events, pbx="sim") if r.call_id == call]
    assert record.agent_interface == PHONE and record.wait_s is None
    assert record.answered_at is not None and record.talk_s is not None


async def test_with_option_g_the_caller_goes_on_in_the_agi_after_the_phone_hangs_up(
    tmp_path: Path,
) -> None:
    commands = ["ANSWER", f'EXEC Dial "{PHONE},20,g"', "GET VARIABLE DIALSTATUS", "HANGUP"]
    sim, agi, events = await run(tmp_path, commands, agent_hangup_prob=1.0)
    assert agi.transcripts[0][1:3] == [
        (f'EXEC Dial "{PHONE},20,g"', "200 result=0"),
        ("GET VARIABLE DIALSTATUS", "200 result=1 (ANSWER)"),
    ]
    (truth,) = sim.finished
    assert truth.outcome == "answered" and truth.hangup_by == "agent"
    durable_check(sim, events)


async def test_a_phone_nobody_picks_up_rings_out_after_the_timeout(tmp_path: Path) -> None:
    commands = ["ANSWER", f'EXEC Dial "{PHONE},20"', "GET VARIABLE DIALSTATUS", "HANGUP"]
    sim, agi, events = await run(tmp_path, commands, no_answer_prob=1.0)
    assert agi.transcripts[0][1:3] == [
        (f'EXEC Dial "{PHONE},20"', "200 result=0"),
        ("GET VARIABLE DIALSTATUS", "200 result=1 (NOANSWER)"),
    ]
    (truth,) = sim.finished
    call = truth.call_id
    (end,) = of(events, "DialEnd", call)
    (begin,) = of(events, "DialBegin", call)
    assert end["DialStatus"] == "NOANSWER"
    assert abs(float(end["Timestamp"]) - float(begin["Timestamp"]) - 20.0) < 0.01
    hangups = {e["Channel"]: e["Cause"] for e in of(events, "Hangup", call)}
    assert hangups[end["DestChannel"]] == "0"
    assert truth.outcome == "ivr_only" and truth.ring_attempts == 1
    (row,) = [r for r in cdr_rows(sim) if r[5] == truth.channel]
    assert (row[7], row[14]) == ("Dial", "NO ANSWER")
    durable_check(sim, events)


async def test_an_unknown_phone_is_chanunavail_and_a_busy_one_busy(tmp_path: Path) -> None:
    commands = ["ANSWER", 'EXEC Dial "PJSIP/9999,20"', "GET VARIABLE DIALSTATUS",
                f'EXEC Dial "{PHONE},20"', "GET VARIABLE DIALSTATUS", "HANGUP"]  # fmt: skip
    # two callers: the first talks long on the phone, the second finds it busy
    sim, agi, events = await run(tmp_path, commands, calls=2, handle_median_s=600.0,
                                 handle_sigma=0.01, agent_hangup_prob=0.0)  # fmt: skip
    for transcript in agi.transcripts:
        assert transcript[1:3] == [
            ('EXEC Dial "PJSIP/9999,20"', "200 result=0"),
            ("GET VARIABLE DIALSTATUS", "200 result=1 (CHANUNAVAIL)"),
        ]
    # sessions end in the other order: the busy caller's first
    busy, talked = agi.transcripts
    assert busy[3:5] == [
        (f'EXEC Dial "{PHONE},20"', "200 result=0"),
        ("GET VARIABLE DIALSTATUS", "200 result=1 (BUSY)"),
    ]
    assert talked[3] == (f'EXEC Dial "{PHONE},20"', "200 result=-1")
    by_start = sorted(sim.finished, key=lambda t: t.started_at)
    assert [t.outcome for t in by_start] == ["answered", "ivr_only"]
    busy_call = by_start[1].call_id
    assert [e["DialStatus"] for e in of(events, "DialEnd", busy_call)] == ["BUSY"]
    phone_hangups = [e for e in of(events, "Hangup", busy_call) if e["Channel"].startswith(PHONE)]
    assert [e["Cause"] for e in phone_hangups] == ["17"]
    # CHANUNAVAIL creates no channel: one DialBegin per call, for the known phone only
    assert all(e["DialString"] == "1001" for e in events if e["Event"] == "DialBegin")
    durable_check(sim, events)


async def test_a_local_interface_is_dialled_through_a_local_pair(tmp_path: Path) -> None:
    local = "Local/1001@agents"
    sim, agi, events = await run(tmp_path, ["ANSWER", f'EXEC Dial "{local},20"'],
                                 topology="local", members="agents",
                                 agent_hangup_prob=0.0)  # fmt: skip
    (truth,) = sim.finished
    call = truth.call_id
    assert truth.outcome == "answered" and truth.agent == local
    assert agi.transcripts[0][1] == (f'EXEC Dial "{local},20"', "200 result=-1")
    (begin,) = [e for e in of(events, "DialBegin", call) if "Channel" in e]
    one = begin["DestChannel"]
    assert (
        one.startswith(f"{local}-") and one.endswith(";1") and begin["DialString"] == "1001@agents"
    )
    (pair,) = [e for e in events if e["Event"] == "LocalBridge" and e["Context"] == "agents"]
    assert (pair["LocalOneChannel"], pair["LocalTwoChannel"]) == (one, one[:-1] + "2")
    dialled = [e for e in of(events, "Newexten", call) if e["Channel"] == one]
    assert {e["Application"] for e in dialled} == {"AppDial"}
    assert [e["DialStatus"] for e in of(events, "DialEnd", call) if "Channel" in e] == ["ANSWER"]
    assert [b["Channel"] for b in of(events, "BridgeEnter", call)] == [one, truth.channel]
    statuses = [e["Status"] for e in events if e["Event"] == "QueueMemberStatus"]
    assert statuses == ["2", "1"]
    rows = {r[5]: r for r in cdr_rows(sim)}
    assert set(rows) == {truth.channel[:-1] + "1", truth.channel, one[:-1] + "2"}
    assert (rows[truth.channel][6], rows[truth.channel][7]) == (one, "Dial")
    assert (rows[one[:-1] + "2"][2], rows[one[:-1] + "2"][3]) == ("1001", "agents")
