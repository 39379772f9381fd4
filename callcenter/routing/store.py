"""Agent-state time (synchronous SQLAlchemy Core): one row per closed state interval.

``agent_state_intervals`` holds what ``AgentStates`` closes: who (agent id or member name,
and the interface), which state and why, from when to when, on which PBX. Occupancy and
time-in-state reports sum the part of each interval inside a range. A row is keyed by
(pbx, interface, started): one interface is in one state at a time, so writing the same
interval twice leaves one row. Intervals longer than a day (an agent offline over a weekend)
are stored in day-long pieces, so a range read only looks one day back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Double,
    Engine,
    Index,
    Insert,
    Integer,
    String,
    UniqueConstraint,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db.base import Base


class AgentStateIntervalRow(Base):
    __tablename__ = "agent_state_intervals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pbx: Mapped[str] = mapped_column(String)
    agent: Mapped[str] = mapped_column(String)  # agent id (MemberName), else the interface
    interface: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String)  # callcenter.routing.agent_state.State
    reason: Mapped[str] = mapped_column(String)  # pause reason, or the queue of a call
    started: Mapped[float] = mapped_column(Double)  # epoch seconds
    ended: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        UniqueConstraint("pbx", "interface", "started"),
        # a range read finds the rows starting before its end; ended > from filters the rest
        Index("ix_agent_state_intervals_started", "started"),
        Index("ix_agent_state_intervals_agent_started", "agent", "started"),
    )


intervals_table = Base.metadata.tables["agent_state_intervals"]

# the longest row: a range read looks this far back for rows still open at its start
MAX_INTERVAL_S = 86400.0


@dataclass(frozen=True)
class StoredInterval:
    pbx: str
    agent: str
    interface: str
    state: str
    reason: str
    started: float
    ended: float


@dataclass(frozen=True)
class StateTime:
    """Seconds an agent spent in one state inside a range."""

    agent: str
    state: str
    seconds: float


class AgentTimeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def insert(self, intervals: Sequence[StoredInterval]) -> int:
        """Write the intervals in one transaction; one already stored is left as it is."""
        if not intervals:
            return 0
        rows = [
            {
                "pbx": i.pbx, "agent": i.agent, "interface": i.interface, "state": i.state,
                "reason": i.reason, "started": lo, "ended": hi,
            }
            for i in intervals
            for lo, hi in _pieces(i.started, i.ended)
        ]  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(_insert_new(connection.dialect.name), rows)
        return len(rows)

    def time_by_state(
        self, start: float, end: float, agents: Iterable[str] = ()
    ) -> list[StateTime]:
        """Seconds per (agent, state) of the intervals' parts inside [start, end)."""
        t = intervals_table
        lo = case((t.c.started < start, literal(start)), else_=t.c.started)
        hi = case((t.c.ended > end, literal(end)), else_=t.c.ended)
        seconds: ColumnElement[float] = func.sum(hi - lo)
        query = (
            select(t.c.agent, t.c.state, seconds)
            .where(
                t.c.started < end,
                t.c.started >= start - MAX_INTERVAL_S,  # keeps the read on the index
                t.c.ended > start,
            )
            .group_by(t.c.agent, t.c.state)
            .order_by(t.c.agent, t.c.state)
        )
        wanted = list(agents)
        if wanted:
            query = query.where(t.c.agent.in_(wanted))
        with self.engine.connect() as connection:
            return [StateTime(a, s, float(v or 0.0)) for a, s, v in connection.execute(query)]

    def intervals(
        self, start: float, end: float, interface: str | None = None
    ) -> list[StoredInterval]:
        """The stored intervals overlapping [start, end), oldest first; one seat's only
        when ``interface`` is given."""
        t = intervals_table
        query = (
            select(t.c.pbx, t.c.agent, t.c.interface, t.c.state, t.c.reason, t.c.started, t.c.ended)
            .where(t.c.started < end, t.c.started >= start - MAX_INTERVAL_S, t.c.ended > start)
            .order_by(t.c.started, t.c.interface)
        )
        if interface is not None:
            query = query.where(t.c.interface == interface)
        with self.engine.connect() as connection:
            return [StoredInterval(*row) for row in connection.execute(query)]


MAX_KEPT_S = 31 * 86400.0  # a state held longer (a clock far off) is kept for its last 31 days


def _pieces(started: float, ended: float) -> list[tuple[float, float]]:
    started = max(started, ended - MAX_KEPT_S)
    out = []
    while ended - started > MAX_INTERVAL_S:
        out.append((started, started + MAX_INTERVAL_S))
        started += MAX_INTERVAL_S
    out.append((started, ended))
    return out


def _insert_new(dialect: str) -> Insert:
    key = ["pbx", "interface", "started"]
    if dialect == "postgresql":
        return postgresql.insert(intervals_table).on_conflict_do_nothing(index_elements=key)
    if dialect == "sqlite":
        return sqlite.insert(intervals_table).on_conflict_do_nothing(index_elements=key)
    raise ValueError(f"unsupported database dialect {dialect!r}")
