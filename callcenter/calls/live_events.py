"""How live AMI events, and their queue_log twins, change an open call.

Its own module because these are the facts as they happen: channels, dial results and the
queue's progress; each is first-wins, so a durable line for the same fact agrees with it.
Each is a function of the call book (the tracker's part that maps channels to calls, see
``handling.py``) and the open call.
"""

from __future__ import annotations

from callcenter.calls.handling import CallBook, EventHandlers
from callcenter.calls.open_call import (
    JOIN_DURABLE,
    JOIN_LIVE,
    UP,
    OpenCall,
    channel_device,
    join,
)
from callcenter.calls.outcome import BLOCKED_DIAL
from callcenter.core.events import (
    AgentAnswered,
    AgentCompleted,
    AgentRinging,
    AgentRingNoAnswer,
    CallerIdChanged,
    CallTransferred,
    ChannelCreated,
    ChannelHungUp,
    ChannelStateChanged,
    DialEnded,
    DtmfReceived,
    QueueAbandoned,
    QueueJoined,
    QueueLeft,
    QueueTimedOut,
    RecordingStarted,
    SpyStarted,
    VoicemailStarted,
)

HANDLERS = EventHandlers()


def _caller_id(call: OpenCall, channel_id: str, number: str, name: str) -> None:
    if channel_id in call.caller_side:
        if number:
            call.record.caller_number = number
        if name:
            call.record.caller_name = name


# --- channel events ---------------------------------------------------------------------


@HANDLERS.on(ChannelCreated)
def _channel_created(book: CallBook, call: OpenCall, ev: ChannelCreated) -> None:
    ch = ev.channel_id
    leg = book.register_channel(call, ch, ev.channel, ev.at)
    if ev.state == UP and leg.answered_at is None:
        leg.answered_at = ev.at
    call.live.add(ch)
    if not call.first_channel or ch == call.record.call_id:
        book.set_origin(call, ch, ev.context, ev.exten)
        if ch == call.record.call_id and call.record.origin == "live":
            call.record.started_at = ev.at
    elif ev.context and ev.context == call.origin_context:
        call.caller_side.add(ch)  # e.g. the ;2 half of a Local channel pair
    _caller_id(call, ch, ev.caller_number, ev.caller_name)


@HANDLERS.on(ChannelStateChanged)
def _state_changed(book: CallBook, call: OpenCall, ev: ChannelStateChanged) -> None:
    leg = call.legs.get(ev.channel_id)
    if leg is not None and ev.state == UP and leg.answered_at is None:
        leg.answered_at = ev.at


@HANDLERS.on(CallerIdChanged)
def _caller_id_changed(book: CallBook, call: OpenCall, ev: CallerIdChanged) -> None:
    _caller_id(call, ev.channel_id, ev.caller_number, ev.caller_name)


@HANDLERS.on(DialEnded)
def _dial_ended(book: CallBook, call: OpenCall, ev: DialEnded) -> None:
    if ev.dial_status in BLOCKED_DIAL:
        call.blocked_hint = True
    answered = ev.dial_status == "ANSWER" and ev.channel_id in call.caller_side
    if answered and call.transfer_pending:  # a transfer's Dial reached the new seat
        interface = channel_device(ev.dest_channel)
        call.record.agent = book.member_name(interface) or interface
        call.record.agent_interface = interface
        call.transfer_pending = False
    if answered and call.dial_answer is None:
        call.dial_answer = (ev.at, channel_device(ev.dest_channel))


@HANDLERS.on(CallTransferred)
def _transferred(book: CallBook, call: OpenCall, ev: CallTransferred) -> None:
    """A transfer that worked: the caller goes on, so the talk lasts until the call ends
    (not the transferring agent's part); an attended one's target is its agent now, a
    blind one's is whoever answers next."""
    if ev.result != "Success":
        return
    call.talk_time = None
    if ev.attended and ev.target_channel:  # the caller now talks with the target
        interface = channel_device(ev.target_channel)
        call.record.agent = book.member_name(interface) or interface
        call.record.agent_interface = interface
        return
    call.transfer_pending = True


@HANDLERS.on(ChannelHungUp)
def _hung_up(book: CallBook, call: OpenCall, ev: ChannelHungUp) -> None:
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


@HANDLERS.on(DtmfReceived)
def _dtmf(book: CallBook, call: OpenCall, ev: DtmfReceived) -> None:
    if ev.channel_id in call.caller_side:
        call.record.dtmf += ev.digit


@HANDLERS.on(VoicemailStarted)
def _voicemail(book: CallBook, call: OpenCall, ev: VoicemailStarted) -> None:
    call.voicemail = True


@HANDLERS.on(RecordingStarted)
def _recording(book: CallBook, call: OpenCall, ev: RecordingStarted) -> None:
    call.record.recorded = True


@HANDLERS.on(SpyStarted)
def _spy(book: CallBook, call: OpenCall, ev: SpyStarted) -> None:
    call.record.kind = "spy"


# --- queue events -----------------------------------------------------------------------


@HANDLERS.on(QueueJoined)
def _queue_joined(book: CallBook, call: OpenCall, ev: QueueJoined) -> None:
    quality = JOIN_LIVE if ev.source == "ami" and ev.at else JOIN_DURABLE
    join(call, ev.queue, ev.at, quality)
    if ev.channel_id:
        call.caller_side.add(ev.channel_id)
    if ev.caller_number and not call.record.caller_number:
        call.record.caller_number = ev.caller_number


@HANDLERS.on(QueueLeft)
def _queue_left(book: CallBook, call: OpenCall, ev: QueueLeft) -> None:
    if not call.record.queue:
        call.record.queue = ev.queue
    call.record.queue_left_at = ev.at


def _left_queue(call: OpenCall, at: float) -> None:
    """An abandon or timeout is when the caller left, unless a QueueLeft said so first."""
    if call.record.queue_left_at is None:
        call.record.queue_left_at = at


@HANDLERS.on(QueueAbandoned)
def _abandoned(book: CallBook, call: OpenCall, ev: QueueAbandoned) -> None:
    join(call, ev.queue, ev.at - ev.hold_time)
    if call.abandoned_at is None:
        call.abandoned_at = ev.at
        call.abandon_hold = ev.hold_time
    _left_queue(call, ev.at)


@HANDLERS.on(QueueTimedOut)
def _timed_out(book: CallBook, call: OpenCall, ev: QueueTimedOut) -> None:
    join(call, ev.queue, ev.at - ev.wait_time)
    # the last queue's timeout: a caller may wait in a second queue after the first
    if call.timed_out_at is None or ev.at > call.timed_out_at:
        call.timed_out_at = ev.at
        call.timed_out_wait = ev.wait_time
    _left_queue(call, ev.at)


@HANDLERS.on(AgentRinging)
def _ringing(book: CallBook, call: OpenCall, ev: AgentRinging) -> None:
    join(call, ev.queue, ev.at)
    if call.record.ring_started_at is None:
        call.record.ring_started_at = ev.at


@HANDLERS.on(AgentRingNoAnswer)
def _ring_no_answer(book: CallBook, call: OpenCall, ev: AgentRingNoAnswer) -> None:
    started = ev.at - ev.ring_time_ms / 1000
    join(call, ev.queue, started)
    if call.record.ring_started_at is None:
        call.record.ring_started_at = started


@HANDLERS.on(AgentAnswered)
def _answered(book: CallBook, call: OpenCall, ev: AgentAnswered) -> None:
    record = call.record
    join(call, ev.queue, ev.at - ev.hold_time)
    if call.transfer_pending and record.answered_at is not None:  # transferred to a queue
        record.agent, record.agent_interface = ev.member_name, ev.interface
        call.transfer_pending = False
        return
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


@HANDLERS.on(AgentCompleted)
def _completed(book: CallBook, call: OpenCall, ev: AgentCompleted) -> None:
    record = call.record
    if record.answered_at is None or call.answer_guessed:
        # The connect was missed: it lies talk_time back.
        call.answer_guessed = False
        answered = ev.at - ev.talk_time
        join(call, ev.queue, answered - ev.hold_time)
        record.answered_at = answered
        record.agent = ev.member_name
        call.answer_hold = ev.hold_time
    if call.talk_time is None and ev.reason != "transfer" and not call.transfer_pending:
        call.talk_time = ev.talk_time  # a transferred call talks on after its first agent
    if ev.interface and not record.agent_interface:
        record.agent_interface = ev.interface
