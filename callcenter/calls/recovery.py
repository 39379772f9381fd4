"""How a resync rebuilds calls: channel and queue snapshots of what is up now, the CDR rows
of what ended meanwhile, and when a call that ended unseen ended.

Its own module because these facts arrive late and coarse (whole seconds, "answered by the
time of the snapshot"): they create or refresh calls and fill gaps, never overrule the live.
Handlers take the call book and the open call, as ``live_events.py``'s do.
"""

from __future__ import annotations

from callcenter.calls.handling import CallBook, EventHandlers
from callcenter.calls.open_call import (
    JOIN_SNAPSHOT,
    UP,
    OpenCall,
    channel_device,
    join,
)
from callcenter.calls.outcome import BLOCKED_CDR
from callcenter.core.events import CallDetail, ChannelSnapshot, QueueEntrySnapshot

HANDLERS = EventHandlers()


@HANDLERS.on(ChannelSnapshot)
def _channel_snapshot(book: CallBook, call: OpenCall, ev: ChannelSnapshot) -> None:
    ch = ev.channel_id
    at = ev.at or book.latest_at
    leg = book.register_channel(call, ch, ev.channel, at - ev.duration_s)
    if ev.state == UP and leg.answered_at is None and call.record.origin == "recovered":
        leg.answered_at = leg.started_at
    call.live.add(ch)
    call.snapshot_alive = True
    record = call.record
    if record.origin == "recovered" and at - ev.duration_s < record.started_at:
        record.started_at = at - ev.duration_s
    if not call.first_channel or ch == record.call_id:
        book.set_origin(call, ch, ev.context, ev.exten)
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


@HANDLERS.on(QueueEntrySnapshot)
def _entry_snapshot(book: CallBook, call: OpenCall, ev: QueueEntrySnapshot) -> None:
    join(call, ev.queue, (ev.at or book.latest_at) - ev.wait, JOIN_SNAPSHOT)
    call.caller_side.add(ev.channel_id)


@HANDLERS.on(CallDetail)
def _call_detail(book: CallBook, call: OpenCall, ev: CallDetail) -> None:
    record = call.record
    ch = ev.channel_id
    if ch:
        leg = book.register_channel(call, ch, ev.channel, ev.start)
        if leg.answered_at is None and ev.answer:
            leg.answered_at = ev.answer
        if leg.ended_at is None and ev.end:
            leg.ended_at = ev.end
    if ev.userfield.startswith("dnis:") and not record.hotline:
        record.hotline = ev.userfield[5:]
    if ev.disposition in BLOCKED_CDR:
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
        call.dial_answer = (ev.answer, channel_device(ev.dest_channel))
    if not call.first_channel and ch == record.call_id:
        book.set_origin(call, ch, ev.dcontext, "")
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


def recovered_end(call: OpenCall) -> float:
    """When a call that ended unseen ended: the latest end its records or events show."""
    ends = [leg.ended_at for leg in call.legs.values() if leg.ended_at is not None]
    if call.cdr_end is not None:
        ends.append(call.cdr_end)
    return max(ends, default=call.last_at) if ends else call.last_at
