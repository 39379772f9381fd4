"""QA scoring (质检): a supervisor's points per criterion, checked and totalled; and the
roll-up per agent and month. Pure.

Criteria come from the settings (``recordings.qa_criteria``). A score sheet must give
every criterion a whole number from 0 to its maximum; the total is the percentage of
the maximum possible points, so sheets stay comparable when the criteria change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from callcenter.recordings.settings import QaCriterion


class QaError(ValueError):
    """A score sheet is wrong; ``zh`` and ``en`` say how."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


def check_scores(criteria: Sequence[QaCriterion], given: Mapping[str, object]) -> dict[str, int]:
    known = {c.key: c for c in criteria}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise QaError(
            f"未知的质检项：{', '.join(unknown)}", f"unknown criteria: {', '.join(unknown)}"
        )
    scores: dict[str, int] = {}
    for criterion in criteria:
        if criterion.key not in given:
            raise QaError(
                f"缺少质检项“{criterion.name_zh or criterion.key}”的分数",
                f"missing a score for {criterion.name_en or criterion.key!r}",
            )
        value = given[criterion.key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise QaError(
                f"“{criterion.name_zh or criterion.key}”的分数必须是整数",
                f"{criterion.key}: the score must be a whole number, got {value!r}",
            )
        if not 0 <= value <= criterion.max_points:
            raise QaError(
                f"“{criterion.name_zh or criterion.key}”的分数必须在 0 到 {criterion.max_points} 之间",
                f"{criterion.key}: must be between 0 and {criterion.max_points}, got {value}",
            )
        scores[criterion.key] = value
    return scores


def total_percent(criteria: Sequence[QaCriterion], scores: Mapping[str, int]) -> float:
    maximum = sum(c.max_points for c in criteria)
    if maximum == 0:
        return 0.0
    return round(100.0 * sum(scores[c.key] for c in criteria) / maximum, 2)


@dataclass(frozen=True, slots=True)
class AgentMonth:
    agent: str
    month: str  # YYYY-MM in the hotline's zone
    sheets: int
    mean: float
    lowest: float
    highest: float


def roll_up(rows: Iterable[tuple[str, float, float]], zone: tzinfo) -> list[AgentMonth]:
    """(agent, scored_at, total) rows -> one line per agent and month, ordered."""
    groups: dict[tuple[str, str], list[float]] = {}
    for agent, at, total in rows:
        month = datetime.fromtimestamp(at, zone).strftime("%Y-%m")
        groups.setdefault((agent or "-", month), []).append(total)
    return [
        AgentMonth(agent, month, len(t), round(sum(t) / len(t), 2), min(t), max(t))
        for (agent, month), t in sorted(groups.items())
    ]


@dataclass(frozen=True, slots=True)
class ScoreSheet:
    """One reviewer's sheet for one recording, with the recorded call's agent and time."""

    recording_id: int
    reviewer: str
    agent: str
    recorded_at: float
    scored_at: float
    total: float  # percent of the maximum points
    scores: Mapping[str, int]
    comment: str = ""


@dataclass(frozen=True, slots=True)
class AgentCriteria:
    """An agent's sheets: how many, the mean total, and per criterion the mean points as a
    percentage of that criterion's maximum (None: no sheet scored it)."""

    agent: str
    sheets: int
    mean: float
    by_criterion: dict[str, float | None]


def per_agent_and_criterion(
    sheets: Iterable[ScoreSheet], criteria: Sequence[QaCriterion]
) -> list[AgentCriteria]:
    """Each agent's QA history summed up, by agent."""
    grouped: dict[str, list[ScoreSheet]] = {}
    for sheet in sheets:
        grouped.setdefault(sheet.agent or "-", []).append(sheet)
    out = []
    for agent, mine in sorted(grouped.items()):
        by_criterion: dict[str, float | None] = {}
        for c in criteria:
            points = [s.scores[c.key] for s in mine if c.key in s.scores]
            by_criterion[c.key] = (
                round(100.0 * sum(points) / (len(points) * c.max_points), 1)
                if points and c.max_points
                else None
            )
        mean = round(sum(s.total for s in mine) / len(mine), 2)
        out.append(AgentCriteria(agent, len(mine), mean, by_criterion))
    return out


@dataclass(frozen=True, slots=True)
class CalibrationRow:
    """One recording scored by several reviewers: each one's total and the spread."""

    recording_id: int
    agent: str
    recorded_at: float
    totals: dict[str, float]  # reviewer -> total %

    @property
    def mean(self) -> float:
        return sum(self.totals.values()) / len(self.totals)

    @property
    def spread(self) -> float:
        return round(max(self.totals.values()) - min(self.totals.values()), 2)


@dataclass(frozen=True, slots=True)
class ReviewerBias:
    """How a reviewer scores against the others on the same recordings: the mean of
    (their total - the recording's mean total); positive means more generous."""

    reviewer: str
    sheets: int
    mean_offset: float


def calibration(sheets: Iterable[ScoreSheet]) -> tuple[list[CalibrationRow], list[ReviewerBias]]:
    """Recordings scored by two reviewers or more (newest first), and each reviewer's
    offset from the others on those recordings."""
    by_recording: dict[int, list[ScoreSheet]] = {}
    for sheet in sheets:
        by_recording.setdefault(sheet.recording_id, []).append(sheet)
    rows = [
        CalibrationRow(
            rid, group[0].agent, group[0].recorded_at, {s.reviewer: s.total for s in group}
        )
        for rid, group in by_recording.items()
        if len({s.reviewer for s in group}) > 1
    ]
    rows.sort(key=lambda r: (-r.recorded_at, r.recording_id))
    offsets: dict[str, list[float]] = {}
    for row in rows:
        for reviewer, total in row.totals.items():
            offsets.setdefault(reviewer, []).append(total - row.mean)
    bias = [
        ReviewerBias(reviewer, len(values), round(sum(values) / len(values), 2))
        for reviewer, values in sorted(offsets.items())
    ]
    return rows, bias
