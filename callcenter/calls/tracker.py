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

This module keeps what spans calls (which call an event belongs to, which calls ended, the
resync's bookkeeping); ``open_call.py`` is one call's state and the join ranking,
``live_events.py`` and ``recovery.py`` apply the live and the resync/durable events (through
the small call book of ``handling.py``, which the tracker is), and
``outcome.py`` derives the outcome when a call ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

from callcenter.calls import live_events, recovery
from callcenter.calls.handling import EventHandlers
from callcenter.calls.open_call import OpenCall
from callcenter.calls.outcome import finalize
from callcenter.calls.recovery import recovered_end
from callcenter.core.call_record import CallRecord, Leg
from callcenter.core.events import (
    AgentAnswered,
    AgentRinging,
    CallDetail,
    ChannelCreated,
    ChannelSnapshot,
    Event,
    LinkUp,
    QueueMemberChanged,
    ResyncCompleted,
)

__all__ = ["CallFollowing", "CallTracker"]

CallFollowing = Literal["open", "ended", "rebuilt", "unknown"]

_DURABLE = frozenset({"queue_log", "cdr"})
_HEARD_LIVE = frozenset({"ami", "resync"})
_CORRECTABLE_MEMORY = 10_000  # calls closed by a resync that durable rows may still correct


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
        self._open: dict[str, OpenCall] = {}
        self._channel_call: dict[str, str] = {}  # channel id -> call id, open calls
        # Ended calls: every key (call id and channel ids) -> call id, bounded by call.
        self._finished: dict[str, str] = {}
        self._finished_order: deque[tuple[str, ...]] = deque()
        self._correctable: dict[str, OpenCall] = {}
        self._finished_count = 0
        self._latest_at = 0.0  # the latest event time seen: the fallback for unstamped events
        self._resync_candidates: set[str] | None = None  # None: every open call
        self._members: dict[str, str] = {}  # interface -> queue member name, as last seen

    # --- public ---------------------------------------------------------------------------

    @property
    def finished_count(self) -> int:
        return self._finished_count

    def open_calls(self) -> list[CallRecord]:
        return [_copy(call.record) for call in self._open.values()]

    def open_call(self, call_id: str) -> CallRecord | None:
        """A copy of an open call's record so far, or None."""
        call = self._open.get(call_id)
        return _copy(call.record) if call is not None else None

    def placed(self, ids: Iterable[str]) -> dict[str, str]:
        """The call each id (a channel's Uniqueid, or a call id) belongs to, for the ids
        this tracker has seen in a call, open or ended."""
        found: dict[str, str] = {}
        for key in ids:
            call_id = (
                key if key in self._open else self._channel_call.get(key) or self._finished.get(key)
            )
            if call_id:
                found[key] = call_id
        return found

    def follows(self, call_id: str) -> CallFollowing:
        """How this tracker knows a call: "open"; "ended" (as the live events or the store
        had it: durable records tell nothing new); "rebuilt" (closed from a resync or
        durable records: later durable lines may still correct it); or "unknown"."""
        call = self._open.get(call_id)
        if call is not None:
            return "open" if call.heard_live else "rebuilt"
        if call_id in self._correctable:
            return "rebuilt"
        return "ended" if call_id in self._finished else "unknown"

    def is_open(self, call_id: str) -> bool:
        return call_id in self._open

    def remember_ended(self, call_id: str, ids: Iterable[str]) -> None:
        """A call stored as ended before this tracker started (a restart): its records,
        read again, change nothing. Ids already open here are left alone."""
        if call_id in self._open:
            return
        keys = tuple(k for k in {call_id, *ids} if k not in self._channel_call)
        for key in keys:
            self._finished[key] = call_id
        self._finished_order.append(keys)
        self._forget_oldest()

    def apply(self, event: Event) -> list[CallRecord]:
        if self._pbx_filter is not None and event.pbx != self._pbx_filter:
            return []
        if (
            isinstance(event, AgentRinging | AgentAnswered | QueueMemberChanged)
            and event.interface
            and event.member_name
        ):  # who a seat is: a transferred call's new agent is named by it
            self._members[event.interface] = event.member_name
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
        if at > self._latest_at:
            self._latest_at = at
        call = self._call_for(event)
        if call is None:
            return []
        if event in call.seen:
            return []
        call.seen.add(event)
        if event.source in _HEARD_LIVE:
            call.heard_live = True
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
            # A call pieced together after a cut, or whose beginning went unheard (it began
            # while the service was down), may still learn from durable rows.
            correct = call.record.origin == "recovered" or not call.heard_start
            return [self._finish(call, call.last_at if at == 0.0 else at, correct=correct)]
        if (
            type(event) is CallDetail
            and event.source == "cdr"
            and event.channel_id == call.first_channel
            and not call.snapshot_alive
        ):
            return [self._finish(call, recovered_end(call), correct=True)]
        return []

    # --- finding the call -----------------------------------------------------------------

    def _call_for(self, event: Event) -> OpenCall | None:
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

    def _open_call(self, event: Event) -> OpenCall:
        recovered = event.source != "ami"
        started = event.at if event.at else self._latest_at
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
        call = OpenCall(record)
        call.heard_start = type(event) is ChannelCreated and not recovered
        self._open[event.call_id] = call
        return call

    # --- the call book the handlers use (``handling.CallBook``) ----------------------------

    @property
    def latest_at(self) -> float:
        return self._latest_at

    def register_channel(self, call: OpenCall, channel_id: str, channel: str, at: float) -> Leg:
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

    def member_name(self, interface: str) -> str:
        return self._members.get(interface, "")

    def set_origin(self, call: OpenCall, channel_id: str, context: str, exten: str) -> None:
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

    # --- resync and ending ----------------------------------------------------------------

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
            done.append(self._finish(call, recovered_end(call), correct=True))
        return done

    def _finish(self, call: OpenCall, ended_at: float, *, correct: bool = False) -> CallRecord:
        call_id = call.record.call_id
        del self._open[call_id]
        for ch in call.legs:
            self._channel_call.pop(ch, None)
        keys = (call_id, *call.channels)
        for key in keys:
            self._finished[key] = call_id
        self._finished_order.append(keys)
        self._forget_oldest()
        self._finished_count += 1
        record = finalize(call, ended_at, self._short_abandon_s)
        if correct:
            self._correctable[call_id] = call
            if len(self._correctable) > _CORRECTABLE_MEMORY:
                del self._correctable[next(iter(self._correctable))]
            return _copy(record)
        return record

    def _forget_oldest(self) -> None:
        while len(self._finished_order) > self._memory:
            for key in self._finished_order.popleft():
                self._finished.pop(key, None)

    def _correct(self, call: OpenCall, before: CallRecord | None) -> list[CallRecord]:
        """A durable event for a call a resync closed: re-derive, return it if it changed."""
        after = finalize(call, recovered_end(call), self._short_abandon_s)
        return [] if after == before else [_copy(after)]


def _copy(record: CallRecord) -> CallRecord:
    return replace(record, legs=[replace(leg) for leg in record.legs])


_HANDLERS = EventHandlers(live_events.HANDLERS, recovery.HANDLERS)
