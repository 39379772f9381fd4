"""When a call ends: its outcome (answered, voicemail, abandoned, short abandon, blocked,
IVR only) and its durations, derived from everything the call gathered.

Its own module because these are the rules the reports count by, kept apart from how the
facts were learned; a call closed by a resync is derived again when a durable row corrects it.
"""

from __future__ import annotations

from callcenter.calls.open_call import OpenCall
from callcenter.core.call_record import CallRecord, Outcome

BLOCKED_CAUSES = frozenset({34, 42, 44})  # circuit/switch congestion, channel unavailable
BLOCKED_DIAL = frozenset({"CONGESTION", "CHANUNAVAIL"})
BLOCKED_CDR = frozenset({"CONGESTION", "FAILED"})


def finalize(call: OpenCall, ended_at: float, short_abandon_s: float) -> CallRecord:
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
        r.talk_s = float(call.talk_time) if call.talk_time is not None else ended_at - r.answered_at
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
        # A queue timeout is the queue's doing, never a short abandon. The wait is counted
        # in whole seconds, as app_queue counts it, so queue_log gives the same verdict.
        caller_left = call.timed_out_at is None or call.abandoned_at is not None
        counted = r.wait_s
        if joined is not None and not (call.untimed and hold):
            counted = float(int(left) - int(joined))
        if caller_left and counted < short_abandon_s:
            outcome = "short_abandon"
    elif _blocked(call):
        outcome = "blocked"
    else:
        outcome = "ivr_only"
    r.outcome = outcome
    return r


def _blocked(call: OpenCall) -> bool:
    if call.cdr_disposition in BLOCKED_CDR:
        return True
    first = call.legs.get(call.first_channel)
    if first is not None and first.answered_at is not None:
        return False
    return call.blocked_hint or call.first_cause in BLOCKED_CAUSES
