"""The event vocabulary: every fact the rest of the system learns about calls.

Raw AMI dictionaries, queue_log lines and CDR rows are turned into these events inside
``telephony/``; nothing else ever sees the wire format. Events are frozen, typed,
versioned, and round-trip through JSON (``to_json`` / ``from_json``).

Every event carries:
- ``pbx``: the name of the Asterisk server it came from (settings),
- ``call_id``: Asterisk's ``Linkedid`` ("" for events that belong to no call),
- ``channel_id``: the channel's ``Uniqueid`` ("" when there is none),
- ``at``: the time Asterisk stamped it (epoch seconds, float),
- ``source``: where it was learned: ``ami`` (live), ``resync`` (CoreShowChannels /
  QueueStatus after a reconnect) or ``queue_log`` / ``cdr`` (Asterisk's durable records).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Literal, TypeVar

Source = Literal["ami", "resync", "queue_log", "cdr"]

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    version: ClassVar[int] = SCHEMA_VERSION

    pbx: str
    call_id: str
    channel_id: str = ""
    at: float
    source: Source = "ami"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind
        data["version"] = self.version
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def register(cls: E) -> E:
    if cls.kind in _REGISTRY:
        raise ValueError(f"duplicate event kind {cls.kind!r}")
    _REGISTRY[cls.kind] = cls
    return cls


class UnknownEventKind(ValueError):
    pass


def from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from ``to_dict`` output; raises UnknownEventKind or ValueError."""
    kind = data.get("kind")
    cls = _REGISTRY.get(str(kind))
    if cls is None:
        raise UnknownEventKind(f"unknown event kind {kind!r}")
    version = data.get("version", SCHEMA_VERSION)
    if version != cls.version:
        raise ValueError(f"event {kind!r} has version {version}, expected {cls.version}")
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    for f in fields(cls):
        if f.name in kwargs and isinstance(kwargs[f.name], list):
            kwargs[f.name] = tuple(kwargs[f.name])
    return cls(**kwargs)


def from_json(text: str | bytes) -> Event:
    return from_dict(json.loads(text))


def event_kinds() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


# --- channels -----------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelCreated(Event):
    """Newchannel. ``exten`` of a call's first channel is the dialled (hotline) number."""

    kind: ClassVar[str] = "channel_created"
    channel: str
    state: int = 0
    caller_number: str = ""
    caller_name: str = ""
    context: str = ""
    exten: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChanged(Event):
    """Newstate (4 Ring, 5 Ringing, 6 Up)."""

    kind: ClassVar[str] = "channel_state"
    channel: str
    state: int
    state_desc: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CallerIdChanged(Event):
    """NewCallerid."""

    kind: ClassVar[str] = "caller_id"
    channel: str
    caller_number: str = ""
    caller_name: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DialStarted(Event):
    """DialBegin. ``channel`` is the dialling side ("" when originated), ``dest_*`` the callee."""

    kind: ClassVar[str] = "dial_started"
    channel: str = ""
    dest_channel: str
    dest_channel_id: str
    dial_string: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DialEnded(Event):
    """DialEnd with Asterisk's DialStatus (ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL...)."""

    kind: ClassVar[str] = "dial_ended"
    channel: str = ""
    dest_channel: str
    dest_channel_id: str
    dial_status: str


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferred(Event):
    """BlindTransfer or AttendedTransfer (main/stasis_bridges.c): the transferer's channel
    (``channel_id``, ``channel``, an agent's) sent its bridge peer, the transferee, to
    ``exten@context`` (blind) or to ``target_channel``, the channel it had called (attended,
    ``dest_type`` Bridge when the two bridges merged). ``result`` is Asterisk's (Success,
    Fail, Invalid, Not Permitted); ``external`` when an AMI action asked for it rather than
    a phone's feature code."""

    kind: ClassVar[str] = "call_transferred"
    channel: str = ""
    transferee_channel: str = ""
    transferee_channel_id: str = ""
    exten: str = ""
    context: str = ""
    result: str = ""
    external: bool = False
    attended: bool = False
    target_channel: str = ""
    dest_type: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeEntered(Event):
    kind: ClassVar[str] = "bridge_entered"
    channel: str
    bridge_id: str


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeLeft(Event):
    kind: ClassVar[str] = "bridge_left"
    channel: str
    bridge_id: str


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHungUp(Event):
    """Hangup, with the Q.850 cause (16 normal clearing, 17 busy, 34 congestion...)."""

    kind: ClassVar[str] = "channel_hungup"
    channel: str
    cause: int = 0
    cause_text: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DtmfReceived(Event):
    """DTMFEnd with Direction Received: a digit the caller pressed."""

    kind: ClassVar[str] = "dtmf"
    channel: str
    digit: str
    duration_ms: int = 0


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class VoicemailStarted(Event):
    """Newexten into the VoiceMail application: the caller is leaving a message."""

    kind: ClassVar[str] = "voicemail_started"
    channel: str
    mailbox: str = ""


# --- queues -------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QueueJoined(Event):
    """QueueCallerJoin (queue_log ENTERQUEUE)."""

    kind: ClassVar[str] = "queue_joined"
    channel: str = ""
    queue: str
    position: int = 0
    caller_number: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QueueLeft(Event):
    """QueueCallerLeave: the caller left the queue, for whatever reason."""

    kind: ClassVar[str] = "queue_left"
    channel: str = ""
    queue: str
    position: int = 0


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QueueAbandoned(Event):
    """QueueCallerAbandon (queue_log ABANDON): hung up while waiting, after ``hold_time`` s."""

    kind: ClassVar[str] = "queue_abandoned"
    channel: str = ""
    queue: str
    position: int = 0
    original_position: int = 0
    hold_time: int = 0


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QueueTimedOut(Event):
    """queue_log EXITWITHTIMEOUT / EXITEMPTY / EXITWITHKEY: left the queue unanswered, alive."""

    kind: ClassVar[str] = "queue_timed_out"
    channel: str = ""
    queue: str
    reason: str = "timeout"
    position: int = 0
    original_position: int = 0
    wait_time: int = 0


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRinging(Event):
    """AgentCalled: a queue member's phone rings for this caller."""

    kind: ClassVar[str] = "agent_ringing"
    channel: str = ""
    queue: str
    interface: str
    member_name: str = ""
    dest_channel: str = ""
    dest_channel_id: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAnswered(Event):
    """AgentConnect (queue_log CONNECT): ``hold_time`` and ``ring_time`` in seconds."""

    kind: ClassVar[str] = "agent_answered"
    channel: str = ""
    queue: str
    interface: str = ""
    member_name: str = ""
    dest_channel: str = ""
    dest_channel_id: str = ""
    hold_time: int = 0
    ring_time: int = 0


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCompleted(Event):
    """AgentComplete (queue_log COMPLETECALLER/COMPLETEAGENT); ``reason`` caller|agent|transfer."""

    kind: ClassVar[str] = "agent_completed"
    channel: str = ""
    queue: str
    interface: str = ""
    member_name: str = ""
    hold_time: int = 0
    talk_time: int = 0
    reason: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRingNoAnswer(Event):
    """AgentRingNoAnswer (queue_log RINGNOANSWER); ``ring_time_ms`` as Asterisk reports it."""

    kind: ClassVar[str] = "agent_ring_no_answer"
    channel: str = ""
    queue: str
    interface: str = ""
    member_name: str = ""
    ring_time_ms: int = 0


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDumped(Event):
    """AgentDump: the agent hung up on the caller while it was being presented."""

    kind: ClassVar[str] = "agent_dumped"
    channel: str = ""
    queue: str
    interface: str = ""
    member_name: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMemberChanged(Event):
    """QueueMemberAdded/Removed/Pause/Status/Penalty and QueueStatus's QueueMember rows.

    ``change`` is one of added, removed, paused, status, penalty, snapshot.
    ``status`` is Asterisk's device state number (1 not in use, 2 in use, 6 ringing...).
    """

    kind: ClassVar[str] = "queue_member"
    change: Literal["added", "removed", "paused", "status", "penalty", "snapshot"]
    queue: str
    interface: str
    member_name: str = ""
    penalty: int = 0
    paused: bool = False
    paused_reason: str = ""
    status: int = 0
    in_call: bool = False
    calls_taken: int = 0


# --- recordings ---------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted(Event):
    """MixMonitorStart. Asterisk 22 sends no stop when the call just hangs up."""

    kind: ClassVar[str] = "recording_started"
    channel: str


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStopped(Event):
    kind: ClassVar[str] = "recording_stopped"
    channel: str


# --- supervision --------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SpyStarted(Event):
    """ChanSpyStart: ``call_id`` is the spy's own call; ``spyee_call_id`` the call listened to."""

    kind: ClassVar[str] = "spy_started"
    channel: str
    spyee_channel: str
    spyee_channel_id: str = ""
    spyee_call_id: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SpyStopped(Event):
    kind: ClassVar[str] = "spy_stopped"
    channel: str
    spyee_channel: str = ""
    spyee_channel_id: str = ""
    spyee_call_id: str = ""


# --- PBX and link -------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class PbxBooted(Event):
    """FullyBooted: Asterisk is ready (sent on every AMI login too)."""

    kind: ClassVar[str] = "pbx_booted"
    status: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class LinkUp(Event):
    """The AMI link is logged in (after a first connect or a reconnect)."""

    kind: ClassVar[str] = "link_up"
    reconnect: bool = False


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class LinkDown(Event):
    """The AMI link was lost; events may be missing until the next resync."""

    kind: ClassVar[str] = "link_down"
    reason: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelSnapshot(Event):
    """One CoreShowChannel row, taken after a (re)connect: the channel is up right now."""

    kind: ClassVar[str] = "channel_snapshot"
    channel: str
    state: int = 0
    caller_number: str = ""
    caller_name: str = ""
    context: str = ""
    exten: str = ""
    application: str = ""
    application_data: str = ""
    bridge_id: str = ""
    duration_s: int = 0


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEntrySnapshot(Event):
    """One QueueStatus QueueEntry row: a caller waiting in ``queue`` for ``wait`` seconds."""

    kind: ClassVar[str] = "queue_entry_snapshot"
    channel: str
    queue: str
    position: int = 0
    wait: int = 0
    caller_number: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ResyncCompleted(Event):
    """All snapshots and durable records of a resync have been emitted.

    ``live_channel_ids`` are the Uniqueids CoreShowChannels listed: any call the tracker
    holds open with none of its channels among them has ended while the link was down.
    """

    kind: ClassVar[str] = "resync_completed"
    live_channel_ids: tuple[str, ...] = ()


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CallDetail(Event):
    """One CDR row (Asterisk's cdr_csv / cdr_custom), the durable end of a channel's call.

    ``start``/``answer``/``end`` are epoch seconds (``answer`` 0 when unanswered).
    """

    kind: ClassVar[str] = "call_detail"
    source: Source = "cdr"
    src: str = ""
    dst: str = ""
    dcontext: str = ""
    channel: str = ""
    dest_channel: str = ""
    last_app: str = ""
    start: float = 0.0
    answer: float = 0.0
    end: float = 0.0
    duration: int = 0
    billsec: int = 0
    disposition: str = ""
    userfield: str = ""


# --- IVR ----------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class IvrEntered(Event):
    """A caller entered an IVR flow (FastAGI session start)."""

    kind: ClassVar[str] = "ivr_entered"
    channel: str = ""
    flow: str
    caller_number: str = ""
    dialled: str = ""
    language: str = "zh"


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class IvrChoice(Event):
    """A key choice in a menu, or digits collected (``digits``), and where it led."""

    kind: ClassVar[str] = "ivr_choice"
    flow: str
    node: str
    digits: str
    target: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CallerIdentified(Event):
    """The caller's number belongs to a known owner (CTI lookup during the IVR)."""

    kind: ClassVar[str] = "caller_identified"
    owner_id: str
    owner_name: str = ""
    vip: bool = False
    arrears: bool = False
    zone: str = ""
    housekeeper: str = ""  # the housekeeper's interface, "" when none is on duty


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class IvrLeft(Event):
    """Where the caller left the IVR: ``outcome`` queue|dial|voicemail|hangup|caller_hangup|
    error|fallback (handed to the dialplan's fallback queue: the service was stopping),
    ``target`` the queue or interface, ``path`` the nodes walked in order."""

    kind: ClassVar[str] = "ivr_left"
    flow: str
    outcome: str
    target: str = ""
    path: tuple[str, ...] = ()
    language: str = "zh"


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRequested(Event):
    """A callback work order (回访/回电): the caller left a voicemail or asked to be called."""

    kind: ClassVar[str] = "callback_requested"
    caller_number: str
    flow: str = ""
    node: str = ""
    reason: str = ""
    owner_id: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyAnswered(Event):
    """The caller's 1-5 satisfaction score after the agent hung up."""

    kind: ClassVar[str] = "survey_answered"
    flow: str
    score: int


# --- routing: rosters, queue membership, staffing, routing decisions ----------------------


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingDecision(Event):
    """Where a call goes and why; ``kind`` housekeeper|zone_queue|general_queue|voicemail."""

    kind: ClassVar[str] = "routing_decision"
    decision: str
    target: str = ""
    priority: int = 0
    ring_s: float = 0.0
    reason: str = ""
    owner_id: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipSynced(Event):
    """A queue-membership sync: the actions applied, those that failed, and whether the
    PBX now matches the roster (``complete``)."""

    kind: ClassVar[str] = "membership_synced"
    applied: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    complete: bool = True


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class RosterDrift(Event):
    """The PBX and the roster disagree: ``unrostered`` are logged in but not on duty,
    ``missing`` on duty but not logged in, ``unreachable`` on duty but their phone is not."""

    kind: ClassVar[str] = "roster_drift"
    unrostered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unreachable: tuple[str, ...] = ()


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class StaffingBelowMinimum(Event):
    """A staffing rule is not met (``below``), or is met again (``below`` False); sent
    again while below when ``have`` moves. ``title_zh``/``title_en``: the rule as people
    call it, with its window ("高峰时段 09:00-18:00"); ``rule`` is its key."""

    kind: ClassVar[str] = "staffing_below_minimum"
    rule: str
    have: int
    need: int
    below: bool = True
    title_zh: str = ""
    title_en: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged(Event):
    """An agent's state changed; ``previous_s`` is the time spent in ``previous``."""

    kind: ClassVar[str] = "agent_state_changed"
    agent: str
    interface: str = ""
    state: str
    reason: str = ""
    previous: str = ""
    previous_s: float = 0.0
