"""Agent state from queue events (pure), with the time spent in each state.

States: offline (in no queue), logged_in (a member, but the phone is unreachable), ready,
ringing, on_call, wrap_up (``wrapup_s`` after a call ends), paused (with its reason).
``apply(event)`` returns the changes it caused; ``tick(now)`` ends wrap-ups that are due.
Each change closes an interval (agent, state, start, end) for occupancy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from callcenter.events import (
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
BUSY_STATES = frozenset({"on_call", "wrap_up"})


@dataclass(frozen=True)
class Interval:
    agent: str
    interface: str
    state: str
    reason: str
    start: float
    end: float

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


class AgentStates:
    def __init__(self, wrapup_s: float = 15.0) -> None:
        self.wrapup_s = wrapup_s
        self.agents: dict[str, AgentStatus] = {}  # by interface
        self.intervals: list[Interval] = []

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
            self.intervals.append(Interval(s.agent, s.interface, s.state, s.reason, s.since, at))
        s.state, s.reason, s.since = state, reason, at
        return [
            AgentStateChanged(
                pbx=pbx, call_id="", at=at, agent=s.agent or s.interface, interface=s.interface,
                state=state, reason=reason, previous=previous, previous_s=spent,
            )
        ]  # fmt: skip

    def apply(self, event: Event) -> list[AgentStateChanged]:
        changes = self.tick(event.at, event.pbx)
        if isinstance(event, QueueMemberChanged):
            s = self._status(event.interface, event.member_name)
            if event.change == "removed":
                s.queues.discard(event.queue)
            else:
                s.queues.add(event.queue)
                s.paused, s.pause_reason = event.paused, event.paused_reason if event.paused else ""
                if event.change in ("status", "snapshot", "added") and event.status:
                    s.reachable = event.status not in UNREACHABLE
                if event.change == "snapshot" and event.in_call:
                    return changes + self._move(s, "on_call", "", event.at, event.pbx)
            if s.state in ("ringing", "on_call", "wrap_up") and s.queues:
                return changes
            return changes + self._move(s, *self._idle_state(s), event.at, event.pbx)
        if isinstance(event, AgentRinging):
            s = self._status(event.interface, event.member_name)
            return changes + self._move(s, "ringing", event.queue, event.at, event.pbx)
        if isinstance(event, AgentAnswered):
            s = self._status(event.interface, event.member_name)
            s.wrap_until = None
            return changes + self._move(s, "on_call", event.queue, event.at, event.pbx)
        if isinstance(event, AgentCompleted):
            s = self._status(event.interface, event.member_name)
            if self.wrapup_s > 0:
                s.wrap_until = event.at + self.wrapup_s
                return changes + self._move(s, "wrap_up", event.queue, event.at, event.pbx)
            return changes + self._move(s, *self._idle_state(s), event.at, event.pbx)
        if isinstance(event, AgentRingNoAnswer | AgentDumped):
            s = self._status(event.interface, event.member_name)
            return changes + self._move(s, *self._idle_state(s), event.at, event.pbx)
        return changes

    def tick(self, now: float, pbx: str = "") -> list[AgentStateChanged]:
        """End every wrap-up whose time is up (at the instant it ended)."""
        changes: list[AgentStateChanged] = []
        for s in self.agents.values():
            if s.state == "wrap_up" and s.wrap_until is not None and s.wrap_until <= now:
                ended = s.wrap_until
                s.wrap_until = None
                changes += self._move(s, *self._idle_state(s), ended, pbx)
        return changes

    def time_in_state(self, interface: str, now: float) -> float:
        s = self.agents.get(interface)
        return max(0.0, now - s.since) if s and s.since else 0.0


def occupancy(intervals: Iterable[Interval], start: float, end: float) -> float:
    """Busy (on a call or wrapping up) over signed-in time within [start, end); 0..1."""
    busy = signed_in = 0.0
    for i in intervals:
        overlap = min(i.end, end) - max(i.start, start)
        if overlap <= 0 or i.state == "offline":
            continue
        signed_in += overlap
        if i.state in BUSY_STATES:
            busy += overlap
    return busy / signed_in if signed_in else 0.0
