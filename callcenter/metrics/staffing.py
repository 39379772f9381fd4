"""Staffing from history: per interval, the arrival rate and AHT seen give the agents needed
to meet the service-level and answer-rate targets, and the figures a planned head-count
would reach.

Erlang C when no patience is known (no abandonment: answer rate is then 1 for any stable
staffing); Erlang A when a mean patience is given or estimated from history (queue time
of all offered calls over the callers who hung up).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.metrics.erlang import ErlangA, ErlangC, erlang_a, erlang_c
from callcenter.metrics.kpis import Tally

__all__ = [
    "IntervalNeed",
    "Staffing",
    "agents_needed",
    "forecast",
    "interval_needs",
    "roster_from_counter",
    "roster_from_csv",
]

MAX_AGENTS = 100_000

# head-count planned for the interval [start, end) (epoch seconds)
Roster = Callable[[float, float], int]


@dataclass(frozen=True)
class Staffing:
    """The smallest head-count meeting the targets, and its figures."""

    model: str  # erlang_c | erlang_a
    agents: int
    figures: ErlangC | ErlangA

    def as_dict(self) -> dict[str, Any]:
        body = {"model": self.model, **self.figures.as_dict()}
        body["agents"] = self.agents
        return {k: _finite(v) for k, v in body.items()}


def forecast(
    calls_per_hour: float,
    aht_s: float,
    agents: int,
    sl_seconds: float,
    patience_s: float | None = None,
) -> ErlangC | ErlangA:
    if patience_s is None:
        return erlang_c(calls_per_hour, aht_s, agents, sl_seconds)
    return erlang_a(calls_per_hour, aht_s, agents, sl_seconds, patience_s)


def _meets(figures: ErlangC | ErlangA, sl_target: float, answer_rate_target: float | None) -> bool:
    if figures.service_level < sl_target:
        return False
    return not (
        answer_rate_target is not None
        and isinstance(figures, ErlangA)
        and figures.answer_rate < answer_rate_target
    )


def agents_needed(
    calls_per_hour: float,
    aht_s: float,
    sl_seconds: float,
    sl_target: float,
    *,
    patience_s: float | None = None,
    answer_rate_target: float | None = None,
) -> Staffing:
    """Smallest number of agents whose service level (and, under Erlang A, answer rate)
    reaches the targets. Service level grows with head-count, so a doubling then a
    bisection finds it in a few dozen evaluations however large the load."""
    if not 0.0 <= sl_target < 1.0:
        raise ValueError(f"the service-level target must be in [0, 1), got {sl_target}")
    if answer_rate_target is not None and not 0.0 <= answer_rate_target < 1.0:
        raise ValueError(f"the answer-rate target must be in [0, 1), got {answer_rate_target}")
    model = "erlang_c" if patience_s is None else "erlang_a"

    def figures(n: int) -> ErlangC | ErlangA:
        return forecast(calls_per_hour, aht_s, n, sl_seconds, patience_s)

    if calls_per_hour == 0:
        return Staffing(model, 0, figures(0))
    high = 1
    while not _meets(figures(high), sl_target, answer_rate_target):
        high *= 2
        if high > MAX_AGENTS:
            raise ValueError("no head-count up to 100000 agents meets the target")
    low = high // 2  # fails (or is 0)
    while high - low > 1:
        middle = (low + high) // 2
        if _meets(figures(middle), sl_target, answer_rate_target):
            high = middle
        else:
            low = middle
    return Staffing(model, high, figures(high))


@dataclass(frozen=True)
class IntervalNeed:
    key: str
    start: float
    calls_per_hour: float
    aht_s: float
    needed: int
    planned: int | None
    predicted: ErlangC | ErlangA | None  # figures for the planned head-count
    seen_answer_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "interval": self.key,
            "calls_per_hour": round(self.calls_per_hour, 2),
            "aht_s": round(self.aht_s, 1),
            "agents_needed": self.needed,
            "agents_planned": self.planned,
            "gap": None if self.planned is None else self.planned - self.needed,
            "seen_answer_rate": _round(self.seen_answer_rate),
        }
        if self.predicted is not None:
            body["predicted_service_level"] = _round(self.predicted.service_level)
            rate = self.predicted.answer_rate if isinstance(self.predicted, ErlangA) else None
            body["predicted_answer_rate"] = _round(rate)
        return body


def interval_needs(
    intervals: Iterable[tuple[str, float, float, Tally]],
    *,
    sl_seconds: float,
    sl_target: float,
    answer_rate_target: float | None,
    default_aht_s: float,
    patience_s: float | None = None,
    roster: Roster | None = None,
) -> list[IntervalNeed]:
    """One need per (label, start, end, tally) interval of history."""
    needs = []
    for key, start, end, seen in intervals:
        hours = (end - start) / 3600.0
        rate = seen.offered / hours if hours > 0 else 0.0
        aht = seen.aht_s or default_aht_s
        staffing = agents_needed(
            rate,
            aht,
            sl_seconds,
            sl_target,
            patience_s=patience_s,
            answer_rate_target=answer_rate_target if patience_s is not None else None,
        )
        planned = roster(start, end) if roster is not None else None
        predicted = (
            forecast(rate, aht, planned, sl_seconds, patience_s) if planned is not None else None
        )
        needs.append(
            IntervalNeed(
                key, start, rate, aht, staffing.agents, planned, predicted, seen.answer_rate
            )
        )
    return needs


def roster_from_csv(path: str | Path, zone: str) -> Roster:
    """A head-count per interval from a CSV with columns ``start,agents`` (local
    ``YYYY-MM-DD HH:MM``); an interval takes the smallest head-count listed inside it, and
    the latest row before it when none is."""
    tz = ZoneInfo(zone)
    rows: list[tuple[float, int]] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"start", "agents"} <= set(reader.fieldnames):
            raise ValueError(f"{path}:1: the roster CSV needs the columns start,agents")
        for line, row in enumerate(reader, start=2):
            try:
                at = datetime.strptime(row["start"].strip(), "%Y-%m-%d %H:%M")
                agents = int(row["agents"])
            except (ValueError, AttributeError) as exc:
                raise ValueError(f"{path}:{line}: {exc}") from None
            if agents < 0:
                raise ValueError(f"{path}:{line}: agents must not be negative")
            rows.append((at.replace(tzinfo=tz).timestamp(), agents))
    rows.sort()

    def head_count(start: float, end: float) -> int:
        inside = [n for at, n in rows if start <= at < end]
        if inside:
            return min(inside)
        before = [n for at, n in rows if at < start]
        return before[-1] if before else 0

    return head_count


def roster_from_counter(count_at: Callable[[float], int], step_s: float = 300.0) -> Roster:
    """A head-count per interval from "how many agents are available at instant t" (the
    routing roster's ``count_available``): the fewest seen at any sample every ``step_s``
    seconds of the interval, so a break or a shift edge inside it is not hidden."""

    def head_count(start: float, end: float) -> int:
        samples = [
            count_at(start + i * step_s) for i in range(max(1, int((end - start) // step_s)))
        ]
        return min(samples)

    return head_count


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value
