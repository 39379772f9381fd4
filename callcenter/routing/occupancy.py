"""Occupancy per agent over a range (pure), from the seconds spent in each state.

Occupancy = time on a call or wrapping up / time the agent could take calls, which is the
time signed in minus paused minus the phone unreachable (``ready``, ``ringing``,
``on_call``, ``wrap_up``). An agent with no such time has no occupancy (None), not 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from callcenter.routing.agent_state import AVAILABLE_STATES, BUSY_STATES, occupancy_of

STATES = ("ready", "ringing", "on_call", "wrap_up", "paused", "logged_in")


@dataclass(frozen=True)
class AgentOccupancy:
    """One agent's time over a range; ``occupancy`` is None when it had no available time."""

    agent: str
    seconds: dict[str, float]  # per state

    @property
    def busy_s(self) -> float:
        return sum(self.seconds.get(s, 0.0) for s in BUSY_STATES)

    @property
    def available_s(self) -> float:
        return sum(self.seconds.get(s, 0.0) for s in AVAILABLE_STATES)

    @property
    def signed_in_s(self) -> float:
        return sum(v for s, v in self.seconds.items() if s != "offline")

    @property
    def occupancy(self) -> float | None:
        return occupancy_of(self.seconds)

    def as_dict(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            **{f"{s}_s": round(self.seconds.get(s, 0.0), 3) for s in STATES},
            "busy_s": round(self.busy_s, 3),
            "available_s": round(self.available_s, 3),
            "signed_in_s": round(self.signed_in_s, 3),
            "occupancy": None if self.occupancy is None else round(self.occupancy, 4),
        }


def summarize(seconds: dict[str, dict[str, float]]) -> list[AgentOccupancy]:
    """Agents with any signed-in time, by agent id."""
    return [
        AgentOccupancy(agent, dict(states))
        for agent, states in sorted(seconds.items())
        if any(v > 0 for s, v in states.items() if s != "offline")
    ]


def total(rows: list[AgentOccupancy]) -> AgentOccupancy:
    """Every agent's time together (agent ""): the team's occupancy."""
    summed: dict[str, float] = {}
    for row in rows:
        for state, value in row.seconds.items():
            summed[state] = summed.get(state, 0.0) + value
    return AgentOccupancy("", summed)


MAX_OCCUPANCY_DAYS = 366
OCCUPANCY_DEFINITION = {
    "zh": "占用率 = (通话 + 话后处理) / (签入时间 - 小休 - 话机不可用)",
    "en": "occupancy = (on call + wrap-up) / (signed in - paused - phone unreachable)",
}


def parse_moment(text: str, zone: tzinfo) -> float:
    """A local date (its midnight) or date and time, in the hotline's zone; ValueError."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
    moment = datetime.fromisoformat(text)
    return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).timestamp()


def occupancy_range(
    first: str | None, last: str | None, now: float, zone: tzinfo
) -> tuple[float, float]:
    """[from, to) from the query: default today's midnight to now; ValueError names why."""
    if first is None:
        today = datetime.fromtimestamp(now, zone).date()
        start = datetime(today.year, today.month, today.day, tzinfo=zone).timestamp()
    else:
        try:
            start = parse_moment(first, zone)
        except ValueError:
            raise ValueError("from") from None
    try:
        end = now if last is None else parse_moment(last, zone)
    except ValueError:
        raise ValueError("to") from None
    if end <= start:
        raise ValueError("order")
    if end - start > timedelta(days=MAX_OCCUPANCY_DAYS).total_seconds():
        raise ValueError("span")
    return start, end
