"""Per-agent figures from the database (adapter): the agent-state intervals routing keeps,
the calls each agent answered and the QA sheets of their recordings, handed to
``agent_figures``."""

from __future__ import annotations

from sqlalchemy import Engine

from callcenter.metrics.agent_figures import AgentFigures, agent_figures, qa_means
from callcenter.metrics.kpis import Tally, Thresholds
from callcenter.metrics.store import aggregate
from callcenter.recordings.store import RecordingStore
from callcenter.routing.store import AgentTimeStore

__all__ = ["AgentFiguresStore"]


class AgentFiguresStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._times = AgentTimeStore(engine)
        self._recordings = RecordingStore(engine)

    def figures(self, since: float, until: float, thresholds: Thresholds) -> list[AgentFigures]:
        """Every agent's figures over [since, until) (synchronous: run it in a thread)."""
        with self.engine.connect() as conn:
            buckets = aggregate(conn, since, until, "agent", thresholds)
        answered: dict[str, Tally] = {}
        for (_bucket, agent), tally in buckets.items():
            answered.setdefault(agent, Tally()).merge(tally)
        sheets = self._recordings.qa_rows(since, until)
        return agent_figures(
            since=since,
            until=until,
            spans=self._times.intervals(since, until),
            answered=answered,
            qa=qa_means((s["agent"], s["total"]) for s in sheets),
        )
