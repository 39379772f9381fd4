"""Screen-pops, decided from the event stream alone (pure: no clock, no sockets).

Feed every event in order to ``Popper.apply``; it returns what each seat's screen should
now show. A seat pops when it starts ringing for a caller: AgentCalled (``AgentRinging``)
or a DialBegin (``DialStarted``) toward the seat's interface. The card then follows the
call: answered at that seat, missed (rang out, or another seat took it), ended (hangup).
A caller whose number matches no owner pops as a new caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from callcenter.core.events import (
    AgentAnswered,
    AgentDumped,
    AgentRinging,
    AgentRingNoAnswer,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    DialEnded,
    DialStarted,
    DtmfReceived,
    Event,
    QueueAbandoned,
    QueueEntrySnapshot,
    QueueJoined,
    QueueTimedOut,
    ResyncCompleted,
)
from callcenter.cti.owners import Owner

PopState = Literal["ringing", "answered", "missed", "ended"]
Lookup = Callable[[str], Sequence[Owner]]


@dataclass(frozen=True)
class PopUpdate:
    interface: str  # the seat, e.g. PJSIP/1001
    pbx: str
    call_id: str
    state: PopState
    at: float
    card: dict[str, Any]

    @property
    def first(self) -> bool:
        """The seat has just started ringing for this call (the moment to look more up)."""
        return self.state == "ringing"

    def frame(self) -> dict[str, Any]:
        return {"type": "pop", "state": self.state, "at": self.at, **self.card}


@dataclass
class _Call:
    pbx: str
    call_id: str
    started_at: float
    caller_channel_id: str = ""
    caller_number: str = ""
    caller_name: str = ""
    hotline: str = ""
    queue: str = ""
    joined_at: float | None = None
    answered_at: float | None = None
    digits: list[str] = field(default_factory=list)
    seats: dict[str, PopState] = field(default_factory=dict)  # interface -> state
    seat_channels: dict[str, str] = field(default_factory=dict)  # channel id -> interface
    owners: tuple[Owner, ...] | None = None


def seat_of(channel: str) -> str:
    """The interface a channel belongs to: ``PJSIP/1001-0000002a`` -> ``PJSIP/1001``,
    ``Local/1001@agents-00000003;1`` -> ``Local/1001@agents``."""
    base = channel.rsplit(";", 1)[0] if channel.startswith("Local/") else channel
    name, sep, suffix = base.rpartition("-")
    return name if sep and suffix and all(c in "0123456789abcdef" for c in suffix) else base


class Popper:
    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._calls: dict[tuple[str, str], _Call] = {}

    def open_calls(self) -> int:
        return len(self._calls)

    def apply(self, event: Event) -> list[PopUpdate]:
        key = (event.pbx, event.call_id)
        call = self._calls.get(key)
        if isinstance(event, ResyncCompleted):
            return self._resync(event)
        if call is None:
            if not isinstance(
                event, ChannelCreated | QueueJoined | QueueEntrySnapshot | AgentRinging
            ):
                return []
            call = self._calls[key] = _Call(event.pbx, event.call_id, event.at)
        return self._apply(call, event)

    def _apply(self, call: _Call, event: Event) -> list[PopUpdate]:
        if isinstance(event, ChannelCreated):
            if not call.caller_channel_id:
                call.caller_channel_id = event.channel_id
                call.caller_number = event.caller_number
                call.caller_name = event.caller_name
                call.hotline = event.exten
                call.started_at = event.at
        elif isinstance(event, CallerIdChanged):
            if event.channel_id == call.caller_channel_id and event.caller_number:
                call.caller_number, call.caller_name = event.caller_number, event.caller_name
                call.owners = None
        elif isinstance(event, DtmfReceived):
            if event.channel_id not in call.seat_channels:  # the caller's, not the agent's
                call.digits.append(event.digit)
        elif isinstance(event, QueueJoined | QueueEntrySnapshot):
            call.queue = event.queue
            if call.joined_at is None:
                call.joined_at = event.at - (
                    event.wait if isinstance(event, QueueEntrySnapshot) else 0
                )
            if event.caller_number and not call.caller_number:
                call.caller_number = event.caller_number
            call.caller_channel_id = call.caller_channel_id or event.channel_id
        elif isinstance(event, AgentRinging):
            if event.dest_channel_id:
                call.seat_channels[event.dest_channel_id] = event.interface
            return self._set(call, event.interface, "ringing", event.at)
        elif isinstance(event, DialStarted):
            # A dial toward a seat that no queue announced (a ring group, a direct transfer);
            # an originated call (no dialling channel) is the seat's own outgoing call.
            if not event.channel or not call.caller_channel_id:
                return []
            seat = seat_of(event.dest_channel)
            call.seat_channels[event.dest_channel_id] = seat
            return self._set(call, seat, "ringing", event.at)
        elif isinstance(event, DialEnded):
            seat = call.seat_channels.get(event.dest_channel_id, "")
            if seat and event.dial_status != "ANSWER":
                return self._set(call, seat, "missed", event.at)
            if seat:
                return self._answered(call, seat, event.at)
        elif isinstance(event, AgentAnswered):
            return self._answered(call, event.interface, event.at)
        elif isinstance(event, AgentRingNoAnswer):
            return self._set(call, event.interface, "missed", event.at)
        elif isinstance(event, AgentDumped):
            return self._set(call, event.interface, "ended", event.at)
        elif isinstance(event, QueueAbandoned | QueueTimedOut):
            return [u for s in self._ringing(call) for u in self._set(call, s, "missed", event.at)]
        elif isinstance(event, ChannelHungUp):
            if event.channel_id == call.caller_channel_id:
                return self._end(call, event.at)
            hung = call.seat_channels.get(event.channel_id, "")
            if hung and call.seats.get(hung) == "answered":
                return self._set(call, hung, "ended", event.at)
        return []

    def _ringing(self, call: _Call) -> list[str]:
        return [seat for seat, state in call.seats.items() if state == "ringing"]

    def _answered(self, call: _Call, seat: str, at: float) -> list[PopUpdate]:
        updates = self._set(call, seat, "answered", at)
        if call.answered_at is None:
            call.answered_at = at
        for other in self._ringing(call):
            updates += self._set(call, other, "missed", at)  # someone else took it
        return updates

    def _end(self, call: _Call, at: float) -> list[PopUpdate]:
        updates = [
            self._update(call, seat, "ended", at)
            for seat, state in call.seats.items()
            if state in ("ringing", "answered")
        ]
        del self._calls[(call.pbx, call.call_id)]
        return updates

    def _resync(self, event: ResyncCompleted) -> list[PopUpdate]:
        """Calls that ended while the link was down end on screen too."""
        live = set(event.live_channel_ids)
        updates: list[PopUpdate] = []
        for call in list(self._calls.values()):
            if call.pbx == event.pbx and call.caller_channel_id not in live:
                updates += self._end(call, event.at)
        return updates

    def _set(self, call: _Call, seat: str, state: PopState, at: float) -> list[PopUpdate]:
        previous = call.seats.get(seat)
        if previous == state or (previous is None and state not in ("ringing", "answered")):
            return []
        if previous in ("missed", "ended") and state != "ringing":
            return []
        call.seats[seat] = state
        return [self._update(call, seat, state, at)]

    def _update(self, call: _Call, seat: str, state: PopState, at: float) -> PopUpdate:
        if call.owners is None:
            call.owners = tuple(self._lookup(call.caller_number)) if call.caller_number else ()
        waited_from = call.joined_at if call.joined_at is not None else call.started_at
        card = {
            "pbx": call.pbx,
            "call_id": call.call_id,
            "interface": seat,
            "caller_number": call.caller_number,
            "caller_name": call.caller_name,
            "hotline": call.hotline,
            "queue": call.queue,
            "ivr_digits": "".join(call.digits),
            "started_at": call.started_at,
            "queue_joined_at": call.joined_at,
            "wait_s": round(max(0.0, (call.answered_at or at) - waited_from), 1),
            "known": bool(call.owners),
            "owners": [owner.to_dict() for owner in call.owners],
        }
        return PopUpdate(seat, call.pbx, call.call_id, state, at, card)
