"""Reports from the database: read from the 15-minute rollups when they were built with
the report's thresholds, else aggregated from the raw calls (``callcenter/metrics/store.py``).

Both paths hand their buckets to ``build_report``, except the interval and day reports
over rollups, which the database groups itself and returns column by column; tests hold
every path and a recomputation from the raw records to the same numbers on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import gc
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from callcenter.calls.store import CallStore
from callcenter.core.call_record import CallRecord
from callcenter.metrics.concurrency import BUCKET_S, LineBucket
from callcenter.metrics.kpis import Tally, Thresholds
from callcenter.metrics.report import (
    BucketKey,
    Dimension,
    Report,
    ReportRow,
    ReportSpec,
    build_report,
)
from callcenter.metrics.store import (
    TALLY_FIELDS,
    aggregate,
    call_lines,
    line_rollups_table,
    load_state,
    rebuild_rollups,
    refresh_rollups,
    rollups_table,
)

__all__ = ["CallStoreWithRollups", "ReportStore"]

EPOCH_DAY = date(1970, 1, 1)
Columns = Sequence[Sequence[Any]]  # the 12 Tally fields, then peak, high, full, blocked


class ReportStore:
    """Reports over the calls table; ``refresh_for(records)`` after each write keeps the
    rollups exact (the writer calls it with the records it just upserted)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock

    def report(self, spec: ReportSpec, *, use_rollups: bool = True) -> Report:
        with self.engine.connect() as conn:
            aligned = spec.since % BUCKET_S == 0 and spec.until % BUCKET_S == 0
            if use_rollups and aligned and _rollups_match(conn, spec.thresholds):
                grouped = _grouped_from_rollups(conn, spec)
                if grouped is not None:
                    return grouped
                tallies = _read_rollups(conn, spec.since, spec.until, spec.dimension)
                lines = _read_line_rollups(conn, spec) if spec.dimension == "" else None
            else:
                tallies = aggregate(conn, spec.since, spec.until, spec.dimension, spec.thresholds)
                lines = None
                if spec.dimension == "":
                    lines = call_lines(conn, spec.since, spec.until, spec.thresholds)
        return build_report(tallies, lines, spec)

    def rollups_ready(self, thresholds: Thresholds) -> bool:
        """Whether the rollups were built with these thresholds (reports then read them)."""
        with self.engine.connect() as conn:
            return _rollups_match(conn, thresholds)

    def rebuild(self, since: float, until: float, thresholds: Thresholds) -> None:
        """Recompute every bucket in [since, until) from the raw calls and take these
        thresholds for the rollups from now on."""
        with self.engine.begin() as conn:
            rebuild_rollups(conn, since, until, thresholds, self._clock())

    def refresh_for(self, records: Iterable[CallRecord]) -> None:
        """Recompute the buckets these just-written calls start in or hold a line in.
        Does nothing until ``rebuild`` has chosen the rollups' thresholds."""
        records = list(records)
        if records:
            with self.engine.begin() as conn:
                refresh_rollups(conn, records, self._clock())


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


def _rollups_match(conn: Connection, thresholds: Thresholds) -> bool:
    state = load_state(conn)
    return state is not None and state[0] == thresholds


# --- rollups merged in Python (shift, queue, hotline, agent) ------------------------------


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


# --- interval and day reports grouped in the database ------------------------------------


def _grouped_from_rollups(conn: Connection, spec: ReportSpec) -> Report | None:
    """Interval and day reports grouped inside the database (a year of 30-minute rows is
    17,520 groups of 35,040 buckets): possible when the zone's offset from UTC stays the
    same over the range. Groups are numbered (bucket + offset) // width, so a group's
    number times its width is its start on the local wall clock."""
    if spec.by not in ("interval", "day"):
        return None
    dialect = conn.dialect.name
    if dialect == "sqlite" and sqlite3.sqlite_version_info < (3, 39):
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
    first = (int(spec.since) + offset) // width
    last = (int(spec.until) - 1 + offset) // width
    params = {
        "offset": offset,
        "width": width,
        "since": int(spec.since),
        "until": int(spec.until),
        "first": first,
        "last": last,
    }
    collecting = gc.isenabled()
    gc.disable()  # tens of thousands of small objects, no cycles: one collection afterwards
    try:
        return _report_from_columns(spec, _fetch_columns(conn, params), first, offset, width)
    finally:
        if collecting:
            gc.enable()


def _report_from_columns(
    spec: ReportSpec, columns: Columns, first: int, offset: int, width: int
) -> Report:
    """Rows for groups first, first + 1, ... built column-wise (no per-row Python code)."""
    count = len(columns[0])
    labels = _labels(first, count, width)
    starts = [float(g * width - offset) for g in range(first, first + count)]
    tallies = map(Tally, *columns[:12])
    lines = map(LineBucket, starts, *columns[12:])
    rows = list(map(ReportRow, labels, tallies, lines))
    sums: list[Any] = [sum(column) for column in columns[:11]]
    sums.append(max(columns[11], default=0.0))
    total_tally = Tally(*sums)
    peak, high, full, blocked = columns[12:]
    total_lines = LineBucket(
        spec.since, max(peak, default=0), float(sum(high)), float(sum(full)), sum(blocked)
    )
    return Report(spec, rows, ReportRow("total", total_tally, total_lines))


def _labels(first: int, count: int, width: int) -> list[str]:
    """Local labels of groups first .. first + count - 1: the day, and for intervals the
    time of day ("2026-03-01 08:30")."""
    per_day = 86400 // width
    first_day = first // per_day
    last_day = (first + count - 1) // per_day
    days = [(EPOCH_DAY + timedelta(days=day)).isoformat() for day in range(first_day, last_day + 1)]
    if per_day == 1:
        return days
    times = [f" {m // 60:02d}:{m % 60:02d}" for m in range(0, 1440, width // 60)]
    skip = first - first_day * per_day
    return [day + time_of_day for day in days for time_of_day in times][skip : skip + count]


_KPI_GROUPS = """
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
"""
_LINE_GROUPS = """
    SELECT (bucket + :offset) / :width AS g, CAST(max(peak) AS BIGINT) AS peak,
           sum(seconds_high) AS seconds_high, sum(seconds_full) AS seconds_full,
           CAST(sum(blocked) AS BIGINT) AS line_blocked
    FROM line_interval_rollups
    WHERE bucket >= :since AND bucket < :until
    GROUP BY 1
"""
_COLUMN_NAMES = (*TALLY_FIELDS, "peak", "seconds_high", "seconds_full", "line_blocked")
_EMPTY = (0,) * 8 + (0.0,) * 4 + (0, 0.0, 0.0, 0)  # a group without calls
_COALESCED = ", ".join(
    f"coalesce({name}, {empty!r})" for name, empty in zip(_COLUMN_NAMES, _EMPTY, strict=True)
)
_NAMED_GROUPS = f"""
SELECT coalesce(k.g, l.g), {_COALESCED}
FROM ({_KPI_GROUPS}) AS k
FULL OUTER JOIN ({_LINE_GROUPS}) AS l ON k.g = l.g
"""  # unordered: placing the rows by their number in Python is cheaper than sorting
_GROUPS = {
    "sqlite": _NAMED_GROUPS,
    "postgresql": re.sub(r"(?<!:):(\w+)", r"%(\1)s", _NAMED_GROUPS),  # psycopg's style
}


def _fetch_columns(conn: Connection, params: dict[str, int]) -> Columns:
    """The grouped rollups as dense columns for groups first .. last, read through the
    driver's cursor (plain tuples, binary on PostgreSQL: no text parsing of floats)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":  # tiny work per row: compiling it would take seconds
        conn.exec_driver_sql("SET LOCAL jit = off")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "postgresql":
            cursor.execute(_GROUPS[dialect], params, binary=True)
        else:
            cursor.execute(_GROUPS[dialect], params)
        found = {row[0]: row for row in cursor.fetchall()}
    finally:
        cursor.close()
    empty = (0, *_EMPTY)  # groups holding no calls
    rows = [found.get(g, empty) for g in range(params["first"], params["last"] + 1)]
    return list(zip(*rows, strict=True))[1:]
