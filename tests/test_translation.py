"""AMI messages from a real Asterisk 22 turn into the right domain events."""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.core import events as ev
from callcenter.core.events import from_json
from callcenter.telephony.ami_events import (
    parse_duration,
    translate,
    translate_snapshot,
)
from callcenter.testing import load_transcript

DATA = Path(__file__).parent / "data"
QUEUE_CALLS = load_transcript(DATA / "ami_events_queue_calls.txt")
ABANDON = load_transcript(DATA / "ami_events_abandon.txt")
ACTIONS = load_transcript(DATA / "ami_actions.txt")
ALL_EVENTS = QUEUE_CALLS + ABANDON

EXPECTED = {
    "Newchannel": ev.ChannelCreated,
    "Newstate": ev.ChannelStateChanged,
    "NewCallerid": ev.CallerIdChanged,
    "DialBegin": ev.DialStarted,
    "DialEnd": ev.DialEnded,
    "BridgeEnter": ev.BridgeEntered,
    "BridgeLeave": ev.BridgeLeft,
    "Hangup": ev.ChannelHungUp,
    "DTMFEnd": ev.DtmfReceived,
    "QueueCallerJoin": ev.QueueJoined,
    "QueueCallerLeave": ev.QueueLeft,
    "QueueCallerAbandon": ev.QueueAbandoned,
    "AgentCalled": ev.AgentRinging,
    "AgentConnect": ev.AgentAnswered,
    "AgentComplete": ev.AgentCompleted,
    "AgentRingNoAnswer": ev.AgentRingNoAnswer,
    "QueueMemberStatus": ev.QueueMemberChanged,
    "MixMonitorStart": ev.RecordingStarted,
    "ChanSpyStart": ev.SpyStarted,
    "ChanSpyStop": ev.SpyStopped,
    "Cdr": ev.CallDetail,
}


def first(name: str, messages: list[dict[str, str]] = ALL_EVENTS, **match: str) -> dict[str, str]:
    return next(
        m
        for m in messages
        if m.get("Event") == name and all(m.get(k) == v for k, v in match.items())
    )


def test_every_captured_message_of_a_mapped_kind_translates() -> None:
    seen: set[str] = set()
    for message in ALL_EVENTS:
        name = message["Event"]
        if name in EXPECTED:
            event = translate(message, "pbx1")
            assert event is not None and isinstance(event, EXPECTED[name]), message
            assert event.pbx == "pbx1"
            assert event.at == float(message["Timestamp"])
            seen.add(name)
    assert seen == set(EXPECTED)


def test_unmapped_captured_messages_give_none() -> None:
    names = {m["Event"] for m in ALL_EVENTS} - set(EXPECTED)
    assert {"VarSet", "AGIExecStart", "DeviceStateChange", "LocalBridge"} <= names
    for message in ALL_EVENTS:
        if message["Event"] in names:
            assert translate(message, "pbx1") is None


def test_translated_events_round_trip_through_json() -> None:
    for message in ALL_EVENTS:
        event = translate(message, "pbx1")
        if event is not None:
            assert from_json(event.to_json()) == event


def test_newchannel_fields_and_unknown_caller_id() -> None:
    event = translate(first("Newchannel"), "p")
    assert event == ev.ChannelCreated(
        pbx="p",
        call_id="1795731524.0",
        channel_id="1795731524.0",
        at=1795731524.9071,
        channel="Local/5551234@from-pstn-00000000;1",
        state=0,
        caller_number="",
        caller_name="",
        context="from-pstn",
        exten="5551234",
    )


def test_caller_id_change() -> None:
    event = translate(first("NewCallerid", Uniqueid="1795731524.0"), "p")
    assert isinstance(event, ev.CallerIdChanged)
    assert (event.caller_number, event.caller_name) == ("5550001", "Alice")


def test_originated_dial_has_no_calling_channel() -> None:
    event = translate(first("DialBegin"), "p")
    assert isinstance(event, ev.DialStarted)
    assert event.channel == "" and event.channel_id == ""
    assert event.call_id == "1795731524.0"
    assert event.dest_channel_id == "1795731524.0"
    assert event.dial_string == "5551234@from-pstn"


def test_dial_end_status() -> None:
    event = translate(first("DialEnd", Uniqueid="1795731524.1"), "p")
    assert isinstance(event, ev.DialEnded)
    assert (event.dial_status, event.dest_channel_id) == ("ANSWER", "1795731526.6")


def test_hangup_cause() -> None:
    event = translate(first("Hangup", Uniqueid="1795731524.1"), "p")
    assert isinstance(event, ev.ChannelHungUp)
    assert (event.cause, event.cause_text) == (16, "Normal Clearing")


def test_bridge_enter() -> None:
    event = translate(first("BridgeEnter"), "p")
    assert isinstance(event, ev.BridgeEntered)
    assert event.bridge_id == "5510bddd-b4a0-432a-b183-abbb4b84f4d1"
    assert event.channel_id == "1795731526.6" and event.call_id == "1795731524.0"


def test_dtmf_digits_in_order() -> None:
    digits = [translate(m, "p") for m in ALL_EVENTS if m["Event"] == "DTMFEnd"]
    assert [d.digit for d in digits if isinstance(d, ev.DtmfReceived)] == ["4", "2", "#"]
    assert all(isinstance(d, ev.DtmfReceived) and d.duration_ms > 0 for d in digits)


def test_sent_dtmf_is_not_a_caller_key_press() -> None:
    message = {**first("DTMFEnd"), "Direction": "Sent"}
    assert translate(message, "p") is None


def test_queue_join_and_connect() -> None:
    join = translate(first("QueueCallerJoin"), "p")
    assert join == ev.QueueJoined(
        pbx="p",
        call_id="1795731524.0",
        channel_id="1795731524.1",
        at=1795731526.983134,
        channel="Local/5551234@from-pstn-00000000;2",
        queue="support",
        position=1,
        caller_number="5550001",
    )
    connect = translate(first("AgentConnect"), "p")
    assert connect == ev.AgentAnswered(
        pbx="p",
        call_id="1795731524.0",
        channel_id="1795731524.1",
        at=1795731528.98989,
        channel="Local/5551234@from-pstn-00000000;2",
        queue="support",
        interface="Local/1003@agents",
        member_name="Agent 1003",
        dest_channel="Local/1003@agents-00000003;1",
        dest_channel_id="1795731526.6",
        hold_time=2,
        ring_time=2,
    )


def test_agent_called_and_complete() -> None:
    called = translate(first("AgentCalled", Uniqueid="1795731528.11"), "p")
    assert isinstance(called, ev.AgentRinging)
    assert (called.member_name, called.interface) == ("Agent 1003", "Local/1003@agents")
    assert called.dest_channel_id == "1795731549.20"
    done = translate(first("AgentComplete", Uniqueid="1795731525.3"), "p")
    assert isinstance(done, ev.AgentCompleted)
    assert (done.hold_time, done.talk_time, done.reason) == (2, 10, "caller")
    assert done.member_name == "Agent 1002"


def test_abandon_and_ring_no_answer() -> None:
    abandon = translate(first("QueueCallerAbandon"), "p")
    assert isinstance(abandon, ev.QueueAbandoned)
    assert (abandon.queue, abandon.hold_time, abandon.position, abandon.original_position) == (
        "empty",
        22,
        1,
        1,
    )
    assert abandon.call_id == "1795731574.22" and abandon.channel_id == "1795731574.23"
    rna = translate(first("AgentRingNoAnswer"), "p")
    assert isinstance(rna, ev.AgentRingNoAnswer)
    assert (rna.ring_time_ms, rna.member_name) == (10000, "Never Answers")


def test_queue_member_status() -> None:
    event = translate(first("QueueMemberStatus"), "p")
    assert event == ev.QueueMemberChanged(
        pbx="p",
        call_id="",
        at=1795731526.985819,
        change="status",
        queue="support",
        interface="Local/1003@agents",
        member_name="Agent 1003",
        penalty=0,
        paused=False,
        paused_reason="",
        status=2,
        in_call=False,
        calls_taken=0,
    )


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("QueueMemberAdded", "added"),
        ("QueueMemberRemoved", "removed"),
        ("QueueMemberPause", "paused"),
    ],
)
def test_queue_member_changes(name: str, change: str) -> None:
    message = {
        **first("QueueMemberStatus"),
        "Event": name,
        "Paused": "1",
        "PausedReason": "lunch",
    }
    event = translate(message, "p")
    assert isinstance(event, ev.QueueMemberChanged)
    assert (event.change, event.paused, event.paused_reason) == (change, True, "lunch")


def test_recording_and_spy() -> None:
    rec = translate(first("MixMonitorStart"), "p")
    assert isinstance(rec, ev.RecordingStarted)
    assert (rec.call_id, rec.channel_id) == ("1795731526.4", "1795731526.5")
    stop = translate({**first("MixMonitorStart"), "Event": "MixMonitorStop"}, "p")
    assert isinstance(stop, ev.RecordingStopped)
    spy = translate(first("ChanSpyStart"), "p")
    assert spy == ev.SpyStarted(
        pbx="p",
        call_id="1795731537.16",
        channel_id="1795731537.17",
        at=1795731538.120083,
        channel="Local/spy1001@supervisor-00000008;2",
        spyee_channel="Local/1001@agents-00000007;1",
        spyee_channel_id="1795731530.14",
        spyee_call_id="1795731526.4",
    )


def test_cdr_times_in_the_pbx_zone() -> None:
    # The capture's Asterisk ran in UTC; its CDR dates are local time.
    message = first("Cdr", UniqueID="1795731525.3")
    event = translate(message, "p", tz=UTC)
    assert isinstance(event, ev.CallDetail)
    assert event.source == "ami"
    assert event.call_id == ""  # cdr_manager sends no Linkedid
    assert event.channel_id == "1795731525.3"
    assert (event.start, event.answer, event.end) == (1795731525.0, 1795731525.0, 1795731540.0)
    assert event.userfield == "dnis:5551234"
    assert (event.duration, event.billsec, event.disposition) == (15, 15, "ANSWERED")
    assert event.at == float(message["Timestamp"])
    shanghai = translate(message, "p")
    assert isinstance(shanghai, ev.CallDetail)
    assert event.end - shanghai.end == 8 * 3600


def test_cdr_with_a_linkedid_mapping_and_no_answer() -> None:
    message = {**first("Cdr"), "AnswerTime": "", "LinkedID": "1795731525.2"}
    event = translate(message, "p", tz=UTC)
    assert isinstance(event, ev.CallDetail)
    assert event.answer == 0.0 and event.call_id == "1795731525.2"


def test_voicemail_newexten() -> None:
    base = first("Newexten")
    assert translate(base, "p") is None
    event = translate({**base, "Application": "VoiceMail", "AppData": "1001@default,u"}, "p")
    assert isinstance(event, ev.VoicemailStarted)
    assert event.mailbox == "1001@default"


def test_fully_booted_without_timestamp() -> None:
    message = {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}
    event = translate(message, "p")
    assert event == ev.PbxBooted(pbx="p", call_id="", at=0.0, status="Fully Booted")


def test_missing_timestamp_gives_zero() -> None:
    message = dict(first("Hangup"))
    del message["Timestamp"]
    event = translate(message, "p")
    assert event is not None and event.at == 0.0


def test_unknown_and_eventless_messages() -> None:
    assert translate({"Event": "SomethingNew", "Linkedid": "1"}, "p") is None
    assert translate({"Response": "Success"}, "p") is None
    assert translate({}, "p") is None


def test_missing_field_returns_none_and_is_counted() -> None:
    message = dict(first("AgentConnect"))
    del message["Queue"]
    malformed: Counter[str] = Counter()
    before = malformed["AgentConnect"]
    assert translate(message, "p", malformed=malformed) is None
    assert malformed["AgentConnect"] == before + 1


def test_bad_numbers_do_not_lose_the_event() -> None:
    event = translate({**first("Hangup"), "Cause": "x"}, "p")
    assert isinstance(event, ev.ChannelHungUp) and event.cause == 0


# --- action replies -----------------------------------------------------------------------


def test_core_show_channels_rows() -> None:
    rows = [m for m in ACTIONS if m.get("Event") == "CoreShowChannel"]
    snaps = [translate_snapshot(m, "p", 1795731538.0) for m in rows]
    assert len(snaps) == 16
    assert all(isinstance(s, ev.ChannelSnapshot) and s.source == "resync" for s in snaps)
    alice = next(
        s for s in snaps if isinstance(s, ev.ChannelSnapshot) and s.channel_id == "1795731524.1"
    )
    assert isinstance(alice, ev.ChannelSnapshot)
    assert alice.call_id == "1795731524.0"
    assert alice.at == 1795731538.0
    assert alice.duration_s == 13
    assert (alice.application, alice.application_data) == ("Queue", "support,,,,120")
    assert alice.bridge_id == "5510bddd-b4a0-432a-b183-abbb4b84f4d1"
    assert translate(rows[0], "p") is None  # not a live event


def test_queue_status_rows() -> None:
    entries = [m for m in ACTIONS if m.get("Event") == "QueueEntry"]
    entry = translate_snapshot(entries[0], "p", 100.0)
    assert entry == ev.QueueEntrySnapshot(
        pbx="p",
        call_id="",
        channel_id="1795731527.9",
        at=100.0,
        source="resync",
        channel="Local/5551234@from-pstn-00000004;2",
        queue="support",
        position=1,
        wait=7,
        caller_number="5550004",
    )
    member = translate_snapshot(first("QueueMember", ACTIONS), "p", 100.0)
    assert isinstance(member, ev.QueueMemberChanged)
    assert (member.change, member.member_name, member.interface) == (
        "snapshot",
        "Agent 1001",
        "Local/1001@agents",
    )
    assert member.in_call and member.status == 2
    for name in ("QueueParams", "QueueStatusComplete", "CoreShowChannelsComplete"):
        assert translate_snapshot(first(name, ACTIONS), "p", 100.0) is None


def test_parse_duration() -> None:
    assert parse_duration("00:00:13") == 13
    assert parse_duration("26:01:02") == 26 * 3600 + 62


# --- robustness ---------------------------------------------------------------------------

NAMES = [*EXPECTED, "Newexten", "FullyBooted", "QueueMemberPause", "AgentDump", "VarSet"]
KEYS = sorted({k for m in ALL_EVENTS + ACTIONS for k in m} - {"Event"})


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from([*NAMES, "CoreShowChannel", "QueueEntry", "QueueMember"]),
    fields=st.dictionaries(st.sampled_from(KEYS), st.text(max_size=12), max_size=25),
)
def test_random_messages_never_raise(name: str, fields: dict[str, str]) -> None:
    message = {**fields, "Event": name}
    translate(message, "p")
    translate_snapshot(message, "p", 1.0)


@settings(max_examples=200, deadline=None)
@given(
    base=st.sampled_from(ALL_EVENTS),
    drop=st.sets(st.sampled_from(KEYS)),
    garbage=st.dictionaries(st.sampled_from(KEYS), st.text(max_size=8), max_size=5),
)
def test_damaged_captured_messages_never_raise(
    base: dict[str, str], drop: set[str], garbage: dict[str, str]
) -> None:
    message = {k: v for k, v in base.items() if k not in drop}
    message.update(garbage)
    translate(message, "p")
