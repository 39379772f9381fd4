"""KPI sums aggregated from the raw calls in SQL per 15-minute bucket, line usage swept
over the calls' spans, and the rollup tables that cache both, kept exact as calls are
written.

The rollups are a cache of the calls table, never a source of truth: a bucket is rebuilt
from the raw calls whenever a call starting (or holding a line) in it is written, so a
rollup always equals a recomputation from the raw records. ``metrics_rollup_state``
holds the thresholds the rollups were computed with; a report asking for other
thresholds reads the raw calls instead.

The SQL mirrors ``Tally.add`` clause for clause (see ``callcenter/metrics/kpis.py``).
Rollups are a cache of the calls table: ``rebuild`` recomputes a range of buckets and
records the thresholds used; ``refresh`` recomputes every bucket just-written calls start
in or hold a line in, from the raw calls, so a rollup always equals a recomputation.
The reports that read them are in ``callcenter/metrics/report_store.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Double,
    Integer,
    Select,
    String,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    inspect,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.calls.store import calls_table
from callcenter.core.call_record import CallRecord
from callcenter.db.base import Base
from callcenter.db.upsert import upsert
from callcenter.metrics.concurrency import BUCKET_S, LineBucket, bucket_start, line_buckets
from callcenter.metrics.kpis import HOUSEKEEPER, Tally, Thresholds
from callcenter.metrics.report import BucketKey, Dimension

__all__ = [
    "DIMENSIONS",
    "TALLY_FIELDS",
    "CallIntervalRollupRow",
    "LineIntervalRollupRow",
    "RollupStateRow",
    "aggregate",
    "aggregate_query",
    "call_lines",
    "line_rollups_table",
    "load_state",
    "rebuild_rollups",
    "refresh_rollups",
    "rollup_state_table",
    "rollups_table",
]


class CallIntervalRollupRow(Base):
    """KPI sums of the calls starting in one bucket, overall (dim "") or per queue,
    hotline or agent."""

    __tablename__ = "call_interval_rollups"

    # dim first: a report reads one dimension over a range of buckets, one index range.
    dim: Mapped[str] = mapped_column(String, primary_key=True)  # "", queue, hotline, agent
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch s, multiple of 900
    key: Mapped[str] = mapped_column(String, primary_key=True)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandons: Mapped[int] = mapped_column(Integer)
    voicemail: Mapped[int] = mapped_column(Integer)
    answered_in_sl: Mapped[int] = mapped_column(Integer)
    ivr_only: Mapped[int] = mapped_column(Integer)
    blocked: Mapped[int] = mapped_column(Integer)
    wait_answered_s: Mapped[float] = mapped_column(Double)
    wait_total_s: Mapped[float] = mapped_column(Double)
    handle_s: Mapped[float] = mapped_column(Double)
    longest_wait_s: Mapped[float] = mapped_column(Double)


class LineIntervalRollupRow(Base):
    """Line usage in one bucket: peak, seconds at or above the high level and at capacity."""

    __tablename__ = "line_interval_rollups"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    peak: Mapped[int] = mapped_column(Integer)
    seconds_high: Mapped[float] = mapped_column(Double)
    seconds_full: Mapped[float] = mapped_column(Double)
    blocked: Mapped[int] = mapped_column(Integer)


class RollupStateRow(Base):
    """One row: the thresholds behind the rollups and the longest call seen (how far back
    a bucket's line usage must look for calls still up)."""

    __tablename__ = "metrics_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thresholds: Mapped[str] = mapped_column(Text)  # JSON of the Thresholds used
    longest_call_s: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)


rollups_table = Base.metadata.tables["call_interval_rollups"]
line_rollups_table = Base.metadata.tables["line_interval_rollups"]
rollup_state_table = Base.metadata.tables["metrics_rollup_state"]


DIMENSIONS: tuple[Dimension, ...] = ("", "queue", "hotline", "agent")
TALLY_FIELDS = tuple(f.name for f in fields(Tally))
c = calls_table.c


# --- maintenance -------------------------------------------------------------------------


def rebuild_rollups(
    conn: Connection, since: float, until: float, thresholds: Thresholds, now: float
) -> None:
    """Recompute every bucket in [since, until) from the raw calls and take these
    thresholds for the rollups from now on."""
    since, until = bucket_start(since), _bucket_end(until)
    longest = longest_call(conn, None, None)
    _save_state(conn, thresholds, longest, now)
    _rewrite(conn, since, until, thresholds, longest, None)
    if conn.dialect.name == "postgresql":  # fresh statistics: hash aggregation
        for table in (rollups_table, line_rollups_table):
            conn.exec_driver_sql(f"ANALYZE {table.name}")


def refresh_rollups(conn: Connection, records: Iterable[CallRecord], now: float) -> None:
    """Recompute the buckets these just-written calls start in or hold a line in.
    Does nothing until ``rebuild_rollups`` has chosen the rollups' thresholds."""
    kpi: set[float] = set()
    line: set[float] = set()
    spans_seen = 0.0
    for record in records:
        first = bucket_start(record.started_at)
        kpi.add(first)
        end = record.ended_at if record.ended_at is not None else record.started_at
        spans_seen = max(spans_seen, end - record.started_at)
        line.update(first + i * BUCKET_S for i in range(_buckets_between(first, end)))
    if not kpi:
        return
    state = load_state(conn)
    if state is None:
        return
    thresholds, longest = state
    if spans_seen > longest:
        longest = spans_seen
        _save_state(conn, thresholds, longest, now)
    for since, until in _runs(kpi | line):
        _rewrite(conn, since, until, thresholds, longest, kpi | line)


def load_state(conn: Connection) -> tuple[Thresholds, float] | None:
    """The rollups' thresholds and the longest call seen; None before any rebuild."""
    if not inspect(conn).has_table(rollup_state_table.name):
        return None  # the metrics migration has not run: reports read the raw calls
    s = rollup_state_table.c
    row = conn.execute(select(s.thresholds, s.longest_call_s).where(s.id == 1)).first()
    if row is None:
        return None
    return Thresholds(**json.loads(row[0])), float(row[1])


def _rewrite(
    conn: Connection,
    since: float,
    until: float,
    th: Thresholds,
    longest: float,
    only: set[float] | None,
) -> None:
    """Replace the rollups of the buckets in [since, until) (all, or those in `only`)."""
    bounds = (
        rollups_table.c.dim.in_(DIMENSIONS),
        rollups_table.c.bucket >= int(since),
        rollups_table.c.bucket < int(until),
    )
    conn.execute(delete(rollups_table).where(*bounds))
    for dimension in DIMENSIONS:  # aggregated and written inside the database
        query = aggregate_query(conn.dialect.name, since, until, dimension, th)
        columns = ["bucket", "key", *TALLY_FIELDS, "dim"]
        insert = rollups_table.insert().from_select(columns, query.add_columns(literal(dimension)))
        conn.execute(insert)
    lines = call_lines(conn, since, until, th, longest)
    line_bounds = (
        line_rollups_table.c.bucket >= int(since),
        line_rollups_table.c.bucket < int(until),
    )
    conn.execute(delete(line_rollups_table).where(*line_bounds))
    line_rows = [
        {
            "bucket": int(b.start),
            "peak": b.peak,
            "seconds_high": b.seconds_high,
            "seconds_full": b.seconds_full,
            "blocked": b.blocked,
        }
        for b in lines
        if (b.peak or b.blocked) and (only is None or b.start in only)
    ]
    if line_rows:
        conn.execute(line_rollups_table.insert(), line_rows)


def _save_state(conn: Connection, thresholds: Thresholds, longest: float, now: float) -> None:
    body = {k: v for k, v in thresholds.as_dict().items() if k != "high_lines"}
    row = {"id": 1, "thresholds": json.dumps(body), "longest_call_s": longest, "updated_at": now}
    conn.execute(upsert(conn, rollup_state_table, ("id",)), [row])


# --- from the raw calls ------------------------------------------------------------------


def aggregate(
    conn: Connection, since: float, until: float, dimension: Dimension, th: Thresholds
) -> dict[BucketKey, Tally]:
    """KPI sums of the calls starting in [since, until), per bucket and dimension value."""
    result: dict[BucketKey, Tally] = {}
    query = aggregate_query(conn.dialect.name, since, until, dimension, th)
    for row in conn.execute(query):
        values = row[2:]
        tally = Tally(*(int(v) for v in values[:8]), *(float(v) for v in values[8:]))
        result[(float(row[0]), row[1] or "")] = tally
    return result


def aggregate_query(
    dialect: str, since: float, until: float, dimension: Dimension, th: Thresholds
) -> Select[Any]:
    """The SELECT behind ``aggregate``: bucket, key, then the Tally's fields in order."""

    def whole(column: ColumnElement[Any]) -> ColumnElement[Any]:
        if dialect == "postgresql":  # PostgreSQL's CAST rounds
            return cast(func.floor(column), BigInteger)
        return cast(column, BigInteger)  # SQLite's truncates: floor for positive epochs

    bucket = whole(c.started_at / BUCKET_S) * BUCKET_S
    # answered by the housekeeper the IVR dialled, never queued (kpis.answered_directly)
    direct = and_(c.outcome == "answered", c.queue == "", c.queue_joined_at.is_(None))
    key: ColumnElement[Any] = c[dimension] if dimension else literal("")
    if dimension == "queue":
        key = case((direct, literal(HOUSEKEEPER)), else_=c.queue)
    entered = or_(c.queue != "", c.queue_joined_at.is_not(None), direct)
    offered = and_(c.outcome != "blocked", entered)
    answered = and_(offered, c.outcome == "answered")
    # Whole seconds, as app_queue counts a wait (metrics.kpis.whole_seconds_wait).
    whole_wait = whole(c.queue_left_at) - whole(c.queue_joined_at)
    short = and_(
        offered,
        c.outcome.in_(("abandoned", "short_abandon")),
        case(
            (
                and_(c.queue_joined_at.is_not(None), c.queue_left_at.is_not(None)),
                whole_wait < th.short_abandon_s,
            ),
            (c.wait_s.is_(None), c.outcome == "short_abandon"),
            else_=c.wait_s < th.short_abandon_s,
        ),
    )

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    def seconds(condition: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.sum(case((condition, value), else_=0.0))

    query = (
        select(
            bucket.label("bucket"),
            key.label("key"),
            count(offered),
            count(answered),
            count(and_(offered, c.outcome != "answered")),
            count(short),
            count(and_(offered, c.outcome == "voicemail")),
            count(
                and_(
                    answered,
                    or_(direct, and_(c.wait_s.is_not(None), c.wait_s <= th.service_level_s)),
                )
            ),
            count(and_(c.outcome != "blocked", not_(entered))),
            count(c.outcome == "blocked"),
            seconds(answered, func.coalesce(c.wait_s, 0.0)),
            seconds(offered, func.coalesce(c.wait_s, 0.0)),
            seconds(answered, func.coalesce(c.talk_s, 0.0) + th.wrapup_s),
            func.coalesce(func.max(case((offered, c.wait_s), else_=None)), 0.0),
        )
        .where(
            c.started_at >= since,
            c.started_at < until,
            c.kind == "inbound",
            c.ended_at.is_not(None),
            c.outcome != "in_progress",
        )
        .group_by(bucket, key)
    )
    return query


def call_lines(
    conn: Connection, since: float, until: float, th: Thresholds, longest: float | None = None
) -> list[LineBucket]:
    """Line usage per bucket in [since, until), swept over the calls' spans. ``longest``
    (the longest call) bounds how far back to look for calls still up at ``since``."""
    if longest is None:
        longest = longest_call(conn, since, until)
    return line_buckets(
        _spans(conn, since, until, longest),
        since=since,
        until=until,
        capacity=th.line_capacity,
        high_lines=th.high_lines,
        blocked_at=_blocked_at(conn, since, until),
    )


def longest_call(conn: Connection, since: float | None, until: float | None) -> float:
    query = select(func.max(c.ended_at - c.started_at))
    if since is not None and until is not None:
        query = query.where(c.started_at < until, c.ended_at > since)
    value = conn.execute(query).scalar()
    return float(value or 0.0)


def _spans(
    conn: Connection, since: float, until: float, longest: float
) -> list[tuple[float, float]]:
    query = select(c.started_at, c.ended_at).where(
        c.started_at >= since - longest - 1,
        c.started_at < until,
        c.ended_at > since,
        c.ended_at > c.started_at,
        c.kind == "inbound",
        c.outcome != "blocked",
    )
    return [(float(a), float(b)) for a, b in conn.execute(query)]


def _blocked_at(conn: Connection, since: float, until: float) -> list[float]:
    query = select(c.started_at).where(
        c.started_at >= since, c.started_at < until, c.outcome == "blocked", c.kind == "inbound"
    )
    return [float(at) for (at,) in conn.execute(query)]


def _bucket_end(at: float) -> float:
    return float(math.ceil(at / BUCKET_S) * BUCKET_S)


def _buckets_between(first: float, end: float) -> int:
    return max(1, math.ceil((end - first) / BUCKET_S))


def _runs(buckets: set[float]) -> list[tuple[float, float]]:
    """Contiguous runs of bucket starts as [since, until) ranges."""
    runs: list[tuple[float, float]] = []
    for start in sorted(buckets):
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], start + BUCKET_S)
        else:
            runs.append((start, start + BUCKET_S))
    return runs
