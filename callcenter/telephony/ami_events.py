"""Pure translation of AMI messages (Asterisk 18-22) into domain events.

``translate`` looks the message's ``Event`` header up in one dict; unknown events cost that
lookup and return None. Field names follow Asterisk's own documentation (app_queue.c,
manager_channels.c, manager_bridges.c, app_mixmonitor.c, cdr_manager.c, manager.c) and were
checked against real Asterisk 22 captures.

A mapped message that lacks a field the event needs is not an error for the caller: it
returns None and is counted in the caller's ``malformed`` counter, when it passes one (by
event name; each PBX link keeps its own), so one odd frame never breaks the stream.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Literal, TypedDict
from zoneinfo import ZoneInfo

from callcenter.core.events import (
    AgentAnswered,
    AgentCompleted,
    AgentDumped,
    AgentRinging,
    AgentRingNoAnswer,
    BridgeEntered,
    BridgeLeft,
    CallDetail,
    CallerIdChanged,
    CallTransferred,
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    ChannelStateChanged,
    DialEnded,
    DialStarted,
    DtmfReceived,
    Event,
    PbxBooted,
    QueueAbandoned,
    QueueEntrySnapshot,
    QueueJoined,
    QueueLeft,
    QueueMemberChanged,
    RecordingStarted,
    RecordingStopped,
    SpyStarted,
    SpyStopped,
    VoicemailStarted,
)

__all__ = [
    "DEFAULT_ZONE",
    "parse_duration",
    "translate",
    "translate_snapshot",
]

# The zone Asterisk writes CDR dates in when the caller names none (the hotline's).
DEFAULT_ZONE: tzinfo = ZoneInfo("Asia/Shanghai")

_UNKNOWN = "<unknown>"

Msg = Mapping[str, str]
MemberChange = Literal["added", "removed", "paused", "status", "penalty"]
Translator = Callable[[Msg, str, tzinfo], Event | None]


class _CallFields(TypedDict):
    pbx: str
    call_id: str
    channel_id: str
    at: float


def _call_fields(m: Msg, pbx: str) -> _CallFields:
    """Whose call and channel an event of one channel is about, and when it happened."""
    return _CallFields(pbx=pbx, call_id=m["Linkedid"], channel_id=m["Uniqueid"], at=_at(m))


def _at(m: Msg) -> float:
    """Asterisk's Timestamp header; 0.0 when timestampevents is off (the tracker falls back)."""
    stamp = m.get("Timestamp")
    if not stamp:
        return 0.0
    at = float(stamp)
    if not math.isfinite(at):  # "nan" / "inf" parse as floats but are no time
        raise ValueError(f"Timestamp {stamp!r} is not a time")
    return at


def _int(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        return 0


def _cid(value: str | None) -> str:
    return "" if value is None or value == _UNKNOWN else value


# --- channels -----------------------------------------------------------------------------


class _ChannelFields(TypedDict):
    channel: str
    state: int
    caller_number: str
    caller_name: str
    context: str
    exten: str


def _channel_fields(m: Msg) -> _ChannelFields:
    """A channel as Newchannel and CoreShowChannel both describe it."""
    return _ChannelFields(
        channel=m["Channel"],
        state=_int(m.get("ChannelState")),
        caller_number=_cid(m.get("CallerIDNum")),
        caller_name=_cid(m.get("CallerIDName")),
        context=m.get("Context", ""),
        exten=m.get("Exten", ""),
    )


def _newchannel(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return ChannelCreated(
        **_call_fields(m, pbx),
        **_channel_fields(m),
    )


def _newstate(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return ChannelStateChanged(
        **_call_fields(m, pbx),
        channel=m["Channel"],
        state=int(m["ChannelState"]),
        state_desc=m.get("ChannelStateDesc", ""),
    )


def _newcallerid(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return CallerIdChanged(
        **_call_fields(m, pbx),
        channel=m["Channel"],
        caller_number=_cid(m.get("CallerIDNum")),
        caller_name=_cid(m.get("CallerIDName")),
    )


class _DialFields(TypedDict):
    call_id: str
    channel_id: str
    at: float
    channel: str
    dest_channel: str
    dest_channel_id: str


def _dial_fields(m: Msg) -> _DialFields:
    """Who dials whom. An originated dial has no calling channel: the call is then the
    destination's."""
    return _DialFields(
        call_id=m.get("Linkedid") or m["DestLinkedid"],
        channel_id=m.get("Uniqueid", ""),
        at=_at(m),
        channel=m.get("Channel", ""),
        dest_channel=m["DestChannel"],
        dest_channel_id=m["DestUniqueid"],
    )


def _dialbegin(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return DialStarted(
        pbx=pbx,
        **_dial_fields(m),
        dial_string=m.get("DialString", ""),
    )


def _dialend(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return DialEnded(
        pbx=pbx,
        **_dial_fields(m),
        dial_status=m["DialStatus"],
    )


def _bridge(kind: type[BridgeEntered | BridgeLeft]) -> Translator:
    """BridgeEnter and BridgeLeave: a channel and the bridge it enters or leaves."""

    def translate_bridge(m: Msg, pbx: str, tz: tzinfo) -> Event:
        return kind(**_call_fields(m, pbx), channel=m["Channel"], bridge_id=m["BridgeUniqueid"])

    return translate_bridge


def _transfer(m: Msg, pbx: str, transferer: str, call_id: str, **kind: str | bool) -> Event:
    """A transfer event: ``transferer`` the prefix of the agent's channel fields."""
    return CallTransferred(
        pbx=pbx,
        call_id=call_id,
        channel_id=m[f"{transferer}Uniqueid"],
        at=_at(m),
        channel=m.get(f"{transferer}Channel", ""),
        transferee_channel=m.get("TransfereeChannel", ""),
        transferee_channel_id=m.get("TransfereeUniqueid", ""),
        result=m.get("Result", ""),
        external=m.get("IsExternal", "") == "Yes",
        **kind,  # type: ignore[arg-type]
    )


def _blindtransfer(m: Msg, pbx: str, tz: tzinfo) -> Event:
    """BlindTransfer: the Transferer* fields are the transferer's channel state (its
    Linkedid is the call's), Transferee* its bridge peer's."""
    return _transfer(m, pbx, "Transferer", m["TransfererLinkedid"],
                     exten=m.get("Extension", ""), context=m.get("Context", ""))  # fmt: skip


def _attendedtransfer(m: Msg, pbx: str, tz: tzinfo) -> Event:
    """AttendedTransfer: OrigTransferer* is the agent's channel in the caller's bridge,
    SecondTransferer* its call to the target, TransferTarget* the target's channel."""
    call_id = m.get("TransfereeLinkedid") or m["OrigTransfererLinkedid"]
    return _transfer(m, pbx, "OrigTransferer", call_id, attended=True,
                     target_channel=m.get("TransferTargetChannel", ""),
                     dest_type=m.get("DestType", ""))  # fmt: skip


def _hangup(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return ChannelHungUp(
        **_call_fields(m, pbx),
        channel=m["Channel"],
        cause=_int(m.get("Cause")),
        cause_text=m.get("Cause-txt", ""),
    )


def _dtmfend(m: Msg, pbx: str, tz: tzinfo) -> Event | None:
    # "Sent" digits are ones Asterisk played out; only received ones were pressed.
    if m.get("Direction") != "Received":
        return None
    return DtmfReceived(
        **_call_fields(m, pbx),
        channel=m["Channel"],
        digit=m["Digit"],
        duration_ms=_int(m.get("DurationMs")),
    )


def _newexten(m: Msg, pbx: str, tz: tzinfo) -> Event | None:
    if m.get("Application") != "VoiceMail":
        return None
    return VoicemailStarted(
        **_call_fields(m, pbx),
        channel=m["Channel"],
        mailbox=m.get("AppData", "").split(",", 1)[0],
    )


# --- queues -------------------------------------------------------------------------------


class _QueueCallFields(_CallFields):
    channel: str
    queue: str


def _queue_call_fields(m: Msg, pbx: str) -> _QueueCallFields:
    return _QueueCallFields(**_call_fields(m, pbx), channel=m.get("Channel", ""), queue=m["Queue"])


def _queuecallerjoin(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return QueueJoined(
        **_queue_call_fields(m, pbx),
        position=_int(m.get("Position")),
        caller_number=_cid(m.get("CallerIDNum")),
    )


def _queuecallerleave(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return QueueLeft(
        **_queue_call_fields(m, pbx),
        position=_int(m.get("Position")),
    )


def _queuecallerabandon(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return QueueAbandoned(
        **_queue_call_fields(m, pbx),
        position=_int(m.get("Position")),
        original_position=_int(m.get("OriginalPosition")),
        hold_time=_int(m.get("HoldTime")),
    )


def _agentcalled(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return AgentRinging(
        **_queue_call_fields(m, pbx),
        interface=m["Interface"],
        member_name=m.get("MemberName", ""),
        dest_channel=m.get("DestChannel", ""),
        dest_channel_id=m.get("DestUniqueid", ""),
    )


def _agentconnect(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return AgentAnswered(
        **_queue_call_fields(m, pbx),
        interface=m.get("Interface", ""),
        member_name=m.get("MemberName", ""),
        dest_channel=m.get("DestChannel", ""),
        dest_channel_id=m.get("DestUniqueid", ""),
        hold_time=_int(m.get("HoldTime")),
        ring_time=_int(m.get("RingTime")),
    )


def _agentcomplete(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return AgentCompleted(
        **_queue_call_fields(m, pbx),
        interface=m.get("Interface", ""),
        member_name=m.get("MemberName", ""),
        hold_time=_int(m.get("HoldTime")),
        talk_time=_int(m.get("TalkTime")),
        reason=m.get("Reason", ""),
    )


def _agentringnoanswer(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return AgentRingNoAnswer(
        **_queue_call_fields(m, pbx),
        interface=m.get("Interface", ""),
        member_name=m.get("MemberName", ""),
        ring_time_ms=_int(m.get("RingTime")),
    )


def _agentdump(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return AgentDumped(
        **_queue_call_fields(m, pbx),
        interface=m.get("Interface", ""),
        member_name=m.get("MemberName", ""),
    )


def _member(change: MemberChange) -> Translator:
    def translate_member(m: Msg, pbx: str, tz: tzinfo) -> Event:
        # Asterisk 11 named the pause reason "Reason"; 12+ "PausedReason".
        return QueueMemberChanged(
            pbx=pbx,
            call_id="",
            at=_at(m),
            change=change,
            queue=m["Queue"],
            interface=m["Interface"],
            member_name=m.get("MemberName", ""),
            penalty=_int(m.get("Penalty")),
            paused=m.get("Paused") == "1",
            paused_reason=m.get("PausedReason") or m.get("Reason", ""),
            status=_int(m.get("Status")),
            in_call=m.get("InCall") == "1",
            calls_taken=_int(m.get("CallsTaken")),
        )

    return translate_member


# --- recordings, supervision, PBX ---------------------------------------------------------


def _mixmonitorstart(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return RecordingStarted(
        pbx=pbx, call_id=m["Linkedid"], channel_id=m["Uniqueid"], at=_at(m), channel=m["Channel"]
    )


def _mixmonitorstop(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return RecordingStopped(
        pbx=pbx, call_id=m["Linkedid"], channel_id=m["Uniqueid"], at=_at(m), channel=m["Channel"]
    )


def _chanspy(kind: type[SpyStarted | SpyStopped]) -> Translator:
    """ChanSpyStart and ChanSpyStop: the spyer's call, and whom it listens to."""

    def translate_spy(m: Msg, pbx: str, tz: tzinfo) -> Event:
        return kind(
            pbx=pbx,
            call_id=m["SpyerLinkedid"],
            channel_id=m["SpyerUniqueid"],
            at=_at(m),
            channel=m["SpyerChannel"],
            spyee_channel=m.get("SpyeeChannel", ""),
            spyee_channel_id=m.get("SpyeeUniqueid", ""),
            spyee_call_id=m.get("SpyeeLinkedid", ""),
        )

    return translate_spy


def _fullybooted(m: Msg, pbx: str, tz: tzinfo) -> Event:
    return PbxBooted(pbx=pbx, call_id="", at=_at(m), status=m.get("Status", ""))


def cdr_time(text: str, tz: tzinfo) -> float:
    """A CDR date ("YYYY-MM-DD HH:MM:SS" in the PBX's zone) as epoch seconds; "" -> 0.0."""
    if not text:
        return 0.0
    return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def _cdr(m: Msg, pbx: str, tz: tzinfo) -> Event:
    # cdr_manager sends no Linkedid unless a [mappings] entry adds one; "" lets the
    # tracker place the row by its channel.
    end = cdr_time(m["EndTime"], tz)
    return CallDetail(
        pbx=pbx,
        call_id=m.get("LinkedID") or m.get("Linkedid") or "",
        channel_id=m["UniqueID"],
        at=_at(m) or end,
        source="ami",
        src=m.get("Source", ""),
        dst=m.get("Destination", ""),
        dcontext=m.get("DestinationContext", ""),
        channel=m.get("Channel", ""),
        dest_channel=m.get("DestinationChannel", ""),
        last_app=m.get("LastApplication", ""),
        start=cdr_time(m.get("StartTime", ""), tz),
        answer=cdr_time(m.get("AnswerTime", ""), tz),
        end=end,
        duration=_int(m.get("Duration")),
        billsec=_int(m.get("BillableSeconds")),
        disposition=m.get("Disposition", ""),
        userfield=m.get("UserField", ""),
    )


_TRANSLATORS: dict[str | None, Translator] = {
    "Newchannel": _newchannel,
    "Newstate": _newstate,
    "NewCallerid": _newcallerid,
    "DialBegin": _dialbegin,
    "DialEnd": _dialend,
    "BridgeEnter": _bridge(BridgeEntered),
    "BridgeLeave": _bridge(BridgeLeft),
    "Hangup": _hangup,
    "DTMFEnd": _dtmfend,
    "Newexten": _newexten,
    "NewExten": _newexten,  # the documented spelling; the wire says "Newexten"
    "QueueCallerJoin": _queuecallerjoin,
    "QueueCallerLeave": _queuecallerleave,
    "QueueCallerAbandon": _queuecallerabandon,
    "AgentCalled": _agentcalled,
    "AgentConnect": _agentconnect,
    "AgentComplete": _agentcomplete,
    "BlindTransfer": _blindtransfer,
    "AttendedTransfer": _attendedtransfer,
    "AgentRingNoAnswer": _agentringnoanswer,
    "AgentDump": _agentdump,
    "QueueMemberAdded": _member("added"),
    "QueueMemberRemoved": _member("removed"),
    "QueueMemberPause": _member("paused"),
    "QueueMemberPaused": _member("paused"),  # Asterisk 11's name
    "QueueMemberStatus": _member("status"),
    "QueueMemberPenalty": _member("penalty"),  # QueuePenalty (AMI) or QUEUE_MEMBER(penalty)
    "MixMonitorStart": _mixmonitorstart,
    "MixMonitorStop": _mixmonitorstop,
    "ChanSpyStart": _chanspy(SpyStarted),
    "ChanSpyStop": _chanspy(SpyStopped),
    "FullyBooted": _fullybooted,
    "Cdr": _cdr,
}


def translate(
    message: Mapping[str, str],
    pbx: str,
    *,
    tz: tzinfo = DEFAULT_ZONE,
    malformed: Counter[str] | None = None,
) -> Event | None:
    """The domain event for one AMI event message, or None when it maps to nothing.

    ``tz`` is the zone the PBX writes CDR dates in (only ``Cdr`` events use it); a mapped
    message that cannot be translated is counted in ``malformed`` by event name.
    """
    name = message.get("Event")
    translator = _TRANSLATORS.get(name)
    if translator is None:
        return None
    try:
        return translator(message, pbx, tz)
    except (KeyError, ValueError, TypeError):
        if malformed is not None:
            malformed[str(name)] += 1
        return None


# --- replies to CoreShowChannels and QueueStatus ------------------------------------------


def parse_duration(text: str) -> int:
    """CoreShowChannel's Duration ("HH:MM:SS", hours may exceed 24) as seconds."""
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds)


def _coreshowchannel(m: Msg, pbx: str, at: float) -> Event:
    return ChannelSnapshot(
        pbx=pbx,
        call_id=m["Linkedid"],
        channel_id=m["Uniqueid"],
        at=at,
        source="resync",
        **_channel_fields(m),
        application=m.get("Application", ""),
        application_data=m.get("ApplicationData", ""),
        bridge_id=m.get("BridgeId", ""),
        duration_s=parse_duration(m["Duration"]) if m.get("Duration") else 0,
    )


def _queueentry(m: Msg, pbx: str, at: float) -> Event:
    # QueueEntry carries no Linkedid: call_id "" lets the tracker place it by channel.
    return QueueEntrySnapshot(
        pbx=pbx,
        call_id="",
        channel_id=m["Uniqueid"],
        at=at,
        source="resync",
        channel=m["Channel"],
        queue=m["Queue"],
        position=_int(m.get("Position")),
        wait=_int(m.get("Wait")),
        caller_number=_cid(m.get("CallerIDNum")),
    )


def _queuemember(m: Msg, pbx: str, at: float) -> Event:
    return QueueMemberChanged(
        pbx=pbx,
        call_id="",
        at=at,
        source="resync",
        change="snapshot",
        queue=m["Queue"],
        interface=m["Location"],
        member_name=m.get("Name", ""),
        penalty=_int(m.get("Penalty")),
        paused=m.get("Paused") == "1",
        paused_reason=m.get("PausedReason", ""),
        status=_int(m.get("Status")),
        in_call=m.get("InCall") == "1",
        calls_taken=_int(m.get("CallsTaken")),
    )


_SNAPSHOTS: dict[str | None, Callable[[Msg, str, float], Event]] = {
    "CoreShowChannel": _coreshowchannel,
    "QueueEntry": _queueentry,
    "QueueMember": _queuemember,
}


def translate_snapshot(
    message: Mapping[str, str],
    pbx: str,
    at: float,
    *,
    malformed: Counter[str] | None = None,
) -> Event | None:
    """One row of a CoreShowChannels / QueueStatus reply as a ``resync`` event.

    Asterisk stamps no Timestamp on action replies, so ``at`` is the time the resync
    asked (the caller's clock). Other rows (QueueParams, ...Complete) give None; a row
    that cannot be translated is counted in ``malformed`` by event name.
    """
    name = message.get("Event")
    translator = _SNAPSHOTS.get(name)
    if translator is None:
        return None
    try:
        return translator(message, pbx, _at(message) or at)
    except (KeyError, ValueError, TypeError):
        if malformed is not None:
            malformed[str(name)] += 1
        return None
