"""How live AMI events, and their queue_log twins, change an open call.

Its own module because these are the facts as they happen: channels, dial results and the
queue's progress; each is first-wins, so a durable line for the same fact agrees with it.
Each is a function of the CallTracker (which maps channels to calls) and the open call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from callcenter.calls.open_call import (
    JOIN_DURABLE,
    JOIN_LIVE,
    UP,
    Handler,
    OpenCall,
    channel_device,
    join,
)
from callcenter.calls.outcome import BLOCKED_DIAL
from callcenter.events import (
    AgentAnswered,
    AgentCompleted,
    AgentRinging,
    AgentRingNoAnswer,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelStateChanged,
    DialEnded,
    DtmfReceived,
    Event,
    QueueAbandoned,
    QueueJoined,
    QueueLeft,
    QueueTimedOut,
    RecordingStarted,
    SpyStarted,
    VoicemailStarted,
)

if TYPE_CHECKING:
    from callcenter.calls.tracker import CallTracker


def _caller_id(call: OpenCall, channel_id: str, number: str, name: str) -> None:
    if channel_id in call.caller_side:
        if number:
            call.record.caller_number = number
        if name:
            call.record.caller_name = name


# --- channel events ---------------------------------------------------------------------


def _channel_created(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(ChannelCreated, ev)
    ch = ev.channel_id
    leg = tracker._register_channel(call, ch, ev.channel, ev.at)
    if ev.state == UP and leg.answered_at is None:
        leg.answered_at = ev.at
    call.live.add(ch)
    if not call.first_channel or ch == call.record.call_id:
        tracker._set_origin(call, ch, ev.context, ev.exten)
        if ch == call.record.call_id and call.record.origin == "live":
            call.record.started_at = ev.at
    elif ev.context and ev.context == call.origin_context:
        call.caller_side.add(ch)  # e.g. the ;2 half of a Local channel pair
    _caller_id(call, ch, ev.caller_number, ev.caller_name)


def _state_changed(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(ChannelStateChanged, ev)
    leg = call.legs.get(ev.channel_id)
    if leg is not None and ev.state == UP and leg.answered_at is None:
        leg.answered_at = ev.at


def _caller_id_changed(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(CallerIdChanged, ev)
    _caller_id(call, ev.channel_id, ev.caller_number, ev.caller_name)


def _dial_ended(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(DialEnded, ev)
    if ev.dial_status in BLOCKED_DIAL:
        call.blocked_hint = True
    answered = ev.dial_status == "ANSWER" and ev.channel_id in call.caller_side
    if answered and call.dial_answer is None:
        call.dial_answer = (ev.at, channel_device(ev.dest_channel))


def _hung_up(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
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


def _dtmf(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(DtmfReceived, ev)
    if ev.channel_id in call.caller_side:
        call.record.dtmf += ev.digit


def _voicemail(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    call.voicemail = True


def _recording(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    call.record.recorded = True


def _spy(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(SpyStarted, ev)
    call.record.kind = "spy"


# --- queue events -----------------------------------------------------------------------


def _queue_joined(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(QueueJoined, ev)
    quality = JOIN_LIVE if ev.source == "ami" and ev.at else JOIN_DURABLE
    join(call, ev.queue, ev.at, quality)
    if ev.channel_id:
        call.caller_side.add(ev.channel_id)
    if ev.caller_number and not call.record.caller_number:
        call.record.caller_number = ev.caller_number


def _queue_left(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(QueueLeft, ev)
    if not call.record.queue:
        call.record.queue = ev.queue
    call.record.queue_left_at = ev.at


def _abandoned(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(QueueAbandoned, ev)
    join(call, ev.queue, ev.at - ev.hold_time)
    if call.abandoned_at is None:
        call.abandoned_at = ev.at
        call.abandon_hold = ev.hold_time
    if call.record.queue_left_at is None:
        call.record.queue_left_at = ev.at


def _timed_out(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(QueueTimedOut, ev)
    join(call, ev.queue, ev.at - ev.wait_time)
    # the last queue's timeout: a caller may wait in a second queue after the first
    if call.timed_out_at is None or ev.at > call.timed_out_at:
        call.timed_out_at = ev.at
        call.timed_out_wait = ev.wait_time
    if call.record.queue_left_at is None:
        call.record.queue_left_at = ev.at


def _ringing(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(AgentRinging, ev)
    join(call, ev.queue, ev.at)
    if call.record.ring_started_at is None:
        call.record.ring_started_at = ev.at


def _ring_no_answer(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(AgentRingNoAnswer, ev)
    started = ev.at - ev.ring_time_ms / 1000
    join(call, ev.queue, started)
    if call.record.ring_started_at is None:
        call.record.ring_started_at = started


def _answered(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(AgentAnswered, ev)
    record = call.record
    join(call, ev.queue, ev.at - ev.hold_time)
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


def _completed(tracker: CallTracker, call: OpenCall, ev: Event) -> None:
    ev = cast(AgentCompleted, ev)
    record = call.record
    if record.answered_at is None or call.answer_guessed:
        # The connect was missed: it lies talk_time back.
        call.answer_guessed = False
        answered = ev.at - ev.talk_time
        join(call, ev.queue, answered - ev.hold_time)
        record.answered_at = answered
        record.agent = ev.member_name
        call.answer_hold = ev.hold_time
    if call.talk_time is None:
        call.talk_time = ev.talk_time
    if ev.interface and not record.agent_interface:
        record.agent_interface = ev.interface


HANDLERS: dict[type[Event], Handler] = {
    ChannelCreated: _channel_created,
    ChannelStateChanged: _state_changed,
    CallerIdChanged: _caller_id_changed,
    DialEnded: _dial_ended,
    ChannelHungUp: _hung_up,
    DtmfReceived: _dtmf,
    VoicemailStarted: _voicemail,
    RecordingStarted: _recording,
    SpyStarted: _spy,
    QueueJoined: _queue_joined,
    QueueLeft: _queue_left,
    QueueAbandoned: _abandoned,
    QueueTimedOut: _timed_out,
    AgentRinging: _ringing,
    AgentRingNoAnswer: _ring_no_answer,
    AgentAnswered: _answered,
    AgentCompleted: _completed,
}
