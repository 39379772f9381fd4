"""Per-agent figures that mean something for one agent (pure): calls offered to them
(rung), answered, ring-no-answer, AHT, occupancy, pause time and their QA average.

An agent cannot "abandon" a call, so an answer rate per agent is no figure at all (every
agent would show 100 %); calls nobody answered belong to their queue, not to an agent.

Sources: the agent-state intervals routing keeps (a ring of a queue call is a ``ringing``
interval whose reason is the queue; the agent answered that ring when their next interval
on the same phone is ``on_call`` from the instant the ring ended), the calls each agent
answered (their ``Tally``) and the QA sheets of their calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from callcenter.metrics.kpis import Tally
from callcenter.routing.agent_state import occupancy_of

__all__ = ["AgentFigures", "QaMean", "StateSpan", "agent_figures"]


class StateSpan(Protocol):
    """One closed agent-state interval (``routing.store.StoredInterval`` fits)."""

    @property
    def pbx(self) -> str: ...
    @property
    def agent(self) -> str: ...
    @property
    def interface(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def started(self) -> float: ...
    @property
    def ended(self) -> float: ...


@dataclass(frozen=True, slots=True)
class QaMean:
    sheets: int
    mean: float  # percent of the maximum points


@dataclass(slots=True)
class AgentFigures:
    agent: str
    rung: int = 0  # queue calls that rang this agent's phone (each ring counts)
    ring_no_answer: int = 0  # of those rings, the ones this agent did not answer
    tally: Tally = field(default_factory=Tally)  # the calls this agent answered
    seconds: dict[str, float] = field(default_factory=dict)  # time per agent state
    qa: QaMean | None = None

    @property
    def answered(self) -> int:
        return self.tally.answered

    @property
    def aht_s(self) -> float | None:
        return self.tally.aht_s

    @property
    def occupancy(self) -> float | None:
        return occupancy_of(self.seconds)

    @property
    def paused_s(self) -> float:
        return self.seconds.get("paused", 0.0)

    @property
    def signed_in_s(self) -> float:
        return sum(v for state, v in self.seconds.items() if state != "offline")

    def as_dict(self) -> dict[str, Any]:
        occupancy = self.occupancy
        return {
            "agent": self.agent,
            "rung": self.rung,
            "answered": self.answered,
            "ring_no_answer": self.ring_no_answer,
            "aht_s": None if self.aht_s is None else round(self.aht_s, 1),
            "occupancy": None if occupancy is None else round(occupancy, 4),
            "paused_s": round(self.paused_s, 1),
            "signed_in_s": round(self.signed_in_s, 1),
            "qa_mean": None if self.qa is None else self.qa.mean,
            "qa_sheets": 0 if self.qa is None else self.qa.sheets,
        }


def agent_figures(
    *,
    since: float,
    until: float,
    spans: Iterable[StateSpan],
    answered: Mapping[str, Tally],
    qa: Mapping[str, QaMean],
) -> list[AgentFigures]:
    """One row per agent with any ring, answered call, signed-in time or QA sheet in
    [since, until), by agent. Rings count where they start; time is clipped to the range."""
    rows: dict[str, AgentFigures] = {}

    def row(agent: str) -> AgentFigures:
        found = rows.get(agent)
        if found is None:
            found = rows[agent] = AgentFigures(agent)
        return found

    by_phone: dict[tuple[str, str], list[StateSpan]] = {}
    for span in spans:
        by_phone.setdefault((span.pbx, span.interface), []).append(span)
        overlap = min(span.ended, until) - max(span.started, since)
        if overlap > 0 and span.state != "offline":
            seconds = row(span.agent).seconds
            seconds[span.state] = seconds.get(span.state, 0.0) + overlap
    for phone_spans in by_phone.values():
        phone_spans.sort(key=lambda s: s.started)
        for ring, following in _rings(phone_spans):
            if not ring.reason or not since <= ring.started < until:
                continue  # a ring of a call from outside the queues is not an offer
            agent = row(ring.agent)
            agent.rung += 1
            if following is None or following.state != "on_call":
                agent.ring_no_answer += 1
    for name, tally in answered.items():
        if name:  # calls nobody answered are their queue's, shown by queue
            row(name).tally.merge(tally)
    for name, mean in qa.items():
        if name:
            row(name).qa = mean
    return [rows[name] for name in sorted(rows)]


def _rings(spans: list[StateSpan]) -> Iterable[tuple[StateSpan, StateSpan | None]]:
    """Each ring of one phone (time-ordered spans) with the span right after it, if one
    follows without a gap. A ring cut in two (the service stopped and went on) is one."""
    index = 0
    while index < len(spans):
        first = last = spans[index]
        index += 1
        if first.state != "ringing":
            continue
        while (
            index < len(spans)
            and _touches(last, spans[index])
            and (spans[index].state == "ringing" and spans[index].reason == first.reason)
        ):
            last = spans[index]
            index += 1
        following = spans[index] if index < len(spans) else None
        yield first, following if following is not None and _touches(last, following) else None


def _touches(before: StateSpan, after: StateSpan) -> bool:
    return abs(after.started - before.ended) < 1e-6


def qa_means(sheets: Iterable[tuple[str, float]]) -> dict[str, QaMean]:
    """(agent, total %) per sheet -> each agent's number of sheets and mean total."""
    totals: dict[str, list[float]] = {}
    for agent, total in sheets:
        totals.setdefault(agent, []).append(total)
    return {a: QaMean(len(t), round(sum(t) / len(t), 2)) for a, t in totals.items()}
