"""A day's staffing plan from a traffic curve (pure): per interval the calls expected, their
AHT and the callers' patience give, by Erlang A, the head-count meeting the answer-rate and
service-level targets; shifts are then counted so that every interval has that many agents
(``cover``), and the figures the rostered head-count reaches are the plan's prediction.

The plan is what ``agents_needed`` and ``forecast`` of ``callcenter/metrics/staffing.py``
say for each interval, so a supervisor's ``callcenter staffing calc`` and the demo agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.metrics.erlang import ErlangA, ErlangC
from callcenter.metrics.staffing import agents_needed, forecast

__all__ = [
    "PlannedInterval",
    "Prediction",
    "ShiftSpan",
    "TrafficInterval",
    "cover",
    "coverage",
    "day_prediction",
    "needed_agents",
    "plan_intervals",
    "predicted",
    "predicted_by_interval",
    "predictions_from_plan",
]


@dataclass(frozen=True)
class TrafficInterval:
    """Calls expected to reach an agent queue in [start, end) (epoch seconds)."""

    start: float
    end: float
    calls: float
    aht_s: float
    patience_s: float

    @property
    def calls_per_hour(self) -> float:
        return self.calls * 3600.0 / (self.end - self.start)


@dataclass(frozen=True)
class PlannedInterval:
    traffic: TrafficInterval
    needed: int  # the smallest head-count meeting the targets
    rostered: int  # the head-count the roster puts there
    figures: ErlangA  # what ``rostered`` agents reach

    @property
    def answer_rate(self) -> float:
        return self.figures.answer_rate

    @property
    def service_level(self) -> float:
        return self.figures.service_level

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.traffic.start,
            "end": self.traffic.end,
            "calls": round(self.traffic.calls, 2),
            "aht_s": round(self.traffic.aht_s, 1),
            "patience_s": round(self.traffic.patience_s, 1),
            "agents_needed": self.needed,
            "agents_rostered": self.rostered,
            "predicted_answer_rate": round(self.answer_rate, 4),
            "predicted_service_level": round(self.service_level, 4),
        }


def needed_agents(
    traffic: TrafficInterval, *, sl_seconds: float, sl_target: float, answer_rate_target: float
) -> int:
    """Erlang A's smallest head-count meeting both targets in this interval."""
    return agents_needed(
        traffic.calls_per_hour,
        traffic.aht_s,
        sl_seconds,
        sl_target,
        patience_s=traffic.patience_s,
        answer_rate_target=answer_rate_target,
    ).agents


def predicted(traffic: TrafficInterval, agents: int, sl_seconds: float) -> ErlangA:
    figures: ErlangA | ErlangC = forecast(
        traffic.calls_per_hour, traffic.aht_s, agents, sl_seconds, traffic.patience_s
    )
    assert isinstance(figures, ErlangA)  # a patience is always given
    return figures


def plan_intervals(
    curve: Sequence[TrafficInterval],
    rostered: Sequence[int],
    *,
    sl_seconds: float,
    sl_target: float,
    answer_rate_target: float,
) -> list[PlannedInterval]:
    """Each interval's need and what the rostered head-count reaches."""
    if len(curve) != len(rostered):
        raise ValueError("one rostered head-count per interval is needed")
    return [
        PlannedInterval(
            traffic,
            needed_agents(
                traffic,
                sl_seconds=sl_seconds,
                sl_target=sl_target,
                answer_rate_target=answer_rate_target,
            ),
            agents,
            predicted(traffic, agents, sl_seconds),
        )
        for traffic, agents in zip(curve, rostered, strict=True)
    ]


def day_prediction(planned: Sequence[PlannedInterval]) -> dict[str, float | None]:
    """The day's predicted answer rate and service level: each interval weighted by its calls
    (both figures are shares of the calls offered)."""
    calls = sum(p.traffic.calls for p in planned)
    if calls <= 0:
        return {"answer_rate": None, "service_level": None}
    return {
        "answer_rate": sum(p.answer_rate * p.traffic.calls for p in planned) / calls,
        "service_level": sum(p.service_level * p.traffic.calls for p in planned) / calls,
    }


@dataclass(frozen=True)
class ShiftSpan:
    """A shift as a run of the day's intervals: ``first`` .. ``first + length - 1``, taken
    around the day (a night shift from the last intervals into the first ones)."""

    name: str
    first: int
    length: int

    def covers(self, index: int, intervals: int) -> bool:
        return (index - self.first) % intervals < self.length


def cover(
    need: Sequence[int], shifts: Sequence[ShiftSpan], *, already: Sequence[int] = ()
) -> dict[str, int]:
    """How many people to put on each shift, every day alike, so that each interval has at
    least ``need`` of them plus ``already`` (people rostered otherwise). Greedy, walking the
    day from the earliest shift start: an interval short of people gets them on the shift
    covering it that runs on longest, which serves the most intervals still to come."""
    intervals = len(need)
    have = list(already) or [0] * intervals
    if len(have) != intervals:
        raise ValueError("already must give one head-count per interval")
    counts = {shift.name: 0 for shift in shifts}
    if not shifts:
        return counts
    begin = min(shift.first for shift in shifts)
    for step in range(intervals):
        index = (begin + step) % intervals
        short = need[index] - have[index]
        if short <= 0:
            continue
        covering = [s for s in shifts if s.covers(index, intervals)]
        if not covering:
            raise ValueError(f"no shift covers interval {index}")
        best = max(covering, key=lambda s: (s.length - (index - s.first) % intervals, s.name))
        counts[best.name] += short
        for other in range(intervals):
            if best.covers(other, intervals):
                have[other] += short
    return counts


def coverage(counts: Mapping[str, int], shifts: Sequence[ShiftSpan], intervals: int) -> list[int]:
    """People on duty per interval with ``counts`` per shift."""
    return [
        sum(counts.get(s.name, 0) for s in shifts if s.covers(index, intervals))
        for index in range(intervals)
    ]


@dataclass(frozen=True)
class Prediction:
    """A plan's predicted answer rate for its interval [start, end) and the calls it expects."""

    start: float
    end: float
    calls: float
    answer_rate: float


def predictions_from_plan(path: str | Path) -> list[Prediction]:
    """The intervals of a plan file (``PlannedInterval.as_dict`` rows under ``intervals``)."""
    body = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        Prediction(
            float(row["start"]),
            float(row["end"]),
            float(row["calls"]),
            float(row["predicted_answer_rate"]),
        )
        for row in body.get("intervals", [])
    ]


def predicted_by_interval(
    predictions: Sequence[Prediction], zone: str, interval_min: int
) -> dict[str, float]:
    """The predicted answer rate per report interval, labelled as the interval report labels
    its rows (local ``YYYY-MM-DD HH:MM``); plan intervals inside one report interval are
    weighted by their calls."""
    tz = ZoneInfo(zone)
    sums: dict[str, tuple[float, float]] = {}
    for p in predictions:
        local = datetime.fromtimestamp(p.start, tz)
        minute = local.hour * 60 + local.minute
        first = minute - minute % interval_min
        label = f"{local.date().isoformat()} {first // 60:02d}:{first % 60:02d}"
        weighted, calls = sums.get(label, (0.0, 0.0))
        sums[label] = (weighted + p.answer_rate * p.calls, calls + p.calls)
    return {label: w / n for label, (w, n) in sums.items() if n > 0}
