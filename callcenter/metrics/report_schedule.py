"""Scheduled reports, the deciding part (pure): when the next run is due, which days it
covers, what its files are called and what they hold.

A daily run covers yesterday; a weekly run, on Mondays, the week Monday to Sunday before.
Both run at the configured local time. Files are e-mail ready: CSV in UTF-8 with a
byte-order mark (spreadsheet programs then read the Chinese headers) and XLSX, every
cell spreadsheet-safe (``cell_safety``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from functools import partial
from typing import Literal
from zoneinfo import ZoneInfo

from callcenter.core.i18n import Lang
from callcenter.metrics.agent_figures import AgentFigures
from callcenter.metrics.export import agents_to_csv, agents_to_xlsx, csv_file, to_csv, to_xlsx
from callcenter.metrics.report import Grouping, Report
from callcenter.metrics.settings import ScheduledReports

__all__ = ["ReportFile", "Run", "build_files", "next_run", "runs_on", "webhook_body"]

Period = Literal["daily", "weekly"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Run:
    period: Period
    first: date  # the first local day covered
    last: date  # the last, inclusive

    @property
    def label(self) -> str:
        days = self.first.isoformat()
        return days if self.first == self.last else f"{days}_{self.last.isoformat()}"

    def bounds(self, zone: ZoneInfo) -> tuple[float, float]:
        """[since, until) in epoch seconds: local midnight to the midnight after ``last``."""
        since = datetime.combine(self.first, clock_time(0), zone).timestamp()
        until = datetime.combine(self.last + timedelta(days=1), clock_time(0), zone)
        return since, until.timestamp()


@dataclass(frozen=True, slots=True)
class ReportFile:
    name: str
    content_type: str
    data: bytes


def runs_on(day: date, schedule: ScheduledReports) -> list[Run]:
    """The runs due on local day ``day`` (at ``schedule.at``)."""
    runs = []
    if schedule.daily:
        yesterday = day - timedelta(days=1)
        runs.append(Run("daily", yesterday, yesterday))
    if schedule.weekly and day.weekday() == 0:
        runs.append(Run("weekly", day - timedelta(days=7), day - timedelta(days=1)))
    return runs


def next_run(now: float, zone: ZoneInfo, schedule: ScheduledReports) -> tuple[float, list[Run]]:
    """The first moment after ``now`` when runs are due, and those runs ((inf, []) when
    nothing is scheduled)."""
    hours, _, minutes = schedule.at.partition(":")
    at = clock_time(int(hours), int(minutes))
    today = datetime.fromtimestamp(now, zone).date()
    for ahead in range(8):  # a weekly run comes within a week
        day = today + timedelta(days=ahead)
        moment = datetime.combine(day, at, zone).timestamp()
        runs = runs_on(day, schedule)
        if moment > now and runs:
            return moment, runs
    return float("inf"), []


def file_name(run: Run, view: str, fmt: str) -> str:
    return f"callcenter-{run.period}-{run.label}-{view}.{fmt}"


def build_files(
    run: Run,
    schedule: ScheduledReports,
    *,
    report_for: Callable[[Grouping], Report],
    agents: Callable[[], Sequence[AgentFigures]],
) -> list[ReportFile]:
    """The run's files, view by view and format by format; ``agent`` is the per-agent
    figures (rung, answered, ring-no-answer, AHT, occupancy, pause time, QA average)."""
    lang: Lang = "en" if schedule.lang == "en" else "zh"
    files = []
    for view in schedule.views:
        csv_text: Callable[[], str]
        xlsx: Callable[[], bytes]
        if view == "agent":
            figures = agents()
            csv_text, xlsx = (
                partial(agents_to_csv, figures, lang),
                partial(agents_to_xlsx, figures, lang),
            )
        else:
            report = report_for(view)  # type: ignore[arg-type]  # checked by the settings
            csv_text, xlsx = partial(to_csv, report, lang), partial(to_xlsx, report, lang)
        for fmt in schedule.formats:
            if fmt == "csv":
                files.append(
                    ReportFile(file_name(run, view, fmt), "text/csv", csv_file(csv_text()))
                )
            else:
                files.append(ReportFile(file_name(run, view, fmt), XLSX, xlsx()))
    return files


def webhook_body(run: Run, files: Sequence[ReportFile]) -> bytes:
    """One JSON post per run: the period, its days and every file, base64-encoded."""
    return json.dumps(
        {
            "period": run.period,
            "from": run.first.isoformat(),
            "to": run.last.isoformat(),
            "files": [
                {
                    "name": f.name,
                    "content_type": f.content_type,
                    "data_base64": base64.b64encode(f.data).decode("ascii"),
                }
                for f in files
            ],
        },
        ensure_ascii=False,
    ).encode("utf-8")
