"""Report tables: KPI tallies and line usage regrouped by interval, day, shift, queue,
hotline or agent.

Both sources of a report meet here: call records folded in Python
(``report_from_records``) and the database's 15-minute aggregates
(``callcenter/metrics/report_store.py``). Each hands over tallies keyed by (bucket start, key)
and line buckets; ``build_report`` turns them into rows, so the two cannot disagree on
how a bucket lands in an interval or a shift.
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from callcenter.core.call_record import CallRecord
from callcenter.metrics.concurrency import BUCKET_S, LineBucket, bucket_start, line_buckets, spans
from callcenter.metrics.kpis import HOUSEKEEPER, Tally, Thresholds, answered_directly, definitions

__all__ = [
    "DEFAULT_SHIFTS",
    "GROUPINGS",
    "NO_VALUE",
    "Report",
    "ReportRow",
    "ReportSpec",
    "ShiftWindow",
    "bucket_tallies",
    "build_report",
    "report_from_records",
    "reports_agree",
]

Grouping = Literal["interval", "day", "shift", "queue", "hotline", "agent"]
GROUPINGS: tuple[Grouping, ...] = ("interval", "day", "shift", "queue", "hotline", "agent")
TIME_GROUPINGS = frozenset({"interval", "day", "shift"})
Dimension = Literal["", "queue", "hotline", "agent"]
NO_VALUE = "(none)"  # the group of calls without a queue / hotline / agent
BucketKey = tuple[float, str]  # (bucket start epoch, queue / hotline / agent or "")


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """A named daily window in local time; ``end <= start`` means it crosses midnight."""

    name: str
    start_min: int  # minutes after local midnight
    end_min: int

    def covers(self, minute: int) -> bool:
        if self.start_min < self.end_min:
            return self.start_min <= minute < self.end_min
        return minute >= self.start_min or minute < self.end_min

    @classmethod
    def parse(cls, name: str, start: str, end: str) -> ShiftWindow:
        return cls(name, _minutes(start), _minutes(end))


DEFAULT_SHIFTS: tuple[ShiftWindow, ...] = (
    ShiftWindow("08:00-20:00", 8 * 60, 20 * 60),
    ShiftWindow("09:00-21:00", 9 * 60, 21 * 60),
    ShiftWindow("20:00-08:00", 20 * 60, 8 * 60),
)


@dataclass(frozen=True)
class ReportSpec:
    since: float  # epoch seconds, inclusive
    until: float  # epoch seconds, exclusive
    by: Grouping = "interval"
    interval_min: int = 30
    zone: str = "Asia/Shanghai"
    thresholds: Thresholds = field(default_factory=Thresholds)
    shifts: tuple[ShiftWindow, ...] = DEFAULT_SHIFTS

    def __post_init__(self) -> None:
        if self.by not in GROUPINGS:
            raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {self.by!r}")
        if self.interval_min not in (15, 30, 60):
            raise ValueError(f"interval must be 15, 30 or 60 minutes, got {self.interval_min}")
        if self.until <= self.since:
            raise ValueError("the report's end must come after its start")

    @property
    def dimension(self) -> Dimension:
        return "" if self.by in TIME_GROUPINGS else self.by  # type: ignore[return-value]

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.zone)


@dataclass(slots=True)
class ReportRow:
    key: str
    tally: Tally = field(default_factory=Tally)
    lines: LineBucket | None = None

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"key": self.key, **self.tally.as_dict()}
        if self.lines is not None:
            row.update(
                peak_lines=self.lines.peak,
                seconds_high=round(self.lines.seconds_high, 3),
                seconds_full=round(self.lines.seconds_full, 3),
            )
            row["blocked"] = self.lines.blocked
        return row


@dataclass
class Report:
    spec: ReportSpec
    rows: list[ReportRow]
    total: ReportRow

    def as_dict(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "by": spec.by,
            "interval_min": spec.interval_min if spec.by == "interval" else None,
            "from": datetime.fromtimestamp(spec.since, spec.tz).isoformat(),
            "to": datetime.fromtimestamp(spec.until, spec.tz).isoformat(),
            "timezone": spec.zone,
            "definitions": definitions(spec.thresholds),
            "rows": [row.as_dict() for row in self.rows],
            "total": self.total.as_dict(),
        }


def bucket_tallies(
    records: Iterable[CallRecord],
    thresholds: Thresholds,
    dimension: Dimension = "",
    bucket_s: int = BUCKET_S,
) -> dict[BucketKey, Tally]:
    """Tallies of the records keyed by (bucket of the start time, dimension value)."""
    result: dict[BucketKey, Tally] = {}
    for record in records:
        key = (bucket_start(record.started_at, bucket_s), _dimension_value(record, dimension))
        found = result.get(key)
        if found is None:
            found = result[key] = Tally()
        found.add(record, thresholds)
    return result


def report_from_records(records: Sequence[CallRecord], spec: ReportSpec) -> Report:
    """The report computed straight from call records (those starting in the range)."""
    inside = [r for r in records if spec.since <= r.started_at < spec.until]
    tallies = bucket_tallies(inside, spec.thresholds, spec.dimension)
    lines: list[LineBucket] | None = None
    if spec.dimension == "":
        lines = line_buckets(
            spans(records),
            since=spec.since,
            until=spec.until,
            capacity=spec.thresholds.line_capacity,
            high_lines=spec.thresholds.high_lines,
            blocked_at=[r.started_at for r in inside if r.outcome == "blocked"],
        )
    return build_report(tallies, lines, spec)


def build_report(
    tallies: Mapping[BucketKey, Tally], lines: Sequence[LineBucket] | None, spec: ReportSpec
) -> Report:
    """Regroup 15-minute tallies (and line buckets) into the report's rows."""
    labeller = _labeller(spec)
    rows: dict[str, ReportRow] = {}
    total = ReportRow("total", lines=LineBucket(spec.since) if lines is not None else None)
    for (start, value), bucket_tally in tallies.items():
        total.tally.merge(bucket_tally)
        for key in labeller(start, value):
            _row(rows, key, lines is not None).tally.merge(bucket_tally)
    for bucket in lines or ():
        assert total.lines is not None
        total.lines.merge(bucket)
        for key in labeller(bucket.start, ""):
            row = _row(rows, key, True)
            assert row.lines is not None
            row.lines.merge(bucket)
    return Report(spec, [rows[key] for key in sorted(rows)], total)


def reports_agree(left: Report, right: Report) -> list[str]:
    """Where two reports differ: the same keys, equal counts and peaks, and sums of
    seconds equal up to float rounding (SQL and Python add them in different orders).
    An empty list means they agree."""
    problems: list[str] = []
    pairs = [*zip(left.rows, right.rows, strict=False), (left.total, right.total)]
    if len(left.rows) != len(right.rows):
        problems.append(f"{len(left.rows)} rows against {len(right.rows)}")
    for mine, theirs in pairs:
        if mine.key != theirs.key:
            problems.append(f"row {mine.key} against {theirs.key}")
            continue
        for name in (*Tally.__slots__, "peak", "seconds_high", "seconds_full", "blocked"):
            source_a = mine.tally if name in Tally.__slots__ else mine.lines
            source_b = theirs.tally if name in Tally.__slots__ else theirs.lines
            a, b = getattr(source_a, name, None), getattr(source_b, name, None)
            same = (
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
                if isinstance(a, float) and isinstance(b, float)
                else a == b
            )
            if not same:
                problems.append(f"{mine.key}: {name} {a!r} against {b!r}")
    return problems


def _row(rows: dict[str, ReportRow], key: str, with_lines: bool) -> ReportRow:
    row = rows.get(key)
    if row is None:
        row = rows[key] = ReportRow(key, lines=LineBucket(0.0) if with_lines else None)
    return row


def _labeller(spec: ReportSpec) -> Any:
    tz = spec.tz
    cache: dict[float, list[str]] = {}

    def by_time(start: float, _value: str) -> list[str]:
        found = cache.get(start)
        if found is None:
            found = cache[start] = _time_labels(datetime.fromtimestamp(start, tz), spec)
        return found

    def by_value(_start: float, value: str) -> list[str]:
        return [value or NO_VALUE]

    return by_time if spec.by in TIME_GROUPINGS else by_value


def _time_labels(local: datetime, spec: ReportSpec) -> list[str]:
    minute = local.hour * 60 + local.minute
    if spec.by == "day":
        return [local.date().isoformat()]
    if spec.by == "interval":
        first = minute - minute % spec.interval_min
        return [f"{local.date().isoformat()} {first // 60:02d}:{first % 60:02d}"]
    labels = []
    for shift in spec.shifts:
        if shift.covers(minute):
            day: date = local.date()
            if shift.start_min >= shift.end_min and minute < shift.end_min:
                day -= timedelta(days=1)  # the after-midnight part of a night shift
            labels.append(f"{day.isoformat()} {shift.name}")
    return labels


def _dimension_value(record: CallRecord, dimension: Dimension) -> str:
    if dimension == "queue":
        return record.queue or (HOUSEKEEPER if answered_directly(record) else "")
    if dimension == "hotline":
        return record.hotline
    if dimension == "agent":
        return record.agent
    return ""


def _minutes(text: str) -> int:
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"a shift time must look like 08:00, got {text!r}")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"a shift time must be between 00:00 and 24:00, got {text!r}")
    return value % (24 * 60)
