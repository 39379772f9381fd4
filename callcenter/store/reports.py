"""Reports from the database: KPI sums aggregated in SQL per 15-minute bucket, line usage
swept over the calls' spans, and rollups of both kept exact as calls are written.

The SQL mirrors ``Tally.add`` clause for clause (see ``callcenter/metrics/kpis.py``), and
both paths hand their buckets to ``build_report``; tests hold the rollups, the SQL and a
recomputation from the raw records to the same numbers on SQLite and PostgreSQL.
"""

from __future__ import annotations

import gc
import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Select,
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
    text,
)

from callcenter.calls.records import CallRecord
from callcenter.metrics.concurrency import BUCKET_S, LineBucket, bucket_start, line_buckets
from callcenter.metrics.kpis import Tally, Thresholds
from callcenter.metrics.report import (
    BucketKey,
    Dimension,
    Report,
    ReportRow,
    ReportSpec,
    build_report,
)
from callcenter.store.calls import CallStore, _upsert
from callcenter.store.metrics import line_rollups_table, rollup_state_table, rollups_table
from callcenter.store.models import calls_table

__all__ = ["CallStoreWithRollups", "ReportStore"]

DIMENSIONS: tuple[Dimension, ...] = ("", "queue", "hotline", "agent")
TALLY_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "voicemail",
    "answered_in_sl",
    "ivr_only",
    "blocked",
    "wait_answered_s",
    "wait_total_s",
    "handle_s",
    "longest_wait_s",
)
c = calls_table.c
EPOCH_DAY = date(1970, 1, 1)


class ReportStore:
    """Reports over the calls table; ``refresh_for(records)`` after each write keeps the
    rollups exact (the writer calls it with the records it just upserted)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock

    # --- reports -----------------------------------------------------------------------

    def report(self, spec: ReportSpec, *, use_rollups: bool = True) -> Report:
        with self.engine.connect() as conn:
            aligned = spec.since % BUCKET_S == 0 and spec.until % BUCKET_S == 0
            if use_rollups and aligned and self._rollups_match(conn, spec.thresholds):
                grouped = _grouped_from_rollups(conn, spec)
                if grouped is not None:
                    return grouped
                tallies = _read_rollups(conn, spec.since, spec.until, spec.dimension)
                lines = _read_line_rollups(conn, spec) if spec.dimension == "" else None
            else:
                tallies = aggregate(conn, spec.since, spec.until, spec.dimension, spec.thresholds)
                lines = self._lines(conn, spec) if spec.dimension == "" else None
        return build_report(tallies, lines, spec)

    def _lines(self, conn: Connection, spec: ReportSpec) -> list[LineBucket]:
        longest = _longest_call(conn, spec.since, spec.until)
        th = spec.thresholds
        return line_buckets(
            _spans(conn, spec.since, spec.until, longest),
            since=spec.since,
            until=spec.until,
            capacity=th.line_capacity,
            high_lines=th.high_lines,
            blocked_at=_blocked_at(conn, spec.since, spec.until),
        )

    # --- rollups -----------------------------------------------------------------------

    def rebuild(self, since: float, until: float, thresholds: Thresholds) -> None:
        """Recompute every bucket in [since, until) from the raw calls and take these
        thresholds for the rollups from now on."""
        since, until = bucket_start(since), _bucket_end(until)
        with self.engine.begin() as conn:
            longest = _longest_call(conn, None, None)
            _save_state(conn, thresholds, longest, self._clock())
            self._rewrite(conn, since, until, thresholds, longest, None)
            if conn.dialect.name == "postgresql":  # fresh statistics: hash aggregation
                for table in (rollups_table, line_rollups_table):
                    conn.exec_driver_sql(f"ANALYZE {table.name}")

    def refresh_for(self, records: Iterable[CallRecord]) -> None:
        """Recompute the buckets these just-written calls start in or hold a line in.
        Does nothing until ``rebuild`` has chosen the rollups' thresholds."""
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
        with self.engine.begin() as conn:
            state = _load_state(conn)
            if state is None:
                return
            thresholds, longest = state
            if spans_seen > longest:
                longest = spans_seen
                _save_state(conn, thresholds, longest, self._clock())
            for since, until in _runs(kpi | line):
                self._rewrite(conn, since, until, thresholds, longest, kpi | line)

    def _rewrite(
        self,
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
            insert = rollups_table.insert().from_select(
                columns, query.add_columns(literal(dimension))
            )
            conn.execute(insert)
        lines = line_buckets(
            _spans(conn, since, until, longest),
            since=since,
            until=until,
            capacity=th.line_capacity,
            high_lines=th.high_lines,
            blocked_at=_blocked_at(conn, since, until),
        )
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

    def _rollups_match(self, conn: Connection, thresholds: Thresholds) -> bool:
        state = _load_state(conn)
        return state is not None and state[0] == thresholds


class CallStoreWithRollups(CallStore):
    """A ``CallStore`` that refreshes the report rollups after every write: hand it to the
    ``CallWriter`` in place of the plain store and the rollups stay exact."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(engine, clock=clock)
        self.reports = ReportStore(engine, clock=clock)

    def upsert_calls(self, records: Sequence[CallRecord]) -> int:
        written = super().upsert_calls(records)
        self.reports.refresh_for(records)
        return written


# --- SQL ---------------------------------------------------------------------------------


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
    if dialect == "postgresql":
        bucket = cast(func.floor(c.started_at / BUCKET_S), BigInteger) * BUCKET_S
    else:  # SQLite: CAST truncates, which is floor for the positive epochs we store
        bucket = cast(c.started_at / BUCKET_S, BigInteger) * BUCKET_S
    key = c[dimension] if dimension else literal("")
    entered = or_(c.queue != "", c.queue_joined_at.is_not(None))
    offered = and_(c.outcome != "blocked", entered)
    answered = and_(offered, c.outcome == "answered")
    short = and_(
        offered,
        c.outcome.in_(("abandoned", "short_abandon")),
        case(
            (c.wait_s.is_(None), c.outcome == "short_abandon"), else_=c.wait_s < th.short_abandon_s
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
            count(and_(answered, c.wait_s.is_not(None), c.wait_s <= th.service_level_s)),
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


def _longest_call(conn: Connection, since: float | None, until: float | None) -> float:
    query = select(func.max(c.ended_at - c.started_at))
    if since is not None and until is not None:
        query = query.where(c.started_at < until, c.ended_at > since)
    value = conn.execute(query).scalar()
    return float(value or 0.0)


def _read_rollups(
    conn: Connection, since: float, until: float, dimension: Dimension
) -> dict[BucketKey, Tally]:
    r = rollups_table.c
    query = select(r.bucket, r.key, *(r[name] for name in TALLY_FIELDS)).where(
        r.dim == dimension, r.bucket >= int(since), r.bucket < int(until)
    )
    return {(float(row[0]), row[1]): Tally(*row[2:]) for row in conn.execute(query)}


def _read_line_rollups(conn: Connection, spec: ReportSpec) -> list[LineBucket]:
    r = line_rollups_table.c
    query = select(r.bucket, r.peak, r.seconds_high, r.seconds_full, r.blocked).where(
        r.bucket >= int(spec.since), r.bucket < int(spec.until)
    )
    stored = {int(row[0]): row for row in conn.execute(query)}
    buckets = []
    for start in range(int(spec.since), int(spec.until), BUCKET_S):
        row = stored.get(start)
        buckets.append(
            LineBucket(float(start), row[1], row[2], row[3], row[4])
            if row is not None
            else LineBucket(float(start))
        )
    return buckets


def _grouped_from_rollups(conn: Connection, spec: ReportSpec) -> Report | None:
    """Interval and day reports grouped inside the database (a year is 35,040 buckets):
    possible when the zone's offset from UTC stays the same over the range."""
    if spec.by not in ("interval", "day"):
        return None
    if conn.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 39):
        return None  # no FULL OUTER JOIN before SQLite 3.39: the general path instead
    tz = spec.tz
    offsets = {
        tz.utcoffset(datetime.fromtimestamp(at, tz))
        for at in range(int(spec.since), int(spec.until) + 86400, 86400)
    }
    if len(offsets) != 1:
        return None
    offset = int(next(iter(offsets)).total_seconds())  # type: ignore[union-attr]
    width = spec.interval_min * 60 if spec.by == "interval" else 86400
    joined = _grouped_rows(conn, int(spec.since), int(spec.until), offset, width)
    collecting = gc.isenabled()
    gc.disable()  # tens of thousands of small acyclic objects: no collector passes meanwhile
    try:
        return _interval_rows(spec, joined, offset, width)
    finally:
        if collecting:
            gc.enable()


def _interval_rows(
    spec: ReportSpec, joined: dict[int, tuple[Any, ...]], offset: int, width: int
) -> Report:
    first = (int(spec.since) + offset) // width
    last = (int(spec.until) - 1 + offset) // width
    rows = []
    days: dict[int, str] = {}
    for g in range(first, last + 1):
        start = float(g * width - offset)
        local = g * width  # seconds since the epoch on the local wall clock
        day = days.get(local // 86400)
        if day is None:
            day = days[local // 86400] = (EPOCH_DAY + timedelta(days=local // 86400)).isoformat()
        minute = (local % 86400) // 60
        key = f"{day} {minute // 60:02d}:{minute % 60:02d}" if spec.by == "interval" else day
        found = joined.get(g)
        if found is None:
            rows.append(ReportRow(key, Tally(), LineBucket(start)))
            continue
        tally = Tally(*found[:12]) if found[0] is not None else Tally()
        bucket = LineBucket(start, *found[12:]) if found[12] is not None else LineBucket(start)
        rows.append(ReportRow(key, tally, bucket))
    # The total from column sums over the fetched tuples (no per-row merging).
    kpis = [found[:12] for found in joined.values() if found[0] is not None]
    usage = [found[12:] for found in joined.values() if found[12] is not None]
    columns = list(zip(*kpis, strict=True)) if kpis else [()] * 12
    sums: list[Any] = [sum(column) for column in columns[:11]]
    sums.append(max(columns[11], default=0.0))
    total_tally = Tally(**dict(zip(TALLY_FIELDS, sums, strict=True)))
    line_columns = list(zip(*usage, strict=True)) if usage else [()] * 4
    total_lines = LineBucket(
        spec.since,
        max(line_columns[0], default=0),
        float(sum(line_columns[1])),
        float(sum(line_columns[2])),
        sum(line_columns[3]),
    )
    return Report(spec, rows, ReportRow("total", total_tally, total_lines))


_GROUPED_SQL = """
SELECT coalesce(k.g, l.g), k.offered, k.answered, k.abandoned, k.short_abandons, k.voicemail,
       k.answered_in_sl, k.ivr_only, k.blocked, k.wait_answered_s, k.wait_total_s, k.handle_s,
       k.longest_wait_s, l.peak, l.seconds_high, l.seconds_full, l.blocked
FROM (
    SELECT (bucket + :offset) / :width AS g,
           CAST(sum(offered) AS BIGINT) AS offered, CAST(sum(answered) AS BIGINT) AS answered,
           CAST(sum(abandoned) AS BIGINT) AS abandoned,
           CAST(sum(short_abandons) AS BIGINT) AS short_abandons,
           CAST(sum(voicemail) AS BIGINT) AS voicemail,
           CAST(sum(answered_in_sl) AS BIGINT) AS answered_in_sl,
           CAST(sum(ivr_only) AS BIGINT) AS ivr_only, CAST(sum(blocked) AS BIGINT) AS blocked,
           sum(wait_answered_s) AS wait_answered_s, sum(wait_total_s) AS wait_total_s,
           sum(handle_s) AS handle_s, max(longest_wait_s) AS longest_wait_s
    FROM call_interval_rollups
    WHERE dim = '' AND bucket >= :since AND bucket < :until
    GROUP BY 1
) AS k
FULL OUTER JOIN (
    SELECT (bucket + :offset) / :width AS g, max(peak) AS peak,
           sum(seconds_high) AS seconds_high, sum(seconds_full) AS seconds_full,
           CAST(sum(blocked) AS BIGINT) AS blocked
    FROM line_interval_rollups
    WHERE bucket >= :since AND bucket < :until
    GROUP BY 1
) AS l ON k.g = l.g
"""


def _grouped_rows(
    conn: Connection, since: int, until: int, offset: int, width: int
) -> dict[int, tuple[Any, ...]]:
    """Interval number -> the KPI sums then the line figures (None where a side is empty).
    Read through the driver's cursor: 17,520 plain tuples for a year of 30-minute rows."""
    params = {"offset": offset, "width": width, "since": since, "until": until}
    compiled = text(_GROUPED_SQL).bindparams(**params).compile(conn)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":  # binary results: no text parsing of floats
            cursor.execute(str(compiled), compiled.params, binary=True)
        else:
            positional = [compiled.params[name] for name in compiled.positiontup or ()]
            cursor.execute(str(compiled), positional)
        return {int(row[0]): row[1:] for row in cursor.fetchall()}
    finally:
        cursor.close()


def _load_state(conn: Connection) -> tuple[Thresholds, float] | None:
    if not inspect(conn).has_table(rollup_state_table.name):
        return None  # the metrics migration has not run: reports read the raw calls
    s = rollup_state_table.c
    row = conn.execute(select(s.thresholds, s.longest_call_s).where(s.id == 1)).first()
    if row is None:
        return None
    return Thresholds(**json.loads(row[0])), float(row[1])


def _save_state(conn: Connection, thresholds: Thresholds, longest: float, now: float) -> None:
    body = {k: v for k, v in thresholds.as_dict().items() if k != "high_lines"}
    row = {"id": 1, "thresholds": json.dumps(body), "longest_call_s": longest, "updated_at": now}
    conn.execute(_upsert(conn, rollup_state_table, ("id",)), [row])


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
