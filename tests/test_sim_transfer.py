"""A blind transfer of a queue call over AMI, against the simulator: the events of
Asterisk's BlindTransfer action (main/manager.c, main/bridge.c, main/stasis_bridges.c,
apps/app_queue.c) in its order, queue_log's BLINDTRANSFER line, the caller ringing the new
seat from the transfer context, and the call tracker following the call to the new agent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from callcenter.core.call_record import CallRecord
from callcenter.sim import PbxSimulator, QueueConfig, TrafficParams
from callcenter.sim.config import Member
from callcenter.telephony.ami import AmiActionError, AmiClient
from callcenter.testing import running_simulator, track

# One caller who waits as long as it takes and talks until someone hangs up.
TRAFFIC = TrafficParams(
    peak_calls_per_hour=36_000, menu_choices={"1": 1.0}, ivr_hangup_prob=0.0,
    ivr_seconds=(1.0, 1.0), patience_mean_s=10**7, handle_median_s=10**6, handle_sigma=0.0,
    answer_delay_s=(0.5, 0.5), no_answer_prob=0.0,
)  # fmt: skip
QUEUES = [
    QueueConfig("support", [Member("PJSIP/1001", "Agent 1001")], ring_timeout=60.0,
                max_wait=10**6, wrapuptime=0),
    # bob's phone: in a queue no hotline reaches, so only the transfer rings it
    QueueConfig("zone-east", [Member("PJSIP/1002", "Agent 1002")], ring_timeout=60.0,
                max_wait=10**6, wrapuptime=0),
]  # fmt: skip


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def queue_call_talking(
    tmp_path: Path, events: list[dict[str, str]], traffic: TrafficParams, speed: float
) -> AsyncIterator[tuple[PbxSimulator, AmiClient, dict[str, str]]]:
    """A simulator whose one caller (to ``support``) talks with alice (1001), an AMI client
    collecting ``events``, and alice's AgentConnect."""
    async with running_simulator(
        tmp_path / "pbx", seed=3, speed=speed, secret="s", queues=QUEUES,
        hotlines={"4008001000": "support"}, traffic=traffic, recorded_fraction=0.0,
    ) as pbx:  # fmt: skip
        ami = AmiClient("127.0.0.1", pbx.ami_port, "callcenter", "s", on_event=events.append)
        await ami.start()
        try:
            pbx.start_traffic(1)
            connects = lambda: [e for e in events if e["Event"] == "AgentConnect"]  # noqa: E731
            await until(lambda: bool(connects()), "alice to answer")
            yield pbx, ami, connects()[0]
        finally:
            await ami.close()


async def refuses_what_manager_c_refuses(ami: AmiClient, action: str, agent: str) -> None:
    """A transfer action's checks (main/manager.c), in their order."""
    with pytest.raises(AmiActionError, match="No channel specified"):
        await ami.send_action({"Action": action, "Exten": "1002"})
    with pytest.raises(AmiActionError, match="No extension specified"):
        await ami.send_action({"Action": action, "Channel": agent})
    with pytest.raises(AmiActionError, match="Channel specified does not exist"):
        await ami.send_action({"Action": action, "Channel": "PJSIP/1001-ffff", "Exten": "1002"})


def tracked_to_bob(events: list[dict[str, str]], call_id: str) -> CallRecord:
    """The tracker's record of the call, whose agent is bob (1002) after the transfer, with
    the talk from alice's answer to the end."""
    (record,) = [r for r in track(events, pbx="sim") if r.call_id == call_id]
    assert (record.outcome, record.agent, record.agent_interface) == (
        "answered", "Agent 1002", "PJSIP/1002",
    )  # fmt: skip
    assert record.answered_at is not None and record.ended_at is not None
    assert record.talk_s == pytest.approx(record.ended_at - record.answered_at)
    return record


async def test_a_blind_transfer_sends_the_caller_to_another_seat_as_asterisk_does(
    tmp_path: Path,
) -> None:
    events: list[dict[str, str]] = []
    async with queue_call_talking(tmp_path, events, TRAFFIC, speed=4) as (pbx, ami, connect):
        call_id, caller, agent = connect["Linkedid"], connect["Channel"], connect["DestChannel"]
        await refuses_what_manager_c_refuses(ami, "BlindTransfer", agent)
        mark = len(events)
        reply = await ami.send_action(
            {"Action": "BlindTransfer", "Channel": agent, "Exten": "1002",
             "Context": "from-internal"}
        )  # fmt: skip
        assert (reply["Response"], reply["Message"]) == ("Success", "Transfer succeeded")
        answered = lambda: [  # noqa: E731
            e for e in events[mark:]
            if e["Event"] == "DialEnd" and e["DialStatus"] == "ANSWER"
        ]  # fmt: skip
        await until(lambda: bool(answered()), "bob to answer")
        bob = answered()[0]["DestChannel"]
        assert bob.startswith("PJSIP/1002-")
        # A blind transfer to a seat the call is not at is refused once it has left.
        with pytest.raises(AmiActionError, match="Channel specified does not exist"):
            await ami.send_action({"Action": "BlindTransfer", "Channel": agent, "Exten": "1"})
        await ami.send_action({"Action": "Hangup", "Channel": bob})
        await until(lambda: bool(pbx.finished), "the call to end")
        queue_log = pbx.queue_log_path.read_text()

    ours = {call_id, ""}  # the call's events, and its bridges' (which name no call)
    after = [e for e in events[mark:]
             if e.get("Linkedid", e.get("TransfererLinkedid", "")) in ours]  # fmt: skip
    steps = [
        (e["Event"], e.get("Channel", e.get("TransfererChannel", "")).split("-")[0])
        for e in after
        if e["Event"] in ("VarSet", "BlindTransfer", "AgentComplete", "BridgeLeave",
                          "BridgeDestroy", "Hangup", "Newexten", "Newchannel", "DialBegin",
                          "DialEnd", "BridgeCreate", "BridgeEnter")
        and not (e["Event"] == "VarSet" and e["Variable"] != "BLINDTRANSFER")
    ]  # fmt: skip
    trunk, alice_phone = caller.split("-")[0], "PJSIP/1001"
    assert steps[:14] == [
        ("VarSet", alice_phone), ("VarSet", trunk), ("BlindTransfer", alice_phone),
        ("AgentComplete", trunk), ("BridgeLeave", alice_phone), ("BridgeLeave", trunk),
        ("BridgeDestroy", ""), ("Hangup", alice_phone), ("Newexten", trunk),
        ("Newchannel", "PJSIP/1002"), ("DialBegin", trunk), ("DialEnd", trunk),
        ("BridgeCreate", ""), ("BridgeEnter", "PJSIP/1002"),
    ]  # fmt: skip
    (transfer,) = [e for e in after if e["Event"] == "BlindTransfer"]
    assert {k: transfer[k] for k in ("Result", "TransfererChannel", "TransfereeChannel",
                                     "IsExternal", "Context", "Extension", "BridgeNumChannels",
                                     "TransfereeLinkedid", "Privilege")} == {
        "Result": "Success", "TransfererChannel": agent, "TransfereeChannel": caller,
        "IsExternal": "Yes", "Context": "from-internal", "Extension": "1002",
        "BridgeNumChannels": "2", "TransfereeLinkedid": call_id, "Privilege": "call,all",
    }  # fmt: skip
    variables = {e["Channel"]: e["Value"] for e in after if e["Event"] == "VarSet"
                 and e["Variable"] == "BLINDTRANSFER"}  # fmt: skip
    assert variables == {agent: caller, caller: agent}
    (complete,) = [e for e in after if e["Event"] == "AgentComplete"]
    assert (complete["Reason"], complete["Interface"]) == ("transfer", "PJSIP/1001")
    (dial,) = [e for e in after if e["Event"] == "Newexten" and e["Application"] == "Dial"]
    assert (dial["Context"], dial["Extension"], dial["Priority"]) == ("from-internal", "1002", "1")
    (line,) = [x for x in queue_log.splitlines() if "|BLINDTRANSFER|" in x]
    assert line.split("|")[1:5] == [call_id, "support", "Agent 1001", "BLINDTRANSFER"]
    assert line.split("|")[5:7] == ["1002", "from-internal"]

    # The tracker follows the call to bob: his is the call now, talked from alice's answer.
    record = tracked_to_bob(events, call_id)
    seats = {leg.channel.split("-")[0] for leg in record.legs}
    assert {"PJSIP/1001", "PJSIP/1002"} <= seats
