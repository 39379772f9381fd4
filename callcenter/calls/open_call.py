"""What the tracker knows about one open call, and how a queue join time is ranked.

Its own module because every way of learning about a call (live, snapshot, durable) fills
this one state, and the join rule decides between what they say.
"""

from __future__ import annotations

from callcenter.core.call_record import CallRecord, Leg
from callcenter.core.events import Event

UP = 6  # AST_STATE_UP
# How a queue join time was learned, worst to best: worked back from a later event, a
# QueueStatus snapshot (whole seconds), queue_log ENTERQUEUE (whole seconds), live AMI.
JOIN_DERIVED, JOIN_SNAPSHOT, JOIN_DURABLE, JOIN_LIVE = 1, 2, 3, 4


class OpenCall:
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
        "heard_live",
        "heard_start",
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
        "transfer_pending",
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
        # Some live event (or a snapshot) told of it; a call only durable lines opened is
        # told by nobody else, so those lines keep being applied (tracker.follows).
        self.heard_live = False
        # Its first channel's creation came live: nothing of it happened unheard, so once
        # ended live, durable lines have nothing to add (else they may: tracker._finish).
        self.heard_start = False
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
        self.join_quality = 0  # how the join time was learned: see JOIN_*
        self.untimed = False  # some live event had no Timestamp: trust Asterisk's counters
        self.dial_answer: tuple[float, str] | None = None  # (when, interface) of a direct Dial
        # Transferred away from its agent: the next seat to answer it is its agent.
        self.transfer_pending = False


def join(call: OpenCall, queue: str, at: float, quality: int = JOIN_DERIVED) -> None:
    """Set the queue join time; a better-founded source replaces an estimate. A caller
    can wait in two queues (a zone's, then the general one): the first queue's join,
    live or from queue_log, is the call's, whichever of them was learned first."""
    record = call.record
    joined = record.queue_joined_at
    earlier_queue = (
        joined is not None
        and queue != record.queue
        and quality >= JOIN_DURABLE
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


def channel_device(channel: str) -> str:
    """The device of a channel name: PJSIP/1030-0000002a -> PJSIP/1030,
    Local/1001@agents-00000001;1 -> Local/1001@agents."""
    name = channel.split(";", 1)[0]
    base, dash, suffix = name.rpartition("-")
    if dash and len(suffix) == 8 and all(c in "0123456789abcdef" for c in suffix):
        return base
    return name
