"""The tracker follows a transferred call to its new agent: an attended transfer (Asterisk's
AttendedTransfer event, inserted into a real Asterisk 22 queue call) names the target's
seat at once; a blind one (tests/test_sim_transfer.py) the seat that answers next. Either
way the talk runs from the first answer to the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.core.events import CallTransferred
from callcenter.telephony.ami_events import translate
from callcenter.testing import load_transcript, track

CAPTURE = load_transcript(Path(__file__).parent / "data" / "ami_events_queue_calls.txt")
CALL = "1795731524.0"  # Agent 1003 answers at 1795731528.99, hangs up at 1795731548.99
TARGET = "Local/1002@agents-000000aa;1"


def _channel(prefix: str, message: dict[str, str], side: str) -> dict[str, str]:
    """A channel's state fields of ``message`` (side "" or "Dest") under ``prefix``."""
    names = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
             "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
             "Exten", "Priority", "Uniqueid", "Linkedid")  # fmt: skip
    return {f"{prefix}{n}": message.get(f"{side}{n}", "") for n in names}


def with_attended_transfer() -> list[dict[str, str]]:
    """The capture, with Agent 1003 handing the caller to Agent 1002's phone ten seconds
    into the talk; app_queue's AgentComplete then says ``transfer``, as it does."""
    connect = next(m for m in CAPTURE if m.get("Event") == "AgentConnect"
                   and m["Linkedid"] == CALL)  # fmt: skip
    at = float(connect["Timestamp"]) + 10.0
    transfer = {
        "Event": "AttendedTransfer", "Privilege": "call,all", "Timestamp": f"{at:.6f}",
        "Result": "Success", **_channel("OrigTransferer", connect, "Dest"),
        **_channel("SecondTransferer", {**connect, "DestChannel": "Local/1003@agents-000000ab;1"}, "Dest"),
        **_channel("Transferee", connect, ""),
        **_channel("TransferTarget", {**connect, "DestChannel": TARGET}, "Dest"),
        "IsExternal": "Yes", "DestType": "Bridge", "DestBridgeUniqueid": "b-1",
    }  # fmt: skip
    messages: list[dict[str, str]] = []
    for message in CAPTURE:
        if message.get("Timestamp") and float(message["Timestamp"]) > at and transfer:
            messages.append(transfer)
            transfer = {}
        if message.get("Event") == "AgentComplete" and message["Linkedid"] == CALL:
            message = {**message, "Reason": "transfer"}
        messages.append(message)
    return messages


def test_attended_transfer_translates_with_its_target() -> None:
    (message,) = [m for m in with_attended_transfer() if m["Event"] == "AttendedTransfer"]
    event = translate(message, "test")
    assert isinstance(event, CallTransferred)
    assert (event.call_id, event.attended, event.result, event.dest_type) == (
        CALL, True, "Success", "Bridge",
    )  # fmt: skip
    assert event.channel.startswith("Local/1003@agents") and event.target_channel == TARGET


def test_an_attended_transfer_makes_the_target_the_calls_agent() -> None:
    before = {r.call_id: r for r in track(CAPTURE)}[CALL]
    after = {r.call_id: r for r in track(with_attended_transfer())}[CALL]
    assert (before.agent, before.agent_interface) == ("Agent 1003", "Local/1003@agents")
    assert (after.agent, after.agent_interface) == ("Agent 1002", "Local/1002@agents")
    assert after.outcome == "answered" and after.answered_at == before.answered_at
    assert after.ended_at is not None and after.answered_at is not None
    assert after.talk_s == pytest.approx(after.ended_at - after.answered_at)
