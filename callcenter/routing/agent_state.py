"""Agent state from queue events (pure), with the time spent in each state.

States: offline (in no queue), logged_in (a member, but the phone is unreachable), ready,
ringing, on_call, wrap_up (``wrapup_s`` after a queue call ends), paused (with its reason).
A queue call's states follow its agent events; a call outside the queues (a direct dial
to the agent's phone, an outgoing call) follows the phone's device state instead: ringing
or in use while ready, back to ready when the phone is free (no wrap-up).
``apply(event)`` returns the changes it caused; ``tick(now)`` ends wrap-ups that are due.
Each change closes an interval (agent, state, start, end) for occupancy; closed intervals
go to ``on_closed`` (the database writer), kept in ``intervals`` when there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from callcenter.core.events import (
    AgentAnswered,
    AgentCompleted,
    AgentDumped,
    AgentRinging,
    AgentRingNoAnswer,
    AgentStateChanged,
    Event,
    QueueMemberChanged,
)

State = Literal["offline", "logged_in", "ready", "ringing", "on_call", "wrap_up", "paused"]
UNREACHABLE = frozenset({0, 4, 5})  # unknown, invalid, unavailable device states
# device states of a phone busy outside the queues: in use, busy, ringing, ring+in use, on hold
DEVICE_BUSY: dict[int, State] = {2: "on_call", 3: "on_call", 6: "ringing", 7: "on_call",
                                 8: "on_call"}  # fmt: skip
BUSY_STATES = frozenset({"on_call", "wrap_up"})
# time an agent could take calls: signed in, not paused, phone reachable (not logged_in)
AVAILABLE_STATES = frozenset({"ready", "ringing", "on_call", "wrap_up"})


@dataclass(frozen=True)
class Interval:
    agent: str
    interface: str
    state: str
    reason: str
    start: float
    end: float
    pbx: str = ""

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class AgentStatus:
    interface: str
    agent: str = ""
    state: State = "offline"
    reason: str = ""
    since: float = 0.0
    queues: set[str] = field(default_factory=set)
    paused: bool = False
    pause_reason: str = ""
    reachable: bool = True
    wrap_until: float | None = None
    pbx: str = ""
    by_device: bool = False  # ringing / on_call come from the phone, not from a queue call


class AgentStates:
    def __init__(
        self, wrapup_s: float = 15.0, on_closed: Callable[[Interval], None] | None = None
    ) -> None:
        self.wrapup_s = wrapup_s
        self.agents: dict[str, AgentStatus] = {}  # by interface
        # interfaces with a wrap-up end pending: every event ticks, so it must not walk
        # every agent (hundreds of seats)
        self._wrapping: dict[str, None] = {}
        self.intervals: list[Interval] = []
        self.on_closed: Callable[[Interval], None] = on_closed or self.intervals.append

    def state_of(self, interface: str) -> AgentStatus:
        return self.agents.get(interface) or AgentStatus(interface)

    def by_agent(self) -> dict[str, AgentStatus]:
        return {s.agent or s.interface: s for s in self.agents.values()}

    def _status(self, interface: str, name: str) -> AgentStatus:
        status = self.agents.get(interface)
        if status is None:
            status = self.agents[interface] = AgentStatus(interface, name)
        if name and not status.agent:
            status.agent = name
        return status

    def _idle_state(self, s: AgentStatus) -> tuple[State, str]:
        if not s.queues:
            return "offline", ""
        if not s.reachable:
            return "logged_in", ""
        if s.paused:
            return "paused", s.pause_reason
        return "ready", ""

    def _move(
        self, s: AgentStatus, state: State, reason: str, at: float, pbx: str
    ) -> list[AgentStateChanged]:
        if state == s.state and reason == s.reason:
            return []
        previous, spent = s.state, max(0.0, at - s.since) if s.since else 0.0
        if s.since:
            self._close(s, at)
        if pbx:
            s.pbx = pbx
        s.state, s.reason, s.since = state, reason, at
        return [
            AgentStateChanged(
                pbx=pbx, call_id="", at=at, agent=s.agent or s.interface, interface=s.interface,
                state=state, reason=reason, previous=previous, previous_s=spent,
            )
        ]  # fmt: skip

    def _close(self, s: AgentStatus, at: float) -> None:
        if at > s.since:  # an instant spent in a state adds no time
            self.on_closed(Interval(s.agent or s.interface, s.interface, s.state, s.reason,
                                    s.since, at, s.pbx))  # fmt: skip

    def cut(self, now: float) -> None:
        """Close every open interval at ``now`` (at shutdown), each state carrying on from
        there: what was spent so far is not lost."""
        for s in self.agents.values():
            if s.since and now > s.since:
                self._close(s, now)
                s.since = now

    def open_intervals(self, now: float) -> list[Interval]:
        """The current state of each agent, as an interval up to ``now`` (not closed)."""
        return [
            Interval(s.agent or s.interface, s.interface, s.state, s.reason, s.since, now, s.pbx)
            for s in self.agents.values()
            if s.since and now > s.since
        ]

    def apply(self, event: Event) -> list[AgentStateChanged]:
        changes = self.tick(event.at, event.pbx)
        if isinstance(event, QueueMemberChanged):
            if not event.interface:  # a queue_log pause names the member only
                return changes
            s = self._status(event.interface, event.member_name)
            if event.change == "removed":
                s.queues.discard(event.queue)
            else:
                s.queues.add(event.queue)
                s.paused, s.pause_reason = event.paused, event.paused_reason if event.paused else ""
                if event.change in ("status", "snapshot", "added", "penalty") and event.status:
                    s.reachable = event.status not in UNREACHABLE
                if event.change == "snapshot" and event.in_call:
                    s.by_device = True  # a queue call's AgentComplete still ends it
                    return changes + self._move(s, "on_call", "", event.at, event.pbx)
            if s.state in ("ringing", "on_call", "wrap_up") and s.queues and not s.by_device:
                return changes  # a queue call: its agent events end it
            idle = self._idle_state(s)
            device = DEVICE_BUSY.get(event.status) if event.change != "removed" else None
            if device is not None and idle[0] == "ready":
                s.by_device = True
                return changes + self._move(s, device, "", event.at, event.pbx)
            s.by_device = False
            return changes + self._move(s, *idle, event.at, event.pbx)
        if isinstance(event, AgentRinging):
            s = self._status(event.interface, event.member_name)
            s.by_device = False
            return changes + self._move(s, "ringing", event.queue, event.at, event.pbx)
        if isinstance(event, AgentAnswered):
            s = self._status(event.interface, event.member_name)
            s.wrap_until, s.by_device = None, False
            return changes + self._move(s, "on_call", event.queue, event.at, event.pbx)
        if isinstance(event, AgentCompleted):
            s = self._status(event.interface, event.member_name)
            s.by_device = False
            if self.wrapup_s > 0:
                s.wrap_until = event.at + self.wrapup_s
                self._wrapping[s.interface] = None
                return changes + self._move(s, "wrap_up", event.queue, event.at, event.pbx)
            return changes + self._move(s, *self._idle_state(s), event.at, event.pbx)
        if isinstance(event, AgentRingNoAnswer | AgentDumped):
            s = self._status(event.interface, event.member_name)
            s.by_device = False
            return changes + self._move(s, *self._idle_state(s), event.at, event.pbx)
        return changes

    def tick(self, now: float, pbx: str = "") -> list[AgentStateChanged]:
        """End every wrap-up whose time is up (at the instant it ended)."""
        changes: list[AgentStateChanged] = []
        if not self._wrapping:
            return changes
        for interface in list(self._wrapping):
            s = self.agents[interface]
            if s.wrap_until is None:
                del self._wrapping[interface]
            elif s.state == "wrap_up" and s.wrap_until <= now:
                ended = s.wrap_until
                s.wrap_until = None
                del self._wrapping[interface]
                changes += self._move(s, *self._idle_state(s), ended, pbx)
        return changes

    def time_in_state(self, interface: str, now: float) -> float:
        s = self.agents.get(interface)
        return max(0.0, now - s.since) if s and s.since else 0.0


def time_in_states(intervals: Iterable[Interval], start: float, end: float) -> dict[str, float]:
    """Seconds per state of the intervals' parts inside [start, end)."""
    seconds: dict[str, float] = {}
    for i in intervals:
        overlap = min(i.end, end) - max(i.start, start)
        if overlap > 0:
            seconds[i.state] = seconds.get(i.state, 0.0) + overlap
    return seconds


def occupancy_of(seconds: Mapping[str, float]) -> float | None:
    """Occupancy from seconds per state: time on a call or wrapping up over the time the
    agent could take calls (signed in, minus paused, minus the phone unreachable);
    None when there was no such time."""
    available = sum(seconds.get(state, 0.0) for state in AVAILABLE_STATES)
    busy = sum(seconds.get(state, 0.0) for state in BUSY_STATES)
    return busy / available if available > 0 else None


def occupancy(intervals: Iterable[Interval], start: float, end: float) -> float:
    """``occupancy_of`` the intervals' parts inside [start, end); 0..1 (0 with no time)."""
    return occupancy_of(time_in_states(intervals, start, end)) or 0.0
