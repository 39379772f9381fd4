"""An attended transfer of a queue call over AMI, against the simulator: Atxfer's answers
(main/manager.c ``action_atxfer``), the caller held while the agent calls the target
(main/bridge_basic.c), the agent back with the caller when the target hangs up unanswered
or rings out (atxfernoanswertimeout),
and, once the target answers and the agent hangs up, AttendedTransfer
(main/stasis_bridges.c), queue_log ATTENDEDTRANSFER and AgentComplete ``transfer``
(apps/app_queue.c), and the call tracker naming the target's seat as the call's agent."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_sim_transfer import (
    queue_call_talking,
    refuses_what_manager_c_refuses,
    tracked_to_bob,
    until,
)

from callcenter.sim import TrafficParams

# One caller who waits as long as it takes and talks until someone hangs up; phones answer
# after two seconds (long enough to hang up a ringing target first).
TRAFFIC = TrafficParams(
    peak_calls_per_hour=36_000, menu_choices={"1": 1.0}, ivr_hangup_prob=0.0,
    ivr_seconds=(1.0, 1.0), patience_mean_s=10**7, handle_median_s=10**6, handle_sigma=0.0,
    answer_delay_s=(2.0, 2.0), no_answer_prob=0.0,
)  # fmt: skip
WATCHED = ("AttendedTransfer", "AgentComplete", "BridgeCreate", "BridgeEnter", "BridgeLeave",
           "BridgeDestroy", "Hangup", "Newchannel", "Hold", "Unhold", "MusicOnHoldStart",
           "MusicOnHoldStop")  # fmt: skip


def _steps(events: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        (e["Event"], e.get("Channel", "").split("-")[0]) for e in events if e["Event"] in WATCHED
    ]


async def test_an_attended_transfer_hands_the_caller_to_the_seat_that_answered(
    tmp_path: Path,
) -> None:
    events: list[dict[str, str]] = []
    async with queue_call_talking(tmp_path, events, TRAFFIC, speed=1) as (pbx, ami, connect):
        call_id, caller, agent = connect["Linkedid"], connect["Channel"], connect["DestChannel"]
        await refuses_what_manager_c_refuses(ami, "Atxfer", agent)
        atxfer = {"Action": "Atxfer", "Channel": agent, "Exten": "1002",
                  "Context": "from-internal"}  # fmt: skip

        # 1. bob's phone is hung up while it rings: alice talks to the caller again
        first = len(events)
        reply = await ami.send_action(atxfer)
        assert (reply["Response"], reply["Message"]) == (
            "Success",
            "Atxfer successfully queued",
        )
        rings = lambda: [e for e in events[first:] if e["Event"] == "Newchannel"]  # noqa: E731
        await until(lambda: bool(rings()), "bob's phone to ring")
        await ami.send_action({"Action": "Hangup", "Channel": rings()[0]["Channel"]})
        await until(lambda: any(e["Event"] == "MusicOnHoldStop" for e in events[first:]), "back")
        assert _steps(events[first:]) == [
            ("Hold", "PJSIP/1001"), ("MusicOnHoldStart", caller.split("-")[0]),
            ("Newchannel", "PJSIP/1002"), ("BridgeCreate", ""),
            ("BridgeEnter", "PJSIP/1002"), ("BridgeLeave", "PJSIP/1001"),
            ("BridgeEnter", "PJSIP/1001"), ("BridgeLeave", "PJSIP/1002"),
            ("Hangup", "PJSIP/1002"), ("BridgeLeave", "PJSIP/1001"), ("BridgeDestroy", ""),
            ("BridgeEnter", "PJSIP/1001"), ("Unhold", "PJSIP/1001"),
            ("MusicOnHoldStop", caller.split("-")[0]),
        ]  # fmt: skip
        digits = [e["Digit"] for e in events[first:]
                  if e["Event"] == "DTMFEnd" and e["Channel"] == agent]  # fmt: skip
        assert "".join(digits) == "*21002"  # the feature code, then the extension

        # 2. bob answers, alice hangs up: the transfer completes
        second = len(events)
        await ami.send_action(atxfer)
        ups = lambda: [  # noqa: E731
            e for e in events[second:]
            if e["Event"] == "Newstate" and e["Channel"].startswith("PJSIP/1002-")
            and e["ChannelStateDesc"] == "Up"
        ]  # fmt: skip
        await until(lambda: bool(ups()), "bob to answer")
        bob = ups()[0]["Channel"]
        mark = len(events)
        await ami.send_action({"Action": "Hangup", "Channel": agent})
        await until(lambda: any(e["Event"] == "AgentComplete" for e in events[mark:]),
                    "the transfer to complete")  # fmt: skip
        await ami.send_action({"Action": "Hangup", "Channel": bob})
        await until(lambda: bool(pbx.finished), "the call to end")
        queue_log = pbx.queue_log_path.read_text()

    trunk = caller.split("-")[0]
    assert _steps(events[mark:])[:8] == [
        ("BridgeLeave", "PJSIP/1001"), ("Hangup", "PJSIP/1001"), ("MusicOnHoldStop", trunk),
        ("BridgeLeave", "PJSIP/1002"), ("BridgeEnter", "PJSIP/1002"), ("BridgeDestroy", ""),
        ("AttendedTransfer", ""), ("AgentComplete", trunk),
    ]  # fmt: skip
    (transfer,) = [e for e in events if e["Event"] == "AttendedTransfer"]
    (enter,) = [e for e in events[mark:] if e["Event"] == "BridgeEnter"]
    assert {k: transfer[k] for k in (
        "Privilege", "Result", "OrigTransfererChannel", "SecondTransfererChannel",
        "TransfereeChannel", "TransferTargetChannel", "TransfereeLinkedid", "IsExternal",
        "DestType", "DestBridgeUniqueid", "OrigBridgeUniqueid", "OrigBridgeNumChannels",
    )} == {
        "Privilege": "call,all", "Result": "Success", "OrigTransfererChannel": agent,
        "SecondTransfererChannel": agent, "TransfereeChannel": caller,
        "TransferTargetChannel": bob, "TransfereeLinkedid": call_id, "IsExternal": "Yes",
        "DestType": "Bridge", "DestBridgeUniqueid": enter["BridgeUniqueid"],
        "OrigBridgeUniqueid": enter["BridgeUniqueid"], "OrigBridgeNumChannels": "2",
    }  # fmt: skip
    assert transfer["SecondBridgeUniqueid"] != transfer["OrigBridgeUniqueid"]
    (complete,) = [e for e in events if e["Event"] == "AgentComplete"]
    assert (complete["Reason"], complete["Interface"]) == ("transfer", "PJSIP/1001")
    variables = {e["Variable"]: e["Value"] for e in events[second:] if e["Event"] == "VarSet"
                 and e["Channel"] == bob}  # fmt: skip
    assert variables["TRANSFERERNAME"] == variables["ATTENDEDTRANSFER"] == agent
    (line,) = [x for x in queue_log.splitlines() if "|ATTENDEDTRANSFER|" in x]
    fields = line.split("|")
    assert fields[1:5] == [call_id, "support", "Agent 1001", "ATTENDEDTRANSFER"]
    assert fields[5:7] == ["BRIDGE", enter["BridgeUniqueid"]]

    # The tracker follows the call to bob: his is the call now, talked from alice's answer.
    tracked_to_bob(events, call_id)


async def test_a_target_that_does_not_answer_is_busy_or_unknown_gives_the_caller_back(
    tmp_path: Path,
) -> None:
    """atxfernoanswertimeout (15 s by default): phones here answer after 20 s, so bob's
    rings out and alice talks to the caller again; no AttendedTransfer, no AgentComplete.
    A busy target hangs up at once (User busy); an extension that is no seat is not called."""
    slow = replace(TRAFFIC, answer_delay_s=(20.0, 20.0))
    events: list[dict[str, str]] = []
    async with queue_call_talking(tmp_path, events, slow, speed=40) as (pbx, ami, connect):
        caller, agent = connect["Channel"], connect["DestChannel"]
        mark = len(events)
        await ami.send_action({"Action": "Atxfer", "Channel": agent, "Exten": "1002"})
        await until(lambda: any(e["Event"] == "Unhold" for e in events[mark:]), "unhold")
        held = next(e for e in events[mark:] if e["Event"] == "Hold")
        back = next(e for e in events[mark:] if e["Event"] == "Unhold")
        assert float(back["Timestamp"]) - float(held["Timestamp"]) == pytest.approx(15, abs=0.1)
        assert pbx.pbx.channels.keys() >= {caller, agent}  # both still up, talking
        # alice's own (busy) seat: called and hung up at once; no seat at all: not called
        busy = len(events)
        await ami.send_action({"Action": "Atxfer", "Channel": agent, "Exten": "1001"})
        await until(lambda: any(e["Event"] == "MusicOnHoldStop" for e in events[busy:]), "back")
        unknown = len(events)
        await ami.send_action({"Action": "Atxfer", "Channel": agent, "Exten": "9999"})
        await until(lambda: any(e["Event"] == "MusicOnHoldStop" for e in events[unknown:]), "back")
    trunk = caller.split("-")[0]
    assert _steps(events[busy:unknown]) == [
        ("Hold", "PJSIP/1001"), ("MusicOnHoldStart", trunk), ("Newchannel", "PJSIP/1001"),
        ("BridgeCreate", ""), ("BridgeEnter", "PJSIP/1001"), ("BridgeLeave", "PJSIP/1001"),
        ("BridgeEnter", "PJSIP/1001"), ("BridgeLeave", "PJSIP/1001"), ("Hangup", "PJSIP/1001"),
        ("BridgeLeave", "PJSIP/1001"), ("BridgeDestroy", ""), ("BridgeEnter", "PJSIP/1001"),
        ("Unhold", "PJSIP/1001"), ("MusicOnHoldStop", trunk),
    ]  # fmt: skip
    (busy_hangup,) = [e for e in events[busy:unknown] if e["Event"] == "Hangup"]
    assert (busy_hangup["Cause"], busy_hangup["Cause-txt"]) == ("17", "User busy")
    assert _steps(events[unknown:]) == [
        ("Hold", "PJSIP/1001"), ("MusicOnHoldStart", trunk), ("Unhold", "PJSIP/1001"),
        ("MusicOnHoldStop", trunk),
    ]  # fmt: skip
    after = events[mark:busy]
    assert not [e for e in after if e["Event"] in ("AttendedTransfer", "AgentComplete")]
    (gone,) = [e for e in after if e["Event"] == "Hangup"]
    assert gone["Channel"].startswith("PJSIP/1002-")
    assert not [e for e in after if e["Event"] == "VarSet" and e["Variable"] == "TRANSFER_CONTEXT"]
    moves = [
        e for e in after if e["Event"] in ("BridgeLeave", "BridgeEnter") and e["Channel"] == agent
    ]
    assert moves[0]["Event"] == "BridgeLeave" and moves[-1]["Event"] == "BridgeEnter"
    assert moves[0]["BridgeUniqueid"] == moves[-1]["BridgeUniqueid"]  # back with the caller
