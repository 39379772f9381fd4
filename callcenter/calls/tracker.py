"""The call tracker: folds domain events into call records, one per Linkedid.

Pure and deterministic: no clock, no I/O; every time comes from an event. ``apply``
returns the records that became final because of that event.

- A call is every channel sharing one Linkedid. It ends when all the channels it has
  seen created have hung up.
- Applying an event twice changes nothing (each call remembers the events it took), and
  events for a call that already ended are ignored, so a resync never counts a call twice.
- Facts are first-wins (join, ring, answer...), so the live event and its durable
  counterpart from queue_log or the CDR agree instead of fighting.
- Resync: snapshots create or refresh open calls (a caller bridged inside Queue() counts
  as answered by the snapshot's time until a CONNECT or COMPLETE says when); durable
  events fill gaps and create
  calls that began and ended unseen; the first channel's durable CDR row closes a call
  no snapshot showed alive; ``ResyncCompleted`` closes every open call none of whose
  channels is still up. A call closed that way may be corrected by later durable events
  (the same record is returned again; the store upserts by key).
- A call answered by a direct Dial (the IVR ringing the owner's housekeeper; DialEnd
  ANSWER from the caller's channel, or the CDR's ANSWERED ``Dial`` row) is answered by
  the dialled interface, unless a queue answer says otherwise; it has no queue wait.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import cast

from callcenter.calls.records import CallRecord, Leg, Outcome
from callcenter.events import (
    AgentAnswered,
    AgentCompleted,
    AgentRinging,
    AgentRingNoAnswer,
    CallDetail,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    ChannelStateChanged,
    DialEnded,
    DtmfReceived,
    Event,
    LinkUp,
    QueueAbandoned,
    QueueEntrySnapshot,
    QueueJoined,
    QueueLeft,
    QueueTimedOut,
    RecordingStarted,
    ResyncCompleted,
    SpyStarted,
    VoicemailStarted,
)

__all__ = ["CallTracker"]

_UP = 6  # AST_STATE_UP
_BLOCKED_CAUSES = frozenset({34, 42, 44})  # circuit/switch congestion, channel unavailable
_BLOCKED_DIAL = frozenset({"CONGESTION", "CHANUNAVAIL"})
_BLOCKED_CDR = frozenset({"CONGESTION", "FAILED"})
_DURABLE = frozenset({"queue_log", "cdr"})
# How a queue join time was learned, worst to best: worked back from a later event, a
# QueueStatus snapshot (whole seconds), queue_log ENTERQUEUE (whole seconds), live AMI.
_JOIN_DERIVED, _JOIN_SNAPSHOT, _JOIN_DURABLE, _JOIN_LIVE = 1, 2, 3, 4
_CORRECTABLE_MEMORY = 10_000  # calls closed by a resync that durable rows may still correct


class _Call:
    """What the tracker knows about one open call; ``record`` is filled as it goes."""

    __slots__ = (
        "abandon_hold",
        "abandoned_at",
        "answer_guessed",
        "answer_hold",
        "blocked_hint",
        "caller_side",
        "cdr_disposition",
        "cdr_end",
        "channels",
        "dial_answer",
        "first_cause",
        "first_channel",
        "hung",
        "join_quality",
        "last_at",
        "last_cause",
        "legs",
        "live",
        "origin_context",
        "record",
        "ring_time",
        "seen",
        "snapshot_alive",
        "talk_time",
        "timed_out_at",
        "timed_out_wait",
        "untimed",
        "voicemail",
    )

    def __init__(self, record: CallRecord) -> None:
        self.record = record
        self.live: set[str] = set()  # channels created and not hung up
        self.channels: set[str] = set()  # every channel id seen for this call
        self.legs: dict[str, Leg] = {}
        self.seen: set[Event] = set()
        self.caller_side: set[str] = set()
        self.first_channel = ""
        self.origin_context = ""
        self.hung = False
        self.last_at = record.started_at
        self.first_cause: int | None = None
        self.last_cause: int | None = None
        self.answer_hold: int | None = None
        self.answer_guessed = False  # answered_at is only "by the time of a snapshot"
        self.ring_time: int | None = None
        self.talk_time: int | None = None
        self.abandoned_at: float | None = None
        self.abandon_hold = 0
        self.timed_out_at: float | None = None
        self.timed_out_wait = 0
        self.voicemail = False
        self.blocked_hint = False
        self.cdr_end: float | None = None
        self.cdr_disposition = ""
        self.snapshot_alive = False
        self.join_quality = 0  # how the join time was learned: see _JOIN_*
        self.untimed = False  # some live event had no Timestamp: trust Asterisk's counters
        self.dial_answer: tuple[float, str] | None = None  # (when, interface) of a direct Dial


Handler = Callable[["CallTracker", _Call, Event], None]


class CallTracker:
    def __init__(
        self,
        *,
        pbx_filter: str | None = None,
        short_abandon_s: float = 5.0,
        inbound_contexts: frozenset[str] = frozenset({"from-pstn"}),
        finished_memory: int = 200_000,
    ) -> None:
        self._pbx_filter = pbx_filter
        self._short_abandon_s = short_abandon_s
        self._inbound = inbound_contexts
        self._memory = finished_memory
        self._open: dict[str, _Call] = {}
        self._channel_call: dict[str, str] = {}  # channel id -> call id, open calls
        # Ended calls: every key (call id and channel ids) -> call id, bounded by call.
        self._finished: dict[str, str] = {}
        self._finished_order: deque[tuple[str, ...]] = deque()
        self._correctable: dict[str, _Call] = {}
        self._finished_count = 0
        self._now = 0.0  # the latest event time seen: the fallback for unstamped events
        self._resync_candidates: set[str] | None = None  # None: every open call

    # --- public ---------------------------------------------------------------------------

    @property
    def finished_count(self) -> int:
        return self._finished_count

    def open_calls(self) -> list[CallRecord]:
        return [_copy(call.record) for call in self._open.values()]

    def apply(self, event: Event) -> list[CallRecord]:
        if self._pbx_filter is not None and event.pbx != self._pbx_filter:
            return []
        handler = _HANDLERS.get(type(event))
        if handler is None:
            if type(event) is ResyncCompleted:
                return self._resync_completed(event)
            if type(event) is LinkUp:
                # Only calls known before this resync can have ended unseen; a call first
                # learned from durable lines during it may have begun after the snapshot.
                self._resync_candidates = set(self._open)
            return []
        at = event.at
        if at > self._now:
            self._now = at
        call = self._call_for(event)
        if call is None:
            return []
        if event in call.seen:
            return []
        call.seen.add(event)
        before = _copy(call.record) if call.record.ended_at is not None else None
        if at == 0.0 and event.source == "ami":
            call.untimed = True
        if at > call.last_at:
            call.last_at = at
        if event.channel_id:
            call.channels.add(event.channel_id)
        handler(self, call, event)
        if call.record.ended_at is not None:
            return self._correct(call, before)
        if call.hung and not call.live:
            # A call pieced together after a cut may still learn from durable rows.
            correct = call.record.origin == "recovered"
            return [self._finish(call, call.last_at if at == 0.0 else at, correct=correct)]
        if (
            type(event) is CallDetail
            and event.source == "cdr"
            and event.channel_id == call.first_channel
            and not call.snapshot_alive
        ):
            return [self._finish(call, _recovered_end(call), correct=True)]
        return []

    # --- finding the call -----------------------------------------------------------------

    def _call_for(self, event: Event) -> _Call | None:
        call_id = event.call_id
        channel_id = event.channel_id
        call = self._open.get(call_id) if call_id else None
        if call is not None:
            return call
        mapped = self._channel_call.get(channel_id) if channel_id else None
        if mapped is not None:
            return self._open[mapped]
        ended = self._finished.get(call_id) if call_id else None
        if ended is None and channel_id:
            ended = self._finished.get(channel_id)
        if ended is not None:
            return self._correctable.get(ended) if event.source in _DURABLE else None
        if not call_id or (type(event) is CallDetail and event.source == "ami"):
            return None  # nothing to place it by / a live CDR of a channel never seen
        return self._open_call(event)

    def _open_call(self, event: Event) -> _Call:
        recovered = event.source != "ami"
        started = event.at if event.at else self._now
        if type(event) is ChannelSnapshot:
            started -= event.duration_s
        elif type(event) is CallDetail and event.start:
            started = event.start
        record = CallRecord(
            pbx=event.pbx,
            call_id=event.call_id,
            started_at=started,
            origin="recovered" if recovered else "live",
        )
        call = _Call(record)
        self._open[event.call_id] = call
        return call

    def _register_channel(self, call: _Call, channel_id: str, channel: str, at: float) -> Leg:
        leg = call.legs.get(channel_id)
        if leg is None:
            leg = Leg(channel_id=channel_id, channel=channel, started_at=at)
            call.legs[channel_id] = leg
            call.record.legs.append(leg)
            if call.record.ended_at is None:
                self._channel_call[channel_id] = call.record.call_id
        elif not leg.channel:
            leg.channel = channel
        return leg

    def _set_origin(self, call: _Call, channel_id: str, context: str, exten: str) -> None:
        """The call's first channel says where it came from and what was dialled."""
        record = call.record
        if call.first_channel not in ("", channel_id) and channel_id != record.call_id:
            return  # only the true first channel (Uniqueid == Linkedid) replaces the first seen
        call.first_channel = channel_id
        call.caller_side.add(channel_id)
        if context:
            call.origin_context = context
            if record.kind != "spy":
                record.kind = "inbound" if context in self._inbound else "internal"
        if exten:
            record.hotline = exten

    def _caller_id(self, call: _Call, channel_id: str, number: str, name: str) -> None:
        if channel_id in call.caller_side:
            if number:
                call.record.caller_number = number
            if name:
                call.record.caller_name = name

    # --- channel events -------------------------------------------------------------------

    def _channel_created(self, call: _Call, ev: Event) -> None:
        ev = cast(ChannelCreated, ev)
        ch = ev.channel_id
        leg = self._register_channel(call, ch, ev.channel, ev.at)
        if ev.state == _UP and leg.answered_at is None:
            leg.answered_at = ev.at
        call.live.add(ch)
        if not call.first_channel or ch == call.record.call_id:
            self._set_origin(call, ch, ev.context, ev.exten)
            if ch == call.record.call_id and call.record.origin == "live":
                call.record.started_at = ev.at
        elif ev.context and ev.context == call.origin_context:
            call.caller_side.add(ch)  # e.g. the ;2 half of a Local channel pair
        self._caller_id(call, ch, ev.caller_number, ev.caller_name)

    def _state_changed(self, call: _Call, ev: Event) -> None:
        ev = cast(ChannelStateChanged, ev)
        leg = call.legs.get(ev.channel_id)
        if leg is not None and ev.state == _UP and leg.answered_at is None:
            leg.answered_at = ev.at

    def _caller_id_changed(self, call: _Call, ev: Event) -> None:
        ev = cast(CallerIdChanged, ev)
        self._caller_id(call, ev.channel_id, ev.caller_number, ev.caller_name)

    def _dial_ended(self, call: _Call, ev: Event) -> None:
        ev = cast(DialEnded, ev)
        if ev.dial_status in _BLOCKED_DIAL:
            call.blocked_hint = True
        answered = ev.dial_status == "ANSWER" and ev.channel_id in call.caller_side
        if answered and call.dial_answer is None:
            call.dial_answer = (ev.at, _interface(ev.dest_channel))

    def _hung_up(self, call: _Call, ev: Event) -> None:
        ev = cast(ChannelHungUp, ev)
        ch = ev.channel_id
        call.live.discard(ch)
        call.hung = True
        leg = call.legs.get(ch)
        if leg is not None:
            leg.ended_at = ev.at
            leg.cause = ev.cause
        if ch == call.first_channel:
            call.first_cause = ev.cause
        call.last_cause = ev.cause

    def _dtmf(self, call: _Call, ev: Event) -> None:
        ev = cast(DtmfReceived, ev)
        if ev.channel_id in call.caller_side:
            call.record.dtmf += ev.digit

    def _voicemail(self, call: _Call, ev: Event) -> None:
        call.voicemail = True

    def _recording(self, call: _Call, ev: Event) -> None:
        call.record.recorded = True

    def _spy(self, call: _Call, ev: Event) -> None:
        ev = cast(SpyStarted, ev)
        call.record.kind = "spy"

    # --- queue events ---------------------------------------------------------------------

    def _join(self, call: _Call, queue: str, at: float, quality: int = _JOIN_DERIVED) -> None:
        """Set the queue join time; a better-founded source replaces an estimate. A caller
        can wait in two queues (a zone's, then the general one): the first queue's join,
        live or from queue_log, is the call's, whichever of them was learned first."""
        record = call.record
        joined = record.queue_joined_at
        earlier_queue = (
            joined is not None
            and queue != record.queue
            and quality >= _JOIN_DURABLE
            and at < joined - 1.0
        )
        same_queue = queue == record.queue or not record.queue
        if joined is None or (quality > call.join_quality and same_queue) or earlier_queue:
            record.queue_joined_at = at
            call.join_quality = quality
            if queue and (joined is None or earlier_queue):
                record.queue = queue  # the queue of the first join (not a snapshot's later one)
            elif not record.queue:
                record.queue = queue

    def _queue_joined(self, call: _Call, ev: Event) -> None:
        ev = cast(QueueJoined, ev)
        quality = _JOIN_LIVE if ev.source == "ami" and ev.at else _JOIN_DURABLE
        self._join(call, ev.queue, ev.at, quality)
        if ev.channel_id:
            call.caller_side.add(ev.channel_id)
        if ev.caller_number and not call.record.caller_number:
            call.record.caller_number = ev.caller_number

    def _queue_left(self, call: _Call, ev: Event) -> None:
        ev = cast(QueueLeft, ev)
        if not call.record.queue:
            call.record.queue = ev.queue
        call.record.queue_left_at = ev.at

    def _abandoned(self, call: _Call, ev: Event) -> None:
        ev = cast(QueueAbandoned, ev)
        self._join(call, ev.queue, ev.at - ev.hold_time)
        if call.abandoned_at is None:
            call.abandoned_at = ev.at
            call.abandon_hold = ev.hold_time
        if call.record.queue_left_at is None:
            call.record.queue_left_at = ev.at

    def _timed_out(self, call: _Call, ev: Event) -> None:
        ev = cast(QueueTimedOut, ev)
        self._join(call, ev.queue, ev.at - ev.wait_time)
        # the last queue's timeout: a caller may wait in a second queue after the first
        if call.timed_out_at is None or ev.at > call.timed_out_at:
            call.timed_out_at = ev.at
            call.timed_out_wait = ev.wait_time
        if call.record.queue_left_at is None:
            call.record.queue_left_at = ev.at

    def _ringing(self, call: _Call, ev: Event) -> None:
        ev = cast(AgentRinging, ev)
        self._join(call, ev.queue, ev.at)
        if call.record.ring_started_at is None:
            call.record.ring_started_at = ev.at

    def _ring_no_answer(self, call: _Call, ev: Event) -> None:
        ev = cast(AgentRingNoAnswer, ev)
        started = ev.at - ev.ring_time_ms / 1000
        self._join(call, ev.queue, started)
        if call.record.ring_started_at is None:
            call.record.ring_started_at = started

    def _answered(self, call: _Call, ev: Event) -> None:
        ev = cast(AgentAnswered, ev)
        record = call.record
        self._join(call, ev.queue, ev.at - ev.hold_time)
        if record.answered_at is None or call.answer_guessed:
            call.answer_guessed = False
            record.answered_at = ev.at
            record.agent = ev.member_name
            call.answer_hold = ev.hold_time
            call.ring_time = ev.ring_time
            if record.ring_started_at is None:
                record.ring_started_at = ev.at - ev.ring_time
        if ev.interface and not record.agent_interface:
            record.agent_interface = ev.interface

    def _completed(self, call: _Call, ev: Event) -> None:
        ev = cast(AgentCompleted, ev)
        record = call.record
        if record.answered_at is None or call.answer_guessed:
            # The connect was missed: it lies talk_time back.
            call.answer_guessed = False
            answered = ev.at - ev.talk_time
            self._join(call, ev.queue, answered - ev.hold_time)
            record.answered_at = answered
            record.agent = ev.member_name
            call.answer_hold = ev.hold_time
        if call.talk_time is None:
            call.talk_time = ev.talk_time
        if ev.interface and not record.agent_interface:
            record.agent_interface = ev.interface

    # --- resync and durable ---------------------------------------------------------------

    def _channel_snapshot(self, call: _Call, ev: Event) -> None:
        ev = cast(ChannelSnapshot, ev)
        ch = ev.channel_id
        at = ev.at or self._now
        leg = self._register_channel(call, ch, ev.channel, at - ev.duration_s)
        if ev.state == _UP and leg.answered_at is None and call.record.origin == "recovered":
            leg.answered_at = leg.started_at
        call.live.add(ch)
        call.snapshot_alive = True
        record = call.record
        if record.origin == "recovered" and at - ev.duration_s < record.started_at:
            record.started_at = at - ev.duration_s
        if not call.first_channel or ch == record.call_id:
            self._set_origin(call, ch, ev.context, ev.exten)
        elif ev.context and ev.context == call.origin_context:
            call.caller_side.add(ch)
        if ev.application == "VoiceMail":  # leaving a message right now
            call.voicemail = True
        bridged_by_dial = ev.application == "Dial" and ev.bridge_id and ch in call.caller_side
        if bridged_by_dial and call.dial_answer is None:
            # talking to the phone a direct Dial rang: answered by the time of the snapshot
            interface = ev.application_data.split(",", 1)[0].split("&", 1)[0]
            call.dial_answer = (at, interface)
        if ev.application == "Queue":  # a caller in Queue(): waiting, or talking if bridged
            call.caller_side.add(ch)
            if not record.queue:
                record.queue = ev.application_data.split(",", 1)[0]
            if ev.bridge_id and record.answered_at is None:
                record.answered_at = at
                call.answer_guessed = True
        if ch in call.caller_side:
            if ev.caller_number and not record.caller_number:
                record.caller_number = ev.caller_number
            if ev.caller_name and not record.caller_name:
                record.caller_name = ev.caller_name

    def _entry_snapshot(self, call: _Call, ev: Event) -> None:
        ev = cast(QueueEntrySnapshot, ev)
        self._join(call, ev.queue, (ev.at or self._now) - ev.wait, _JOIN_SNAPSHOT)
        call.caller_side.add(ev.channel_id)

    def _call_detail(self, call: _Call, ev: Event) -> None:
        ev = cast(CallDetail, ev)
        record = call.record
        ch = ev.channel_id
        if ch:
            leg = self._register_channel(call, ch, ev.channel, ev.start)
            if leg.answered_at is None and ev.answer:
                leg.answered_at = ev.answer
            if leg.ended_at is None and ev.end:
                leg.ended_at = ev.end
        if ev.userfield.startswith("dnis:") and not record.hotline:
            record.hotline = ev.userfield[5:]
        if ev.disposition in _BLOCKED_CDR:
            call.blocked_hint = True
        if ev.last_app == "VoiceMail":
            call.voicemail = True  # the CDR's last application: a message was left
        if (
            ev.last_app == "Dial"
            and ev.disposition == "ANSWERED"
            and ev.dest_channel
            and ev.answer
            and call.dial_answer is None
        ):
            call.dial_answer = (ev.answer, _interface(ev.dest_channel))
        if not call.first_channel and ch == record.call_id:
            self._set_origin(call, ch, ev.dcontext, "")
        if ch != call.first_channel:
            return
        call.cdr_end = ev.end or None
        call.cdr_disposition = ev.disposition
        if record.origin == "recovered" and ev.start and ev.start < record.started_at:
            record.started_at = ev.start
        if not record.hotline:
            record.hotline = ev.dst
        if ev.src and not record.caller_number:
            record.caller_number = ev.src

    def _resync_completed(self, event: ResyncCompleted) -> list[CallRecord]:
        live = set(event.live_channel_ids)
        candidates, self._resync_candidates = self._resync_candidates, None
        done: list[CallRecord] = []
        for call in list(self._open.values()):
            call.snapshot_alive = False
            still_up = call.channels & live
            if still_up:
                call.live = still_up
                continue
            if candidates is not None and call.record.call_id not in candidates:
                continue
            done.append(self._finish(call, _recovered_end(call), correct=True))
        return done

    # --- ending ---------------------------------------------------------------------------

    def _finish(self, call: _Call, ended_at: float, *, correct: bool = False) -> CallRecord:
        call_id = call.record.call_id
        del self._open[call_id]
        for ch in call.legs:
            self._channel_call.pop(ch, None)
        keys = (call_id, *call.channels)
        for key in keys:
            self._finished[key] = call_id
        self._finished_order.append(keys)
        while len(self._finished_order) > self._memory:
            for key in self._finished_order.popleft():
                self._finished.pop(key, None)
        self._finished_count += 1
        record = self._finalize(call, ended_at)
        if correct:
            self._correctable[call_id] = call
            if len(self._correctable) > _CORRECTABLE_MEMORY:
                del self._correctable[next(iter(self._correctable))]
            return _copy(record)
        return record

    def _correct(self, call: _Call, before: CallRecord | None) -> list[CallRecord]:
        """A durable event for a call a resync closed: re-derive, return it if it changed."""
        after = self._finalize(call, _recovered_end(call))
        return [] if after == before else [_copy(after)]

    def _finalize(self, call: _Call, ended_at: float) -> CallRecord:
        """Derive the outcome and durations from what the call gathered."""
        r = call.record
        r.ended_at = ended_at
        r.hangup_cause = call.first_cause if call.first_cause is not None else call.last_cause
        joined = r.queue_joined_at
        r.ivr_s = (joined if joined is not None else ended_at) - r.started_at
        r.wait_s = r.talk_s = r.ring_s = None
        if r.answered_at is None and call.dial_answer is not None:
            # a queue's answer, should one still come (a durable row), replaces this one
            r.answered_at, interface = call.dial_answer
            r.agent = r.agent or interface
            r.agent_interface = r.agent_interface or interface
            call.answer_guessed = True
        outcome: Outcome
        if r.answered_at is not None:
            outcome = "answered"
            if joined is not None and not (call.untimed and call.answer_hold is not None):
                r.wait_s = r.answered_at - joined
            elif call.answer_hold is not None:
                r.wait_s = float(call.answer_hold)
            r.talk_s = (
                float(call.talk_time) if call.talk_time is not None else ended_at - r.answered_at
            )
            if r.ring_started_at is not None and not call.untimed:
                r.ring_s = r.answered_at - r.ring_started_at
            elif call.ring_time is not None:
                r.ring_s = float(call.ring_time)
        elif call.voicemail:
            outcome = "voicemail"
            if joined is not None:  # it waited in a queue first, then went to voicemail
                left = call.timed_out_at or r.queue_left_at
                if left is not None:
                    r.wait_s = left - joined
                elif call.timed_out_wait:
                    r.wait_s = float(call.timed_out_wait)
        elif (
            call.abandoned_at is not None
            or call.timed_out_at is not None
            or joined is not None
            or r.queue
        ):
            outcome = "abandoned"
            if call.abandoned_at is not None:
                left, hold = call.abandoned_at, call.abandon_hold
            elif call.timed_out_at is not None:
                left, hold = call.timed_out_at, call.timed_out_wait
            else:  # left unseen: the caller hung up in the queue
                left = r.queue_left_at if r.queue_left_at is not None else ended_at
                hold = 0
            if joined is not None and not (call.untimed and hold):
                r.wait_s = left - joined
            else:
                r.wait_s = float(hold)
            # A queue timeout is the queue's doing, never a short abandon.
            caller_left = call.timed_out_at is None or call.abandoned_at is not None
            if caller_left and r.wait_s < self._short_abandon_s:
                outcome = "short_abandon"
        elif self._blocked(call):
            outcome = "blocked"
        else:
            outcome = "ivr_only"
        r.outcome = outcome
        return r

    def _blocked(self, call: _Call) -> bool:
        if call.cdr_disposition in _BLOCKED_CDR:
            return True
        first = call.legs.get(call.first_channel)
        if first is not None and first.answered_at is not None:
            return False
        return call.blocked_hint or call.first_cause in _BLOCKED_CAUSES


def _recovered_end(call: _Call) -> float:
    """When a call that ended unseen ended: the latest end its records or events show."""
    ends = [leg.ended_at for leg in call.legs.values() if leg.ended_at is not None]
    if call.cdr_end is not None:
        ends.append(call.cdr_end)
    return max(ends, default=call.last_at) if ends else call.last_at


def _interface(channel: str) -> str:
    """The device of a channel name: PJSIP/1030-0000002a -> PJSIP/1030,
    Local/1001@agents-00000001;1 -> Local/1001@agents."""
    name = channel.split(";", 1)[0]
    base, dash, suffix = name.rpartition("-")
    if dash and len(suffix) == 8 and all(c in "0123456789abcdef" for c in suffix):
        return base
    return name


def _copy(record: CallRecord) -> CallRecord:
    return replace(record, legs=[replace(leg) for leg in record.legs])


_HANDLERS: dict[type[Event], Handler] = {
    ChannelCreated: CallTracker._channel_created,
    ChannelStateChanged: CallTracker._state_changed,
    CallerIdChanged: CallTracker._caller_id_changed,
    DialEnded: CallTracker._dial_ended,
    ChannelHungUp: CallTracker._hung_up,
    DtmfReceived: CallTracker._dtmf,
    VoicemailStarted: CallTracker._voicemail,
    RecordingStarted: CallTracker._recording,
    SpyStarted: CallTracker._spy,
    QueueJoined: CallTracker._queue_joined,
    QueueLeft: CallTracker._queue_left,
    QueueAbandoned: CallTracker._abandoned,
    QueueTimedOut: CallTracker._timed_out,
    AgentRinging: CallTracker._ringing,
    AgentRingNoAnswer: CallTracker._ring_no_answer,
    AgentAnswered: CallTracker._answered,
    AgentCompleted: CallTracker._completed,
    ChannelSnapshot: CallTracker._channel_snapshot,
    QueueEntrySnapshot: CallTracker._entry_snapshot,
    CallDetail: CallTracker._call_detail,
}
