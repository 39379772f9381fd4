"""The simulator's AMI server against Asterisk's wire format (real TCP)."""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.sim import PbxSimulator, SimConfig, TrafficParams, agents
from callcenter.sim.config import QueueConfig
from callcenter.sim.probe import AmiProbe, Block, parse_block

DATA = Path(__file__).parent / "data"
START = 1795731524.0  # 2026-11-27 06:18:44 in Asia/Shanghai


def capture_blocks(name: str) -> list[Block]:
    text = (DATA / name).read_text()
    lines = [line for line in text.split("\n") if not line.startswith("###")]
    return [parse_block(chunk) for chunk in "\n".join(lines).split("\n\n") if chunk.strip()]


def first(blocks: list[Block], **match: str) -> Block:
    return next(b for b in blocks if all(b.get(k) == v for k, v in match.items()))


def busy_config(tmp_path: Path, **overrides: object) -> SimConfig:
    """Two agents and a steady stream of callers: some talk, some wait."""
    cfg = SimConfig(
        seed=3,
        speed=200.0,
        start_epoch=START + 4 * 3600,  # 10:18 local, peak hours
        records_dir=tmp_path / "records",
        queues=[QueueConfig("support", agents(1001, 2))],
        hotlines={"4008001000": "support"},
        menu_routes={},
        traffic=TrafficParams(
            peak_calls_per_hour=900.0,
            ivr_hangup_prob=0.0,
            patience_mean_s=600.0,
            handle_median_s=300.0,
            no_answer_prob=0.0,
        ),
        login_failure_delay=0.0,
    )
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(busy_config(tmp_path))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def fast_sim(tmp_path: Path) -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(busy_config(tmp_path, speed=5000.0))
    await simulator.start()
    yield simulator
    await simulator.stop()


async def logged_in(sim: PbxSimulator) -> AmiProbe:
    probe = await AmiProbe.connect("127.0.0.1", sim.ami_port)
    reply = await probe.login("callcenter", "callcenter")
    assert reply["Response"] == "Success"
    return probe


async def until(condition: object, timeout: float = 60.0) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def test_banner_login_and_fully_booted(sim: PbxSimulator) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.ami_port)
    assert probe.banner == "Asterisk Call Manager/11.0.0"
    reply = await probe.action(Action="Login", Username="callcenter", Secret="callcenter",
                               ActionID="l1")  # fmt: skip
    assert list(reply.items()) == [
        ("Response", "Success"),
        ("ActionID", "l1"),
        ("Message", "Authentication accepted"),
    ]
    booted = await probe.wait_for(lambda b: b.get("Event") == "FullyBooted")
    assert list(booted) == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
    assert booted["Privilege"] == "system,all" and booted["Status"] == "Fully Booted"
    assert b"\r\n\r\n" in probe.raw and b"\n\n" not in probe.raw.replace(b"\r\n", b"")
    await probe.close()


async def test_bad_login_is_refused_and_closed(sim: PbxSimulator) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.ami_port)
    reply = await probe.action(Action="Login", Username="callcenter", Secret="wrong")
    assert reply["Response"] == "Error"
    assert reply["Message"] == "Authentication failed"
    await asyncio.wait_for(probe.closed.wait(), 5)
    await probe.close()


async def test_actions_before_login_are_denied_and_no_events_flow(sim: PbxSimulator) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.ami_port)
    reply = await probe.action(Action="CoreShowChannels")
    assert (reply["Response"], reply["Message"]) == ("Error", "Permission denied")
    sim.start_traffic(3)
    await until(lambda: sim.generated >= 1)
    await asyncio.sleep(0.2)
    assert probe.events() == []
    await probe.close()


async def test_ping_logoff_and_unknown_action(sim: PbxSimulator) -> None:
    probe = await logged_in(sim)
    pong = await probe.action(Action="Ping", ActionID="p1")
    assert list(pong) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert pong["Ping"] == "Pong" and pong["Timestamp"].split(".")[1].isdigit()
    bad = await probe.action(Action="Frobnicate", ActionID="x")
    assert bad["Response"] == "Error"
    assert bad["Message"] == (
        "Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available commands."
    )
    bye = await probe.action(Action="Logoff")
    assert (bye["Response"], bye["Message"]) == ("Goodbye", "Thanks for all the fish.")
    await asyncio.wait_for(probe.closed.wait(), 5)
    await probe.close()


async def test_md5_challenge_login(sim: PbxSimulator) -> None:
    import hashlib

    probe = await AmiProbe.connect("127.0.0.1", sim.ami_port)
    challenge = await probe.action(Action="Challenge", AuthType="MD5")
    key = hashlib.md5((challenge["Challenge"] + "callcenter").encode()).hexdigest()
    reply = await probe.action(Action="Login", AuthType="MD5", Username="callcenter", Key=key)
    assert reply["Message"] == "Authentication accepted"
    await probe.close()


async def test_event_lists_are_shaped_like_asterisk(sim: PbxSimulator) -> None:
    captured = capture_blocks("ami_actions.txt")
    probe = await logged_in(sim)
    sim.start_traffic(40)
    await until(lambda: any(q.waiting for q in sim.pbx.queues.values())
                and any(c.stage == "talk" for c in sim.pbx.calls.values()))  # fmt: skip

    channels = await probe.list_action(Action="CoreShowChannels")
    ack, items, done = channels[0], channels[1:-1], channels[-1]
    assert list(ack) == list(first(captured, Message="Channels will follow"))
    assert ack["Message"] == "Channels will follow" and ack["EventList"] == "start"
    assert items and all(list(i) == list(first(captured, Event="CoreShowChannel")) for i in items)
    assert list(done) == list(first(captured, Event="CoreShowChannelsComplete"))
    assert done["ListItems"] == str(len(items))
    assert {i["Application"] for i in items} >= {"Queue", "AppQueue"}

    status = await probe.list_action(Action="QueueStatus", Queue="support")
    assert list(status[0]) == list(first(captured, Message="Queue status will follow"))
    for name in ("QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete"):
        ours = [b for b in status if b.get("Event") == name]
        assert ours, name
        assert all(list(b) == list(first(captured, Event=name)) for b in ours), name
    assert status[-1]["ListItems"] == str(len(status) - 2)
    assert [b["Position"] for b in status if b.get("Event") == "QueueEntry"] == [
        str(n) for n in range(1, len(sim.pbx.queues["support"].waiting) + 1)
    ]

    summary = await probe.list_action(Action="QueueSummary")
    assert list(summary[0]) == list(first(captured, Message="Queue summary will follow"))
    assert list(summary[1]) == list(first(captured, Event="QueueSummary"))
    assert list(summary[-1]) == list(first(captured, Event="QueueSummaryComplete"))
    await probe.close()


async def test_queue_membership_actions(sim: PbxSimulator) -> None:
    probe = await logged_in(sim)
    add = {"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/2001",
           "MemberName": "Agent 2001", "Penalty": "1"}  # fmt: skip
    assert (await probe.request(add))["Message"] == "Added interface to queue"
    again = await probe.request(add)
    assert (again["Response"], again["Message"]) == (
        "Error",
        "Unable to add interface: Already there",
    )
    nosuch = await probe.action(Action="QueueAdd", Queue="nope", Interface="PJSIP/2001")
    assert nosuch["Message"] == "Unable to add interface to queue: No such queue"
    added = await probe.wait_for(lambda b: b.get("Event") == "QueueMemberAdded")
    assert added["MemberName"] == "Agent 2001" and added["Membership"] == "dynamic"

    pause = await probe.action(Action="QueuePause", Interface="PJSIP/2001", Paused="true",
                               Reason="lunch")  # fmt: skip
    assert pause["Message"] == "Interface paused successfully"
    paused = await probe.wait_for(lambda b: b.get("Event") == "QueueMemberPause")
    assert (paused["Paused"], paused["PausedReason"]) == ("1", "lunch")
    missing = await probe.action(Action="QueuePause", Interface="PJSIP/9999", Paused="false")
    assert missing["Message"] == "Interface not found"

    static = await probe.action(Action="QueueRemove", Queue="support", Interface="PJSIP/1001")
    assert static["Message"] == "Member not dynamic"
    gone = await probe.action(Action="QueueRemove", Queue="support", Interface="PJSIP/2001")
    assert gone["Message"] == "Removed interface from queue"
    twice = await probe.action(Action="QueueRemove", Queue="support", Interface="PJSIP/2001")
    assert twice["Message"] == "Unable to remove interface: Not there"

    log = sim.queue_log_path.read_text().splitlines()
    events = [line.split("|", 5)[1:] for line in log]
    assert ["MANAGER", "support", "PJSIP/2001", "ADDMEMBER", ""] in events
    assert ["NONE", "support", "Agent 2001", "PAUSE", "lunch"] in events
    assert ["MANAGER", "support", "PJSIP/2001", "REMOVEMEMBER", ""] in events
    await probe.close()


async def test_originate_async_and_sync_and_dtmf(sim: PbxSimulator) -> None:
    probe = await logged_in(sim)
    # Wait long enough (simulated time runs fast) for the channel to be there at Hangup.
    queued = await probe.action(Action="Originate", Channel="PJSIP/1001", Application="Wait",
                                Data="36000", Async="true", ActionID="o1")  # fmt: skip
    assert queued["Message"] == "Originate successfully queued"
    result = await probe.wait_for(lambda b: b.get("Event") == "OriginateResponse")
    assert list(result) == list(first(capture_blocks("ami_events_abandon.txt"),
                                      Event="OriginateResponse"))  # fmt: skip
    assert (result["ActionID"], result["Response"], result["Reason"]) == ("o1", "Success", "4")
    assert result["Channel"].startswith("PJSIP/1001-")

    sync_fail = await probe.action(Action="Originate", Channel="PJSIP/9999", Application="Wait",
                                   Data="1")  # fmt: skip
    assert (sync_fail["Response"], sync_fail["Message"]) == ("Error", "Originate failed")
    sync_ok = await probe.action(Action="Originate", Channel="PJSIP/1002", Context="agents",
                                 Exten="13800138000", Priority="1")  # fmt: skip
    assert sync_ok["Message"] == "Originate successfully queued"

    dtmf = await probe.action(Action="PlayDTMF", Channel=result["Channel"], Digit="5")
    assert dtmf["Message"] == "DTMF successfully queued"
    nochan = await probe.action(Action="PlayDTMF", Channel="PJSIP/none-1", Digit="5")
    assert nochan["Message"] == "Channel not found"
    hung = await probe.action(Action="Hangup", Channel=result["Channel"])
    assert hung["Message"] == "Channel Hungup"
    assert (await probe.action(Action="Hangup", Channel="nope"))["Message"] == "No such channel"
    await probe.close()


async def test_originate_channel_id_names_the_channel_and_its_call(sim: PbxSimulator) -> None:
    """``ChannelId`` (Asterisk 12+) is the originated channel's Uniqueid, and so its call's
    linkedid; one longer than AST_MAX_PUBLIC_UNIQUEID (149) is refused."""
    probe = await logged_in(sim)
    queued = await probe.action(Action="Originate", Channel="PJSIP/1001", Application="Wait",
                                Data="36000", Async="true", ChannelId="cb7-0a1b")  # fmt: skip
    assert queued["Message"] == "Originate successfully queued"
    made = await probe.wait_for(
        lambda b: b.get("Event") == "Newchannel" and b.get("Uniqueid") == "cb7-0a1b"
    )
    assert made["Linkedid"] == "cb7-0a1b" and made["Channel"].startswith("PJSIP/1001-")
    result = await probe.wait_for(lambda b: b.get("Event") == "OriginateResponse")
    assert result["Uniqueid"] == "cb7-0a1b"
    too_long = await probe.action(Action="Originate", Channel="PJSIP/1001", Application="Wait",
                                  Data="1", ChannelId="x" * 150)  # fmt: skip
    assert too_long["Response"] == "Error" and "149" in too_long["Message"]
    await probe.close()


async def test_many_clients_each_get_every_event_once(fast_sim: PbxSimulator) -> None:
    sim = fast_sim
    probes = [await logged_in(sim) for _ in range(3)]
    await sim.run(4, timeout=30)
    for probe in probes:  # each reply follows every event already sent to that client
        await probe.action(Action="Ping")
    names = [[b["Event"] for b in p.events() if b["Event"] != "FullyBooted"] for p in probes]
    assert names[0] and names[0] == names[1] == names[2]
    assert names[0].count("Newchannel") >= 4
    for probe in probes:
        await probe.close()


async def test_events_off_silences_a_client(fast_sim: PbxSimulator) -> None:
    sim = fast_sim
    probe = await logged_in(sim)
    reply = await probe.action(Action="Events", EventMask="off")
    assert reply["Events"] == "Off"
    before = len(probe.events())
    await sim.run(2, timeout=30)
    await asyncio.sleep(0.1)
    assert len(probe.events()) == before
    await probe.close()


async def test_drop_cuts_clients_and_refuses_while_down(sim: PbxSimulator) -> None:
    probe = await logged_in(sim)
    sim.start_traffic(30)
    down_for = 3.0  # long enough to be seen refusing on a busy machine
    sim.drop_ami_connections(down_for=down_for)
    dropped_at = time.monotonic()
    generated_at_drop = sim.generated
    await asyncio.wait_for(probe.closed.wait(), 60)
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.ami_port)
    with pytest.raises(ConnectionError):
        data = await asyncio.wait_for(reader.read(100), 60)
        if not data:
            raise ConnectionError("closed without a banner")
    writer.close()
    await until(lambda: sim.generated > generated_at_drop)  # calls kept coming meanwhile
    await asyncio.sleep(max(0.0, dropped_at + down_for + 0.1 - time.monotonic()))
    back = await logged_in(sim)
    assert back.banner.startswith("Asterisk Call Manager/")
    await back.close()
    await probe.close()


async def test_local_channels_are_listed_as_asterisk_lists_them(tmp_path: Path) -> None:
    """Local callers and Local members: CoreShowChannels lists both halves of each pair with
    the call's Linkedid; QueueStatus shows the ;2 half waiting."""
    captured = capture_blocks("ami_actions.txt")
    cfg = busy_config(tmp_path, topology="local",
                      queues=[QueueConfig("support", agents(1001, 2, local_context="agents"))])  # fmt: skip
    sim = PbxSimulator(cfg)
    await sim.start()
    try:
        probe = await logged_in(sim)
        sim.start_traffic(40)
        await until(lambda: any(q.waiting for q in sim.pbx.queues.values())
                    and any(c.stage == "talk" for c in sim.pbx.calls.values()))  # fmt: skip
        channels = await probe.list_action(Action="CoreShowChannels")
        items = {i["Channel"]: i for i in channels[1:-1]}
        assert all(list(i) == list(first(captured, Event="CoreShowChannel"))
                   for i in items.values())  # fmt: skip
        assert {i["Application"] for i in items.values()} >= {
            i["Application"] for i in captured if i.get("Event") == "CoreShowChannel"
        }  # Wait (a caller's ;1, a member's ;2), Queue (a caller's ;2), AppQueue (a member's ;1)
        assert all(name.startswith("Local/") for name in items)
        for name, two in items.items():
            if not name.endswith(";2"):
                continue
            one = items[name[:-1] + "1"]  # both halves are listed
            assert one["Linkedid"] == two["Linkedid"]
            if two["Context"] == "from-pstn":  # a caller: ;1 is the call itself
                assert one["Uniqueid"] == one["Linkedid"] != two["Uniqueid"]
                assert one["Application"] in ("Wait", "AppDial2")  # answered, or being dialed
            else:  # a member: ;1 is dialed by app_queue, ;2 runs the agents context
                assert (one["Application"], one["ApplicationData"]) == ("AppQueue",
                                                                        "(Outgoing Line)")  # fmt: skip
                assert two["Application"] == "Wait" and two["Context"] == "agents"
        bridges: dict[str, list[Block]] = {}
        for item in items.values():
            if item["BridgeId"]:
                bridges.setdefault(item["BridgeId"], []).append(item)
        assert bridges  # a talking caller's ;2 shares a bridge with the member's ;1
        for both in bridges.values():
            assert sorted(i["Application"] for i in both) == ["AppQueue", "Queue"]
            assert len({i["Linkedid"] for i in both}) == 1

        status = await probe.list_action(Action="QueueStatus", Queue="support")
        entries = [b for b in status if b.get("Event") == "QueueEntry"]
        assert entries and all(list(b) == list(first(captured, Event="QueueEntry"))
                               for b in entries)  # fmt: skip
        assert all(entry["Channel"].endswith(";2") for entry in entries)
        listed = [entry for entry in entries if entry["Channel"] in items]  # still there
        assert listed and all(items[e["Channel"]]["Uniqueid"] == e["Uniqueid"] for e in listed)
        members = [b for b in status if b.get("Event") == "QueueMember"]
        assert [(m["Location"], m["StateInterface"]) for m in members] == [
            ("Local/1001@agents", "Local/1001@agents"), ("Local/1002@agents", "Local/1002@agents")
        ]  # fmt: skip
        await probe.close()
    finally:
        await sim.stop()


async def test_queue_add_of_a_local_interface_rings_it_through_a_local_pair(
    tmp_path: Path,
) -> None:
    cfg = busy_config(tmp_path, speed=2000.0, queues=[QueueConfig("support", agents(1001, 1))])
    sim = PbxSimulator(cfg)
    await sim.start()
    try:
        probe = await logged_in(sim)
        paused = await probe.action(Action="QueuePause", Interface="PJSIP/1001", Paused="true")
        assert paused["Response"] == "Success"
        added = await probe.action(Action="QueueAdd", Queue="support",
                                   Interface="Local/2001@agents", MemberName="Agent 2001")  # fmt: skip
        assert added["Message"] == "Added interface to queue"
        await sim.run(1, timeout=30)
        truth = sim.finished[0]
        assert truth.outcome == "answered" and truth.agent == "Agent 2001"
        connect = await probe.wait_for(lambda b: b.get("Event") == "AgentConnect")
        one = connect["DestChannel"]
        assert one.startswith("Local/2001@agents-") and one.endswith(";1")
        assert connect["Interface"] == "Local/2001@agents"
        dial = await probe.wait_for(lambda b: b.get("Event") == "DialBegin" and "Channel" in b)
        assert (dial["DestChannel"], dial["DialString"]) == (one, "Local/2001@agents")
        bridge = await probe.wait_for(lambda b: b.get("Event") == "LocalBridge")
        assert (bridge["LocalOneChannel"], bridge["LocalTwoChannel"]) == (one, one[:-1] + "2")
        assert (bridge["Context"], bridge["Exten"]) == ("agents", "2001")
        statuses = [b["Status"] for b in probe.events("QueueMemberStatus")
                    if b["Interface"] == "Local/2001@agents"]  # fmt: skip
        assert statuses == ["2", "1"]  # a Local device is in use from the ring on
        log = [line.split("|") for line in sim.queue_log_path.read_text().splitlines()]
        assert next(r for r in log if r[4] == "CONNECT")[6] == connect["DestUniqueid"]
        rows = list(csv.reader(sim.cdr_path.read_text().splitlines()))
        assert [(r[2], r[3]) for r in rows if r[5] == one[:-1] + "2"] == [("2001", "agents")]
        await probe.close()
    finally:
        await sim.stop()
