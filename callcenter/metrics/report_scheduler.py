"""Scheduled reports, the moving part (adapter): a background task that waits for the
next run (``report_schedule.next_run``), builds its files from the database in a thread,
writes them into the folder (each through a temporary name, so a mail script never picks
up half a file) and posts them, signed, to the webhook (``core/webhook``).

A run that fails is logged and the task carries on with the next one; runs missed while
the service was down are not made up (``callcenter report`` writes any range by hand).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import structlog

from callcenter.core.tasks import cancel_and_wait
from callcenter.core.webhook import SignedPost, post_signed
from callcenter.metrics.agent_store import AgentFiguresStore
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.report import Grouping, Report, ReportSpec
from callcenter.metrics.report_schedule import ReportFile, Run, build_files, next_run, webhook_body
from callcenter.metrics.report_store import ReportStore
from callcenter.metrics.settings import ScheduledReports

log = structlog.get_logger(__name__)

__all__ = ["ReportScheduler"]


class ReportScheduler:
    def __init__(
        self,
        schedule: ScheduledReports,
        *,
        reports: ReportStore,
        agents: AgentFiguresStore,
        thresholds: Thresholds,
        zone: str,
        interval_min: int = 30,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.schedule = schedule
        self._reports = reports
        self._agents = agents
        self._thresholds = thresholds
        self._zone = ZoneInfo(zone)
        self._interval_min = interval_min
        self._clock = clock
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0  # runs whose every file went where it should

    def start(self) -> None:
        if self.schedule.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="scheduled-reports"
            )

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            moment, runs = next_run(self._clock(), self._zone, self.schedule)
            while (left := moment - self._clock()) > 0:  # the clock may jump: look again
                await self._sleep(min(left, 3600.0))
            for run in runs:
                try:
                    await self.deliver(run)
                except Exception as exc:  # one bad run must not end the schedule
                    log.error("scheduled report failed", period=run.period, days=run.label,
                              error=type(exc).__name__)  # fmt: skip

    def build(self, run: Run) -> list[ReportFile]:
        """The run's files (synchronous: reads the database)."""
        since, until = run.bounds(self._zone)
        spec = ReportSpec(since=since, until=until, interval_min=self._interval_min,
                          zone=self._zone.key, thresholds=self._thresholds)  # fmt: skip

        def report_for(by: Grouping) -> Report:
            return self._reports.report(replace(spec, by=by))

        return build_files(
            run,
            self.schedule,
            report_for=report_for,
            agents=lambda: self._agents.figures(since, until, self._thresholds),
        )

    async def deliver(self, run: Run) -> list[ReportFile]:
        """Build the run's files, write them to the folder and post them to the webhook;
        raises when either fails."""
        files = await asyncio.to_thread(self.build, run)
        if self.schedule.folder:
            await asyncio.to_thread(_write_all, Path(self.schedule.folder), files)
        if self.schedule.webhook_url:
            target = SignedPost(self.schedule.webhook_url, self.schedule.webhook_secret,
                                clock=self._clock, sleep=self._sleep)  # fmt: skip
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
                reason = await post_signed(http, target, webhook_body(run, files))
            if reason:
                raise RuntimeError(f"the webhook refused the reports: {reason}")
        self.delivered += 1
        log.info("scheduled report delivered", period=run.period, days=run.label, files=len(files))
        return files


def _write_all(folder: Path, files: list[ReportFile]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for report in files:
        final = folder / report.name  # names are built here from dates and fixed words
        partial = final.with_name(f".{report.name}.part")
        partial.write_bytes(report.data)
        os.replace(partial, final)
